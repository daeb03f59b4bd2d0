"""Rate-distortion benchmark on ../shared/data/val/: our codec (real streams, real sizes) against Pillow's
JPEG (4:2:0), WebP and AVIF at matching rates. Prints per-codec RD points, BD-rate (PSNR-RGB, PSNR-YUV
6:1:1, MS-SSIM) of ours against each, and writes bench/results/rd.md and rd.png.

    python bench/rd.py [--val DIR] [--limit N] [--crop S]
"""
from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from codec.metrics import ms_ssim, psnr_rgb, psnr_yuv611  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VAL = os.path.join(HERE, "..", "..", "shared", "data", "val")
OURS = [(0, -400), (0, 0), (1, 0), (2, 0), (3, 0), (3, 300)]      # (model_id, BDL)
PIL_CODECS = {
    "JPEG": (lambda im, q, b: im.save(b, "JPEG", quality=q, subsampling=2), range(5, 96, 5)),
    "WebP": (lambda im, q, b: im.save(b, "WEBP", quality=q, method=4), range(5, 101, 5)),
    "AVIF": (lambda im, q, b: im.save(b, "AVIF", quality=q, speed=6, subsampling="4:2:0"), range(10, 96, 7)),
}
METRICS = {"psnr_rgb": psnr_rgb, "psnr_yuv611": psnr_yuv611, "ms_ssim": ms_ssim}


def measure(ref, dec, nbytes):
    out = {"bpp": nbytes * 8 / (ref.shape[0] * ref.shape[1])}
    out.update({k: f(ref, dec) for k, f in METRICS.items()})
    return out


def pil_points(name, ref):
    save, qualities = PIL_CODECS[name]
    pts = []
    for q in qualities:
        buf = io.BytesIO()
        save(Image.fromarray(ref), q, buf)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        pts.append(measure(ref, dec, buf.tell()))
    return pts


def our_points(model, ref):
    from codec.pipeline import EncodeSettings, analyse, decode, encode_analysis
    an = analyse(model, ref)
    pts = []
    for mid, bdl in OURS:
        data = encode_analysis(an, EncodeSettings(model_id=mid, bdl=(bdl, bdl), channel_index=False))
        pts.append(measure(ref, decode(data, model=model).rgb, len(data)))
    return pts


def bd_rate(anchor, test, metric):
    """Bjøntegaard delta rate (%) of `test` against `anchor`: cubic fit of log-rate over quality,
    integrated over the overlapping quality interval. None when the curves do not overlap."""
    def fit(pts):
        q = np.array([p[metric] for p in pts])
        r = np.log(np.array([p["bpp"] for p in pts]))
        order = np.argsort(q)
        return q[order], r[order]
    qa, ra = fit(anchor)
    qt, rt = fit(test)
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if hi <= lo:
        return None
    pa, pt = np.polyfit(qa, ra, 3), np.polyfit(qt, rt, 3)
    ia = np.polyval(np.polyint(pa), hi) - np.polyval(np.polyint(pa), lo)
    it = np.polyval(np.polyint(pt), hi) - np.polyval(np.polyint(pt), lo)
    return float((np.exp((it - ia) / (hi - lo)) - 1) * 100)


def within(anchor, lo_bpp, hi_bpp):
    """Anchor points in the rate range of ours (with one point of margin each side) for a fair fit."""
    pts = sorted(anchor, key=lambda p: p["bpp"])
    inside = [i for i, p in enumerate(pts) if lo_bpp <= p["bpp"] <= hi_bpp]
    if not inside:
        return pts
    return pts[max(0, inside[0] - 1): inside[-1] + 2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", default=VAL)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N pictures")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    import torch

    from codec.weights import load_networks
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    paths = sorted(glob.glob(os.path.join(args.val, "*.png")))[: args.limit or None]
    if not paths:
        sys.exit(f"no PNG pictures in {args.val}")
    model = load_networks()
    t0 = time.time()
    per_image = []
    for p in paths:
        ref = np.asarray(Image.open(p).convert("RGB"))
        entry = {"image": os.path.basename(p), "ours": our_points(model, ref)}
        for name in PIL_CODECS:
            entry[name] = pil_points(name, ref)
        per_image.append(entry)
        print(f"{entry['image']}: ours " + ", ".join(f"{q['bpp']:.3f}/{q['psnr_rgb']:.2f}" for q in entry["ours"]),
              flush=True)
    summary = {}
    for name in PIL_CODECS:
        for metric in METRICS:
            vals = []
            for e in per_image:
                lo, hi = min(q["bpp"] for q in e["ours"]), max(q["bpp"] for q in e["ours"])
                v = bd_rate(within(e[name], lo, hi), e["ours"], metric)
                if v is not None:
                    vals.append(v)
            summary[(name, metric)] = (float(np.mean(vals)) if vals else None, len(vals))
    mean_ours = [{k: float(np.mean([e["ours"][i][k] for e in per_image])) for k in ("bpp", *METRICS)}
                 for i in range(len(OURS))]
    os.makedirs(args.out, exist_ok=True)
    lines = ["# Rate-distortion on the validation set", "",
             f"{len(paths)} pictures from `{os.path.relpath(args.val)}`, full size; our sizes are real stream "
             f"sizes (container excluded). Run time {time.time() - t0:.0f} s.", "",
             "| ours (model_id, BDL) | bpp | PSNR-RGB | PSNR-YUV 6:1:1 | MS-SSIM (Y) |", "|---|---|---|---|---|"]
    for (mid, bdl), q in zip(OURS, mean_ours):
        lines.append(f"| {mid}, {bdl:+d} | {q['bpp']:.3f} | {q['psnr_rgb']:.2f} | {q['psnr_yuv611']:.2f} | "
                     f"{q['ms_ssim']:.4f} |")
    lines += ["", "BD-rate of ours against each anchor (negative = fewer bits for the same quality), mean over "
              "pictures, over the quality range both cover:", "",
              "| anchor | PSNR-RGB | PSNR-YUV 6:1:1 | MS-SSIM |", "|---|---|---|---|"]
    for name in PIL_CODECS:
        cells = []
        for metric in METRICS:
            v, n = summary[(name, metric)]
            cells.append("n/a" if v is None else f"{v:+.1f} % ({n} pictures)")
        lines.append(f"| Pillow {name} | " + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "rd.md"), "w") as fh:
        fh.write(report)
    with open(os.path.join(args.out, "rd.json"), "w") as fh:
        json.dump(per_image, fh)
    _plot(per_image, os.path.join(args.out, "rd.png"))
    print(report)


def _plot(per_image, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 5))
    for name in ("ours", *PIL_CODECS):
        n = len(per_image[0][name])
        bpp = [np.mean([e[name][i]["bpp"] for e in per_image]) for i in range(n)]
        ps = [np.mean([e[name][i]["psnr_rgb"] for e in per_image]) for i in range(n)]
        ax.plot(bpp, ps, "o-" if name == "ours" else ".-", label="jpegai-fmt (ours)" if name == "ours" else name)
    ax.set_xlim(0, 1.2)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR-RGB (dB)")
    ax.set_title("Validation set, mean over pictures")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
