"""Rate-distortion benchmark on ../shared/data/val/: our codec (real streams, real sizes) against Pillow's
JPEG (4:2:0), WebP and AVIF at matching rates. Prints per-codec RD points, BD-rate (PSNR-RGB, PSNR-YUV
6:1:1, MS-SSIM) of ours against each, and writes bench/results/rd.md and rd.png.

"ours" is the default encoder, which refines the latents for a number of steps set by the picture size
(codec/refine.py `auto_steps`: 12 steps at these photos' sizes). With --refine N another series of
ours is measured in the same run with N steps; --without-refine adds the encoder without refinement.

    python bench/rd.py [--val DIR] [--limit N] [--crop S] [--refine N] [--without-post-filter] [--without-rdoq]
                       [--out DIR]
    python bench/rd.py --report bench/results/rd.json     # rewrite rd.md/rd.png from a saved run
    python bench/rd.py --remeasure ours    # measure one series again (after an encoder change), keep the rest
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


def our_points(model, ref, refine_steps=0, post_filter=True, rdoq=True):
    from codec.pipeline import EncodeSettings, analyse, decode, encode_analysis, with_post_filter
    from codec.refine import auto_steps, refine
    pts = []
    for mid, bdl in OURS:
        s = EncodeSettings(model_id=mid, bdl=(bdl, bdl), channel_index=False, rdoq=rdoq)
        an = analyse(model, ref, mid, s.bdl)
        steps = auto_steps(*an.coded) if refine_steps == "auto" else refine_steps
        coded = refine(model, ref, an, mid, s.bdl, steps)
        data = encode_analysis(with_post_filter(model, ref, coded, s) if post_filter else coded, s)
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


def _bd_mean(per_image, anchor, test, metric):
    """Mean BD-rate over pictures, how many, and the pictures left out because the curves do not overlap."""
    vals, left_out = [], []
    for e in per_image:
        lo, hi = min(q["bpp"] for q in e[test]), max(q["bpp"] for q in e[test])
        v = bd_rate(within(e[anchor], lo, hi), e[test], metric)
        if v is None:
            left_out.append(e["image"])
        else:
            vals.append(v)
    return (float(np.mean(vals)) if vals else None, len(vals), left_out)


def _cell(v_n):
    v, n, _ = v_n
    return "n/a" if v is None else f"{v:+.1f} % ({n} pictures)"


def report(run: dict) -> str:
    """rd.md from a measured run (the rd.json that `main` writes)."""
    per_image, ours = run["pictures"], run["series"]
    lines = ["# Rate-distortion on the validation set", "",
             f"{len(per_image)} pictures from `{run['val']}`, {run['size']}; our sizes are real stream "
             f"sizes (container excluded). Run time {run['run_s']:.0f} s."
             + "".join(f" Series {k} measured again later ({v:.0f} s)." for k, v in run.get("remeasured", {}).items()),
             ""]
    for series, how in ours.items():
        how = _settings(how)
        mean = [{k: float(np.mean([e[series][i][k] for e in per_image])) for k in ("bpp", *METRICS)}
                for i in range(len(OURS))]
        what = {"auto": "the default encoder: refinement steps by picture size (codec.refine.auto_steps)",
                0: "no latent refinement (`--refine 0`, the fastest encoder)"}.get(
            how["refine"], f"{how['refine']} steps of latent refinement") \
            + ("" if how["post_filter"] else ", post-filter off") + ("" if how["rdoq"] else ", RDOQ off")
        lines += [f"{series} ({what}):", "",
                  "| model_id, BDL | bpp | PSNR-RGB | PSNR-YUV 6:1:1 | MS-SSIM (Y) |", "|---|---|---|---|---|"]
        for (mid, bdl), q in zip(OURS, mean):
            lines.append(f"| {mid}, {bdl:+d} | {q['bpp']:.3f} | {q['psnr_rgb']:.2f} | {q['psnr_yuv611']:.2f} | "
                         f"{q['ms_ssim']:.4f} |")
        lines.append("")
    lines += ["BD-rate of ours against each anchor (negative = fewer bits for the same quality), mean over "
              "pictures, over the quality range both cover:", "",
              "| series | anchor | PSNR-RGB | PSNR-YUV 6:1:1 | MS-SSIM |", "|---|---|---|---|---|"]
    notes = []
    for series, how in ours.items():
        base = how.get("vs", "ours") if isinstance(how, dict) else "ours"
        anchors = [(f"Pillow {name}", name) for name in PIL_CODECS] + ([(base, base)] if series != "ours" else [])
        for label, key in anchors:
            cells = []
            for m in METRICS:
                res = _bd_mean(per_image, key, series, m)
                cells.append(_cell(res))
                if res[2]:
                    notes.append(f"- {series} vs {label}, {m}: no quality overlap on {', '.join(res[2])}, left "
                                 f"out of the mean")
            lines.append(f"| {series} | {label} | " + " | ".join(cells) + " |")
    if notes:
        lines += ["", "Pictures without a BD-rate: where the anchor's lowest-rate point is already better than "
                  "our best quality the curves share no quality range. Leaving them out flatters the mean.", "",
                  *notes]
    return "\n".join(lines) + "\n"


def _settings(how) -> dict:
    """A series' encoder settings; runs saved before the post-filter and RDOQ existed stored only refinement
    steps."""
    return {"post_filter": False, "rdoq": False, **how} if isinstance(how, dict) else \
        {"refine": how, "post_filter": False, "rdoq": False}


def val_pictures(folder: str, limit: int = 0, crop: int = 0):
    """(file name, RGB array) of the folder's PNGs in name order: the first `limit` (0 = all), each cut to its
    centre crop x crop (0 = whole). Exits with a message when there are none."""
    paths = sorted(glob.glob(os.path.join(folder, "*.png")))[: limit or None]
    if not paths:
        sys.exit(f"no PNG pictures in {folder}")
    for p in paths:
        with Image.open(p) as im:
            ref = np.asarray(im.convert("RGB"))
        if crop:
            h, w = ref.shape[:2]
            y0, x0 = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
            ref = ref[y0:y0 + crop, x0:x0 + crop].copy()
        yield os.path.basename(p), ref


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", default=VAL)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N pictures")
    ap.add_argument("--crop", type=int, default=0, help="use the centre S x S crop of each picture (quick runs)")
    ap.add_argument("--refine", type=int, default=0, metavar="N",
                    help="also measure ours with N steps of latent refinement")
    ap.add_argument("--without-refine", action="store_true",
                    help="also measure ours without refinement (`--refine 0`, the fastest encoder, the default "
                         "before session 8); --without-post-filter and --without-rdoq then compare against it")
    ap.add_argument("--without-post-filter", action="store_true",
                    help="also measure ours with the EFE linear post-filter off (its gain is the BD-rate of ours "
                         "against this series)")
    ap.add_argument("--without-rdoq", action="store_true",
                    help="also measure ours with RDOQ off (codec/rdoq.py; latents refined for more than "
                         "refine.RDOQ_UP_TO steps never use it)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--report", metavar="RD_JSON", help="measure nothing: rewrite rd.md and rd.png from a saved run")
    ap.add_argument("--remeasure", nargs="+", metavar="SERIES",
                    help="measure only these series of ours again, with today's encoder ('ours' = the current "
                         "default), and keep every other series of OUT/rd.json: a change to one encoder setting "
                         "need not rerun the whole benchmark")
    args = ap.parse_args(argv)
    if args.remeasure:
        return remeasure(args.out, args.remeasure)
    if args.report:
        with open(args.report) as fh:
            write_report(json.load(fh), args.out)
        return
    import torch

    from codec.weights import load_networks
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = load_networks()
    default = {"refine": "auto", "post_filter": True, "rdoq": True}
    ours = {"ours": default}
    fast = {**default, "refine": 0}
    if args.without_refine:
        ours["ours-refine0"] = fast
    if args.refine:
        ours[f"ours+refine{args.refine}"] = {**default, "refine": args.refine}
    # The ablations switch one tool off in the encoder without refinement (RDOQ and refinement interact).
    ablation_base = {**fast, "vs": "ours-refine0"} if args.without_refine else fast
    if args.without_post_filter:
        ours["ours-no-post-filter"] = {**ablation_base, "post_filter": False}
    if args.without_rdoq:
        ours["ours-no-rdoq"] = {**ablation_base, "rdoq": False}
    t0 = time.time()
    per_image = []
    for name, ref in val_pictures(args.val, args.limit, args.crop):
        entry = {"image": name}
        for series, how in ours.items():
            entry[series] = our_points(model, ref, how["refine"], how["post_filter"], how["rdoq"])
        for name in PIL_CODECS:
            entry[name] = pil_points(name, ref)
        per_image.append(entry)
        print(f"{entry['image']}: " + "; ".join(
            f"{series} " + ", ".join(f"{q['bpp']:.3f}/{q['psnr_rgb']:.2f}" for q in entry[series]) for series in ours),
            flush=True)
    size = f"centre {args.crop}x{args.crop} crops" if args.crop else "full size"
    run = {"val": os.path.relpath(args.val), "size": size, "crop": args.crop, "run_s": time.time() - t0,
           "series": ours, "pictures": per_image}
    write_report(run, args.out)


def remeasure(out: str, names: list[str]) -> None:
    """Measure the named series of ours again on the saved run's pictures; every other series is kept."""
    import torch

    from codec.weights import load_networks
    path = os.path.join(out, "rd.json")
    with open(path) as fh:
        run = json.load(fh)
    unknown = [n for n in names if n not in run["series"]]
    if unknown:
        raise SystemExit(f"{path} has no series {', '.join(unknown)} (it has {', '.join(run['series'])})")
    if "crop" not in run and run["size"] != "full size":
        raise SystemExit(f"{path} was measured on {run['size']} by an older bench/rd.py; measure it again in full")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = load_networks()
    t0 = time.time()
    pictures = {e["image"]: e for e in run["pictures"]}
    for name, ref in val_pictures(run["val"], 0, run.get("crop", 0)):
        if name not in pictures:
            continue
        for series in names:
            how = run["series"][series]
            pictures[name][series] = our_points(model, ref, how["refine"], how["post_filter"], how["rdoq"])
            print(f"{name}: {series} " + ", ".join(f"{q['bpp']:.3f}/{q['psnr_rgb']:.2f}"
                                                   for q in pictures[name][series]), flush=True)
    run.setdefault("remeasured", {}).update({n: (time.time() - t0) / len(names) for n in names})
    write_report(run, out)


def write_report(run: dict, out: str) -> None:
    text = report(run)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "rd.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(out, "rd.json"), "w") as fh:
        json.dump(run, fh)
    _plot(run["pictures"], list(run["series"]), os.path.join(out, "rd.png"))
    print(text)


def _plot(per_image, ours, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 5))
    for name in (*ours, *PIL_CODECS):
        n = len(per_image[0][name])
        bpp = [np.mean([e[name][i]["bpp"] for e in per_image]) for i in range(n)]
        ps = [np.mean([e[name][i]["psnr_rgb"] for e in per_image]) for i in range(n)]
        ax.plot(bpp, ps, "o-" if name in ours else ".-", label=f"jpegai-fmt ({name})" if name in ours else name)
    ax.set_xlim(0, 1.2)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR-RGB (dB)")
    ax.set_title("Validation set, mean over pictures")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
