"""TON and RDI value rules (TON-002, TON-004, TON-006, TON-007, RDI-001..003) on the
first TON and RDI; TON-001/003/005 are found by the parser."""
from __future__ import annotations

from ..markers import Marker
from ..rdi import expected_length
from ..tables import CONSTANTS, FIELDS
from ..tree import Node
from . import Context, register, report

MAX_FILTER_LENGTH = CONSTANTS["efe_max_filter_length"]
LEF_MAX = CONSTANTS["lef_max_channel"]
CICP_DEFINED = {k: set(v) for k, v in FIELDS["cicp_defined"].items() if not k.startswith("_")}
SOURCE_422 = (1, 2)  # (ver, hor) source subsampling of 4:2:2


@register
def ton(ctx: Context) -> None:
    node, values, pih = ctx.first(Marker.TON), ctx.cs.ton, ctx.cs.pih
    if node is None or values is None or pih is None:
        return
    for s, fset in enumerate(values.get("filter_set") or []):
        for plane in (0, 1):
            length = fset.get(f"fL_{plane}")
            if fset["best_cand_idx"][plane] == 0 or length is None:
                continue
            at = node.get(f"filter_set[{s}]/fL_{plane}") or node
            if length == 0:
                report(node, "TON-002", "zero", at=at)
            elif length > MAX_FILTER_LENGTH:
                report(node, "TON-002", "long", at=at, value=length)
    if pih.source_subsampling == SOURCE_422 and values.get("icci_enable_flag") is not None:
        report(node, "TON-004", "422", at=node.get("icci_enable_flag") or node)
    nonlinear = values.get("nonlinear")
    if nonlinear and (nonlinear["nonLinear_enabled_U_flag"] or nonlinear["nonLinear_enabled_V_flag"]) \
            and nonlinear.get("numTiles") == 0:
        report(node, "TON-006", "tiles", at=node.get("nonlinear/numTiles") or node)
    lef = values.get("LEF_chIdx")
    if lef is not None and lef > LEF_MAX:
        report(node, "TON-007", "value", at=node.get("LEF_chIdx") or node, value=lef)


@register
def rdi(ctx: Context) -> None:
    node, values = ctx.first(Marker.RDI), ctx.cs.rdi
    if node is None:
        return
    _length(node, values)
    if values is None:
        return
    for name in ("ri_reserved_zero_4bits", "cicp_reserved_zero_4bits"):
        if values.get(name):
            report(node, "RDI-001", "reserved", at=node.get(name) or node, field=name, value=values[name])
    if values["cicp_info_present_flag"]:
        for name, defined in CICP_DEFINED.items():
            if values[name] not in defined:
                report(node, "RDI-002", "reserved", at=node.get(name) or node, field=name, value=values[name])


def _length(node: Node, values: dict | None) -> None:
    """RDI-003 replaces the generic header-length findings (SEG-004, SEG-006) on RDI."""
    for n in node.walk():
        for f in n.findings:
            if f.rule == "SEG-006":
                f.rule = "RDI-003"
            elif f.rule == "SEG-004" and values is not None:
                n.findings.remove(f)
                size = node.child("substream_size")
                report(n, "RDI-003", "longer", size=size.value if size else "?", expected=expected_length(values))
                break
