"""`jpegai-fmt validate FILE... [--json] [--lenient] [--entropy] [--ignore RULES] [-W] [-v]`: findings per file.

Exit 0 when every file is valid (no error findings; with -W, no warnings either), 1 when one
is invalid, 2 when one cannot be read as JPEG AI at all.
"""
from __future__ import annotations

import argparse
import difflib
import fnmatch
import sys

from ..errors import JpegAiError
from ..render import print_findings, print_json
from . import add_reading_options
from ._stdio import source


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check codestreams and .jai files against the rules",
                              description="Report every finding (rule id, severity, byte/bit offset, field path, "
                                          "message) of the codestream and container rules (docs/validation.md; "
                                          "`jpegai-fmt spec RULE-ID` explains one). Exit 0 valid, 1 invalid, "
                                          "2 unreadable.",
                              epilog="examples:\n  jpegai-fmt validate photo.jai\n"
                                     "  jpegai-fmt validate streams/*.jaic --lenient -v\n"
                                     "  jpegai-fmt validate photo.jai --entropy      # also decode the payloads\n"
                                     "  jpegai-fmt validate --suite conformance --json\n"
                                     "  jpegai-fmt validate out/*.jaic --ignore UDI-*,RDI-002 -W   # a CI gate",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help=".jai files or codestreams (- for standard input)")
    p.add_argument("--suite", metavar="DIR", help="run the conformance manifest DIR/manifest.json instead "
                                                   "(pass/fail per stream and totals; docs/conformance.md)")
    p.add_argument("--json", action="store_true", help="one JSON document with every file's findings")
    add_reading_options(p, "report what the reference decoder tolerates as warnings (docs/validation.md)")
    p.add_argument("--entropy", action="store_true",
                   help="also entropy-decode the payloads, for the rules only decoding finds (SOQ-003, THR-004); "
                        "needs the codec (torch) and takes longer")
    p.add_argument("--ignore", action="append", default=[], metavar="RULES",
                   help="leave out findings of these rule ids, comma-separated (UDI-* takes a family); repeatable")
    p.add_argument("-W", "--warnings-as-errors", action="store_true",
                   help="a file with a warning left (after --ignore) counts as invalid")
    p.add_argument("-v", "--verbose", action="store_true", help="also show information findings")
    p.set_defaults(run=run)


def check(path: str, *, syntax: str, lenient: bool, entropy: bool = False, ignore: tuple[str, ...] = (),
          warnings_fail: bool = False) -> dict:
    """{'file', 'status': valid|invalid|unreadable, 'findings' or 'error'} for one file; findings of the
    `ignore` patterns are left out (and counted), warnings fail the file with `warnings_fail`."""
    from .. import validate
    try:
        findings = validate(source(path), syntax=syntax, lenient=lenient, entropy=entropy)
    except (JpegAiError, OSError) as err:
        return {"file": path, "status": "unreadable", "error": str(err)}
    kept = [f for f in findings if not any(fnmatch.fnmatchcase(f.rule, pattern) for pattern in ignore)]
    bad = any(f.severity == "E" or (warnings_fail and f.severity == "W") for f in kept)
    result = {"file": path, "status": "invalid" if bad else "valid", "findings": kept}
    if ignore:
        result["ignored"] = len(findings) - len(kept)
    return result


def rule_patterns(values: list[str]) -> tuple[str, ...]:
    """--ignore values as patterns, each checked against the rule tables, so a typo is an error, not a
    silently empty filter."""
    from ..container.tables import RULES as BOX_RULES
    from ..tables import RULES
    known = set(RULES) | {rid for rid in BOX_RULES if not rid.startswith("_")}      # as `spec box-rules` lists them
    patterns = tuple(p.strip().upper() for v in values for p in v.split(",") if p.strip())
    for pattern in patterns:
        if not fnmatch.filter(known, pattern):
            close = difflib.get_close_matches(pattern, sorted(known), n=3)
            raise ValueError(f"--ignore {pattern}: no such rule id" + (f" (did you mean {', '.join(close)}?)"
                                                                      if close else " (`jpegai-fmt spec rules`)"))
    return patterns


EXIT = {"valid": 0, "invalid": 1, "unreadable": 2}


def run(args) -> int:
    if args.suite is not None or not args.files:
        if args.suite is None or args.files:
            print("jpegai-fmt validate: give FILE... or --suite DIR, not both or neither", file=sys.stderr)
            return 2
        if args.ignore or args.warnings_as_errors:
            print("jpegai-fmt validate: --ignore and -W judge files; the suite has its own expectations",
                  file=sys.stderr)
            return 2
        from ..suite import main_suite
        return main_suite(args.suite, as_json=args.json)
    try:
        ignore = rule_patterns(args.ignore)
    except ValueError as err:
        print(f"jpegai-fmt validate: {err}", file=sys.stderr)
        return 2
    results = [check(path, syntax=args.syntax, lenient=args.lenient, entropy=args.entropy, ignore=ignore,
                     warnings_fail=args.warnings_as_errors) for path in args.files]
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
            ignored = f", {r['ignored']} ignored" if "ignored" in r else ""
            print(f"{r['file']}: {r['status']} ({counts['E']} errors, {counts['W']} warnings, "
                  f"{counts['I']} info{ignored})")
    return max(EXIT[r["status"]] for r in results)

