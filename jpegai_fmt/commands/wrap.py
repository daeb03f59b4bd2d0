"""`jpegai-fmt wrap IN OUT.jai [--exif F] [--xmp F] [--icc F]`: put a codestream into a .jai file."""
from __future__ import annotations

import sys

from ..container.writer import wrap, write_file
from ..errors import JpegAiError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("wrap", help="wrap a raw codestream into a HEIF-based .jai file",
                              description="Wrap a JPEG AI codestream (.jaic/.bits) into a .jai file; the item "
                                          "properties (jaih, ispe, colr, pixi) are derived from the codestream.")
    p.add_argument("input", help="raw codestream")
    p.add_argument("output", help="file to write (.jai)")
    p.add_argument("--exif", metavar="F", help="Exif data (TIFF header, optionally preceded by Exif\\0\\0)")
    p.add_argument("--xmp", metavar="F", help="XMP packet (UTF-8 XML)")
    p.add_argument("--icc", metavar="F", help="ICC profile, written as an additional colr 'prof'")
    p.add_argument("--syntax", choices=["IS", "DIS"], default="IS", help="PIH syntax of the codestream")
    p.set_defaults(run=run)


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def run(args) -> int:
    try:
        data = wrap(_read(args.input), exif=_read(args.exif), xmp=_read(args.xmp), icc=_read(args.icc),
                    syntax=args.syntax)
        write_file(args.output, data)
    except (JpegAiError, OSError) as err:
        print(f"jpegai-fmt wrap: {err}", file=sys.stderr)
        return 2
    return 0
