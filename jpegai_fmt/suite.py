"""Run a conformance manifest (samples/manifest.json): every stream must raise exactly the rules it
is listed with and `info --json` must report what the manifest says (docs/conformance.md).

A stream passes when
- every rule in `rules` is found (any severity);
- every error or warning found is in `rules` or `allow` (information findings are free);
- for entries with `info`, the picture facts read back from `jpegai-fmt info --json` equal it.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field

from .errors import JpegAiError, ParseError
from .render import json_default

SYNTHESIS = {"SOP": 0, "BOP": 1, "HOP": 2}
# info's "Tools" rows -> the manifest's tool names
TOOL_ROWS = {"EFE linear": "efe_linear", "eICCI": "icci", "EFE nonlinear": "efe_nonlinear", "LEF": "lef",
             "quality map": "quality_map"}
COMPONENT_TOOLS = {"RVS": "rvs", "GRFS": "grfs", "cube flags": "cube_flags", "synthesis tiling": "synthesis_tiling"}


@dataclass
class Outcome:
    file: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    skipped: str = ""  # why the stream was not checked (passed stays True)


def load_manifest(folder: str) -> list[dict]:
    path = os.path.join(folder, "manifest.json")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as err:
        raise ParseError(f"cannot read the suite manifest {path}: {err}") from None
    samples = doc.get("samples") if isinstance(doc, dict) else None
    if not isinstance(samples, list):
        raise ParseError(f"{path}: expected an object whose 'samples' is a list")
    for i, entry in enumerate(samples):
        problem = _entry_problem(entry)
        if problem:
            raise ParseError(f"{path}: samples[{i}]: {problem}")
    return samples


def _entry_problem(entry) -> str | None:
    """What is wrong with one manifest entry's shape, if anything."""
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        return "expected an object with a 'file' string"
    for key in ("rules", "allow"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"'{key}' must be a list of rule ids, e.g. [\"BOX-001\"]"
    if not isinstance(entry.get("info", {}), dict):
        return "'info' must be an object"
    return None


def info_json(path: str) -> dict:
    """What `jpegai-fmt info --json --lenient PATH` prints (as JSON turns it: tuples as lists, bytes as hex)."""
    from .commands import info
    return json.loads(json.dumps(info.json_summary(path, lenient=True), default=json_default))


def _ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"-?\d+", text)]


def facts_from_info(doc: dict) -> dict:
    """The manifest's picture facts, read from info's JSON blocks."""
    pic, prof = doc["Picture"], doc["Profile and level"]
    tools, thr = doc["Tools"], doc["Threads and regions"]
    threads = dict(re.findall(r"(SOZ|SORP|SORS|SOQ) (\d+)", thr["threads"]))
    regions = thr["regions"]
    grid = _ints(regions)[:2] if regions != "off" else [1, 1]
    found = set()
    for comp in ("luma", "chroma"):
        for label, name in COMPONENT_TOOLS.items():
            if f"{label} on" in tools[comp] or (label == "synthesis tiling" and "synthesis tiling T" in tools[comp]):
                found.add(name)
    if "on" in tools["LSBS (luma, chroma)"]:
        found.add("lsbs")
    found |= {name for row, name in TOOL_ROWS.items() if tools[row].startswith("on")}
    udi = [s["bytes"] for s in doc.get("Segments", []) if s["segment"] == "UDI"]
    return {
        "syntax": pic["PIH syntax"],
        "size": _ints(pic["coded size"]),
        "display_size": _ints(pic["display size"]),
        "profile": _ints(prof["decoder profile"])[0],
        "synthesis": [SYNTHESIS[n] for n in re.findall(r"\b[SBH]OP\b", prof["synthesis list"])],
        "level": _ints(prof["level"])[0],
        "model_id": _ints(prof["model_id"])[0],
        "bit_depth": _ints(pic["bit depth"])[0],
        "chroma": pic["source chroma"],
        "coded_chroma": pic["coded chroma"],
        "threads": {"z": int(threads["SOZ"]), "r": [int(threads["SORP"]), int(threads["SORS"])],
                    "q": int(threads["SOQ"]) if "SOQ" in threads else None},
        "regions": {"grid": grid, "independent": "independent" in regions},
        "num_chs": _ints(prof["coded channels"]),
        "tools": sorted(found),
        "udi_bytes": udi[0] if udi else None,
    }


