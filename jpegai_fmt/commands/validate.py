"""`jpegai-fmt validate FILE... [--json] [--lenient] [--entropy] [-v]`: findings per file.

Exit 0 when every file is valid (no error findings), 1 when one is invalid, 2 when
one cannot be read as JPEG AI at all.
"""
from __future__ import annotations

import argparse
import sys

from ..errors import JpegAiError
from ..render import print_findings, print_json
from . import add_reading_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check codestreams and .jai files against the rules",
                              description="Report every finding (rule id, severity, byte/bit offset, field path, "
                                          "message) of the codestream and container rules (docs/validation.md; "
                                          "`jpegai-fmt spec RULE-ID` explains one). Exit 0 valid, 1 invalid, "
                                          "2 unreadable.",
                              epilog="examples:\n  jpegai-fmt validate photo.jai\n"
                                     "  jpegai-fmt validate streams/*.jaic --lenient -v\n"
                                     "  jpegai-fmt validate photo.jai --entropy      # also decode the payloads\n"
                                     "  jpegai-fmt validate --suite conformance --json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--suite", metavar="DIR", help="run the conformance manifest DIR/manifest.json instead "
                                                   "(pass/fail per stream and totals; docs/conformance.md)")
    p.add_argument("--json", action="store_true", help="one JSON document with every file's findings")
    add_reading_options(p, "report what the reference decoder tolerates as warnings (docs/validation.md)")
    p.add_argument("--entropy", action="store_true",
                   help="also entropy-decode the payloads, for the rules only decoding finds (SOQ-003, THR-004); "
                        "needs the codec (torch) and takes longer")
    p.add_argument("-v", "--verbose", action="store_true", help="also show information findings")
    p.set_defaults(run=run)


def check(path: str, *, syntax: str, lenient: bool, entropy: bool = False) -> dict:
    """{'file', 'status': valid|invalid|unreadable, 'findings' or 'error'} for one file."""
    from .. import validate
    try:
        findings = validate(path, syntax=syntax, lenient=lenient, entropy=entropy)
    except (JpegAiError, OSError) as err:
        return {"file": path, "status": "unreadable", "error": str(err)}
    bad = any(f.severity == "E" for f in findings)
    return {"file": path, "status": "invalid" if bad else "valid", "findings": findings}


EXIT = {"valid": 0, "invalid": 1, "unreadable": 2}


def run(args) -> int:
    if args.suite is not None or not args.files:
        if args.suite is None or args.files:
            print("jpegai-fmt validate: give FILE... or --suite DIR, not both or neither", file=sys.stderr)
            return 2
        from ..suite import main_suite
        return main_suite(args.suite, as_json=args.json)
    results = [check(path, syntax=args.syntax, lenient=args.lenient, entropy=args.entropy) for path in args.files]
    if args.json:
        print_json([{**r, "findings": [f.to_dict() for f in r.get("findings", [])]} if "findings" in r else r
                    for r in results])
    else:
        for r in results:
            if r["status"] == "unreadable":
                print(f"jpegai-fmt validate: {r['file']}: unreadable: {r['error']}", file=sys.stderr)
                continue
            shown = [f for f in r["findings"] if args.verbose or f.severity != "I"]
            print_findings(shown, prefix=f"{r['file']}: ")
            counts = {s: sum(f.severity == s for f in r["findings"]) for s in "EWI"}
            print(f"{r['file']}: {r['status']} ({counts['E']} errors, {counts['W']} warnings, "
                  f"{counts['I']} info)")
    return max(EXIT[r["status"]] for r in results)

