"""Codestream markers and what each segment carries (codestream.md §2)."""
from __future__ import annotations

from enum import IntEnum

from .tables import MARKERS

# SOC = 0xFF80 ... UDI = 0xFF8C, from spec_tables/codestream_markers.json.
Marker = IntEnum("Marker", [(m["name"], int(m["value"], 16)) for m in MARKERS["markers"]])
Marker.__doc__ = "A codestream marker (2 bytes, big-endian)."


def _kind(payload: str) -> frozenset:
    return frozenset(Marker[m["name"]] for m in MARKERS["markers"] if m["payload"] == payload)


BARE = _kind("bare")

# The first four bytes of every codestream: SOC then the PIH marker (§2, STR-001).
MAGIC = bytes.fromhex(MARKERS["magic"])

# Writer order [PROJECT DECISION] (§12): SOC PIH TON [UDI] RDI SORP... SORS... SOZ [SOQ] EOC.
WRITER_ORDER = tuple(Marker[name] for name in MARKERS["writer_order"])

