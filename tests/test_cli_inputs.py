"""Hostile and unusual input to encode/decode: every refusal is one clear line and exit 2, before any work
where the options alone decide it; inputs are never overwritten; pictures wider than 8 bits are scaled, not
clipped; the rate target counts codestream bits on every entry point."""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

import jpegai_fmt
from jpegai_fmt import cli, picture
from jpegai_fmt.errors import BuildError, DecodeError

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    y, x = np.mgrid[0:80, 0:112]
    rgb = np.stack([x * 2, y * 3, (x + y) % 200], -1).astype(np.uint8)
    Image.fromarray(rgb).save(d / "p.png")
    return d, rgb


@pytest.mark.parametrize("args, says", [
    (["--bpp", "nan"], "positive number"),
    (["--bpp", "inf"], "positive number"),
    (["--bpp", "-1"], "positive number"),
    (["--model-id", "2", "--bdl", "703"], "outside -1069..702"),
    (["--luma-channels", "0"], "outside 1..160"),
    (["--chroma-channels", "97"], "outside 1..96"),
    (["--refine", "-1"], "outside 0..1000"),
])
def test_bad_options_are_refused_before_any_work(photo, capsys, args, says):
    d, _ = photo
    with pytest.raises(SystemExit) as exit_:
        cli.main(["encode", str(d / "p.png"), str(d / "never.jai"), *args])
    assert exit_.value.code == 2 and says in capsys.readouterr().err
    assert not (d / "never.jai").exists()


@pytest.mark.parametrize("regions, says", [("0x1", "at least 1x1"), ("2x1", "PIH-009"), ("1x2", "PIH-009")])
def test_regions_the_picture_cannot_hold_are_refused(photo, capsys, regions, says):
    d, _ = photo
    rc = cli.main(["encode", str(d / "p.png"), str(d / "never.jai"), "--model-id", "0", "--regions", regions])
    err = capsys.readouterr().err
    assert rc == 2 and says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (d / "never.jai").exists()


