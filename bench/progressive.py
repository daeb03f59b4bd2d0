"""Progressive decoding: quality and size of channel-prefix sub-streams. Each validation photo is encoded once
(model_id 3 by default), cut with `jpegai_fmt.extract` to a prefix of latent channels, and the cut stream is
decoded; the full stream is the baseline. PSNR must rise with the channel count; 8 luma + 8 chroma channels
should already give a recognisable picture.

    python bench/progressive.py [--limit N] [--crop S] [--model-id K]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from rd import VAL, val_pictures  # noqa: E402  (bench/ is this script's folder: sys.path[0])
PREFIXES = ((8, 8), (16, 8), (32, 16), (48, 24), (80, 48), (120, 72), (160, 96))
TOLERANCE_DB = 0.01              # the last channels carry almost nothing: adding them can move PSNR by 1e-5 dB


def falls(psnr: dict, names: list[str]) -> list[tuple]:
    """(picture, prefix, next prefix, PSNR change) wherever more channels gave a lower PSNR."""
    return [(names[i], a, b, psnr[b][i] - psnr[a][i])
            for i in range(len(names)) for a, b in zip(PREFIXES, PREFIXES[1:]) if psnr[b][i] < psnr[a][i]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="first N validation photos (default: all)")
    ap.add_argument("--crop", type=int, default=0, help="centre S x S crop of each photo")
    ap.add_argument("--model-id", type=int, default=3)
    args = ap.parse_args(argv)

    from codec import pipeline as P
    from codec.metrics import psnr_rgb
    from codec.weights import load_networks
    from jpegai_fmt.extract import extract

    model = load_networks()
    t0 = time.perf_counter()
    psnr = {p: [] for p in PREFIXES}
    bpp = {p: [] for p in PREFIXES}
    names = []
    for name, rgb in val_pictures(VAL, args.limit, args.crop):
        names.append(name)
        full = P.encode(rgb, settings=P.EncodeSettings(model_id=args.model_id), model=model)
        px = rgb.shape[0] * rgb.shape[1]
        for n, m in PREFIXES:
            cut = full if (n, m) == PREFIXES[-1] else extract(full, luma_channels=n, chroma_channels=m)[0]
            psnr[(n, m)].append(psnr_rgb(rgb, P.decode(cut, model=model).rgb))
            bpp[(n, m)].append(len(cut) * 8 / px)
    print(f"{len(names)} pictures ({', '.join(names)}), model_id {args.model_id}, "
          f"{'crop ' + str(args.crop) if args.crop else 'full size'}; {time.perf_counter() - t0:.0f} s\n")
    print("| luma + chroma channels | mean bpp | mean PSNR-RGB | min PSNR-RGB |\n|---|---|---|---|")
    for p in PREFIXES:
        print(f"| {p[0]} + {p[1]} | {np.mean(bpp[p]):.3f} | {np.mean(psnr[p]):.2f} | {np.min(psnr[p]):.2f} |")
    means = [np.mean(psnr[p]) for p in PREFIXES]
    found = falls(psnr, names)
    rising = all(-d < TOLERANCE_DB for *_, d in found)
    print(f"\nPSNR rises with the channel count on every picture: {rising} "
          f"(falls under {TOLERANCE_DB} dB, below the precision reported, are listed but tolerated)")
    for name, a, b, d in found:
        print(f"- {name}: {a[0]}+{a[1]} -> {b[0]}+{b[1]} channels: {d:+.2e} dB")
    print(f"8+8 channels: {means[0]:.2f} dB at {np.mean(bpp[PREFIXES[0]]):.3f} bpp; "
          f"full stream (baseline): {means[-1]:.2f} dB at {np.mean(bpp[PREFIXES[-1]]):.3f} bpp")


if __name__ == "__main__":
    main()
