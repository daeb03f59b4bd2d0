"""Progressive sub-bitstream extraction (entropy.md §8-§9, codestream.md §5.2, §9, §12): a conforming stream
that keeps a channel prefix of each component, optionally without TON, UDI or some independent regions.

Channel cuts rewrite PIH (num_chs and the grfs flags), cut every SORP/SORS thread range from its start,
recompute thread prefixes, region size tables and segment sizes, and cut the project's UDI channel index
with them, so that extraction composes. Cut points come from that index (pure byte work) or, for streams of
our model set without one, from the codec's σ rows (imported lazily; that path needs the model). SOZ, RDI
and SOQ are copied as they are; segments that do not change keep their bytes and their order.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterable

from .api import load
from .codestream import Codestream, parse_codestream
from .container import sniff
from .container.reader import load_primary, read_model
from .container.writer import rewrap
from .errors import BuildError, DecodeError, ParseError
from .limits import LimitError
from .geometry import regions as region_grid
from .layout import build_dependent_residual, build_independent_residual, build_memory
from .markers import BARE, Marker
from .pih import MAX_CHANNELS, build_pih
from .segments import frame_segment
from .udi_record import ChannelIndex, Record, RegionIndex, build_record, parse_record

COMPONENTS = ("luma", "chroma")
WORD = 8


class ExtractError(BuildError):
    """The requested extraction cannot be made from this stream (the message says why and what can)."""


@dataclass
class _Region:
    """One region memory of a component: where it is and its thread ranges."""

    component: int
    index: int
    segment: int          # index into Codestream.segments
    size: int             # rh * rw latent positions
    threads: list[bytes]
    new_threads: list[bytes] | None = None
    dropped: list[int] | None = None   # bytes cut from each thread start (None: re-encoded)
    method: str = "unchanged"


@dataclass
class _Plan:
    cs: Codestream
    targets: list[int]
    regions: list[_Region]
    record: Record | None
    drop_regions: frozenset[int]
    notes: list[str] = field(default_factory=list)
    rows: dict | None = None


def extract(data, *, luma_channels: int | None = None, chroma_channels: int | None = None,
            drop_ton: bool = False, drop_udi: bool = False, drop_regions: Iterable[int] = (),
            syntax: str = "auto") -> tuple[bytes, dict[str, Any]]:
    """Extract from a raw codestream or a `.jai` file (bytes, a path or a binary file object); returns the new
    bytes (same kind) and a size report.

    Channel counts above a component's num_chs keep it whole, so extract(extract(x, a), b) equals
    extract(x, min(a, b)). A request that changes nothing returns the input unchanged.
    """
    data = load(data)[0]
    options = dict(luma_channels=luma_channels, chroma_channels=chroma_channels, drop_ton=drop_ton,
                   drop_udi=drop_udi, drop_regions=frozenset(int(i) for i in drop_regions), syntax=syntax)
    kind = sniff(data)
    if kind == "codestream":
        out, report = _extract_codestream(data, **options)
        report["container"] = False
    elif kind == "container":
        out, report = _extract_container(data, **options)
    else:
        raise ParseError("input is neither a JPEG AI codestream (FF 80 FF 82) nor an ISOBMFF file ('ftyp')",
                         byte_offset=0)
    report["input_bytes"], report["output_bytes"] = len(data), len(out)
    report.setdefault("codestream_bytes", [len(data), len(out)])
    width, height = report["display_size"]     # codestream bits, the standard's rate (as encode counts it)
    report["bpp"] = [round(8 * n / (width * height), 6) for n in report["codestream_bytes"]]
    return out, report


# ---------------------------------------------------------------- container

def _extract_container(data: bytes, **options) -> tuple[bytes, dict[str, Any]]:
    model = read_model(data)
    item, item_data = load_primary(model)
    codestream = item_data.data
    new, report = _extract_codestream(codestream, **options)
    report["container"] = True
    report["codestream_bytes"] = [len(codestream), len(new)]
    if new == codestream:
        return data, report
    out, notes = rewrap(data, new, syntax=report["syntax"])
    report["notes"] += notes
    return out, report


# ---------------------------------------------------------------- codestream

def _extract_codestream(data: bytes, *, luma_channels, chroma_channels, drop_ton, drop_udi, drop_regions,
                        syntax) -> tuple[bytes, dict[str, Any]]:
    cs = parse_codestream(data, syntax=syntax)
    pih = cs.pih
    plan = _Plan(cs, [_target(v, c, pih.num_chs[c]) for c, v in enumerate((luma_channels, chroma_channels))],
                 [], None, drop_regions)
    _check_drop_regions(plan)
    plan.record = _usable_record(plan, drop_udi)
    plan.regions = _regions(plan)
    for c in (0, 1):
        if plan.targets[c] < pih.num_chs[c]:
            _cut_component(plan, c, data)
    udi = _new_udi(plan, drop_udi)
    pieces, rows = [], []
    counts: dict[Marker, int] = {}
    for seg in cs.segments:
        counts[seg.marker] = counts.get(seg.marker, 0) + 1
    seen: dict[Marker, int] = {}
    for i, seg in enumerate(cs.segments):
        label = seg.marker.name
        if counts[seg.marker] > 1:
            label += f"[{seen.get(seg.marker, 0)}]"
        seen[seg.marker] = seen.get(seg.marker, 0) + 1
        raw = data[seg.offset:seg.end]
        new = _new_segment(plan, i, seg, raw, drop_ton, drop_udi, udi)
        row = {"segment": label, "in": len(raw), "out": len(new)}
        if seg.marker in (Marker.SORP, Marker.SORS):
            c = 0 if seg.marker == Marker.SORP else 1
            row["component"] = COMPONENTS[c]
            row["regions"] = [r.index for r in plan.regions if r.segment == i] or \
                [p.index for p in cs.layouts[i].parts]
        rows.append(row)
        pieces.append(new)
    out = b"".join(pieces)
    trailing = len(data) - cs.segments[-1].end
    if out == data[:cs.segments[-1].end]:
        out = data
    elif trailing:
        plan.notes.append(f"{trailing} bytes after EOC are not copied")
    report = {
        "syntax": pih.syntax.upper(),
        "display_size": list(pih.display_size),
        "codestream_bytes": [len(data), len(out)],
        "num_chs": {COMPONENTS[c]: [pih.num_chs[c], min(plan.targets[c], pih.num_chs[c])] for c in (0, 1)},
        "method": {COMPONENTS[c]: _method(plan, c) for c in (0, 1)},
        "segments": rows,
        "components": _component_totals(rows),
        "notes": plan.notes,
    }
    return out, report


def _target(value: int | None, c: int, num_chs: int) -> int:
    """Requested channel count, clamped to what the stream has (a count above it keeps the component)."""
    if value is None:
        return num_chs
    value = int(value)
    if not 0 <= value <= MAX_CHANNELS[c]:
        raise ExtractError(f"{COMPONENTS[c]} channel count {value} outside 0..{MAX_CHANNELS[c]}",
                           path=f"PIH/component[{c}]/num_chs")
    return min(value, num_chs)


def _check_drop_regions(plan: _Plan) -> None:
    pih = plan.cs.pih
    if not plan.drop_regions:
        return
    bad = sorted(i for i in plan.drop_regions if not 0 <= i < pih.num_regions)
    if bad:
        raise ExtractError(f"regions {bad} do not exist; the stream has regions 0..{pih.num_regions - 1}")
    if not pih.independent_regions:
        raise ExtractError("regions can only be dropped from streams with independent regions "
                           "(region_residual_in_its_own_substream_flag = 1); this stream's regions share one "
                           "segment per component and depend on each other", path="PIH")
    for marker in (Marker.SORP, Marker.SORS):
        present = {plan.cs.layouts[i].parts[0].index for i, s in enumerate(plan.cs.segments) if s.marker == marker}
        if present and present <= plan.drop_regions:
            raise ExtractError(f"dropping regions {sorted(plan.drop_regions)} would leave no {marker.name} "
                               f"segment; {marker.name} is mandatory (codestream.md §12)")


def _usable_record(plan: _Plan, drop_udi: bool) -> Record | None:
    """Our UDI record if the stream has one that describes it; stale or damaged ones are reported and ignored
    (and said to be dropped, not kept, when `drop_udi` removes the segment)."""
    fate = "dropped" if drop_udi else "passed through unchanged"
    udi = plan.cs.udi
    try:
        record = parse_record(udi)
    except ParseError as err:
        plan.notes.append(f"UDI has the project magic but is damaged ({err.describe()}); channel index not used")
        return None
    if record is None:
        if udi is not None:
            plan.notes.append(f"UDI is not a jpegai-fmt record; {fate}")
        return None
    if tuple(record.index.num_chs) != tuple(plan.cs.pih.num_chs):
        plan.notes.append(f"channel index describes num_chs {record.index.num_chs}, the stream has "
                          f"{plan.cs.pih.num_chs}: stale index not used" + ("" if drop_udi else " and left as it is"))
        return None
    return record


def _regions(plan: _Plan) -> list[_Region]:
    cs, pih = plan.cs, plan.cs.pih
    geo = region_grid(pih.width, pih.height, *pih.region_grid)
    out = []
    for i, seg in enumerate(cs.segments):
        if seg.marker not in (Marker.SORP, Marker.SORS) or i not in cs.layouts:
            continue
        c = 0 if seg.marker == Marker.SORP else 1
        for part in cs.layouts[i].parts:
            if pih.independent_regions and part.index in plan.drop_regions:
                continue
            y0, y1, x0, x1 = geo[part.index].latent
            threads = [seg.payload[o:o + n] for o, n in part.memory.threads]
            out.append(_Region(c, part.index, i, (y1 - y0) * (x1 - x0), threads))
    if plan.record is not None:
        for r in out:
            entry = plan.record.index.entry(r.component, r.index)
            if entry is not None and entry.sizes != [len(t) for t in r.threads]:
                plan.notes.append(f"channel index of {COMPONENTS[r.component]} region {r.index} does not match "
                                  f"its thread sizes: stale index not used and left as it is")
                plan.record = None
                break
    return out


def _valid_counts(regions: list[_Region], num_chs: int, n: int) -> list[int]:
    return [m for m in range(num_chs + 1)
            if m == num_chs or all((m * r.size) % (4 * n) == 0 for r in regions)]


def _cut_component(plan: _Plan, c: int, data: bytes) -> None:
    """Cut every kept region of component c to plan.targets[c] channels (entropy.md §9 rows 1-4, 6)."""
    pih = plan.cs.pih
    m, n = plan.targets[c], pih.n_r[c]
    regions = [r for r in plan.regions if r.component == c]
    for r in regions:
        entry = plan.record.index.entry(c, r.index) if plan.record else None
        drops = entry.drops(m) if entry else None
        aligned = (m * r.size) % (4 * n) == 0
        if drops is not None and aligned:
            r.dropped, r.method = drops, "index"
            continue
        rows = _rows(plan, data, c, r, m, regions)
        from codec.entropy import channel_cut_points, decode_residual, encode_residual
        if aligned:
            bits = channel_cut_points(r.threads, rows, n, [m * r.size])[0]
            r.dropped, r.method = [int(b) // 64 * WORD for b in bits], "sigma"
        else:
            values, _ = decode_residual(r.threads, rows, n)
            r.new_threads = encode_residual(values[:m * r.size], rows[:m * r.size], n)
            r.method = "re-encode"
    for r in regions:
        if r.dropped is not None:
            r.new_threads = [t[d:] for t, d in zip(r.threads, r.dropped)]


def _rows(plan: _Plan, data: bytes, c: int, region: _Region, m: int, regions: list[_Region]):
    """σ rows of one region in coding order, from the codec (our model set only)."""
    if plan.rows is None:
        n = plan.cs.pih.n_r[c]
        valid = _valid_counts(regions, plan.cs.pih.num_chs[c], n)
        why = (f"cannot cut {COMPONENTS[c]} to {m} channels: cut points come from a jpegai-fmt channel index in "
               f"UDI (none here covers {m}) or from our codec's σ rows")
        indexed = _indexed_counts(plan, c, regions)
        hint = ""
        if valid != list(range(plan.cs.pih.num_chs[c] + 1)):     # only some counts fall on thread-group bounds
            hint = f"; group-aligned {COMPONENTS[c]} counts for this stream are {_ranges_text(valid)}"
        if indexed:
            hint += (", of which" if hint else ";") + f" the index covers {_ranges_text(indexed)}"
        hint += ". --drop-ton, --drop-udi and --drop-regions work on any stream"
        try:
            from codec.pipeline import residual_rows
        except ImportError:
            raise ExtractError(f"{why}, and the codec (codec.pipeline) is not available{hint}") from None
        try:
            plan.rows = residual_rows(data)
        except LimitError:
            raise                              # the resource limit speaks for itself
        except DecodeError as err:             # another model set, a damaged record, a format we do not code
            raise ExtractError(f"{why}, which it cannot compute for this stream ({err.message}); the channel "
                               f"cut is refused{hint}") from None
    rows = plan.rows.get((c, region.index))
    need = plan.cs.pih.num_chs[c] * region.size
    if rows is None or len(rows) != need:
        raise ExtractError(f"the codec gave no σ rows of {need} positions for {COMPONENTS[c]} region "
                           f"{region.index}")
    return rows


def _indexed_counts(plan: _Plan, c: int, regions: list[_Region]) -> list[int]:
    """Counts every kept region of component c has in the channel index."""
    if plan.record is None:
        return []
    sets = []
    for r in regions:
        entry = plan.record.index.entry(c, r.index)
        sets.append({m for m, _ in entry.cuts} if entry else set())
    return sorted(set.intersection(*sets)) if sets else []


def _ranges_text(values: list[int]) -> str:
    """Counts as text: an arithmetic run is shown as 'a, b, ..., z'."""
    if len(values) > 6:
        step = values[1] - values[0]
        if all(b - a == step for a, b in zip(values, values[1:])):
            return f"{values[0]}, {values[1]}, ..., {values[-1]}"
    return ", ".join(map(str, values))


def _new_udi(plan: _Plan, drop_udi: bool) -> bytes | None:
    """The new UDI payload, or None to keep the old segment (foreign or stale UDI, or nothing changed)."""
    if drop_udi or plan.record is None:
        return None
    old = plan.record.index
    pih = plan.cs.pih
    num_chs = tuple(min(plan.targets[c], pih.num_chs[c]) for c in (0, 1))
    kept = {(r.component, r.index): r for r in plan.regions}
    tables = []
    for entry in old.regions:
        r = kept.get((entry.component, entry.region))
        if r is None:
            continue
        if r.new_threads is None:
            tables.append(entry)
        elif r.dropped is not None:
            tables.append(entry.after_cut(num_chs[r.component], r.dropped))
        else:
            from codec.entropy import channel_index_for
            counts = [m for m, _ in entry.cuts if m < num_chs[r.component]]
            rows = plan.rows[(r.component, r.index)][:num_chs[r.component] * r.size]
            tables.append(RegionIndex(r.component, r.index, [len(t) for t in r.new_threads], [
                (m, d) for m, d in channel_index_for(r.new_threads, rows, pih.n_r[r.component], counts, r.size)]))
    return build_record(plan.record.model_set, ChannelIndex(num_chs, tables))


def _new_segment(plan: _Plan, i: int, seg, raw: bytes, drop_ton: bool, drop_udi: bool, udi: bytes | None) -> bytes:
    pih = plan.cs.pih
    if seg.marker in BARE:
        return raw
    if (seg.marker == Marker.TON and drop_ton) or (seg.marker == Marker.UDI and drop_udi):
        return b""
    if seg.marker == Marker.UDI:
        return raw if udi is None else frame_segment(Marker.UDI, udi)
    if seg.marker == Marker.PIH and i == 1:
        if all(plan.targets[c] >= pih.num_chs[c] for c in (0, 1)):
            return raw
        fields = copy.deepcopy(pih.fields)
        for c, comp in enumerate(fields["component"]):
            comp["num_chs"] = min(plan.targets[c], comp["num_chs"])
            if comp.get("grfs_enable_flag"):
                comp["grfs_channel_flag"] = list(comp["grfs_channel_flag"])[:comp["num_chs"]]
        return frame_segment(Marker.PIH, build_pih(fields, pih.syntax))
    if seg.marker in (Marker.SORP, Marker.SORS):
        mine = [r for r in plan.regions if r.segment == i]
        if not mine:
            return b""  # a dropped independent region
        if all(r.new_threads is None for r in mine):
            return raw
        memories = [build_memory(r.new_threads if r.new_threads is not None else r.threads) for r in mine]
        if pih.independent_regions:
            return frame_segment(seg.marker, build_independent_residual(mine[0].index, memories[0]))
        return frame_segment(seg.marker, build_dependent_residual(memories))
    return raw


def _method(plan: _Plan, c: int) -> str:
    methods = sorted({r.method for r in plan.regions if r.component == c})
    return "+".join(methods) if methods else "unchanged"


def _component_totals(rows: list[dict]) -> dict[str, dict[str, int]]:
    totals = {name: {"in": 0, "out": 0} for name in (*COMPONENTS, "other")}
    for row in rows:
        t = totals[row.get("component", "other")]
        t["in"] += row["in"]
        t["out"] += row["out"]
    return totals

