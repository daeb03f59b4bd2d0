"""What the container needs from the codestream, taken through the syntax layer.

The container derives `jaih`, `ispe`, `colr` and `pixi` from these facts when writing,
and cross-checks them when reading (BOX-010..013). The codestream stays authoritative.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParseError
from ..markers import Marker
from ..pih import parse_pih
from ..rdi import parse_rdi
from ..segments import split_segments
from ..tree import Node

CICP_FIELDS = ("colour_primaries", "transfer_characteristics", "matrix_coefficients")


@dataclass
class CodestreamFacts:
    """The PIH payload and the PIH/RDI values the item properties mirror."""

    pih_payload: bytes
    display_size: tuple[int, int]
    bit_depth: int | None
    colour_transform_idx: int
    cicp: dict | None  # colour_primaries, transfer_characteristics, matrix_coefficients, full_range_flag

    @property
    def colr_source(self) -> str:
        return "RDI" if self.cicp is not None else "defaults"


def codestream_facts(data: bytes, *, syntax: str = "IS", base_byte: int = 0) -> CodestreamFacts:
    """Facts of the codestream `data`; raises a JpegAiError when its PIH cannot be read."""
    segments = split_segments(data, base_byte=base_byte)
    if len(segments) < 2 or segments[1].marker is not Marker.PIH:
        raise ParseError("the codestream has no PIH after SOC", byte_offset=base_byte + 2, path="PIH")
    pih_seg = segments[1]
    pih = parse_pih(pih_seg.payload, syntax=syntax.lower(), base_bit=8 * (base_byte + pih_seg.payload_offset))
    cicp = None
    rdi_seg = next((s for s in segments if s.marker is Marker.RDI), None)
    if rdi_seg is not None:
        rdi, _ = parse_rdi(rdi_seg.payload, base_bit=8 * (base_byte + rdi_seg.payload_offset))
        if rdi.get("cicp_info_present_flag"):
            cicp = {k: rdi[k] for k in CICP_FIELDS}
            cicp["full_range_flag"] = rdi["image_full_range_flag"]
    return CodestreamFacts(bytes(pih_seg.payload), pih.display_size, pih.bit_depth,
                           pih["colour_transform_idx"], cicp)


def parse_tree(data: bytes, *, syntax: str = "IS", lenient: bool = False) -> Node:
    """The syntax layer's tree of the codestream `data` (offsets relative to `data`),
    with the codestream rules' findings attached."""
    try:
        from .. import parse  # the package's parse; imported late since it imports us
    except ImportError:
        raise ParseError("the codestream parser is not available") from None
    return parse(bytes(data), syntax=syntax, lenient=lenient)
