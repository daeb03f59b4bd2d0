"""Pack the training and validation photos as high-quality JPEGs, small enough to travel to a GPU machine
with the device tool (it carries at most 64 MiB; the PNGs are several hundred MB):

    python -m codec.pack .gpu_data            # ~45 MB: train/*.jpg (q93, 4:4:4) and val/*.jpg (q97)

then on the GPU machine `python -m codec.train --train .gpu_data/train --val .gpu_data/val ...`.
Training-time validation on the GPU machine reads the JPEG copies (val/*.jpg), so the model card's estimated
figures from those logs are measured on them; every real-stream figure (bench/rd.py) comes from the PNGs.
"""
from __future__ import annotations

import argparse
import glob
import os

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


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--train", default=DEFAULT_TRAIN)
    ap.add_argument("--val", default=DEFAULT_VAL)
    args = ap.parse_args(argv)
    size = pack(args.train, os.path.join(args.out, "train"), 93) + pack(args.val, os.path.join(args.out, "val"), 97)
    print(f"{args.out}: {size / 2 ** 20:.1f} MiB")


if __name__ == "__main__":
    main()
