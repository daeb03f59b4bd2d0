"""Generic ISOBMFF box walker: headers, bounds, nesting, and field nodes from the schemas.

Hostile input is bounded: every box size is checked against its parent before any
read, nesting depth and the number of boxes are capped, bodies with arrays are parsed
only up to a size cap, and a box that cannot be read becomes an error node with a
BOX-001 finding instead of an exception. Nothing is dropped: unknown boxes keep their
payload (inline when small) and stay in the tree.
"""
from __future__ import annotations

import io
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from construct import Construct, ConstructError, Container, ListContainer, Struct

from ..tree import Node
from . import schemas
from .tables import LAYOUT, LIMITS, report

CONTAINERS = frozenset(LAYOUT["container_boxes"])
GREEDY_BODIES = frozenset({"jaih", "colr"})  # no arrays: any size parses in linear time


@dataclass(eq=False)
class Box:
    """One box as found in the file; `size` is clipped to what its parent holds."""

    type: str
    offset: int
    size: int
    header_size: int
    node: Node
    fields: Any = None  # parsed schema values, None when the body did not parse
    payload_offset: int = 0  # first byte after the parsed fields (child boxes or raw payload)
    children: list["Box"] = field(default_factory=list)
    parent: "Box | None" = None

    @property
    def end(self) -> int:
        return self.offset + self.size

    def all(self, box_type: str) -> list["Box"]:
        return [c for c in self.children if c.type == box_type]

    def first(self, box_type: str) -> "Box | None":
        return next((c for c in self.children if c.type == box_type), None)


def fourcc_text(raw: bytes) -> str:
    """A 4CC as text; bytes outside printable ASCII are escaped so names stay readable."""
    return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in raw)


def _bit_subcons(subcon: Construct):
    """The named fields of a BitStruct with their widths in bits."""
    inner = subcon
    while not isinstance(inner, Struct):
        inner = inner.subcon
    return [(sc.name, sc.sizeof()) for sc in inner.subcons if sc.name]


def _plain(value):
    return int(value) if isinstance(value, bool) else value


def attach_fields(parent: Node, values: Container, spans: deque, base: int) -> None:
    """Field nodes for the parsed `values`, positioned by the recorded `spans`.

    Spans come in parse order, which is the order of the Container's keys; arrays
    become `name[i]` children, BitStruct groups become bit-exact leaf nodes.
    """
    for key, value in values.items():
        if not key.startswith("_"):
            _attach(parent, key, value, spans, base)


def _attach(parent: Node, name: str, value, spans: deque, base: int) -> None:
    if value is None:
        return
    if isinstance(value, ListContainer):
        for i, item in enumerate(value):
            _attach(parent, f"{name}[{i}]", item, spans, base)
        return
    if isinstance(value, Container):
        if spans and spans[0][3] is value:  # a BitStruct read as one span
            start, end, subcon, _ = spans.popleft()
            group = parent.add(Node(name, None, 8 * (base + start), 8 * (end - start), "group"))
            bit = group.bit_offset
            for sub, width in _bit_subcons(subcon):
                group.add(Node(sub, _plain(value[sub]), bit, width, "field"))
                bit += width
            return
        group = parent.add(Node(name, None, 0, 0, "group"))
        attach_fields(group, value, spans, base)
        if group.children:
            group.bit_offset = group.children[0].bit_offset
            last = group.children[-1]
            group.bit_length = last.bit_offset + last.bit_length - group.bit_offset
        return
    start, end, _, _ = spans.popleft()
    parent.add(Node(name, _plain(value), 8 * (base + start), 8 * (end - start), "field"))


def parse_body(schema: Construct, data: bytes, start: int, end: int):
    """Parse `data[start:end]` with `schema`: (values, spans, bytes consumed)."""
    spans: list = []
    stream = io.BytesIO(memoryview(data)[start:end])
    values = schema.parse_stream(stream, spans=spans)
    return values, deque(spans), stream.tell()


def construct_message(err: ConstructError) -> str:
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    if "check failed" in text:
        return "a count or field size is outside the accepted range"
    if "stream read less" in text or "could not read enough" in text or "StreamError" in text:
        return "the box ends inside a field"
    return text


