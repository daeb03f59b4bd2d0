"""Training throughput: optimiser steps per second and pixels per second of `codec.train`'s steps for
variants (memory layout, bf16 autocast, `--part synthesis`), each against the plain NCHW run measured in
the same process. Meant for the first minute of a GPU session, to choose the flags of the training run
(device time is scarce), and for choosing a CPU run's flags:

    python3 bench/train_step.py                      # GPU: batch 64, 256x256 crops, 10 s per variant
    python3 bench/train_step.py --batch 128 --compile

On a CPU the defaults shrink (batch 2, 128x128 crops, 2 s); `--batch 8 --crop 256` is what a CPU run uses.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def measure(variant: dict, batch: int, crop: int, seconds: float, device) -> dict:
    import numpy as np
    import torch

    from codec.design import LAMBDAS, NUM_MODELS
    from codec.model import Codec
    from codec.train import decoder_step, freeze_all_but, param_groups, prefix_masks, train_step

    torch.manual_seed(0)
    gen = np.random.default_rng(0)
    model = Codec().to(device)
    if variant["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    decoder_only = variant.get("part") == "synthesis"
    groups = freeze_all_but(model, variant["part"]) if "part" in variant else param_groups(model, 1e-4)
    opt = torch.optim.Adam(groups, lr=1e-4, fused=device.type == "cuda")
    step = decoder_step if decoder_only else train_step
    if variant["compile"]:
        step = torch.compile(step)
    lambdas = torch.tensor(LAMBDAS, device=device)
    amp = variant.get("amp", device.type == "cuda")
    x = torch.rand(batch, 3, crop, crop, device=device)

    def one():
        mid = torch.from_numpy(gen.choice(NUM_MODELS, batch)).to(device)
        ky, kuv = prefix_masks(batch, 0.25, gen, device)
        if decoder_only:
            return step(model, opt, x, mid, ky, kuv, lambdas, amp)
        return step(model, opt, x, mid, ky, kuv, lambdas, 1.0, amp, skip=True,
                    channels_last=variant["channels_last"])

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    t = time.perf_counter()
    for _ in range(3):                       # warm-up: cuDNN autotuning, compilation
        one()
    sync()
    warm_s = time.perf_counter() - t
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        one()
        n += 1
        if n % 10 == 0:
            sync()
    sync()
    dt = time.perf_counter() - t
    return {**variant, "steps_per_s": n / dt, "mpx_per_s": n * batch * crop * crop / dt / 1e6, "warmup_s": warm_s}


def main(argv=None):
    import torch

    from codec.refine import native_bf16
    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64 if cuda else 2)
    ap.add_argument("--crop", type=int, default=256 if cuda else 128)
    ap.add_argument("--seconds", type=float, default=10.0 if cuda else 2.0, help="timed seconds per variant")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (compiles for a minute or more)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if cuda:
        torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if cuda else "cpu")
    variants = [{"name": "NCHW (baseline)", "channels_last": False, "compile": False},
                {"name": "channels_last", "channels_last": True, "compile": False}]
    if args.compile:
        variants.append({"name": "channels_last + compile", "channels_last": True, "compile": True})
    if not cuda and native_bf16():        # what `codec.train` picks by default on such a CPU
        variants += [{"name": "bf16 autocast", "channels_last": False, "compile": False, "amp": True},
                     {"name": "bf16 + channels_last", "channels_last": True, "compile": False, "amp": True}]
    for part in ("synthesis", "encoder"):
        variants.append({"name": f"--part {part}" + (", bf16" if cuda or native_bf16() else ""),
                         "channels_last": False, "compile": False, "amp": cuda or native_bf16(), "part": part})
    rows = [measure(v, args.batch, args.crop, args.seconds, device) for v in variants]
    base = rows[0]["steps_per_s"]
    print(f"device {torch.cuda.get_device_name() if cuda else 'cpu'}; batch {args.batch}, crop {args.crop}")
    for r in rows:
        print(f"{r['name']:26s} {r['steps_per_s']:8.2f} steps/s {r['mpx_per_s']:9.2f} Mpx/s "
              f"{r['steps_per_s'] / base:5.2f}x baseline (warm-up {r['warmup_s']:.1f} s)")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
