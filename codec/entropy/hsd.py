"""Integer hyper-scale decoder runtime (entropy.md §5.2): ẑ → σ index (Q7 log units) per latent element.

Parsing depends on these numbers, so they must be the same on every machine. Each convolution is computed as
a float64 matrix product of int8 operands: every product is an integer below 2^14 and every partial sum an
integer far below 2^53, so the product is exact whatever the BLAS, its summation order or thread count.
The exact sum plus the int32 bias is then wrapped to 32 bits, which equals wrapping accumulation in any order.
numpy only; no torch needed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HSD_MAX = 3967           # 31 * 128 - 1
_EXACT_TERMS = 1 << 38   # products per output below this keep float64 sums exact (2^38 * 2^14 < 2^53)


@dataclass(frozen=True)
class HsdLayer:
    """One integer convolution: weight int8 (Cout, Cin, k, k), bias int32 (Cout,), right shift (Cout,) 0..31."""
    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray

    def __post_init__(self):
        w, b, s = np.asarray(self.weight), np.asarray(self.bias), np.asarray(self.shift)
        if w.ndim == 2:
            w = w[:, :, None, None]
        if w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[2] not in (1, 3):
            raise ValueError(f"HSD weight must be (Cout, Cin, k, k) with k = 1 or 3, got {w.shape}")
        if w.min(initial=0) < -128 or w.max(initial=0) > 127:
            raise ValueError("HSD weights must be int8")
        if b.shape != (w.shape[0],) or s.shape != (w.shape[0],):
            raise ValueError("HSD bias and shift need one entry per output channel")
        if b.min(initial=0) < -2**31 or b.max(initial=0) >= 2**31 or s.min(initial=0) < 0 or s.max(initial=0) > 31:
            raise ValueError("HSD bias must be int32 and shifts 0..31")
        if w.shape[1] * w.shape[2] * w.shape[3] >= _EXACT_TERMS:
            raise ValueError("HSD layer too wide for exact accumulation")
        object.__setattr__(self, "weight", w.astype(np.int8))
        object.__setattr__(self, "bias", b.astype(np.int64))
        object.__setattr__(self, "shift", s.astype(np.int64))


@dataclass(frozen=True)
class HsdWeights:
    """The three layers of one component: 1×1 → ReLU → 3×3 (pad 1) → ReLU → 1×1 to 16·C channels."""
    l1: HsdLayer
    l2: HsdLayer
    l3: HsdLayer

    def __post_init__(self):
        k = (self.l1.weight.shape[2], self.l2.weight.shape[2], self.l3.weight.shape[2])
        if k != (1, 3, 1):
            raise ValueError(f"HSD kernel sizes must be 1, 3, 1, got {k}")
        if self.l2.weight.shape[1] != self.l1.weight.shape[0] or self.l3.weight.shape[1] != self.l2.weight.shape[0]:
            raise ValueError("HSD layer channel counts do not chain")
        if self.l3.weight.shape[0] != 16 * self.l1.weight.shape[1]:
            raise ValueError("HSD last layer must output 16·C channels")

    @property
    def channels(self) -> int:
        return self.l1.weight.shape[1]


def _wrap32(a: np.ndarray) -> np.ndarray:
    return (((a + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)).astype(np.int64)


def conv_int(x: np.ndarray, layer: HsdLayer, matmul=np.matmul) -> np.ndarray:
    """One convolution of the integer contract on x (Cin, H, W): int8 clamp of the input, wrapping int32
    accumulation with bias, per-output-channel arithmetic right shift. Returns int64 holding int32 values.
    `matmul`: any exact float64 matrix product (see the module's note)."""
    cin, h, w = x.shape
    k = layer.weight.shape[2]
    if cin != layer.weight.shape[1]:
        raise ValueError(f"HSD layer expects {layer.weight.shape[1]} input channels, got {cin}")
    xc = np.clip(x, -128, 127).astype(np.float64)
    if k == 1:
        cols = xc.reshape(cin, h * w)
    else:
        pad = np.zeros((cin, h + 2, w + 2))
        pad[:, 1:-1, 1:-1] = xc
        cols = np.stack([pad[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=1)
        cols = cols.reshape(cin * 9, h * w)
    wm = layer.weight.reshape(layer.weight.shape[0], -1).astype(np.float64)
    acc = matmul(wm, cols).astype(np.int64) + layer.bias[:, None]
    out = _wrap32(acc) >> layer.shift[:, None]
    return out.reshape(-1, h, w)


def hyper_scale_decode(z_hat: np.ndarray, weights: HsdWeights, h_lat: int, w_lat: int,
                       matmul=np.matmul) -> np.ndarray:
    """σ indices int32 (C, h_lat, w_lat) in 0..3967 from ẑ (C, h_z, w_z) integers. `matmul` computes the
    float64 matrix products (numpy's BLAS by default; the torch codec passes torch's, see `conv_int`)."""
    z = np.asarray(z_hat)
    if z.ndim != 3 or z.shape[0] != weights.channels:
        raise ValueError(f"ẑ must be ({weights.channels}, h_z, w_z), got {z.shape}")
    c, hz, wz = z.shape
    if not (0 < h_lat <= 4 * hz and 0 < w_lat <= 4 * wz):
        raise ValueError(f"latent {h_lat}×{w_lat} does not fit 4× the hyper-latent {hz}×{wz}")
    x = np.maximum(conv_int(z.astype(np.int64), weights.l1, matmul), 0)
    x = np.maximum(conv_int(x, weights.l2, matmul), 0)
    x = conv_int(x, weights.l3, matmul)                                      # (16C, hz, wz)
    x = x.reshape(c, 4, 4, hz, wz).transpose(0, 3, 1, 4, 2).reshape(c, 4 * hz, 4 * wz)
    return np.clip(np.abs(x[:, :h_lat, :w_lat]), 0, HSD_MAX).astype(np.int32)
