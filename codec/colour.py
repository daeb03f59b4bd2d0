"""RGB <-> BT.709 YCbCr (full range) and 4:2:0 resampling, as torch ops usable in training and coding."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .design import KB, KR

KG = 1.0 - KR - KB


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB in [0,1] -> (B,3,H,W) Y, Cb, Cr with chroma centred on 0.5."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    y = KR * r + KG * g + KB * b
    cb = (b - y) / (2 * (1 - KB)) + 0.5
    cr = (r - y) / (2 * (1 - KR)) + 0.5
    return torch.cat([y, cb, cr], 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    y, cb, cr = ycc[:, 0:1], ycc[:, 1:2] - 0.5, ycc[:, 2:3] - 0.5
    r = y + 2 * (1 - KR) * cr
    b = y + 2 * (1 - KB) * cb
    g = (y - KR * r - KB * b) / KG
    return torch.cat([r, g, b], 1)


def downsample_420(uv: torch.Tensor) -> torch.Tensor:
    """2x2 box filter; input sides must be even."""
    return F.avg_pool2d(uv, 2)


def upsample_420(uv: torch.Tensor) -> torch.Tensor:
    return F.interpolate(uv, scale_factor=2, mode="bilinear", align_corners=False)


def ycbcr420_to_rgb(luma: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Y (B,1,H,W) and Cb, Cr (B,2,H/2,W/2) -> RGB (B,3,H,W): how every decoded picture becomes RGB."""
    return ycbcr_to_rgb(torch.cat([luma, upsample_420(chroma)], 1))
