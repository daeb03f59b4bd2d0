"""What travels with a picture through encode and decode: a camera JPEG stored sideways is coded upright, its
Exif, XMP and ICC profile reach the .jai file and the decoded PNG, `--metadata` chooses what is carried, and
metadata the codec cannot use (a grey profile, a CMYK profile on RGB, malformed XMP) is converted or left
behind with a note, never a failed encode."""
from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

import jpegai_fmt
from jpegai_fmt import cli
from jpegai_fmt.container.reader import read_metadata
from jpegai_fmt.errors import BuildError
from jpegai_fmt.picture_metadata import describe, metadata_kinds

from conftest import photo_crop

pytest.importorskip("torch")

FAST = ["--model-id", "3", "--refine", "0"]
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6" tiff:Make="Test"/></rdf:RDF></x:xmpmeta>'
       b'<?xpacket end="w"?>')
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def gray_profile(gamma: float) -> bytes:
    """A minimal ICC v2 grey display profile (description, white point, one gamma curve), built field by field
    because Pillow's LittleCMS binding creates only sRGB, Lab and XYZ profiles."""
    def s15(v):
        return struct.pack(">i", round(v * 65536))
    d50 = s15(0.9642) + s15(1.0) + s15(0.8249)
    text = b"test grey\x00"
    tags = [(b"desc", b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)),
            (b"wtpt", b"XYZ " + bytes(4) + d50),
            (b"kTRC", b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2))]
    start = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (struct.pack(">I", start + len(body)) + bytes(4) + b"\x02\x10\x00\x00mntrGRAYXYZ " + bytes(12)
              + b"acsp" + bytes(28) + d50 + bytes(48))
    return header + table + body


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """A JPEG stored 96 wide and 64 high whose Exif says 'rotate 90° clockwise to show' (orientation 6)."""
    d = tmp_path_factory.mktemp("metadata")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:29 12:00:00"
    Image.fromarray(photo_crop(96, 64)).save(d / "cam.jpg", quality=95, exif=exif, icc_profile=SRGB, xmp=XMP)
    return d


