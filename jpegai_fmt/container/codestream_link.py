"""What the container needs from the codestream, taken through the syntax layer.

The container derives `jaih`, `ispe`, `colr` and `pixi` from these facts when writing,
and cross-checks them when reading (BOX-010..013). The codestream stays authoritative.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..codestream import Codestream, parse_codestream
from ..errors import JpegAiError
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


def _facts(cs: Codestream) -> CodestreamFacts | None:
    if cs.pih is None:
        return None
    cicp = None
    if cs.rdi is not None and cs.rdi.get("cicp_info_present_flag"):
        cicp = {k: cs.rdi[k] for k in CICP_FIELDS}
        cicp["full_range_flag"] = cs.rdi["image_full_range_flag"]
    return CodestreamFacts(bytes(cs.segments[1].payload), cs.pih.display_size, cs.pih.bit_depth,
                           cs.pih["colour_transform_idx"], cicp)


def codestream_facts(data: bytes, *, syntax: str = "IS") -> CodestreamFacts:
    """Facts of the codestream `data`, parsed strictly: raises a JpegAiError on any error."""
    return _facts(parse_codestream(bytes(data), syntax=syntax.lower()))


def read_item(data: bytes, *, syntax: str = "IS", lenient: bool = False,
              entropy: bool = False) -> tuple[Node, CodestreamFacts | None, JpegAiError | None]:
    """The codestream tree of an item's bytes (offsets relative to `data`, errors kept as
    findings and error nodes) with the codestream rules' findings under the strict or
    lenient policy, its facts when the PIH could be read, and the error that stopped
    parsing altogether, if any. `entropy` adds the rules only decoding finds (as `validate` does)."""
    from ..rules import apply_policy, check_codestream  # codestream.md §15 rules on the item's data
    try:
        cs = parse_codestream(bytes(data), syntax=syntax.lower(), tolerant=True)
    except JpegAiError as err:
        return Node("codestream", None, 0, 8 * len(data), "error"), None, err
    check_codestream(cs, entropy=entropy)
    apply_policy(cs.node, lenient)
    return cs.node, _facts(cs), None
