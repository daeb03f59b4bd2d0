"""`jpegai-fmt unwrap IN.jai OUT.jaic [--json]`: the primary item's codestream, byte for byte."""
from __future__ import annotations

import argparse
import sys

from ..container.reader import read_model
from ..container.writer import unwrap
from ..errors import JpegAiError
from ..render import print_json
from ._stdio import read_input, write_output


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("unwrap", help="extract the raw codestream of a .jai file",
                              description="Write the primary item of a .jai file, unchanged, as a raw "
                                          "codestream (.jaic).",
                              epilog="examples:\n  jpegai-fmt unwrap photo.jai photo.jaic\n"
                                     "  jpegai-fmt unwrap photo.jai photo.jaic --json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help=".jai file (- for standard input)")
    p.add_argument("output", help="codestream to write (.jaic; - for standard output)")
    p.add_argument("--json", action="store_true", help="print what was written (sizes, primary item) as JSON")
    p.set_defaults(run=run)


def summary(args, data: bytes, codestream: bytes) -> dict:
    """What `unwrap` wrote: the .jai and codestream sizes and which item the codestream came from."""
    model = read_model(data)
    item = model.items.get(model.primary_id)
    return {"input": args.input, "output": args.output, "bytes": len(data), "codestream_bytes": len(codestream),
            "item": {"id": model.primary_id, "type": item.type if item else None},
            "items_in_file": len(model.item_order)}


def run(args) -> int:
    try:
        data = read_input(args.input)
        codestream = unwrap(data)
        write_output(args.output, codestream)
    except (JpegAiError, OSError) as err:
        print(f"jpegai-fmt unwrap: {err}", file=sys.stderr)
        return 2
    if args.json:
        print_json(summary(args, data, codestream))
    return 0
