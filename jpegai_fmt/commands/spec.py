"""`jpegai-fmt spec [TABLE | NAME] [--json]`: the syntax tables of spec_tables/*.json, as text or JSON, or the
rows of every table about one name (a rule id such as THR-004, a syntax element, a marker).

The tables are the data the parser, writer and validator read, so what this prints is what the code does.
"""
from __future__ import annotations

import argparse
import json

from spec_tables import load


def _range(value) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]}..{value[1]}"
    return "" if value is None else str(value)


def _fields(section: str):
    rows = [(f["name"], f["coding"], _range(f.get("range")), f.get("condition", ""), f.get("meaning", ""))
            for f in load("codestream_fields")[section]]
    return ("name", "coding", "range", "condition", "meaning"), rows


def _markers():
    rows = [(m["name"], m["value"], m["content"], m["payload"], "yes" if m["mandatory"] else "no",
             f"{m['min']}..{m['max'] if m['max'] is not None else 'n'}") for m in load("codestream_markers")["markers"]]
    return ("marker", "value", "content", "payload", "mandatory", "count"), rows


def _profiles():
    d = load("codestream_profiles")
    rows = [(k, p["name"], ", ".join(d["synthesis_transforms"][str(t)] for t in p["allowed_synthesis"]),
             p["operating_point"]) for k, p in d["decoder_profiles"].items()]
    return ("decoder_profile_id", "name", "synthesis transforms", "operating point"), rows


def _levels():
    d = load("codestream_profiles")["levels"]
    rows = [(f"L0 = {k}", f"at most {v:,} samples") for k, v in d["L0_max_samples"].items()]
    rows += [(f"L1 = {k} ({syntax.upper()})", "model_id " + ", ".join(map(str, v)))
             for syntax, table in d["L1_models"].items() for k, v in table.items()]
    return ("level_idc = 10*L0 + L1", "limit"), rows


def _models():
    d = load("codestream_profiles")["models"]
    return ("model_id", "beta (the regime's rate point, as info shows it)"), [(k, v) for k, v in d.items()]


def _rules():
    def variants(r) -> str:
        cases = [f"{name}: {c['severity']}" for name, c in r.get("cases", {}).items()]
        if "lenient" in r:
            cases.append(f"lenient: W ({r['lenient']['why']})")
        return "; ".join(cases)
    rows = [(rid, r["severity"], r["by"], r["rule"], variants(r))
            for rid, r in load("codestream_rules")["rules"].items()]
    return ("rule", "severity", "checked by", "requirement", "cases and lenient mode"), rows


def _box_rules():
    rows = [(rid, case, c["severity"], c["message"]) for rid, r in load("container_rules").items()
            if not rid.startswith("_") for case, c in r["cases"].items()]
    return ("rule", "case", "severity", "message"), rows


def _container():
    d = load("container_layout")
    rows = [(k, v) for k, v in d.items() if not k.startswith("_") and k != "colr_defaults"]
    rows += [(f"colr_defaults[colour_transform_idx {k}]", v) for k, v in d["colr_defaults"].items()
             if not k.startswith("_")]
    return ("key", "value"), rows


def _udi():
    def walk(layout, prefix=""):
        for f in layout:
            coding = " x ".join(str(x) for x in (f.get("coding", ""), f.get("repeat")) if x is not None).strip()
            yield (prefix + f["field"], coding,
                   _range(f.get("range", f.get("value"))), f.get("note", ""))
            yield from walk(f.get("layout", []), prefix + "  ")
    return ("field", "coding", "range", "note"), list(walk(load("udi_record")["layout"]))


