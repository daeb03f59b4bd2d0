"""The picture API (jpegai_fmt.picture): header info without decoding, encode/decode with numpy arrays."""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from codec import pipeline  # noqa: E402
from codec.metrics import psnr_rgb  # noqa: E402
from codec.weights import integer_model  # noqa: E402
from jpegai_fmt import picture  # noqa: E402
from jpegai_fmt.container import sniff  # noqa: E402
from jpegai_fmt.errors import BuildError, JpegAiError, ModelMismatchError, ParseError  # noqa: E402



@pytest.fixture(scope="module")
def rgb(photo):
    return photo(130, 100, index=-1, top=40, left=40)


@pytest.fixture(scope="module")
def jai(rgb):
    return picture.encode(rgb, bpp=0.5)


def test_open_reads_the_header(jai, tmp_path):
    (tmp_path / "x.jai").write_bytes(jai)
    for source in (jai, tmp_path / "x.jai", str(tmp_path / "x.jai"), io.BytesIO(jai)):
        info = picture.open(source)
        assert (info.kind, info.size, info.mode, info.bit_depth) == ("container", (130, 100), "RGB", 8)
        assert info.coded_size == (192, 128)
        assert info.num_chs == (160, 96) and info.model_id in range(4)
        assert info.model_set == integer_model().model_set.hex()
        assert info.file_size == len(jai)
    d = info.to_dict()
    assert d["width"] == 130 and d["coded_width"] == 192 and abs(d["bpp"] - len(picture.codestream_of(jai)[1]) * 8 / 13000) < 1e-5
    assert d["file_size"] == len(jai)
    assert picture.open(info.codestream).kind == "codestream"


def test_open_does_not_import_torch(jai, tmp_path):
    (tmp_path / "x.jai").write_bytes(jai)
    code = ("import sys; from jpegai_fmt import picture; i = picture.open(sys.argv[1]); "
            "print(i.width, i.height, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.jai")], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["130", "100", "False"]


def test_encode_hits_the_rate_and_decodes(jai, rgb):
    cs = picture.codestream_of(jai)[1]
    assert sniff(jai) == "container"
    pixels = rgb.shape[0] * rgb.shape[1]
    assert abs(len(cs) * 8 / pixels - 0.5) < 0.5 * 0.03     # the codestream's bits count, as in bench/rd.py
    assert len(jai) > len(cs)
    out = picture.decode(jai)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert np.array_equal(out, pipeline.decode(cs).rgb)
    assert np.array_equal(out, picture.open(jai).decode())
    assert psnr_rgb(rgb, out) > 25.0


def test_raw_codestream_and_fixed_rate(rgb):
    lo = picture.encode(rgb, model_id=0, container=False)
    hi = picture.encode(rgb, model_id=3, container=False)
    assert sniff(lo) == sniff(hi) == "codestream"
    assert len(lo) < len(hi)
    assert (picture.open(lo).model_id, picture.open(hi).model_id) == (0, 3)
    assert psnr_rgb(rgb, picture.decode(lo)) < psnr_rgb(rgb, picture.decode(hi))


def test_grey_input_and_channel_prefix(rgb):
    grey = rgb[:, :, 1]
    data = picture.encode(grey, model_id=2, container=False)
    full = picture.decode(data)
    assert np.abs(full.astype(int) - full[:, :, :1]).max() <= 8
    preview = picture.decode(data, luma_channels=4, chroma_channels=4)
    assert psnr_rgb(np.repeat(grey[:, :, None], 3, 2), preview) < psnr_rgb(np.repeat(grey[:, :, None], 3, 2), full)


@pytest.mark.parametrize("array, options, message", [
    (np.zeros((80, 80, 3), np.float32), {}, "uint8"),
    (np.zeros((80, 80, 4), np.uint8), {}, "shape"),
    (np.zeros((80, 80, 3), np.uint8), {"bpp": 0.5, "model_id": 1}, "one of bpp, psnr and model_id, not bpp and model_id"),
    (np.zeros((80, 80, 3), np.uint8), {"psnr": 30.0, "bdl": 8}, "bdl goes with model_id"),
    (np.zeros((80, 80, 3), np.uint8), {"bpp": -1.0}, "positive"),
    (np.zeros((80, 80, 3), np.uint8), {"model_id": 7}, "0..3"),
])
def test_encode_refuses_bad_input(array, options, message):
    with pytest.raises(BuildError, match=message):
        picture.encode(array, **options)


def test_bad_files_raise_project_errors(jai):
    with pytest.raises(ParseError, match="not JPEG AI"):
        picture.open(b"\x89PNG\r\n\x1a\n" + bytes(40))
    for cut in (12, 60, len(jai) // 2):
        with pytest.raises(JpegAiError):
            picture.decode(jai[:cut])
    with pytest.raises(JpegAiError):
        picture.open(jai[:30])


def test_foreign_streams_open_but_do_not_decode(jai):
    from jpegai_fmt.extract import extract
    foreign, _ = extract(jai, drop_udi=True)
    info = picture.open(foreign)
    assert info.size == (130, 100) and info.model_set is None
    with pytest.raises(ModelMismatchError):
        picture.decode(foreign)


def test_a_dis_syntax_stream_decodes_and_cuts_like_its_is_twin():
    """samples/valid/hdr-dis holds enc-threads-1's payloads under a DIS-syntax PIH: decode and extract
    must read it by auto-detection, and a cut keeps the DIS syntax."""
    import pathlib

    from jpegai_fmt.codestream import parse_codestream
    from jpegai_fmt.extract import extract
    valid = pathlib.Path(__file__).resolve().parent.parent / "samples" / "valid"
    dis, twin = (valid / "hdr-dis.jaic").read_bytes(), (valid / "enc-threads-1.jaic").read_bytes()
    assert parse_codestream(dis, syntax="auto").pih.syntax == "dis"
    assert np.array_equal(picture.decode(dis), picture.decode(twin))
    cut, _ = extract(dis, luma_channels=16)
    assert parse_codestream(cut, syntax="auto").pih.syntax == "dis"
    assert np.array_equal(picture.decode(cut), picture.decode(twin, luma_channels=16))
