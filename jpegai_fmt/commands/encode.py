"""`jpegai-fmt encode IN OUT [--bpp X | --model-id K --bdl B] [--threads N] [--raw]`: picture -> JPEG AI."""
from __future__ import annotations

import argparse
import json
import sys
import time

from codec.metrics import psnr_rgb

from ..container.writer import write_file
from ..errors import JpegAiError
from ._codec import open_picture, progress


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "encode", help="encode a picture (PNG/JPEG/PPM/TIFF) with our learned codec",
        description="Encode a picture into a JPEG AI codestream with this project's own model set. The rate is "
                    "set by --bpp (searches model_id and beta_displacement_log) or directly by --model-id/--bdl.",
        epilog="examples:\n  jpegai-fmt encode photo.png photo.jai --bpp 0.5\n"
               "  jpegai-fmt encode photo.png photo.jaic --raw --model-id 2 --bdl 100 --threads 8",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("output")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--bpp", type=float, help="target bits per pixel (within about 3 %%)")
    rate.add_argument("--model-id", type=int, choices=range(4), help="rate regime 0..3 (default 2)")
    p.add_argument("--bdl", type=int, default=0, help="beta_displacement_log with --model-id (-1069..702)")
    p.add_argument("--threads", type=int, default=1, choices=(1, 2, 4, 8, 16), help="ANS threads per substream")
    p.add_argument("--regions", default="1x1", metavar="RxC", help="spatial regions, rows x columns")
    p.add_argument("--independent-regions", action="store_true", help="one segment per region")
    p.add_argument("--luma-channels", type=int, default=160, help="code only this luma channel prefix")
    p.add_argument("--chroma-channels", type=int, default=96, help="code only this chroma channel prefix")
    p.add_argument("--raw", action="store_true", help="write a raw codestream instead of a .jai file")
    p.add_argument("--json", action="store_true", help="print bpp, PSNR and timings as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        from codec.pipeline import EncodeSettings, encode
        rgb = open_picture(args.input)
        rows, cols = (int(v) for v in args.regions.lower().split("x"))
        s = EncodeSettings(model_id=2 if args.model_id is None else args.model_id, bdl=(args.bdl, args.bdl),
                           threads=args.threads, num_chs=(args.luma_channels, args.chroma_channels),
                           regions=(rows, cols), independent_regions=args.independent_regions)
        t0 = time.perf_counter()
        with progress("encoding", enabled=not args.json) as tick:
            data = encode(rgb, bpp=args.bpp, settings=s, progress=tick)
        t1 = time.perf_counter()
        if not args.raw:
            from ..container.writer import wrap
            data = wrap(data)
        write_file(args.output, data)
    except (JpegAiError, OSError, ValueError) as err:
        print(f"jpegai-fmt encode: {err}", file=sys.stderr)
        return 2
    info = {"input": args.input, "output": args.output, "bytes": len(data),
            "bpp": len(data) * 8 / (rgb.shape[0] * rgb.shape[1]), "encode_s": round(t1 - t0, 3)}
    if args.json:
        from codec.pipeline import decode_array
        info["psnr_rgb"] = psnr_rgb(rgb, decode_array(data))
        print(json.dumps(info))
    else:
        print(f"{args.output}: {info['bytes']} bytes, {info['bpp']:.4f} bpp, {info['encode_s']} s")
    return 0
