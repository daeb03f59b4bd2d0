"""`jpegai-fmt unwrap IN.jai OUT.jaic`: the primary item's codestream, byte for byte."""
from __future__ import annotations

import sys

from ..container.writer import unwrap, write_file
from ..errors import JpegAiError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("unwrap", help="extract the raw codestream of a .jai file",
                              description="Write the primary item of a .jai file, unchanged, as a raw "
                                          "codestream (.jaic).")
    p.add_argument("input", help=".jai file")
    p.add_argument("output", help="codestream to write (.jaic)")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        with open(args.input, "rb") as fh:
            data = fh.read()
        write_file(args.output, unwrap(data))
    except (JpegAiError, OSError) as err:
        print(f"jpegai-fmt unwrap: {err}", file=sys.stderr)
        return 2
    return 0