def encode(*args, capsys=None) -> tuple[int, dict, str]:
    rc = cli.main(["encode", *map(str, args), "--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out) if out.out.strip() else {}, out.err


def test_a_sideways_camera_picture_is_coded_upright_with_its_metadata(camera, capsys):
    rc, info, _ = encode(camera / "cam.jpg", camera / "cam.jai", *FAST, capsys=capsys)
    assert rc == 0 and info["orientation"] == 6 and info["metadata"] == ["exif", "icc", "xmp"]
    data = (camera / "cam.jai").read_bytes()
    assert jpegai_fmt.open(data).size == (64, 96)
    assert not [f for f in jpegai_fmt.validate(data) if f.severity in "EW"]
    meta = read_metadata(data)
    exif = Image.Exif()
    exif.load(meta["exif"][6:])
    assert exif[0x010F] == "TestCam" and 0x0112 not in exif
    assert exif.get_ifd(0x8769)[0x9003] == "2026:11:29 12:00:00"
    assert b"tiff:Orientation" not in meta["xmp"] and b'tiff:Make="Test"' in meta["xmp"]
    assert meta["icc_profile"] == SRGB

    rc = cli.main(["decode", str(camera / "cam.jai"), str(camera / "cam.png"), "--reference",
                   str(camera / "cam.jpg"), "--json"])
    dec = json.loads(capsys.readouterr().out)
    assert rc == 0 and dec["metadata"] == ["exif", "icc", "xmp"] and dec["psnr_rgb"] > 28
    with Image.open(camera / "cam.png") as png:
        assert png.size == (64, 96) and png.info["icc_profile"] == SRGB
        assert png.getexif()[0x010F] == "TestCam" and b'tiff:Make="Test"' in png.info["xmp"]
    with Image.open(camera / "cam.jpg") as jpg:
        upright = np.asarray(ImageOps.exif_transpose(jpg).convert("RGB"), dtype=np.float64)
    decoded = np.asarray(Image.open(camera / "cam.png"), dtype=np.float64)
    assert 10 * np.log10(255 ** 2 / np.mean((decoded - upright) ** 2)) == pytest.approx(dec["psnr_rgb"], abs=1e-6)


def test_no_auto_orient_codes_the_stored_samples_and_keeps_the_tag(camera, capsys):
    rc, info, _ = encode(camera / "cam.jpg", camera / "stored.jai", *FAST, "--no-auto-orient", capsys=capsys)
    data = (camera / "stored.jai").read_bytes()
    assert rc == 0 and info["orientation"] == 1 and jpegai_fmt.open(data).size == (96, 64)
    exif = Image.Exif()
    exif.load(read_metadata(data)["exif"][6:])
    assert exif[0x0112] == 6
    rc = cli.main(["decode", str(camera / "stored.jai"), str(camera / "stored.png"), "--reference",
                   str(camera / "cam.jpg"), "--no-auto-orient", "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["psnr_rgb"] > 28


@pytest.mark.parametrize("choice, carried", [("none", []), ("icc", ["icc"]), ("exif,xmp", ["exif", "xmp"])])
def test_metadata_option_chooses_what_is_carried(camera, capsys, choice, carried):
    out = camera / f"only-{choice.replace(',', '-')}.jai"
    rc, info, _ = encode(camera / "cam.jpg", out, *FAST, "--metadata", choice, capsys=capsys)
    assert rc == 0 and info["metadata"] == carried
    assert jpegai_fmt.open(out).to_dict()["metadata"] == carried
    assert info["orientation"] == 6                  # turning upright does not depend on what is carried


def test_decode_metadata_option_leaves_the_png_bare(camera, capsys):
    encode(camera / "cam.jpg", camera / "full.jai", *FAST, capsys=capsys)
    rc = cli.main(["decode", str(camera / "full.jai"), str(camera / "bare.png"), "--metadata", "none", "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["metadata"] == []
    with Image.open(camera / "bare.png") as png:
        assert not {"icc_profile", "exif", "xmp"} & set(png.info)


def test_bad_metadata_lists_are_refused():
    assert metadata_kinds("all") == {"exif", "xmp", "icc"} and metadata_kinds(" ICC ,exif") == {"icc", "exif"}
    for bad in ("", "gps", "all,icc", "none,exif"):
        with pytest.raises(ValueError, match="expected all, none or a comma list"):
            metadata_kinds(bad)


def test_a_raw_codestream_says_what_it_left_behind(camera, capsys):
    rc, info, err = encode(camera / "cam.jpg", camera / "cam.jaic", *FAST, "--raw", capsys=capsys)
    assert rc == 0 and info["metadata"] == []
    assert "Exif, the ICC profile, XMP not kept: a raw codestream has no place for metadata" in err
    assert info["notes"] == [err.strip().split(": ", 2)[2]]


def test_a_tiff_keeps_the_descriptive_tags_of_its_ifd_only(tmp_path, capsys):
    from PIL import TiffImagePlugin
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[0x010F], tags[0x0112], tags[700] = "TiffCam", 3, XMP.replace(b'"6"', b'"3"')      # upside down
    Image.fromarray(photo_crop(64, 64)).save(tmp_path / "t.tif", tiffinfo=tags)
    rc, info, _ = encode(tmp_path / "t.tif", tmp_path / "t.jai", *FAST, capsys=capsys)
    assert rc == 0 and info["orientation"] == 3 and info["metadata"] == ["exif", "xmp"]
    meta = read_metadata((tmp_path / "t.jai").read_bytes())
    carried = Image.Exif()
    carried.load(meta["exif"][6:])
    assert dict(carried) == {0x010F: "TiffCam"}        # no strip offsets, sizes or orientation
    assert b"tiff:Orientation" not in meta["xmp"] and b'tiff:Make="Test"' in meta["xmp"]


def test_a_grey_profile_converts_the_samples_to_srgb(tmp_path, capsys):
    ramp = np.tile(np.repeat(np.arange(16, 240, 14, dtype=np.uint8), 4), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "lin.png", icc_profile=gray_profile(1.0))
    rc, info, err = encode(tmp_path / "lin.png", tmp_path / "lin.jai", *FAST, capsys=capsys)
    assert rc == 0 and info["metadata"] == []
    assert "converted from the picture's GRAY ICC profile to sRGB" in err
    decoded = jpegai_fmt.decode(tmp_path / "lin.jai").astype(np.float64)[..., 1]
    srgb = np.asarray(ImageCms.profileToProfile(Image.fromarray(ramp), ImageCms.ImageCmsProfile(
        io.BytesIO(gray_profile(1.0))), ImageCms.createProfile("sRGB"), outputMode="RGB"), dtype=np.float64)[..., 1]
    assert np.abs(decoded - srgb).mean() < 3 < np.abs(decoded - ramp).mean()


def test_metadata_the_codec_cannot_use_is_left_behind_with_a_note(tmp_path, capsys):
    cmyk_space = bytearray(SRGB)
    cmyk_space[16:20] = b"CMYK"
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'>unclosed")
    exif = Image.Exif()
    exif[0x010F] = "KeptCam"
    Image.fromarray(photo_crop(64, 64)).save(tmp_path / "odd.png", icc_profile=bytes(cmyk_space), pnginfo=info,
                                             exif=exif)
    rc, out, err = encode(tmp_path / "odd.png", tmp_path / "odd.jai", *FAST, capsys=capsys)
    assert rc == 0 and out["metadata"] == ["exif"]
    assert "the ICC profile describes CMYK samples, not the RGB the codec codes; not kept" in err
    assert "XMP not kept: XMP is refused (BOX-016)" in err and len(out["notes"]) == 2


def test_a_damaged_picture_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 40)
    rc = cli.main(["encode", str(tmp_path / "cut.png"), str(tmp_path / "cut.jai")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "cut.png: cannot read the picture" in err
    assert not (tmp_path / "cut.jai").exists()


def test_the_api_carries_metadata_into_the_container_only():
    rgb = photo_crop(64, 64)
    data = jpegai_fmt.encode(rgb, model_id=3, refine=0, icc_profile=SRGB, xmp=XMP)
    info = jpegai_fmt.open(data)
    assert info.metadata == {"icc_profile": SRGB, "xmp": XMP} and info.to_dict()["metadata"] == ["icc", "xmp"]
    with pytest.raises(BuildError, match="a raw codestream has no place for metadata"):
        jpegai_fmt.encode(rgb, model_id=3, refine=0, icc_profile=SRGB, container=False)


def test_pillow_save_keeps_the_images_own_profile(camera, tmp_path):
    with Image.open(camera / "cam.jpg") as im:
        im.save(tmp_path / "p.jai", model_id=3, refine=0)
        im.save(tmp_path / "p.jaic", model_id=3, refine=0)   # a raw codestream: nothing to keep, no error
    with Image.open(tmp_path / "p.jai") as back:
        assert back.info["icc_profile"] == SRGB and "exif" not in back.info   # Exif only when given, as for PNG
    grey = Image.fromarray(np.full((64, 64), 60, np.uint8))
    grey.info["icc_profile"] = gray_profile(1.0)
    with pytest.warns(UserWarning, match="converted from the picture's GRAY ICC profile to sRGB"):
        grey.save(tmp_path / "g.jai", model_id=3, refine=0)
    assert "icc_profile" not in jpegai_fmt.open(tmp_path / "g.jai").metadata


def test_info_describes_the_metadata(camera, capsys):
    encode(camera / "cam.jpg", camera / "described.jai", *FAST, capsys=capsys)
    meta = read_metadata((camera / "described.jai").read_bytes())
    rows = dict(describe(meta))
    assert rows["Exif"].endswith("TestCam, 2026:11:29 12:00:00") and "'sRGB built-in'" in rows["ICC profile"]
    assert cli.main(["info", str(camera / "described.jai"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["Metadata"] == rows and out["header"]["metadata"] == ["exif", "icc", "xmp"]


def test_damaged_exif_is_a_note_not_a_stray_warning(tmp_path, capsys, recwarn):
    broken = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x09\x00\x00"
    Image.fromarray(photo_crop(64, 64)).save(tmp_path / "broken.jpg", exif=broken)
    rc, info, err = encode(tmp_path / "broken.jpg", tmp_path / "broken.jai", *FAST, capsys=capsys)
    assert rc == 0 and "while reading, Pillow warned: Corrupt EXIF data" in err and "UserWarning" not in err
    assert info["notes"] == [err.strip().split(": ", 2)[2]] and not recwarn.list
