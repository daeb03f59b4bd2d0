"""Reading a `.jai` file: boxes → item model → primary item data → nested codestream tree.

The model collects what the HEIF boxes declare (items, locations, properties,
associations, references) without judging it; `rules.py` judges. Item data is only
ever sliced from the file after its extents were checked against the file bounds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ParseError
from ..tree import Finding, Node
from .boxes import Box, walk_file
from ..markers import MAGIC
from .tables import LAYOUT


@dataclass
class Item:
    id: int
    type: str | None
    flags: int
    content_type: str | None
    box: Box


@dataclass
class Location:
    """One `iloc` entry; extents are (offset, length) as declared (length 0 = to the end)."""

    item_id: int
    method: int
    data_reference_index: int
    base_offset: int
    extents: list[tuple[int, int]]
    node: Node


@dataclass
class ItemData:
    """An item's bytes and where they came from; `problems` are (case, extent index, values)."""

    data: bytes = b""
    ranges: list[tuple[int, int]] = field(default_factory=list)  # (file offset, length)
    problems: list[tuple[str, int, dict]] = field(default_factory=list)
    in_mdat: bool = True


@dataclass
class ContainerModel:
    data: bytes
    root: Node
    top: list[Box]
    metas: list[Box] = field(default_factory=list)
    items: dict[int, Item] = field(default_factory=dict)
    item_order: list[Item] = field(default_factory=list)
    locations: dict[int, list[Location]] = field(default_factory=dict)
    properties: list[Box] = field(default_factory=list)
    associations: dict[int, list[tuple[bool, int]]] = field(default_factory=dict)
    references: list[tuple[str, int, list[int], Box]] = field(default_factory=list)
    primary_id: int | None = None
    _data_cache: dict[int, ItemData] = field(default_factory=dict)

    @property
    def ftyp(self) -> Box | None:
        return next((b for b in self.top if b.type == "ftyp"), None)

    @property
    def meta(self) -> Box | None:
        return self.metas[0] if self.metas else None

    def meta_child(self, box_type: str) -> Box | None:
        return self.meta.first(box_type) if self.meta else None

    def iprp_child(self, box_type: str) -> Box | None:
        iprp = self.meta_child("iprp")
        return iprp.first(box_type) if iprp else None

    def item_properties(self, item_id: int) -> list[tuple[bool, int, Box | None]]:
        """(essential, index, property box or None when the index is out of range)."""
        out = []
        for essential, index in self.associations.get(item_id, []):
            prop = self.properties[index - 1] if 1 <= index <= len(self.properties) else None
            out.append((essential, index, prop))
        return out

    def references_to(self, ref_type: str, from_id: int) -> list[int]:
        return [t for kind, f, to, _ in self.references if kind == ref_type and f == from_id for t in to]

    def payload_boxes(self, box_type: str) -> list[Box]:
        found = [b for b in self.top if b.type == box_type]
        if self.meta:
            found += self.meta.all(box_type)
        return found

    def item_data(self, item_id: int) -> ItemData:
        """Concatenated extents of `item_id`, checked against the file, `idat` and `mdat`."""
        if item_id not in self._data_cache:
            self._data_cache[item_id] = self._read_item(item_id)
        return self._data_cache[item_id]

    def _read_item(self, item_id: int) -> ItemData:
        out = ItemData()
        locs = self.locations.get(item_id)
        if not locs:
            out.problems.append(("missing_entry", -1, {}))
            return out
        loc = locs[0]
        if loc.data_reference_index != 0 or loc.method not in (0, 1):
            out.problems.append(("unsupported", -1, {}))
            return out
        if loc.method == 1:
            idat = self.meta_child("idat")
            if idat is None:
                out.problems.append(("outside_idat", 0, {"offset": 0, "length": 0}))
                return out
            lo, hi = idat.payload_offset, idat.end
        else:
            lo, hi = 0, len(self.data)
        total = 0
        for i, (offset, length) in enumerate(loc.extents):
            start = lo + loc.base_offset + offset
            if length == 0:
                length = max(hi - start, 0)
            if start + length > hi:
                case = "outside_file" if loc.method == 0 else "outside_idat"
                out.problems.append((case, i, {"offset": offset, "length": length}))
                continue
            total += length
            if total > len(self.data):
                out.problems.append(("too_large", i, {"total": total}))
                return out
            out.ranges.append((start, length))
            if loc.method == 0 and not self._in_mdat(start, length):
                out.in_mdat = False
                out.problems.append(("outside_mdat", i, {"offset": offset, "length": length}))
        if not loc.extents:
            out.problems.append(("no_extent", -1, {}))
        if not any(case in ("outside_file", "outside_idat", "too_large", "no_extent")
                   for case, _, _ in out.problems):
            out.data = b"".join(self.data[s:s + n] for s, n in out.ranges)
        return out

    def _in_mdat(self, start: int, length: int) -> bool:
        return any(b.payload_offset <= start and start + length <= b.end for b in self.top if b.type == "mdat")


