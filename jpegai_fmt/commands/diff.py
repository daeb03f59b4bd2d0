"""`jpegai-fmt diff A B`: the syntax elements and payloads in which two files differ."""
from __future__ import annotations

import argparse

from ..render import Block, print_blocks, print_json
from . import add_reading_options
from ._stdio import source

SIGN = {"value": "~", "payload": "~", "only_a": "-", "only_b": "+"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("diff", help="compare two codestreams or .jai files element by element",
                              description="List the syntax elements whose values differ, the payloads whose bits "
                                          "differ (with the first differing byte) and the elements only one file "
                                          "has. Elements are matched by path, not by position, so what merely "
                                          "moved is not reported. A .jai file against a raw codestream compares "
                                          "the .jai file's codestream. Exit status: 0 no differences, 1 "
                                          "differences, 2 a file could not be read.",
                              epilog="examples:\n  jpegai-fmt diff ours.jaic theirs.jaic\n"
                                     "  jpegai-fmt diff photo.jai preview.jai --codestream\n"
                                     "  jpegai-fmt diff photo.jai photo.jaic --json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file_a", metavar="A", help="file or codestream (- for standard input)")
    p.add_argument("file_b", metavar="B", help="file or codestream (- for standard input)")
    p.add_argument("--codestream", action="store_true",
                   help="compare only the codestreams of two .jai files, not their boxes")
    p.add_argument("--json", action="store_true", help="the differences as JSON")
    add_reading_options(p, "compare what can be read of damaged files")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import parse
    from ..compare import CHANGES, diff, side_text
    from ..paths import codestream_root
    a = parse(source(args.file_a), syntax=args.syntax, lenient=args.lenient)
    b = parse(source(args.file_b), syntax=args.syntax, lenient=args.lenient)
    scope = "files"
    if args.codestream or (a.name == "file") != (b.name == "file"):
        a, b, scope = codestream_root(a), codestream_root(b), "codestreams"
    found = diff(a, b)
    counts = {c: sum(d.change == c for d in found) for c in CHANGES}
    if args.json:
        print_json({"a": args.file_a, "b": args.file_b, "compared": scope, "identical": not found,
                    "counts": counts, "differences": [d.to_dict() for d in found]})
        return 1 if found else 0
    if not found:
        print(f"{args.file_a} and {args.file_b}: no differences ({scope}: same syntax, same payload bits)")
        return 0
    rows = [(SIGN[d.change], d.path, side_text(d.a), side_text(d.b), _bit(d.a), _bit(d.b), d.detail) for d in found]
    print_blocks([Block(f"A {args.file_a}, B {args.file_b} ({scope})", rows,
                        headers=("", "path", "A", "B", "bit A", "bit B", "note"))])
    print(f"{_count(len(found), 'difference')}: {_count(counts['value'], 'value')}, "
          f"{_count(counts['payload'], 'payload')}, {counts['only_a']} only in A, {counts['only_b']} only in B")
    return 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _bit(node) -> str:
    return "" if node is None else str(node.bit_offset)