# name -> (source file, one-line description, builder returning (headers, rows))
TABLES = {
    "markers": ("codestream_markers", "segment markers and how often each may occur", _markers),
    "PIH": ("codestream_fields", "picture header syntax elements", lambda: _fields("PIH")),
    "component": ("codestream_fields", "per-component part of the picture header", lambda: _fields("component")),
    "TON": ("codestream_fields", "tool header syntax elements", lambda: _fields("TON")),
    "RDI": ("codestream_fields", "rendering information syntax elements", lambda: _fields("RDI")),
    "profiles": ("codestream_profiles", "decoder profiles and their synthesis transforms", _profiles),
    "levels": ("codestream_profiles", "levels: picture size limits and allowed model_id", _levels),
    "models": ("codestream_profiles", "model_id rate regimes", _models),
    "rules": ("codestream_rules", "codestream validation rules", _rules),
    "box-rules": ("container_rules", "container (.jai) validation rules and their cases", _box_rules),
    "container": ("container_layout", "HEIF layout v0 of .jai files (project decision)", _container),
    "udi-record": ("udi_record", "this project's UDI record (model set, channel index)", _udi),
}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "spec", help="print the syntax tables (markers, PIH, TON, RDI, rules, ...)",
        description="Print the syntax and rule tables from spec_tables/*.json, the same data the parser, "
                    "writer and validator use. Without TABLE, list the tables.",
        epilog="examples:\n  jpegai-fmt spec\n  jpegai-fmt spec PIH\n  jpegai-fmt spec rules --json | jq '.rows[0]'\n"
               "  jpegai-fmt spec THR-004          # one rule: what a finding's id means\n"
               "  jpegai-fmt spec model_id         # every row about one syntax element",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", nargs="?", help="table name (case-insensitive): " + ", ".join(TABLES) +
                                            "; or a rule id, syntax element or marker to look up")
    p.add_argument("--json", action="store_true", help="print the table as JSON {table, source, headers, rows}")
    p.set_defaults(run=run)


def find(name: str) -> str | None:
    return next((k for k in TABLES if k.lower() == name.lower()), None)


def lookup(name: str) -> list[tuple[str, tuple, list[tuple]]]:
    """(table, headers, rows) for every table with rows whose first column is `name` (case-insensitive)."""
    found = []
    for key, (_, _, build) in TABLES.items():
        headers, rows = build()
        hits = [r for r in rows if str(r[0]).strip().lower() == name.lower()]
        if hits:
            found.append((key, headers, hits))
    return found


def run(args) -> int:
    import sys

    from ..render import Block, print_blocks, print_json
    if args.table is None:
        listing = [(k, f"spec_tables/{src}.json", desc) for k, (src, desc, _) in TABLES.items()]
        if args.json:
            print_json([{"table": k, "source": s, "description": d} for k, s, d in listing])
        else:
            print_blocks([Block("tables (jpegai-fmt spec TABLE)", listing, ("table", "source", "description"))])
        return 0
    key = find(args.table)
    if key is None:
        found = lookup(args.table)
        if not found:
            print(f"jpegai-fmt spec: no table, rule, syntax element or marker named '{args.table}'; tables: "
                  f"{', '.join(TABLES)}", file=sys.stderr)
            return 2
        if args.json:
            print_json([{"table": k, "source": f"spec_tables/{TABLES[k][0]}.json", "headers": list(h),
                         "rows": [list(r) for r in rows]} for k, h, rows in found])
        else:
            print_blocks([Block(f"{k} (spec_tables/{TABLES[k][0]}.json)",
                                [tuple(json.dumps(v) if isinstance(v, (dict, list)) else v for v in r) for r in rows],
                                h) for k, h, rows in found])
        return 0
    src, desc, build = TABLES[key]
    headers, rows = build()
    if args.json:                               # values as JSON values, not JSON-in-strings
        print_json({"table": key, "source": f"spec_tables/{src}.json", "headers": list(headers),
                    "rows": [list(r) for r in rows]})
    else:
        text = [tuple(json.dumps(v) if isinstance(v, (dict, list)) else v for v in r) for r in rows]
        print_blocks([Block(f"{key}: {desc} (spec_tables/{src}.json)", text, headers)])
    return 0
