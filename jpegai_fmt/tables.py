"""The codestream constants as data: `spec_tables/codestream_*.json` (markers, fields,
profiles and levels, validation rules), loaded once.

The schemas and the validator read their constants from here, so the tables are the
single place where a value from the specification is written down.
"""
from __future__ import annotations

from spec_tables import load

MARKERS = load("codestream_markers")
FIELDS = load("codestream_fields")
CONSTANTS = FIELDS["constants"]
PROFILES = load("codestream_profiles")
RULES = load("codestream_rules")["rules"]