def read_model(data: bytes) -> ContainerModel:
    """Walk the boxes of `data` under a new file node and collect the item model."""
    root = Node("file", "HEIF", 0, 8 * len(data), "file")
    model = ContainerModel(data, root, walk_file(data, root))
    model.metas = [b for b in model.top if b.type == "meta"]
    meta = model.meta
    if meta is None:
        return model
    pitm = meta.first("pitm")
    if pitm is not None and pitm.fields is not None:
        model.primary_id = pitm.fields.item_ID
    iinf = meta.first("iinf")
    for infe in (iinf.all("infe") if iinf else []):
        if infe.fields is None:
            continue
        f = infe.fields
        item = Item(f.item_ID, f.item_type, f.flags, f.content_type, infe)
        model.item_order.append(item)
        model.items.setdefault(item.id, item)
    iloc = meta.first("iloc")
    if iloc is not None and iloc.fields is not None:
        for i, entry in enumerate(iloc.fields["items"]):
            method = entry.method.construction_method if entry.method is not None else 0
            loc = Location(entry.item_ID, method, entry.data_reference_index, entry.base_offset,
                           [(e.extent_offset, e.extent_length) for e in entry.extents],
                           iloc.node.child(f"items[{i}]") or iloc.node)
            model.locations.setdefault(loc.item_id, []).append(loc)
    ipco = model.iprp_child("ipco")
    if ipco is not None:
        model.properties = list(ipco.children)
    ipma = model.iprp_child("ipma")
    if ipma is not None and ipma.fields is not None:
        for entry in ipma.fields.entries:
            model.associations.setdefault(entry.item_ID, [
                (bool(a.essential), a.property_index) for a in entry.associations])
    iref = meta.first("iref")
    for ref in (iref.children if iref else []):
        if ref.fields is not None:
            model.references.append((ref.type, ref.fields.from_item_ID, list(ref.fields.to_item_ID), ref))
    return model


def _shift(node: Node, mapping, prefix: str) -> None:
    """Move a codestream subtree into file positions; prefix its finding paths."""
    for n in node.walk():
        n.bit_offset = mapping(n.bit_offset)
        for f in n.findings:
            _shift_finding(f, mapping, prefix)


def _shift_finding(f: Finding, mapping, prefix: str) -> None:
    if f.bit_offset is not None:
        f.bit_offset = mapping(f.bit_offset)
        f.byte_offset = f.bit_offset >> 3
    elif f.byte_offset is not None:
        f.byte_offset = mapping(8 * f.byte_offset) >> 3
    f.path = f"{prefix}/{f.path}" if f.path else prefix


def _mapping(ranges: list[tuple[int, int]]):
    """Bit position in the concatenated item data → bit position in the file."""
    starts = []
    cum = 0
    for offset, length in ranges:
        starts.append((cum, offset))
        cum += length

    def to_file(bit: int) -> int:
        byte = bit >> 3
        base_cum, base_off = starts[0]
        for c, off in starts:
            if c <= byte:
                base_cum, base_off = c, off
        return bit + 8 * (base_off - base_cum)
    return to_file


def place_item(model: ContainerModel, item: Item, item_data: ItemData) -> Node:
    """An item node for the item's bytes, put under the box whose payload holds its first extent."""
    start, length = item_data.ranges[0] if item_data.ranges else (0, 0)
    holder = model.root
    for box in model.payload_boxes("mdat") + model.payload_boxes("idat"):
        if box.payload_offset <= start < box.end:
            holder = box.node
            raw = holder.child("payload")
            if raw is not None and raw.kind == "payload":
                holder.children.remove(raw)  # replaced by the item nodes and the gaps between them
            break
    node = Node(f"item[{item.id}]", item.type, 8 * start, 8 * len(item_data.data), "payload")
    holder.add(node)
    return node


