"""`jpegai-fmt wrap IN OUT.jai [--exif F] [--xmp F] [--icc F] [--json]`: put a codestream into a .jai file."""
from __future__ import annotations

import argparse
import sys

from ..container.reader import read_model
from ..container.writer import wrap
from ..errors import JpegAiError
from ..render import print_json
from ._stdio import read_input, write_output


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("wrap", help="wrap a raw codestream into a HEIF-based .jai file",
                              description="Wrap a JPEG AI codestream (.jaic/.bits) into a .jai file; the item "
                                          "properties (jaih, ispe, colr, pixi) are derived from the codestream.",
                              epilog="examples:\n  jpegai-fmt wrap photo.jaic photo.jai\n"
                                     "  jpegai-fmt wrap photo.jaic photo.jai --exif photo.exif --xmp photo.xmp "
                                     "--icc sRGB.icc\n"
                                     "  jpegai-fmt wrap old.jaic old.jai --syntax dis --json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="raw codestream (- for standard input)")
    p.add_argument("output", help="file to write (.jai; - for standard output)")
    p.add_argument("--exif", metavar="F", help="Exif data (TIFF header, optionally preceded by Exif\\0\\0)")
    p.add_argument("--xmp", metavar="F", help="XMP packet (UTF-8 XML)")
    p.add_argument("--icc", metavar="F", help="ICC profile, written as an additional colr 'prof'")
    p.add_argument("--syntax", type=str.lower, choices=["auto", "is", "dis"], default="auto",
                   help="PIH syntax of the codestream (default: auto, as info and validate)")
    p.add_argument("--json", action="store_true", help="print what was written (sizes, items, top-level boxes) "
                                                       "as JSON")
    p.set_defaults(run=run)


def _read(path: str | None) -> bytes | None:
    return None if path is None else read_input(path)


def summary(args, codestream: bytes, data: bytes) -> dict:
    """What `wrap` wrote: file and codestream sizes, the items and the top-level boxes of the new file."""
    model = read_model(data)
    return {"input": args.input, "output": args.output, "bytes": len(data), "codestream_bytes": len(codestream),
            "items": [{"id": i.id, "type": i.type, "content_type": i.content_type} for i in model.item_order],
            "boxes": [{"type": b.type, "offset": b.offset, "size": b.size} for b in model.top]}


def run(args) -> int:
    try:
        codestream = _read(args.input)
        data = wrap(codestream, exif=_read(args.exif), xmp=_read(args.xmp), icc=_read(args.icc),
                    syntax=args.syntax)
        write_output(args.output, data)
    except (JpegAiError, OSError) as err:
        print(f"jpegai-fmt wrap: {err}", file=sys.stderr)
        return 2
    if args.json:
        print_json(summary(args, codestream, data))
    return 0
