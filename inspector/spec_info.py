"""Field meanings and allowed ranges from `spec_tables/codestream_*.json` (and the container
tables), indexed by field name. The tables' exact shape is not fixed yet, so any JSON object
that names a field (a "name"/"field" entry, or an object keyed by the field name) is taken;
when no table is there the details pane simply shows none."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

TABLES = Path(__file__).resolve().parent.parent / "spec_tables"
PATTERNS = ("codestream_*.json", "container_*.json")
MEANING_KEYS = ("meaning", "content", "description", "semantics", "desc", "message", "title")
RANGE_KEYS = ("range", "allowed", "allowed_range", "values", "min", "max", "constraint", "condition", "coding",
              "descriptor", "rule", "rules", "section")
_INDEX = re.compile(r"\[\d+\]$")


def base_name(name: str) -> str:
    """`component[1]` and `thread[3]` are described once, without their index."""
    return _INDEX.sub("", name)


def _index(obj, out: dict[str, dict], key: str | None = None) -> None:
    if isinstance(obj, dict):
        named = obj.get("name") or obj.get("field")
        if isinstance(named, str):
            out.setdefault(named, obj)
        elif key is not None and any(k in obj for k in MEANING_KEYS + RANGE_KEYS):
            out.setdefault(key, obj)
        for k, v in obj.items():
            _index(v, out, k)
    elif isinstance(obj, list):
        for v in obj:
            _index(v, out)


@lru_cache(maxsize=1)
def field_table() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for pattern in PATTERNS:
        for path in sorted(TABLES.glob(pattern)):
            try:
                _index(json.loads(path.read_text(encoding="utf-8")), out)
            except (OSError, ValueError):
                continue  # a table being rewritten right now: show no meaning rather than fail
    return out


def describe(name: str) -> list[tuple[str, str]]:
    """(label, text) pairs to show for a field: meaning first, then range-like entries; a
    min/max pair (how often a marker may occur) reads as one count."""
    entry = field_table().get(name) or field_table().get(base_name(name))
    if not entry:
        return []
    counted = "min" in entry and "max" in entry
    rows = []
    for key in MEANING_KEYS + RANGE_KEYS:
        if counted and key in ("min", "max"):
            continue
        if key in entry and entry[key] not in (None, "", [], {}):
            value = entry[key]
            rows.append((key, value if isinstance(value, str) else json.dumps(value)))
    if counted:
        rows.append(("count", f"{entry['min']}..{'any' if entry['max'] is None else entry['max']}"))
    return rows
