"""`jpegai-fmt decode IN OUT.png [--luma-channels N] [--chroma-channels M]`: JPEG AI -> picture."""
from __future__ import annotations

import argparse
import io
import json
import sys

from codec.metrics import psnr_rgb

from ..container.writer import write_file
from ..errors import JpegAiError
from ._codec import open_picture, progress


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "decode", help="decode a stream made with our model set to PNG",
        description="Decode a JPEG AI file or codestream written by this project's encoder. Streams from other "
                    "encoders (other networks) are refused with a clear message; parse/validate still work.",
        epilog="examples:\n  jpegai-fmt decode photo.jai photo.png\n"
               "  jpegai-fmt decode photo.jai preview.png --luma-channels 16 --chroma-channels 8",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("output", help="PNG to write")
    p.add_argument("--luma-channels", type=int, help="decode only this luma channel prefix (progressive)")
    p.add_argument("--chroma-channels", type=int, help="decode only this chroma channel prefix")
    p.add_argument("--reference", help="original picture, to report PSNR")
    p.add_argument("--torch-threads", type=int, help="torch CPU threads (the output does not depend on it)")
    p.add_argument("--json", action="store_true", help="print size, PSNR and timings as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        from PIL import Image

        from codec.pipeline import decode
        if args.torch_threads:
            import torch
            torch.set_num_threads(args.torch_threads)
        with open(args.input, "rb") as fh:
            data = fh.read()
        with progress("decoding", enabled=not args.json):
            dec = decode(data, args.luma_channels, args.chroma_channels)
        buf = io.BytesIO()
        Image.fromarray(dec.rgb).save(buf, "PNG")
        write_file(args.output, buf.getvalue())
        info = {"input": args.input, "output": args.output, "width": dec.rgb.shape[1],
                "height": dec.rgb.shape[0], "bpp": len(data) * 8 / (dec.rgb.shape[0] * dec.rgb.shape[1]),
                "symbols_sha256": dec.symbols_sha256, **{k: round(v, 4) for k, v in dec.timings.items()}}
        if args.reference:
            info["psnr_rgb"] = psnr_rgb(open_picture(args.reference), dec.rgb)
    except (JpegAiError, OSError, ValueError) as err:
        print(f"jpegai-fmt decode: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info))
    else:
        extra = f", PSNR {info['psnr_rgb']:.2f} dB" if "psnr_rgb" in info else ""
        print(f"{args.output}: {info['width']}x{info['height']}{extra}")
    return 0
