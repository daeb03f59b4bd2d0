"""The codestream constants as data: `spec_tables/codestream_*.json` (markers, fields,
profiles and levels, validation rules), loaded once.

The schemas and the validator read their constants from here, so the tables are the
single place where a value from the specification is written down.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def load(name: str) -> dict:
    """The parsed `spec_tables/codestream_<name>.json`."""
    text = resources.files("spec_tables").joinpath(f"codestream_{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


MARKERS = load("markers")
FIELDS = load("fields")
CONSTANTS = FIELDS["constants"]
PROFILES = load("profiles")
RULES = load("rules")["rules"]
