"""Whole codestreams: parse into the shared tree (segments, header fields, region and
thread ranges) and write in the project's segment order (codestream.md §12).

Reading is two-phase (§3): split segments, then, once PIH is known, parse the other
headers and split entropy-coded payloads. Segment nodes are named by marker, with
`[k]` added when a marker occurs more than once; header fields sit directly below their
segment, so paths read `PIH/component[1]/num_chs`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .errors import JpegAiError, ParseError
from .layout import AnsMemory, ResidualLayout, split_residual, split_threads
from .markers import BARE, Marker
from .pih import PictureHeader, build_pih, parse_pih
from .rdi import build_rdi, parse_rdi
from .segments import Segment, join_segments, split_segments
from .ton import build_ton, default_ton, parse_ton
from .tree import Finding, Node

# An RDI with no optional part: one byte of zero flags.
EMPTY_RDI = {"cicp_info_present_flag": 0, "mdcv_info_present_flag": 0, "clli_info_present_flag": 0,
             "dm_present_flag": 0, "ri_reserved_zero_4bits": 0}


@dataclass
class Codestream:
    """A parsed codestream: its segments, decoded headers, payload layouts and tree."""

    segments: list[Segment]
    node: Node
    pih: PictureHeader | None = None
    ton: dict[str, Any] | None = None
    rdi: dict[str, Any] | None = None
    layouts: dict[int, AnsMemory | ResidualLayout] = field(default_factory=dict)  # by segment index

    def of(self, marker: Marker) -> list[Segment]:
        """Segments with this marker, in stream order."""
        return [s for s in self.segments if s.marker == marker]

    @property
    def udi(self) -> bytes | None:
        found = self.of(Marker.UDI)
        return found[0].payload if found else None

    def findings(self) -> list[Finding]:
        return self.node.all_findings()


def parse_codestream(data: bytes, *, syntax: str = "is", base_byte: int = 0, tolerant: bool = False,
                     name: str = "codestream", kind: str = "file") -> Codestream:
    """Parse a codestream starting at `data[0]`, which sits at `base_byte` in its file.

    Strict mode raises the first error that stops parsing. `tolerant` mode turns such
    errors into findings (and 'error' nodes) and keeps everything it could read, for
    validators and the inspector.
    """
    data = bytes(data)
    segments = split_segments(data, base_byte=base_byte, tolerant=tolerant)
    # A segment the data ends inside of (tolerant mode) becomes an error node; it is not one
    # of cs.segments, which all have their whole payload.
    cut = segments.pop() if segments[-1].error is not None else None
    end = len(data) if cut is not None else segments[-1].end
    root = Node(name, bit_offset=8 * base_byte, bit_length=8 * len(data), kind=kind)
    cs = Codestream(segments, root)
    counts = Counter(s.marker for s in segments + ([cut] if cut else []))
    seen: Counter = Counter()
    nodes = []
    for seg in segments + ([cut] if cut else []):
        label = seg.marker.name
        if counts[seg.marker] > 1:
            label = f"{label}[{seen[seg.marker]}]"
        seen[seg.marker] += 1
        nodes.append(root.add(_segment_node(seg, label, base_byte)))
    if end < len(data):
        root.add(Node("trailing_bytes", bit_offset=8 * (base_byte + end), bit_length=8 * (len(data) - end),
                      kind="payload"))

    def guarded(node: Node, work) -> None:
        try:
            work()
        except JpegAiError as err:
            if not tolerant:
                raise
            partial = getattr(err, "partial", None)
            if partial is not None:           # the header's fields read before the error stay in the tree
                _graft(node, partial)
            _record(node, err)

    first = segments[1] if len(segments) > 1 else cut
    if first is None or first.marker != Marker.PIH:
        err = ParseError("the first segment after SOC is not PIH", byte_offset=base_byte + 2,
                         path=first.marker.name if first else "PIH", rule="STR-001")
        if not tolerant:
            raise err
        _record(nodes[0], err)
        return cs
    if first is cut:
        return cs  # the PIH itself is cut short: nothing below it can be read

    def do_pih() -> None:
        cs.pih = parse_pih(first.payload, syntax=syntax, base_bit=8 * (base_byte + first.payload_offset))
        _graft(nodes[1], cs.pih.node)
    guarded(nodes[1], do_pih)
    if cs.pih is None:
        return cs
    unindexable = cs.pih.independent_regions and cs.pih.num_regions > 256
    if unindexable:       # REG-006 is the header's fault: one finding there, not one per residual segment
        at = nodes[1].get("num_ver_splits_minus1") or nodes[1]
        message = (f"independent mode with {cs.pih.num_regions} regions cannot be indexed by one byte; "
                   "the residual segments are not read")
        if not tolerant:      # strict readers stop here, as at any stopping error
            raise ParseError(message, byte_offset=at.bit_offset >> 3, bit_offset=at.bit_offset, path=at.path,
                             rule="REG-006")
        at.findings.append(Finding("REG-006", "E", message, at.path, at.bit_offset >> 3, at.bit_offset))
    for i, (seg, node) in enumerate(zip(segments, nodes)):
        if i == 1 or seg.marker in BARE or (unindexable and seg.marker in (Marker.SORP, Marker.SORS)):
            continue
        guarded(node, lambda seg=seg, node=node, i=i: _parse_payload(cs, i, seg, node, base_byte))
    return cs


def _parse_payload(cs: Codestream, index: int, seg: Segment, node: Node, base_byte: int) -> None:
    pih = cs.pih
    base = base_byte + seg.payload_offset
    if seg.marker == Marker.PIH:
        return  # a second PIH is reported by the validator (STR-005); only the first one counts
    if seg.marker == Marker.TON:
        values, tree = parse_ton(seg.payload, pih, base_bit=8 * base)
        cs.ton = cs.ton or values
        _graft(node, tree)
    elif seg.marker == Marker.RDI:
        values, tree = parse_rdi(seg.payload, base_bit=8 * base)
        cs.rdi = cs.rdi or values
        _graft(node, tree)
    elif seg.marker == Marker.UDI:
        node.add(Node("user_data", None, 8 * base, 8 * seg.size, "payload"))
    elif seg.marker in (Marker.SOZ, Marker.SOQ):
        n = pih.n_z if seg.marker == Marker.SOZ else pih.n_q
        mem = split_threads(seg.payload, n, base_byte=base, path=node.path)
        cs.layouts[index] = mem
        _memory_nodes(node, mem, base)
    else:
        c = 0 if seg.marker == Marker.SORP else 1
        layout = split_residual(seg.payload, pih.n_r[c], pih.num_regions, pih.independent_regions,
                                base_byte=base, path=node.path)
        cs.layouts[index] = layout
        node.findings += layout.findings
        if layout.independent:
            node.add(Node("region_index", layout.parts[0].index, 8 * base, 8, "field"))
        elif layout.table_bits:
            node.add(Node("region_sizes", layout.region_sizes[:-1], 8 * base, layout.table_bits, "field"))
        for part in layout.parts:
            mem = part.memory
            _memory_nodes(node.add(Node(f"region[{part.index}]", None, 8 * (base + mem.offset),
                                        8 * mem.size, "group")), mem, base)


def _record(node: Node, err: JpegAiError) -> None:
    """Keep a stopping error in the tree: an 'error' node and a finding at its offset."""
    bit = err.bit_offset if err.bit_offset is not None else \
        8 * err.byte_offset if err.byte_offset is not None else node.bit_offset
    node.add(Node("error", err.describe(), bit, 0, "error"))
    node.findings.append(Finding(err.rule or "", "E", err.message, err.path or node.path, bit >> 3, bit))


def _memory_nodes(node: Node, mem: AnsMemory, base: int) -> None:
    node.findings += mem.findings
    if mem.prefix_bits:
        start = 8 * (base + mem.offset)
        node.add(Node("thread_size_deltas", mem.deltas, start, mem.code_bits, "field"))
        if mem.prefix_bits > mem.code_bits:     # shown apart, as in the headers
            node.add(Node("alignment", mem.pad_value, start + mem.code_bits, mem.prefix_bits - mem.code_bits, "field"))
    for t, (start, size) in enumerate(mem.threads):
        node.add(Node(f"thread[{t}]", None, 8 * (base + start), 8 * size, "payload"))


def _segment_node(seg: Segment, label: str, base_byte: int) -> Node:
    """A segment and its framing fields. One cut short by the end of the data is an 'error'
    node whose value is the message, covering the bytes there are, with its finding (SEG-003)."""
    start = base_byte + seg.offset
    length = 8 * (seg.end - seg.offset)
    if seg.error is None:
        node = Node(label, seg.marker.name, 8 * start, length, "segment", findings=list(seg.findings))
        size: int | None = seg.size
    else:
        node = Node(label, seg.error.message, 8 * start, length, "error", findings=[*seg.findings, seg.error])
        size = seg.declared_size
    node.add(Node("marker", f"0x{int(seg.marker):04X}", 8 * start, 16, "field"))
    if seg.marker not in BARE and size is not None:
        node.add(Node("substream_size", size, 8 * start + 16, seg.size_bits, "field"))
        if seg.align_bits:
            node.add(Node("alignment", seg.align_value, 8 * start + 16 + seg.size_bits, seg.align_bits, "field"))
    if seg.error is not None and seg.payload:
        node.add(Node("payload", None, 8 * (base_byte + seg.payload_offset), 8 * len(seg.payload), "payload"))
    return node


def _graft(node: Node, header: Node) -> None:
    """Move a parsed header's fields and findings below its segment node."""
    node.value = header.value or node.value
    for child in header.children:
        node.add(child)
    node.findings += header.findings
    for n in node.walk():
        for f in n.findings:
            if f.path.startswith(header.name + "/"):
                f.path = node.path + f.path[len(header.name):]