def fill_gaps(model: ContainerModel) -> None:
    """Bytes of an mdat/idat payload outside every item stay visible as 'unreferenced' nodes."""
    for box in model.payload_boxes("mdat") + model.payload_boxes("idat"):
        items = sorted((n for n in box.node.children if n.name.startswith("item[")),
                       key=lambda n: n.bit_offset)
        if not items:
            continue
        pos = 8 * box.payload_offset
        gaps = []
        for n in items:
            if n.bit_offset > pos:
                gaps.append(Node("unreferenced", None, pos, n.bit_offset - pos, "payload"))
            pos = max(pos, n.bit_offset + n.bit_length)
        if pos < 8 * box.end:
            gaps.append(Node("unreferenced", None, pos, 8 * box.end - pos, "payload"))
        for g in gaps:
            box.node.add(g)
    for holder in [model.root] + [b.node for b in model.payload_boxes("mdat") + model.payload_boxes("idat")]:
        holder.children.sort(key=lambda n: (n.kind != "field", n.bit_offset))


def nest_codestream(item_node: Node, tree: Node, ranges) -> None:
    """Hang the codestream `tree` (offsets relative to the item data) under `item_node`,
    its positions moved to the file and its finding paths prefixed with the item's path."""
    _shift(tree, _mapping(ranges), item_node.path)
    for child in list(tree.children):
        item_node.add(child)
    item_node.findings.extend(tree.findings)


def locate_primary(model: ContainerModel) -> tuple[Item, ItemData]:
    """The primary `jai0` item and its data; raises ParseError when either is missing."""
    if model.primary_id is None:
        raise ParseError("the file names no primary item (no readable 'pitm')", path="meta/pitm",
                         rule="BOX-004")
    item = model.items.get(model.primary_id)
    if item is None or item.type != LAYOUT["item_type"]:
        found = "undeclared" if item is None else f"of type '{item.type}'"
        raise ParseError(f"primary item {model.primary_id} is {found}, not a '{LAYOUT['item_type']}' item",
                         path="meta/iinf", rule="BOX-004")
    data = model.item_data(item.id)
    if not data.data:
        raise ParseError(f"the data of primary item {item.id} cannot be located inside the file",
                         path="meta/iloc", rule="BOX-006")
    return item, data


def load_primary(model: ContainerModel) -> tuple[Item, ItemData]:
    """As `locate_primary`, and the data must start like a codestream."""
    item, data = locate_primary(model)
    if data.data[:4] != MAGIC:
        raise ParseError(f"the data of primary item {item.id} is not a codestream (no FF 80 FF 82)",
                         byte_offset=data.ranges[0][0], path="meta/iloc", rule="BOX-007")
    return item, data


def read_metadata(data: bytes) -> dict[str, bytes]:
    """The metadata a `.jai` file carries, under Pillow's `info` keys (see `metadata`)."""
    return metadata(read_model(bytes(data)))


def metadata(m: ContainerModel) -> dict[str, bytes]:
    """`exif` (`Exif\\0\\0` + TIFF header and IFDs, as JPEG readers give it), `xmp` (the packet) and
    `icc_profile` (from a 'prof'/'rICC' `colr` property of the primary item): the first of each, as stored,
    well-formed or not (`validate` judges them: BOX-015, BOX-016)."""
    out: dict[str, bytes] = {}
    for item in m.item_order:
        if m.items.get(item.id) is not item or item.id == m.primary_id:
            continue
        payload = m.item_data(item.id).data
        if item.type == LAYOUT["exif_item_type"] and len(payload) >= 4 and "exif" not in out:
            offset = int.from_bytes(payload[:4], "big")
            if 4 + offset < len(payload):
                out["exif"] = b"Exif\x00\x00" + payload[4 + offset:]
        elif (item.type == LAYOUT["xmp_item_type"] and item.content_type == LAYOUT["xmp_content_type"]
              and payload and "xmp" not in out):
            out["xmp"] = payload
    if m.primary_id is not None:
        for _, _, prop in m.item_properties(m.primary_id):
            if prop is not None and prop.type == "colr" and prop.fields is not None \
                    and prop.fields.colour_type in LAYOUT["icc_colour_types"] and "icc_profile" not in out:
                out["icc_profile"] = bytes(prop.fields.icc_profile)
    return out