class Walker:
    """Reads a box tree from `data`, counting boxes across the whole file."""

    def __init__(self, data: bytes):
        self.data = data
        self.count = 0
        self.stopped = False

    def walk(self, start: int, end: int, parent: Node, parent_box: Box | None,
             depth: int, top_level: bool) -> list[Box]:
        boxes: list[Box] = []
        where = "the file" if top_level else f"'{parent_box.type}'"
        pos = start
        while pos < end and not self.stopped:
            left = end - pos
            if self.count >= LIMITS["max_boxes"]:
                self.stopped = True
                err = parent.add(Node("unread", None, 8 * pos, 8 * left, "error"))
                report(err, "BOX-001", "too_many", limit=LIMITS["max_boxes"])
                break
            if left < 8:
                err = parent.add(Node("trailing", bytes(self.data[pos:end]), 8 * pos, 8 * left, "error"))
                report(err, "BOX-001", "short_header", left=left, where=where)
                break
            box = self._box(pos, end, parent, parent_box, depth, top_level, where)
            if box is None:
                break
            boxes.append(box)
            pos = box.end
        _name_siblings(boxes)
        return boxes

    def _box(self, pos, end, parent, parent_box, depth, top_level, where) -> Box | None:
        data = self.data
        size = int.from_bytes(data[pos:pos + 4], "big")
        raw_type = bytes(data[pos + 4:pos + 8])
        box_type = fourcc_text(raw_type)
        header = 8
        if size == 1:
            if end - pos < 16:
                err = parent.add(Node(box_type, None, 8 * pos, 8 * (end - pos), "error"))
                report(err, "BOX-001", "short_header", left=end - pos, where=where)
                return None
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
            header = 16
        self.count += 1
        node = parent.add(Node(box_type, box_type, 8 * pos, 0, "box"))
        header_values, header_spans, _ = parse_body(schemas.BoxHeader, data, pos, pos + header)
        attach_fields(node, header_values, header_spans, pos)
        if header_values.size == 0:
            if not top_level:
                report(node, "BOX-001", "size_zero_nested", type=box_type)
            size = end - pos
        if size < header:
            node.kind = "error"
            node.bit_length = 8 * (end - pos)
            report(node, "BOX-001", "size_too_small", type=box_type, size=size, minimum=header)
            return None
        if size > end - pos:
            report(node, "BOX-001", "past_parent", type=box_type, size=size,
                   excess=size - (end - pos), where=where)
            size = end - pos
        node.bit_length = 8 * size
        box = Box(box_type, pos, size, header, node, parent=parent_box, payload_offset=pos + header)
        self._body(box, depth)
        return box

    def _body(self, box: Box, depth: int) -> None:
        schema = schemas.BODIES.get(box.type)
        if box.parent is not None and box.parent.type == "iref":
            # .get: an 'iref' nested in an 'iref' was read as a reference and has no version field
            version = box.parent.fields.get("version", 0) if box.parent.fields else 0
            schema = schemas.reference32 if version else schemas.reference16
        start, end = box.offset + box.header_size, box.end
        if schema is None:
            self._payload(box, start, end)
            return
        if box.type not in GREEDY_BODIES and box.type not in CONTAINERS \
                and end - start > LIMITS["max_parsed_body"]:
            report(box.node, "BOX-001", "bad_body", type=box.type,
                   error=f"{end - start} bytes is more than this reader parses")
            self._payload(box, start, end)
            return
        try:
            values, spans, used = parse_body(schema, self.data, start, end)
        except ConstructError as err:
            report(box.node, "BOX-001", "bad_body", type=box.type, error=construct_message(err))
            box.node.add(Node("unparsed", None, 8 * start, 8 * (end - start), "error"))
            return
        box.fields = values
        attach_fields(box.node, values, spans, start)
        box.payload_offset = start + used
        if box.type in CONTAINERS:
            if depth + 1 >= LIMITS["max_depth"]:
                report(box.node, "BOX-001", "too_deep", type=box.type, limit=LIMITS["max_depth"])
                self._payload(box, box.payload_offset, end)
                return
            box.children = self.walk(box.payload_offset, end, box.node, box, depth + 1, False)
        elif used < end - start:
            report(box.node, "BOX-001", "trailing_bytes", type=box.type, count=end - start - used)
            self._payload(box, start + used, end)

    def _payload(self, box: Box, start: int, end: int) -> None:
        """Keep the raw bytes as a payload node (inline only when small)."""
        if end > start:
            inline = bytes(self.data[start:end]) if end - start <= LIMITS["max_inline_bytes"] else None
            box.node.add(Node("payload", inline, 8 * start, 8 * (end - start), "payload"))


def _name_siblings(boxes: list[Box]) -> None:
    """Repeated box types get an index suffix so that every node path is unique."""
    counts = Counter(b.type for b in boxes)
    seen: Counter = Counter()
    for b in boxes:
        if counts[b.type] > 1:
            b.node.name = f"{b.type}[{seen[b.type]}]"
            seen[b.type] += 1


def walk_file(data: bytes, root: Node) -> list[Box]:
    """All top-level boxes of `data` (children nested), nodes added under `root`."""
    boxes = Walker(data).walk(0, len(data), root, None, 0, True)
    for node in root.walk():  # paths are final only now that siblings are named
        for f in node.findings:
            f.path = node.path
    return boxes
