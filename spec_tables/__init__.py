"""The normative constants as data: every `*.json` here is read through `load`."""
from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def load(name: str) -> dict:
    """The parsed `spec_tables/<name>.json`, read once (callers must not modify it)."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
