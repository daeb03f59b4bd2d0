"""`jpegai-fmt edit IN OUT --set PATH=VALUE --remove PATH`: a stream with chosen syntax elements changed."""
from __future__ import annotations

import argparse

from ..errors import BuildError
from ..render import Block, finding_line, print_blocks, print_json, value_text
from . import add_reading_options
from ._stdio import source, write_output


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("edit", help="set or remove syntax elements and write the stream again",
                              description="Set fields (--set PATH=VALUE) and remove elements (--remove PATH) of a "
                                          "codestream or .jai file, then write it again: segment sizes and thread "
                                          "and region prefixes are recomputed, everything else is kept. Paths are "
                                          "those of `jpegai-fmt dump` / `diff` (relative to the codestream in a "
                                          ".jai file). The result is validated, not refused: exit 0 written and "
                                          "valid, 1 written with error findings, 2 nothing written.",
                              epilog="examples:\n  jpegai-fmt edit photo.jaic bad-model.jaic --set PIH/model_id=5\n"
                                     "  jpegai-fmt edit photo.jai no-ton.jai --remove TON --json\n"
                                     "  jpegai-fmt edit photo.jaic shifted.jaic "
                                     "--set PIH/beta_displacement_log_plus_2048_0=2100",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help=".jai file or codestream (- for standard input)")
    p.add_argument("output", metavar="OUT", help="file to write (- for standard output)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                   help="give a field a value (integers in any base, lists as JSON, bytes as hex); repeatable")
    p.add_argument("--remove", action="append", default=[], metavar="PATH",
                   help="remove an element (a segment, a group, an optional field); repeatable")
    p.add_argument("--json", action="store_true", help="print the edits and the new file's findings as JSON")
    add_reading_options(p, "read a damaged input as far as it goes")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import validate
    from ..edit import edit
    if not args.sets and not args.remove:
        raise BuildError("nothing to do: give --set PATH=VALUE or --remove PATH")
    values = {}
    for item in args.sets:
        path, sep, value = item.partition("=")
        if not sep or not path:
            raise BuildError(f"--set {item!r}: write PATH=VALUE")
        values[path] = value
    data, report = edit(source(args.input), set_values=values, remove=args.remove, syntax=args.syntax,
                        lenient=args.lenient)
    write_output(args.output, data)
    findings = validate(data, lenient=True)
    errors = [f for f in findings if f.severity == "E"]
    if args.json:
        print_json({"input": args.input, "output": args.output, "bytes": len(data), "changed": report.changed,
                    "removed": report.removed, "recomputed": report.recomputed, "notes": report.notes,
                    "findings": [f.to_dict() for f in findings]})
        return 1 if errors else 0
    rows = [(c["path"], f"{value_text(c['old'])} -> {value_text(c['new'])}") for c in report.changed]
    rows += [(path, "removed") for path in report.removed]
    rows += [(r["path"], f"recomputed by the writer: {value_text(r['written'])}, not {value_text(r['requested'])}")
             for r in report.recomputed]
    print_blocks([Block(f"{args.output}: {len(data):,} bytes", rows)])
    for note in report.notes:
        print(f"  note: {note}")
    for f in findings:
        if f.severity != "I":
            print(finding_line(f, "  "))
    warnings = sum(f.severity == "W" for f in findings)
    print(f"{args.output}: {'invalid' if errors else 'valid'} ({len(errors)} errors, {warnings} warnings)")
    return 1 if errors else 0