def build_codestream(pih: dict[str, Any], *, soz: bytes, sorp: list[bytes], sors: list[bytes],
                     ton: dict[str, Any] | None = None, rdi: dict[str, Any] | None = None,
                     udi: bytes | None = None, soq: bytes | None = None, syntax: str = "is") -> bytes:
    """A codestream in the project's writer order SOC PIH TON [UDI] RDI SORP.. SORS.. SOZ [SOQ] EOC.

    Entropy payloads are complete (see layout.build_*); SORP/SORS take one payload, or one
    per independent region. TON and RDI are always written (all tools off / no colour
    description when not given), as the reference encoder does; `ton` holds the fields that differ
    from the all-off default.
    """
    header = parse_pih(build_pih(pih, syntax), syntax=syntax)
    parts: list[tuple[Marker, bytes]] = [(Marker.PIH, header.to_bytes()),
                                         (Marker.TON, build_ton({**default_ton(header), **(ton or {})}, header))]
    if udi is not None:
        parts.append((Marker.UDI, bytes(udi)))
    parts.append((Marker.RDI, build_rdi(rdi or EMPTY_RDI)))
    parts += [(Marker.SORP, p) for p in sorp] + [(Marker.SORS, p) for p in sors]
    parts.append((Marker.SOZ, soz))
    if soq is not None:
        parts.append((Marker.SOQ, soq))
    return join_segments(parts)
