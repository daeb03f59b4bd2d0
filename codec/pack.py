"""Pack the training and validation photos as high-quality JPEGs, small enough to travel to a GPU machine
with the device tool (it carries at most 64 MiB; the PNGs are several hundred MB), together with the
pure-Python packages the GPU machine's image lacks (`DEVICE_MISSING`, copied into site/):

    python -m codec.pack .gpu_data            # ~45 MB: train/*.jpg (q93, 4:4:4), val/*.jpg (q97), site/

then on the GPU machine `bash codec/gpu_train.sh MINUTES` (carrying .gpu_data), which runs `python -m
codec.train --train .gpu_data/train --val .gpu_data/val ...` with site/ on the path.
Training-time validation on the GPU machine reads the JPEG copies (val/*.jpg), so the model card's estimated
figures from those logs are measured on them; every real-stream figure (bench/rd.py) comes from the PNGs.
"""
from __future__ import annotations

import argparse
import glob
import importlib
import os
import shutil

from PIL import Image

from .train import DEFAULT_TRAIN, DEFAULT_VAL


def pack(src: str, dst: str, quality: int) -> int:
    os.makedirs(dst, exist_ok=True)
    total = 0
    for path in sorted(glob.glob(os.path.join(src, "*.png"))):
        out = os.path.join(dst, os.path.splitext(os.path.basename(path))[0] + ".jpg")
        with Image.open(path) as im:
            im.convert("RGB").save(out + ".tmp", "JPEG", quality=quality, subsampling=0)
        os.replace(out + ".tmp", out)
        total += os.path.getsize(out)
    return total


DEVICE_MISSING = ("construct",)     # imported by jpegai_fmt, absent from the GPU image (KINDS.md's package list)


def copy_site(dst: str, names=DEVICE_MISSING) -> int:
    """Copy installed pure-Python packages into dst (replacing older copies); returns the bytes copied."""
    total = 0
    for name in names:
        src = os.path.dirname(importlib.import_module(name).__file__)
        out = os.path.join(dst, name)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        total += sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--train", default=DEFAULT_TRAIN)
    ap.add_argument("--val", default=DEFAULT_VAL)
    args = ap.parse_args(argv)
    size = pack(args.train, os.path.join(args.out, "train"), 93) + pack(args.val, os.path.join(args.out, "val"), 97)
    size += copy_site(os.path.join(args.out, "site"))
    print(f"{args.out}: {size / 2 ** 20:.1f} MiB")


if __name__ == "__main__":
    main()
