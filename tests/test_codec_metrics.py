"""The quality metrics behind the RD benchmark and the CLI's --reference / --json reports, on hand-checkable
pictures, and the decode report that shows them."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from codec.metrics import ms_ssim, psnr_rgb, psnr_yuv611, quality, ycbcr
from conftest import photo_crop

torch = pytest.importorskip("torch")


def test_psnr_of_a_known_error():
    a = photo_crop(64, 48)
    b = a.astype(np.int16)
    b[..., 1] += np.where(a[..., 1] < 255, 1, -1)         # every green sample off by one: MSE 1/3
    assert psnr_rgb(a, b.astype(np.uint8)) == pytest.approx(10 * math.log10(255 ** 2 * 3))
    assert psnr_rgb(a, a) == math.inf
    with pytest.raises(ValueError, match="differ in size: 64x48 vs 48x64"):
        psnr_rgb(a, a.transpose(1, 0, 2))


def test_grey_has_neutral_chroma_and_611_weights_luma_six_times():
    grey = np.full((8, 8, 3), 77, np.uint8)
    assert np.allclose(ycbcr(grey)[0, 0], [77, 128, 128])
    a = photo_crop(64, 64)
    b = np.clip(a.astype(np.int16) + np.random.default_rng(3).integers(-6, 7, a.shape), 0, 255).astype(np.uint8)
    q = quality(a, b)
    assert q["psnr_yuv611"] == pytest.approx((6 * q["psnr_y"] + q["psnr_cb"] + q["psnr_cr"]) / 8)
    assert q["psnr_yuv611"] == pytest.approx(psnr_yuv611(a, b)) and "ms_ssim" not in q    # 64 px: too small


def test_ms_ssim_falls_with_the_error_and_needs_five_scales():
    a = photo_crop(256, 192)
    rng = np.random.default_rng(0)
    scores = [ms_ssim(a, np.clip(a + rng.normal(0, s, a.shape), 0, 255).astype(np.uint8)) for s in (0, 4, 16)]
    assert scores[0] == pytest.approx(1.0) and scores[0] > scores[1] > scores[2] > 0.5
    assert quality(a, a)["ms_ssim"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="too small for five-scale MS-SSIM"):
        ms_ssim(a[:100], a[:100])


def test_decode_reports_every_metric_against_a_reference(tmp_path, capsys):
    from jpegai_fmt import cli
    Image.fromarray(photo_crop(192, 192)).save(tmp_path / "ref.png")
    assert cli.main(["encode", str(tmp_path / "ref.png"), str(tmp_path / "x.jai"), "--model-id", "2", "--refine",
                     "0", "--json"]) == 0
    enc = json.loads(capsys.readouterr().out)
    assert cli.main(["decode", str(tmp_path / "x.jai"), str(tmp_path / "x.png"), "--reference",
                     str(tmp_path / "ref.png"), "--json"]) == 0
    dec = json.loads(capsys.readouterr().out)
    keys = ("psnr_rgb", "psnr_y", "psnr_cb", "psnr_cr", "psnr_yuv611", "ms_ssim")
    assert all(dec[k] == pytest.approx(enc[k]) for k in keys)       # the same decoded picture, measured twice
    assert 0.8 < dec["ms_ssim"] < 1 and dec["psnr_cb"] > dec["psnr_y"]
    assert cli.main(["decode", str(tmp_path / "x.jai"), str(tmp_path / "x.png"), "--reference",
                     str(tmp_path / "ref.png")]) == 0
    line = capsys.readouterr().out
    assert f"PSNR {dec['psnr_rgb']:.2f} dB RGB, {dec['psnr_yuv611']:.2f} dB YUV 6:1:1" in line
    assert f"MS-SSIM {dec['ms_ssim']:.4f}" in line
