"""Codestream markers and what each segment carries (codestream.md §2)."""
from __future__ import annotations

from enum import IntEnum


class Marker(IntEnum):
    SOC = 0xFF80  # start of codestream (bare)
    EOC = 0xFF81  # end of codestream (bare)
    PIH = 0xFF82  # picture header
    TON = 0xFF83  # tool header
    RDI = 0xFF84  # rendering information
    SOZ = 0xFF88  # hyper-latent z, both components
    SORP = 0xFF89  # residual, primary component
    SORS = 0xFF8A  # residual, secondary component
    SOQ = 0xFF8B  # quality map
    UDI = 0xFF8C  # user-defined information


BARE = frozenset({Marker.SOC, Marker.EOC})
HEADER = frozenset({Marker.PIH, Marker.TON, Marker.RDI})
ENTROPY = frozenset({Marker.SOZ, Marker.SORP, Marker.SORS, Marker.SOQ})
REGIONED = frozenset({Marker.SORP, Marker.SORS})

# The first four bytes of every codestream: SOC then the PIH marker (§2, STR-001).
MAGIC = b"\xff\x80\xff\x82"

# Writer order [PROJECT DECISION] (§12): SOC PIH TON [UDI] RDI SORP... SORS... SOZ [SOQ] EOC.
WRITER_ORDER = (Marker.SOC, Marker.PIH, Marker.TON, Marker.UDI, Marker.RDI,
                Marker.SORP, Marker.SORS, Marker.SOZ, Marker.SOQ, Marker.EOC)


def marker_name(value: int) -> str:
    """Name of a known marker, or its hex value."""
    try:
        return Marker(value).name
    except ValueError:
        return f"0x{value:04X}"
