"""`jpegai-fmt dump FILE [--json]`: every syntax element with its bit offset and width."""
from __future__ import annotations

import argparse

from ..render import keyed, print_json, print_tree
from . import add_reading_options
from ._stdio import source


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("dump", help="print every syntax element as a tree",
                              description="Print the syntax tree: every segment, box and field with its absolute "
                                          "bit offset and width in bits. --json keys elements by their spec names. "
                                          "PATH prints one element's subtree (paths as the full dump shows them, "
                                          "relative to the codestream in a .jai file too).",
                              epilog="examples:\n  jpegai-fmt dump photo.jai\n  jpegai-fmt dump photo.jai PIH\n"
                                     "  jpegai-fmt dump stream.jaic SORP/region[0] --json\n"
                                     "  jpegai-fmt dump stream.jaic --json > stream.json\n"
                                     "  jpegai-fmt dump damaged.jaic --lenient | less",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help=".jai file or codestream (- for standard input)")
    p.add_argument("path", metavar="PATH", nargs="?", help="only this element and what it holds")
    p.add_argument("--json", action="store_true", help="JSON tree, children keyed by snake_case field names")
    add_reading_options(p, "dump what can be read of a damaged file")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import parse
    from ..paths import locate
    root = parse(source(args.file), syntax=args.syntax, lenient=args.lenient)
    node = locate(root, args.path) if getattr(args, "path", None) else root
    if args.json:
        print_json({"path": args.file, "element": args.path, node.name: keyed(node)} if node is not root else
                   {"path": args.file, root.name: keyed(root)})   # a .jai root is itself named "file"
    else:
        print_tree(node)
    return 1 if any(f.severity == "E" for f in root.all_findings()) else 0