def _rdi_parts(path: str) -> list[str]:
    from .api import load, read_codestream, sniff
    data, _ = load(path)
    if sniff(data) == "container":
        from .container import unwrap
        data = unwrap(data)
    rdi = read_codestream(data, lenient=True).rdi or {}
    return [k for k in ("cicp", "mdcv", "clli", "dm")
            if rdi.get("dm_present_flag" if k == "dm" else f"{k}_info_present_flag")]


def _entropy_checks() -> bool:
    from .rules import ENTROPY_CHECKS, _load_entropy_checks
    _load_entropy_checks()
    return bool(ENTROPY_CHECKS)


def check_sample(folder: str, entry: dict) -> Outcome:
    """Validate one manifest entry; problems say what differs."""
    from .api import validate
    path = os.path.join(folder, entry["file"])
    out = Outcome(entry["file"], True)
    if entry.get("mode") == "entropy" and not _entropy_checks():
        out.skipped = ("needs an entropy-decoding check (jpegai_fmt.rules.register(..., entropy=True)); "
                       "none is registered")
        return out
    expected, allowed = set(entry.get("rules", [])), set(entry.get("allow", []))
    try:
        findings = validate(path, entropy=True)
    except (JpegAiError, OSError) as err:
        out.problems.append(f"unreadable: {err}")
    else:
        found = {f.rule for f in findings}
        for rule in sorted(expected - found):
            out.problems.append(f"expected {rule}, not raised")
        extra = sorted({f"{f.rule} ({f.severity})" for f in findings
                        if f.severity in "EW" and f.rule not in expected | allowed})
        if extra:
            out.problems.append("unexpected " + ", ".join(extra))
    if "info" in entry and not out.problems:
        want = {k: v for k, v in entry["info"].items() if k != "rdi"}
        try:
            got = facts_from_info(info_json(path))
            got["rdi"] = _rdi_parts(path)
        except (JpegAiError, OSError, KeyError, IndexError, ValueError) as err:
            out.problems.append(f"info --json unusable: {type(err).__name__}: {err}")
        else:
            want["rdi"] = entry["info"].get("rdi", got["rdi"])
            for key in sorted(want):
                if got.get(key) != want[key]:
                    out.problems.append(f"info {key}: expected {want[key]!r}, reported {got.get(key)!r}")
    out.passed = not out.problems
    return out


def run_suite(folder: str, only: str | None = None) -> list[Outcome]:
    return [check_sample(folder, e) for e in load_manifest(folder) if only is None or only in e["file"]]


def main_suite(folder: str, *, as_json: bool = False) -> int:
    """Print pass/fail per stream and totals; 0 when everything matches, 1 otherwise, 2 without a manifest."""
    try:
        outcomes = run_suite(folder)
    except JpegAiError as err:
        print(f"jpegai-fmt validate --suite: {err}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if not o.passed]
    skipped = [o for o in outcomes if o.skipped]
    passed = len(outcomes) - len(failed) - len(skipped)
    if as_json:
        print(json.dumps({"passed": passed, "failed": len(failed), "skipped": len(skipped),
                          "results": [{"file": o.file, "passed": o.passed, "problems": o.problems,
                                       "skipped": o.skipped} for o in outcomes]}, indent=1))
    else:
        for o in outcomes:
            status = "SKIP" if o.skipped else "PASS" if o.passed else "FAIL"
            detail = o.skipped or "; ".join(o.problems)
            print(f"{status} {o.file}" + (f": {detail}" if detail else ""))
        print(f"{len(outcomes)} streams: {passed} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 1 if failed else 0
