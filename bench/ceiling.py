"""Where the quality ceiling is. Our RD curve flattens at the top; this separates the causes on the
validation photos (whole, or centre crops with `--crop`), with no quantisation at all:

- `4:2:0`: the colour round trip alone (box-filtered chroma, bilinear up-sampling), the format's bound;
- `AE`: analysis -> synthesis with the latents left unquantised (the transforms' bound at infinite rate);
- `AE luma` / `AE chroma`: the same with only one component through the networks, the other exact;
- `AE Y`: PSNR-Y of the luma synthesis fed the analysis' latents;
- `ideal Y`: what latents optimised for the luma synthesis by gradient descent (MSE, `--steps`) add to
  `AE Y`, on the picture's centre `--window` (an estimate of what the synthesis can give at all: the rest is
  the analysis' shortfall).

If `AE` sits near the top of the RD curve, more rate cannot help: the transforms must improve.

    python bench/ceiling.py [--limit N] [--crop S] [--steps K] [--window W]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from rd import VAL, val_pictures  # noqa: E402  (bench/ is this script's folder: sys.path[0])

RGB = ("4:2:0", "AE", "AE luma", "AE chroma")      # PSNR-RGB
LUMA = ("AE Y", "ideal Y")                         # PSNR-Y, and a gain in dB
COLUMNS = RGB + LUMA


def _psnr_rgb(rec, ref) -> float:
    mse = ((rec.clamp(0, 1) * 255).round() - ref * 255).pow(2).mean().item()
    return 10 * math.log10(255 ** 2 / max(mse, 1e-10))


def _ideal_luma_gain(model, y0, luma, steps: int) -> float:
    """dB of PSNR-Y that latents optimised for the luma synthesis (Adam on y, MSE only) add over y0."""
    import torch
    import torch.nn.functional as F
    with torch.no_grad():
        start = F.mse_loss(model.syn_y(y0) + 0.5, luma).item()
    y = y0.clone().requires_grad_(True)
    opt = torch.optim.Adam([y], lr=0.02)
    for _ in range(steps):
        loss = F.mse_loss(model.syn_y(y) + 0.5, luma)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mse = F.mse_loss(model.syn_y(y) + 0.5, luma).item()
    return 10 * math.log10(start / max(mse, 1e-12))


def picture_row(model, rgb: np.ndarray, steps: int, window: int = 256) -> dict:
    import torch
    import torch.nn.functional as F

    from codec.colour import downsample_420, rgb_to_ycbcr, ycbcr420_to_rgb
    from codec.model import rate_condition
    h, w = rgb.shape[0] // 64 * 64, rgb.shape[1] // 64 * 64
    x = torch.from_numpy(np.ascontiguousarray(rgb[:h, :w])).permute(2, 0, 1)[None].float() / 255
    ycc = rgb_to_ycbcr(x)
    uv = downsample_420(ycc[:, 1:])
    rgb_of = ycbcr420_to_rgb
    with torch.no_grad():
        top = rate_condition(torch.tensor([3]))          # the highest-rate regime: nearest no quantisation
        lat_y, lat_uv = model.analyse(ycc, top)
        luma = model.syn_y(lat_y) + 0.5
        chroma = model.syn_uv(lat_uv, lat_y) + 0.5
        row = {"4:2:0": _psnr_rgb(rgb_of(ycc[:, :1], uv), x), "AE": _psnr_rgb(rgb_of(luma, chroma), x),
               "AE luma": _psnr_rgb(rgb_of(luma, uv), x), "AE chroma": _psnr_rgb(rgb_of(ycc[:, :1], chroma), x),
               "AE Y": 10 * math.log10(1 / F.mse_loss(luma, ycc[:, :1]).item())}
    row["ideal Y"] = float("nan")
    if steps:
        wh, ww = min(window, h) // 64 * 64, min(window, w) // 64 * 64   # the window is coded on its own
        t, l = (h - wh) // 2, (w - ww) // 2
        luma_win = ycc[:, :1, t:t + wh, l:l + ww]
        with torch.no_grad():
            start = model.ana_y(luma_win - 0.5, top)
        row["ideal Y"] = _ideal_luma_gain(model, start, luma_win, steps)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="first N validation photos (default: all)")
    ap.add_argument("--crop", type=int, default=0, help="centre S x S crop of each photo (default: whole)")
    ap.add_argument("--steps", type=int, default=100, help="optimisation steps for `ideal Y` (0 = skip)")
    ap.add_argument("--window", type=int, default=256, help="centre window (pixels) where `ideal Y` is measured")
    args = ap.parse_args(argv)

    from codec.weights import load_networks
    model = load_networks()
    t0 = time.perf_counter()
    rows = []
    print(f"{'picture':14s}" + "".join(f"{c:>11s}" for c in COLUMNS) + "   (PSNR-RGB; then PSNR-Y, and its gain in dB)")
    for name, rgb in val_pictures(VAL, args.limit, args.crop):
        r = picture_row(model, rgb, args.steps, args.window)
        rows.append(r)
        print(f"{name:14s}" + "".join(f"{r[c]:11.2f}" for c in COLUMNS), flush=True)
    mean = {c: float(np.mean([r[c] for r in rows])) for c in COLUMNS}
    print(f"{'mean':14s}" + "".join(f"{mean[c]:11.2f}" for c in COLUMNS))
    ideal = (f"; luma synthesis gains {mean['ideal Y']:+.2f} dB from ideal latents" if args.steps
             else "")
    size = f"{args.crop}x{args.crop}" if args.crop else "whole pictures"
    print(f"ceiling: transforms {mean['AE']:.2f} dB PSNR-RGB, 4:2:0 bound {mean['4:2:0']:.2f} dB{ideal} "
          f"({len(rows)} pictures, {size}, {time.perf_counter() - t0:.0f} s)")

if __name__ == "__main__":
    main()