def test_out_dir_never_overwrites_an_input(photo, capsys):
    d, _ = photo
    src = d / "again.jai"
    src.write_bytes(picture.encode(photo[1], model_id=0))
    before = src.read_bytes()
    rc = cli.main(["encode", str(src), "--out-dir", str(d), "--model-id", "0"])
    assert rc == 2 and "is the input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_missing_output_folder_is_named_before_encoding(photo, capsys):
    d, _ = photo
    rc = cli.main(["encode", str(d / "p.png"), str(d / "no" / "such" / "o.jai"), "--model-id", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and "does not exist" in err and ".tmp-" not in err


def test_an_output_named_like_an_input_is_refused(photo, capsys):
    """`encode a.png b.png` (a glob of two pictures without --out-dir) must not turn b.png into a codestream,
    nor `decode x.jai y.jai` a codestream into a PNG."""
    d, _ = photo
    other = d / "other.png"
    other.write_bytes((d / "p.png").read_bytes())
    before = other.read_bytes()
    assert cli.main(["encode", str(d / "p.png"), str(other), "--model-id", "0"]) == 2
    assert "not .png" in capsys.readouterr().err and other.read_bytes() == before
    src = d / "x.jai"
    src.write_bytes(picture.encode(photo[1], model_id=0))
    target = d / "y.jai"
    target.write_bytes(src.read_bytes())
    assert cli.main(["decode", str(src), str(target)]) == 2
    assert "not .jai" in capsys.readouterr().err and target.read_bytes() == src.read_bytes()


def test_options_may_stand_between_the_paths(photo, capsys):
    """`encode IN --model-id 0 OUT` is how people type; argparse alone ends PATH... at the first option."""
    d, _ = photo
    out = d / "between.jai"
    assert cli.main(["encode", str(d / "p.png"), "--model-id", "0", str(out)]) == 0
    png = d / "between.png"
    assert cli.main(["decode", str(out), "--luma-channels", "8", str(png)]) == 0
    assert Image.open(png).size == (112, 80)
    capsys.readouterr()
    assert cli.main(["validate", str(out), "--json", str(out)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    with pytest.raises(SystemExit):
        cli.main(["encode", str(d / "p.png"), "--no-such-option", str(out)])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_torch_threads_change_speed_not_streams(photo):
    import torch
    d, _ = photo
    before = torch.get_num_threads()
    try:
        assert cli.main(["encode", str(d / "p.png"), str(d / "t1.jai"), "--model-id", "1", "--torch-threads", "1"]) == 0
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        assert cli.main(["encode", str(d / "p.png"), str(d / "t2.jai"), "--model-id", "1"]) == 0
    finally:
        torch.set_num_threads(before)
    assert (d / "t1.jai").read_bytes() == (d / "t2.jai").read_bytes()


def test_sixteen_bit_grey_is_scaled_not_clipped(photo):
    d, _ = photo
    ramp = (np.linspace(9000, 60000, 64 * 96).reshape(64, 96)).astype(np.uint16)
    Image.fromarray(ramp).save(d / "g16.png")
    with Image.open(d / "g16.png") as im:
        assert im.mode.startswith("I")
        rgb = picture.rgb_of_image(im)
    expected = np.rint(ramp / 257.0)
    assert rgb.dtype == np.uint8 and np.abs(rgb[..., 0] - expected).max() <= 1
    assert (rgb[..., 0] == rgb[..., 2]).all() and rgb.min() < 40


def test_alpha_and_float_pictures_are_refused_with_a_reason(photo, capsys):
    d, _ = photo
    Image.new("RGBA", (64, 64)).save(d / "a.png")
    rc = cli.main(["encode", str(d / "a.png"), str(d / "a.jai")])
    assert rc == 2 and "alpha channel" in capsys.readouterr().err
    with pytest.raises(OSError, match="floating-point"):
        Image.new("F", (64, 64)).save(io.BytesIO(), format="JPEGAI")


def test_decode_checks_channels_and_reference_before_writing(photo, capsys):
    d, rgb = photo
    (d / "s.jai").write_bytes(picture.encode(rgb, model_id=0))
    with pytest.raises(SystemExit):
        cli.main(["decode", str(d / "s.jai"), str(d / "o.png"), "--luma-channels", "-3"])
    assert "outside 0..160" in capsys.readouterr().err
    with pytest.raises(DecodeError, match="outside 0..96"):
        picture.decode((d / "s.jai").read_bytes(), chroma_channels=999)
    rc = cli.main(["decode", str(d / "s.jai"), str(d / "o.png"), "--reference", str(d / "none.png")])
    assert rc == 2 and "none.png" in capsys.readouterr().err and not (d / "o.png").exists()
    Image.fromarray(rgb[:40]).save(d / "half.png")
    rc = cli.main(["decode", str(d / "s.jai"), str(d / "o.png"), "--reference", str(d / "half.png")])
    assert rc == 2 and "--reference" in capsys.readouterr().err and not (d / "o.png").exists()


def test_rate_target_counts_codestream_bits_on_every_entry_point(photo, capsys):
    d, rgb = photo
    pixels = rgb.shape[0] * rgb.shape[1]
    api = picture.codestream_of(picture.encode(rgb, bpp=0.6))[1]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEGAI", bpp=0.6, container=True)
    plugin = picture.codestream_of(buf.getvalue())[1]
    assert cli.main(["encode", str(d / "p.png"), str(d / "r.jai"), "--bpp", "0.6", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cli_cs = picture.codestream_of((d / "r.jai").read_bytes())[1]
    assert api == plugin == cli_cs
    assert abs(len(api) * 8 / pixels / 0.6 - 1) < 0.03 and report["bpp"] == len(api) * 8 / pixels


def test_encode_reports_the_operating_point_the_stream_signals(photo, capsys):
    """--bpp chooses model_id and BDL by search: the report gives the choice, read back from the stream's
    PIH, and the refinement steps taken ("auto" resolved for the coded size)."""
    from codec.refine import auto_steps
    d, _ = photo
    assert cli.main(["encode", str(d / "p.png"), str(d / "b.jai"), "--bpp", "0.8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    pih = jpegai_fmt.read_codestream(picture.codestream_of((d / "b.jai").read_bytes())[1]).pih.fields
    bdl = pih["beta_displacement_log_plus_2048_0"] - 2048
    assert (report["model_id"], report["bdl"]) == (pih["model_id"], [bdl, bdl])
    assert report["refine_steps"] == auto_steps(128, 128) > 0          # 112x80 is coded as 128x128
    assert cli.main(["encode", str(d / "p.png"), str(d / "m.jai"), "--model-id", "1", "--bdl", "-75",
                     "--refine", "2"]) == 0
    assert "model_id 1, BDL -75, 2 refinement steps" in capsys.readouterr().out


def test_unreachable_rate_is_reported(photo, capsys):
    d, _ = photo
    assert cli.main(["encode", str(d / "p.png"), str(d / "hi.jai"), "--bpp", "60", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "out of reach" in err and "quality no longer rises" in json.loads(out)["warning"]
    assert cli.main(["encode", str(d / "p.png"), str(d / "lo.jai"), "--bpp", "0.001", "--refine", "0"]) == 0
    assert "the bottom of the model set's rate range" in capsys.readouterr().err


def test_api_settings_errors_are_jpegai_errors(photo):
    rgb = photo[1]
    for kw in (dict(threads=0), dict(regions=(0, 1)), dict(luma_channels=0), dict(model_id=2, bdl=5000),
               dict(bpp=float("inf"))):
        with pytest.raises(BuildError):
            picture.encode(rgb, **kw)


def test_extract_is_the_function_whatever_was_imported_first():
    import jpegai_fmt.extract  # noqa: F401  (the submodule of the same name)
    assert callable(jpegai_fmt.extract)


def test_pillow_open_gives_the_container_metadata(photo):
    rgb = photo[1]
    exif = Image.Exif()
    exif[0x010F] = "jpegai-fmt test"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEGAI", model_id=0, container=True, exif=exif, xmp=xmp)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert im.getexif()[0x010F] == "jpegai-fmt test" and im.info["xmp"] == xmp
        assert "icc_profile" not in im.info
    raw = io.BytesIO()
    Image.fromarray(rgb).save(raw, format="JPEGAI", model_id=0, container=False)
    with Image.open(io.BytesIO(raw.getvalue())) as im:
        assert "exif" not in im.info


def test_output_errors_name_the_users_path(tmp_path):
    from jpegai_fmt.container.writer import write_file
    (tmp_path / "adir").mkdir()
    with pytest.raises(OSError) as err:
        write_file(tmp_path / "adir", b"x")
    assert "adir" in str(err.value) and ".tmp-" not in str(err.value)
    assert os.listdir(tmp_path) == ["adir"]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but holds no pixels: enough for Pillow's bomb check."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def test_a_decompression_bomb_fails_alone_in_a_batch(photo, capsys):
    d, _ = photo
    (d / "bomb.png").write_bytes(_png_header_only(20000, 20000))
    rc = cli.main(["encode", str(d / "bomb.png"), str(d / "p.png"), "--out-dir", str(d / "batch"),
                   "--model-id", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and "bomb.png" in err and "internal error" not in err
    assert sorted(os.listdir(d / "batch")) == ["p.jai"]


def test_bdl_with_a_rate_target_is_refused_everywhere(photo, capsys):
    d, rgb = photo
    rc = cli.main(["encode", str(d / "p.png"), str(d / "x.jai"), "--bpp", "0.5", "--bdl", "100"])
    assert rc == 2 and "--bdl goes with --model-id" in capsys.readouterr().err
    with pytest.raises(BuildError, match="bdl goes with model_id"):
        picture.encode(rgb, bpp=0.5, bdl=100)
    with pytest.raises(OSError, match="bdl goes with model_id"):
        Image.fromarray(rgb).save(io.BytesIO(), format="JPEGAI", bpp=0.5, bdl=100)


def test_png_level_changes_the_file_not_the_pixels(photo, capsys):
    d, _ = photo
    src = d / "lv.jai"
    src.write_bytes(picture.encode(photo[1], model_id=1, refine=0))
    sizes = {}
    for level in (0, 9):
        assert cli.main(["decode", str(src), str(d / f"lv{level}.png"), "--png-level", str(level), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["png_s"] >= 0
        sizes[level] = (d / f"lv{level}.png").stat().st_size
    assert sizes[0] > sizes[9]
    assert np.array_equal(np.asarray(Image.open(d / "lv0.png")), np.asarray(Image.open(d / "lv9.png")))
