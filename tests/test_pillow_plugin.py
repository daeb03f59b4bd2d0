"""The Pillow plugin through real Pillow calls: open (headers only), load (decode), save, registration."""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

pytest.importorskip("torch")

import jpegai_fmt.pillow  # noqa: E402,F401  (registers the plugin)
from codec.metrics import psnr_rgb  # noqa: E402
from jpegai_fmt import picture  # noqa: E402
from jpegai_fmt.container import sniff  # noqa: E402
from jpegai_fmt.errors import ModelMismatchError  # noqa: E402



@pytest.fixture(scope="module")
def rgb(photo):
    return photo(120, 100, top=60, left=100)


@pytest.fixture(scope="module")
def files(tmp_path_factory, rgb):
    d = tmp_path_factory.mktemp("pil")
    Image.fromarray(rgb).save(d / "a.jai", bpp=0.6)
    Image.fromarray(rgb).save(d / "a.jaic", model_id=1)
    return d


def test_registration():
    assert Image.registered_extensions()[".jai"] == "JPEGAI"
    assert Image.registered_extensions()[".jaic"] == "JPEGAI"
    assert Image.MIME["JPEGAI"] == "image/jpeg-ai"


def test_save_picks_container_or_raw_by_extension(files, rgb):
    jai, jaic = (files / "a.jai").read_bytes(), (files / "a.jaic").read_bytes()
    assert sniff(jai) == "container" and sniff(jaic) == "codestream"
    cs_bits = len(picture.codestream_of(jai)[1]) * 8
    assert abs(cs_bits / (rgb.shape[0] * rgb.shape[1]) - 0.6) < 0.6 * 0.05
    assert picture.open(jaic).model_id == 1


def test_open_reads_header_without_torch(files):
    code = ("import sys; import jpegai_fmt.pillow; from PIL import Image; im = Image.open(sys.argv[1]); "
            "print(im.format, im.size, im.mode, im.get_format_mimetype(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(files / "a.jai")], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["JPEGAI", "(120,", "100)", "RGB", "image/jpeg-ai", "False"]


def test_load_decodes_like_the_api(files, rgb):
    with Image.open(files / "a.jai") as im:
        assert im.info["jpegai"]["kind"] == "container"
        pixels = np.asarray(im)
    assert pixels.shape == rgb.shape
    assert np.array_equal(pixels, picture.decode(files / "a.jai"))
    assert psnr_rgb(rgb, pixels) > 24.0


def test_file_objects_and_format_argument(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb[:, :, 0], "L").save(buf, format="JPEGAI", model_id=0)
    assert sniff(buf.getvalue()) == "container"
    buf.seek(0)
    with Image.open(buf) as im:
        assert im.format == "JPEGAI" and im.size == (120, 100)
        grey = np.asarray(im)
    assert np.abs(grey.astype(int) - grey[:, :, :1]).max() <= 8          # near-grey RGB back


def test_set_channels_gives_a_coarser_preview(files, rgb):
    with Image.open(files / "a.jai") as im:
        im.set_channels(4, 4)
        preview = np.asarray(im)
    with Image.open(files / "a.jai") as im:
        full = np.asarray(im)
    assert preview.shape == full.shape and not np.array_equal(preview, full)
    assert psnr_rgb(rgb, preview) < psnr_rgb(rgb, full)


def test_metadata_goes_into_the_container(tmp_path, rgb):
    exif = Image.Exif()
    exif[0x010E] = "jpegai-fmt test"            # ImageDescription
    Image.fromarray(rgb).save(tmp_path / "m.jai", model_id=0, exif=exif, xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    data = (tmp_path / "m.jai").read_bytes()
    assert b"jpegai-fmt test" in data and b"xmpmeta" in data
    with pytest.raises(OSError, match="container"):
        Image.fromarray(rgb).save(tmp_path / "m.jaic", model_id=0, exif=exif)


def test_alpha_is_refused(tmp_path, rgb):
    with pytest.raises(OSError, match="RGBA"):
        Image.fromarray(rgb).convert("RGBA").save(tmp_path / "x.jai")
    assert not (tmp_path / "x.jai").exists() or (tmp_path / "x.jai").stat().st_size == 0


def test_other_files_are_left_to_other_plugins(tmp_path, files):
    heif = b"\x00\x00\x00\x10ftypmif1\x00\x00\x00\x00" + b"\x00\x00\x00\x08free"
    for name, data in (("other.heic", heif), ("cut.jai", (files / "a.jai").read_bytes()[:40]),
                       ("cut.jaic", (files / "a.jaic").read_bytes()[:5])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnidentifiedImageError):
            Image.open(tmp_path / name)


def test_streams_without_our_model_set_open_but_do_not_decode(files):
    from jpegai_fmt.extract import extract
    foreign, _ = extract((files / "a.jaic").read_bytes(), drop_udi=True)
    with Image.open(io.BytesIO(foreign)) as im:
        assert im.size == (120, 100)
        with pytest.raises(ModelMismatchError):
            im.load()


def test_save_passes_refinement_through(rgb):
    plain, refined = io.BytesIO(), io.BytesIO()
    Image.fromarray(rgb).save(plain, "JPEGAI", model_id=2)
    Image.fromarray(rgb).save(refined, "JPEGAI", model_id=2, refine=3)
    assert plain.getvalue() != refined.getvalue()
    assert refined.getvalue() == picture.encode(rgb, model_id=2, refine=3)


def test_save_takes_a_psnr_target(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEGAI", psnr=27.5, refine=0)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert psnr_rgb(rgb, np.asarray(im.convert("RGB"))) >= 27.5
    with pytest.raises(OSError, match="one of bpp, psnr and model_id"):
        Image.fromarray(rgb).save(io.BytesIO(), "JPEGAI", psnr=27.5, bpp=0.5)
