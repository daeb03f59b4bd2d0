"""Training-time RD estimate of weight files against the shipped model set, at the RD benchmark's six
operating points: ideal code length (no entropy coder) and PSNR-RGB of the float model on the validation
photos cropped to multiples of 64, BD-rate of each file's mean curve against the shipped set's, measured in
the same process. Minutes, where bench/rd.py's real streams take most of an hour: this is how a training
run is judged before it is exported (the model card's "validation estimate").

    python bench/estimate.py runs/film/last-weights.pt [more weight files] [--val DIR] [--limit N]
    python bench/estimate.py        # the shipped set alone (what bench/run reports)

A weights file is what `codec.train` writes (`last-weights.pt`, or a full `last.pt`); parts it lacks keep
the shipped values, so an encoder-only run compares with the shipped decoder.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rd import OURS, VAL, bd_rate  # noqa: E402  (bench/ is this script's folder: sys.path[0])


def load(path: str | None):
    """The shipped model, or the shipped model with a run's weights loaded over it."""
    import torch

    from codec.model import load_state
    from codec.weights import load_networks
    model = load_networks()
    if path:
        state = torch.load(path, map_location="cpu")
        state = state.get("model", state)
        load_state(model, {**model.state_dict(), **{k: v.float() for k, v in state.items()}})
    return model


def estimate(model, images) -> list[dict]:
    from codec.train import evaluate
    return evaluate(model, images, "cpu", points=OURS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="*", help="weight files written by codec.train")
    ap.add_argument("--val", default=VAL)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N pictures")
    args = ap.parse_args(argv)
    for w in args.weights:
        if not os.path.isfile(w):
            sys.exit(f"{w}: no such weights file")
    from codec.train import load_images
    images = load_images(args.val, "cpu", "validation")[: args.limit or None]
    base = estimate(load(None), images)
    print(json.dumps({"weights": "shipped", "points": base}), flush=True)
    for w in args.weights:
        pts = estimate(load(w), images)
        bdl0 = [p for p in base if "bdl" not in p], [p for p in pts if "bdl" not in p]
        print(json.dumps({"weights": w, "points": pts, "bd_rate_vs_shipped_pct": _pct(bd_rate(base, pts, "psnr")),
                          "bd_rate_bdl0_pct": _pct(bd_rate(*bdl0, "psnr"))}), flush=True)


def _pct(v):
    """BD-rate rounded for the report; None (JSON null) where the curves do not overlap."""
    return None if v is None else round(v, 2)


if __name__ == "__main__":
    main()
