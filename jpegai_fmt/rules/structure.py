"""Segment-level rules: counts, order, regions across segments, SOQ and UDI presence
(STR-004..008, REG-001 repeats, REG-002/004/005, SOQ-001/002, UDI-001/002)."""
from __future__ import annotations

from ..errors import JpegAiError
from ..layout import ResidualLayout
from ..markers import WRITER_ORDER, Marker
from ..tables import MARKERS
from ..udi_record import parse_record
from . import Context, register, report

LIMITS = {Marker[m["name"]]: (m["min"], m["max"]) for m in MARKERS["markers"]}


@register
def soc_once(ctx: Context) -> None:
    for _seg, node in ctx.of(Marker.SOC)[1:]:
        report(node, "STR-004", "repeat", offset=node.byte_offset)


@register
def counts(ctx: Context) -> None:
    """STR-005 (single segments), STR-006 (residuals present), REG-004 (residual repeats)."""
    independent = ctx.cs.pih is not None and ctx.cs.pih.independent_regions
    for marker, (low, high) in LIMITS.items():
        if marker in (Marker.SOC, Marker.EOC):
            continue  # STR-004, and STR-002 from the splitter
        found = ctx.of(marker)
        residual = marker in (Marker.SORP, Marker.SORS)
        if len(found) < low:
            report(ctx.root, "STR-006" if residual else "STR-005", "missing", path=marker.name,
                   marker=marker.name)
        elif residual and len(found) > 1 and ctx.cs.pih is not None and not independent:
            for _, node in found[1:]:
                report(node, "REG-004", "repeat", marker=marker.name, count=len(found))
        elif high is not None and len(found) > high:
            for _, node in found[1:]:
                report(node, "STR-005", "repeat", marker=marker.name, count=len(found))


@register
def order(ctx: Context) -> None:
    """STR-008: each segment that comes before one it should follow in writer order."""
    rank = {m: i for i, m in enumerate(WRITER_ORDER)}
    top, top_name = -1, ""
    for seg, node in ctx.nodes:
        r = rank[seg.marker]
        if r < top:
            report(node, "STR-008", "order", marker=node.name, previous=top_name)
        elif r > top:
            top, top_name = r, node.name


@register
def independent_regions(ctx: Context) -> None:
    """REG-001 (repeated index), REG-002 (missing regions), REG-005 (index order)."""
    pih = ctx.cs.pih
    if pih is None or not pih.independent_regions:
        return
    index_of = {}
    for i in range(len(ctx.cs.segments)):
        layout = ctx.cs.layouts.get(i)
        if isinstance(layout, ResidualLayout) and layout.independent:
            index_of[i] = layout.parts[0].index
    for marker in (Marker.SORP, Marker.SORS):
        seen: set[int] = set()
        previous = None
        found = [(index_of[i], node) for i, (seg, node) in enumerate(ctx.nodes)
                 if seg.marker == marker and i in index_of]
        for index, node in found:
            at = node.child("region_index") or node
            if index in seen:
                report(node, "REG-001", "repeat", at=at, marker=marker.name, index=index)
            elif previous is not None and index < previous:
                report(node, "REG-005", "order", at=at, marker=marker.name, index=index, previous=previous)
            seen.add(index)
            previous = index
        if found and len(seen) < pih.num_regions:
            missing = sorted(set(range(pih.num_regions)) - seen)
            shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
            report(found[0][1], "REG-002", "missing", marker=marker.name, present=len(seen),
                   count=pih.num_regions, missing=f"region{'s' if len(missing) > 1 else ''} {shown}")


@register
def quality_map(ctx: Context) -> None:
    pih = ctx.cs.pih
    if pih is None:
        return
    soq = ctx.first(Marker.SOQ)
    if soq is not None and not pih.quality_map:
        report(soq, "SOQ-001", "unused")
    elif soq is None and pih.quality_map:
        report(ctx.first(Marker.PIH), "SOQ-002", "missing", at=ctx.first(Marker.PIH).get("gain_3D_enable_flag"))


@register
def user_data(ctx: Context) -> None:
    for seg, node in ctx.of(Marker.UDI):
        try:
            rec = parse_record(seg.payload)
        except JpegAiError as err:
            report(node, "UDI-002", "malformed", error=err.message)
            continue
        if rec is None:
            report(node, "UDI-001", "present", size=seg.size)
        else:
            report(node, "UDI-001", "record", size=seg.size, model_set=rec.model_set.hex(),
                   regions=len(rec.index.regions))
