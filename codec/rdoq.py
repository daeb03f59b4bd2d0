"""Rate-distortion optimised quantisation: after rounding, move a residual one step towards zero where the
bits it saves outweigh the distortion it adds at the operating point's lambda.

The rate side is exact: given its row (from sigma), each residual's code length is fixed by the residual
tables and does not depend on its neighbours. The distortion side is a proxy: the RGB squared error that a unit
latent error in each channel causes after synthesis (the channel's synthesis gain), measured once on training
crops by `python -m codec.rdoq` and kept with the encoder's weights (`synthesis_gain.npy`). It is not part of the
model-set id: it changes which symbols are written, never how a stream decodes.
"""
from __future__ import annotations

import argparse
import glob
import os
from functools import lru_cache

import numpy as np

from .entropy import tables as tb
from .entropy.coder import SKIP_ROW

GAIN_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "synthesis_gain.npy")
# the proxy underestimates what a change costs after synthesis. BD-rate against plain rounding on 8 validation
# crops (512x512) x 6 rates, gains measured on validation crops: -1.3 % at 1x, -2.1 % at 2x and 3x, -1.8 % at
# 4x, -1.4 % at 6x. The shipped gains, from training crops, are 1.13x those, so 2.0 sat in the flat optimum.
# Session 13, the default encoder (rate-conditioned analysis, 5-6 refinement steps), same crops and rates:
# against 2x, RDOQ off -0.45 %, 4x -0.68 %, 8x -0.75 % (16x: 0.0 % against 8x): the conditioned analysis places low-rate
# latents near mu, so RDOQ should move only the clearly cheap ones.
DISTORTION_SCALE = 8.0
SHORT_ESCAPE = 4                       # |r| - bound below this takes the 3-bit escape form (entropy.md 7.5)


@lru_cache(maxsize=1)
def _length_table() -> tuple[np.ndarray, np.ndarray]:
    """Code length in bits of symbol index s in row k (escape excluded), and each row's bound."""
    rows, bounds = tb.residual_rows(), np.array(tb.residual_bounds())
    lengths = np.full((len(rows), 2 * int(bounds.max())), np.inf)
    for k, masses in enumerate(rows):
        m = np.array(masses[:-1], np.float64)
        lengths[k, :len(m)] = 8 - np.log2(m)
    return lengths, bounds


def code_lengths(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bits each residual costs at its row (rows of skipped positions cost nothing)."""
    lengths, bounds = _length_table()
    coded = rows != SKIP_ROW
    k = np.where(coded, rows, 0).astype(np.int64)
    mag = np.abs(values).astype(np.int64)
    b = bounds[k]
    sym = np.where(values < 0, 2 * mag - 1, 2 * mag)
    inside = mag < b
    direct = lengths[k, np.where(inside, sym, 0)]
    escape = 8 + 1 + np.where(mag - b < SHORT_ESCAPE, 3, 16)
    return np.where(coded, np.where(inside, direct, escape), 0.0)


@lru_cache(maxsize=1)
def synthesis_gain() -> np.ndarray:
    """Per latent channel (160 luma then 96 chroma): RGB squared error per unit latent error squared."""
    return np.load(GAIN_FILE)


def quantise(scaled: np.ndarray, rows: np.ndarray, step: np.ndarray, gain: np.ndarray, lam: float) -> np.ndarray:
    """Residual symbols for `scaled` = (y - mu) * gain_step (C, h, w): rounded, then each nonzero one moved a
    step towards zero where lam * 255^2 / 3 * synthesis gain * (added latent error^2) < bits saved.
    `step` is the per-channel gain step (C, 1, 1), `gain` the channels' synthesis gains."""
    r = np.rint(scaled).astype(np.int64)
    # only coded nonzero residuals can move: most are zero or skipped, so work on those alone
    at = np.flatnonzero((r != 0) & (rows != SKIP_ROW))
    ch = at // (r.shape[1] * r.shape[2])
    old, x, k = r.reshape(-1)[at], scaled.reshape(-1)[at], rows.reshape(-1)[at]
    toward = old - np.sign(old)
    added = ((x - toward) ** 2 - (x - old) ** 2) / step.reshape(-1)[ch] ** 2
    cost = lam * 255.0 ** 2 / 3.0 * DISTORTION_SCALE * gain[ch] * added
    move = cost < code_lengths(k, old) - code_lengths(k, toward)
    out = r.astype(np.int32)
    out.reshape(-1)[at[move]] = toward[move]
    return out


# ------------------------------------------------------------------------------------------- calibration

def measure(model, pictures, amplitude: float = 0.3, seed: int = 0) -> np.ndarray:
    """Synthesis gain per channel: mean over pictures of the RGB squared error (sum over pixels and colours,
    samples in [0, 1]) that +-amplitude noise on every element of one channel causes, per element and per
    amplitude squared. Pictures are uint8 RGB arrays whose sides are multiples of 64."""
    import torch

    from .colour import rgb_to_ycbcr
    from .model import rate_condition
    from .pipeline import synthesise
    gen = torch.Generator().manual_seed(seed)
    total = np.zeros(256)
    with torch.no_grad():
        for rgb in pictures:
            x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255.0
            lat = list(model.analyse(rgb_to_ycbcr(x), rate_condition(torch.tensor([2]))))
            base = synthesise(model, *lat).astype(np.float64)
            for c, offset in ((0, 0), (1, lat[0].shape[1])):
                for ch in range(lat[c].shape[1]):
                    noisy = [t.clone() for t in lat]
                    noise = (torch.randint(0, 2, noisy[c][0, ch].shape, generator=gen) * 2 - 1) * amplitude
                    noisy[c][0, ch] += noise
                    err = ((synthesise(model, *noisy).astype(np.float64) - base) / 255.0) ** 2
                    total[offset + ch] += err.sum() / (noise.numel() * amplitude ** 2)
    return total / len(pictures)


def main(argv=None) -> None:
    from PIL import Image

    from .weights import load_networks
    ap = argparse.ArgumentParser(prog="python -m codec.rdoq", description="measure the channels' synthesis gains for RDOQ")
    ap.add_argument("--train", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "train"))
    ap.add_argument("--pictures", type=int, default=12, help="how many training photos (a 256x256 centre crop each)")
    ap.add_argument("--out", default=GAIN_FILE)
    args = ap.parse_args(argv)
    paths = sorted(glob.glob(os.path.join(args.train, "*.png")))
    crops = []
    for p in paths[:: max(1, len(paths) // args.pictures)][: args.pictures]:
        with Image.open(p) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w = rgb.shape[:2]
        y0, x0 = max(0, (h - 256) // 2), max(0, (w - 256) // 2)
        crops.append(rgb[y0:y0 + 256, x0:x0 + 256])
    gain = measure(load_networks(), crops)
    tmp = args.out + ".tmp.npy"
    np.save(tmp, gain.astype(np.float32))
    os.replace(tmp, args.out)
    print(f"{args.out}: luma {gain[:160].mean():.3f}, chroma {gain[160:].mean():.3f} (mean per channel)")


if __name__ == "__main__":
    main()
