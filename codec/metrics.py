"""Picture quality metrics used by the CLI and the RD benchmark.

PSNR-RGB and PSNR-YUV 6:1:1 (BT.709 full-range Y, Cb, Cr weighted 6:1:1, as JPEG AI reports) are numpy
only; MS-SSIM (on BT.709 luma, five scales, the usual 11-tap Gaussian window) uses torch, imported lazily.
"""
from __future__ import annotations

import math

import numpy as np

from .design import KB, KR


def _psnr(mse: float, peak: float = 255.0) -> float:
    return float("inf") if mse == 0 else 10 * math.log10(peak * peak / mse)


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"pictures differ in size: {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}")


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    _check(a, b)
    return _psnr(float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def ycbcr(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64)
    y = KR * x[..., 0] + (1 - KR - KB) * x[..., 1] + KB * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - KB)) + 128
    cr = (x[..., 0] - y) / (2 * (1 - KR)) + 128
    return np.stack([y, cb, cr], -1)


def psnr_yuv611(a: np.ndarray, b: np.ndarray) -> float:
    _check(a, b)
    ya, yb = ycbcr(a), ycbcr(b)
    p = [_psnr(float(np.mean((ya[..., i] - yb[..., i]) ** 2))) for i in range(3)]
    return (6 * p[0] + p[1] + p[2]) / 8


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM of the BT.709 luma planes (Wang et al. 2003 weights)."""
    import torch
    import torch.nn.functional as F
    _check(a, b)
    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=torch.float64)
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    gv, gh = g.view(1, 1, 11, 1), g.view(1, 1, 1, 11)

    def win(t):                                   # the 11x11 Gaussian window, applied separably
        return F.conv2d(F.conv2d(t, gv), gh)
    x = torch.from_numpy(ycbcr(a)[..., 0]).view(1, 1, *a.shape[:2])
    y = torch.from_numpy(ycbcr(b)[..., 0]).view(1, 1, *b.shape[:2])
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for level in range(5):
        if min(x.shape[2:]) < 11:
            raise ValueError("picture too small for five-scale MS-SSIM (needs at least 176 pixels a side)")
        mx, my = win(x), win(y)
        sxx = win(x * x) - mx * mx
        syy = win(y * y) - my * my
        sxy = win(x * y) - mx * my
        cs = (2 * sxy + c2) / (sxx + syy + c2)
        if level == 4:
            vals.append((((2 * mx * my + c1) / (mx * mx + my * my + c1)) * cs).mean())
        else:
            vals.append(cs.mean().clamp_min(0))
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return float(torch.prod(torch.stack(vals) ** weights))


def quality(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """Every metric the benchmark reports, for the CLI's --reference and --json: PSNR-RGB, PSNR of each BT.709
    component and their 6:1:1 mean, and MS-SSIM where the picture is large enough for five scales."""
    _check(reference, decoded)
    ya, yb = ycbcr(reference), ycbcr(decoded)
    comps = [_psnr(float(np.mean((ya[..., i] - yb[..., i]) ** 2))) for i in range(3)]
    out = {"psnr_rgb": psnr_rgb(reference, decoded), "psnr_y": comps[0], "psnr_cb": comps[1], "psnr_cr": comps[2],
           "psnr_yuv611": (6 * comps[0] + comps[1] + comps[2]) / 8}
    if min(reference.shape[:2]) >= 176:
        out["ms_ssim"] = ms_ssim(reference, decoded)
    return out
