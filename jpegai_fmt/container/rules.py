"""The container validation rules BOX-002..BOX-021 (container.md §6); BOX-001 is found by
the box walker. Each check attaches its findings to the node it concerns."""
from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from collections import Counter

from construct import ConstructError

from ..markers import MAGIC
from ..tree import Finding, Node
from . import schemas
from .boxes import parse_body
from .codestream_link import CICP_FIELDS, CodestreamFacts
from .reader import ContainerModel
from .tables import LAYOUT, finding, report

ITEM = LAYOUT["item_type"]
EOC = b"\xff\x81"
TIFF_HEADERS = (b"II*\x00", b"MM\x00*")


def check_structure(model: ContainerModel) -> None:
    """Rules on the file as declared, independent of the codestream."""
    for check in (_box001_first, _box002, _box003, _box004, _box005, _box006, _box008, _box009,
                  _box014, _box015, _box016, _box017, _box018, _box019, _box021):
        check(model)


def check_codestream(model: ContainerModel, item_node: Node, data: bytes, facts: CodestreamFacts | None,
                     parse_error: str | None) -> None:
    """BOX-007 and the property cross-checks BOX-010..013 against the primary item's codestream."""
    if data[:4] != MAGIC:
        report(item_node, "BOX-007", "no_magic", head=data[:4].hex(" ").upper() or "nothing")
    elif data[-2:] != EOC:
        report(item_node, "BOX-007", "no_eoc", byte_offset=item_node.byte_end - 2)
    if parse_error is not None:
        report(item_node, "BOX-007", "unparsable", error=parse_error)
    errors = [f for n in item_node.walk() for f in n.findings
              if f.severity == "E" and not f.rule.startswith("BOX-")]
    if errors:
        first = errors[0]
        report(item_node, "BOX-007", "codestream_errors", count=len(errors),
               first=f"{first.rule} {first.message}")
    if facts is None:
        return
    props = model.item_properties(model.primary_id)
    for _, _, prop in props:
        if prop is None or prop.fields is None:
            continue
        if prop.type == "jaih":
            _box010(prop, facts)
        elif prop.type == "ispe":
            _box011(prop, facts)
        elif prop.type == "pixi":
            _box012(prop, facts)
        elif prop.type == "colr" and prop.fields.nclx is not None:
            _box013(prop, facts)


def extension_finding(path: str | os.PathLike, kind: str) -> Finding | None:
    """BOX-020: the extension of `path` against the sniffed kind ('container'/'codestream')."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    expected = LAYOUT["extensions"][kind]
    if ext in expected:
        return None
    return finding("BOX-020", "extension", byte_offset=0, extension=ext or "(none)",
                   kind="HEIF container" if kind == "container" else "raw codestream",
                   expected=" or ".join(expected))


# -- structure ---------------------------------------------------------------

def _box001_first(m: ContainerModel) -> None:
    if not m.top:
        report(m.root, "BOX-001", "empty")
    elif m.top[0].type != "ftyp":
        report(m.top[0].node, "BOX-001", "first_not_ftyp", type=m.top[0].type)


def _primary_item(m: ContainerModel):
    item = m.items.get(m.primary_id) if m.primary_id is not None else None
    return item if item is not None and item.type == ITEM else None


def _box002(m: ContainerModel) -> None:
    ftyp = m.ftyp
    if ftyp is None or ftyp.fields is None:
        return
    brands = [ftyp.fields.major_brand, *ftyp.fields.compatible_brands]
    if LAYOUT["brand"] not in brands:
        report(ftyp.node, "BOX-002", "no_jaii_item" if _primary_item(m) else "no_jaii")
    if LAYOUT["required_compatible_brand"] not in ftyp.fields.compatible_brands:
        report(ftyp.node, "BOX-002", "no_mif1")


def _box003(m: ContainerModel) -> None:
    if not m.metas:
        report(m.root, "BOX-003", "no_meta")
        return
    if len(m.metas) > 1:
        report(m.metas[1].node, "BOX-003", "many_meta", count=len(m.metas))
    meta = m.meta
    if meta.fields is not None and meta.fields.version != 0:
        report(meta.node, "BOX-003", "meta_version", version=meta.fields.version)
    first = meta.children[0] if meta.children else None
    if first is None or first.type != "hdlr":
        report(first.node if first else meta.node, "BOX-003", "hdlr_not_first",
               type=first.type if first else "nothing")
    hdlr = meta.first("hdlr")
    if hdlr is not None and hdlr.fields is not None and hdlr.fields.handler_type != LAYOUT["handler_type"]:
        report(hdlr.node.child("handler_type") or hdlr.node, "BOX-003", "handler_type",
               handler=hdlr.fields.handler_type)


def _box004(m: ContainerModel) -> None:
    if m.meta is None:
        return
    pitms = m.meta.all("pitm")
    if not pitms:
        report(m.meta.node, "BOX-004", "no_pitm")
        return
    if len(pitms) > 1:
        report(pitms[1].node, "BOX-004", "many_pitm", count=len(pitms))
    if m.primary_id is None:
        return
    item = m.items.get(m.primary_id)
    node = pitms[0].node.child("item_ID") or pitms[0].node
    if item is None:
        report(node, "BOX-004", "undeclared", item_id=m.primary_id)
    elif item.type != ITEM:
        report(node, "BOX-004", "wrong_type", item_id=m.primary_id, item_type=item.type)


def _box005(m: ContainerModel) -> None:
    if m.meta is None:
        return
    iinf = m.meta.first("iinf")
    if iinf is None:
        report(m.meta.node, "BOX-005", "no_iinf")
        return
    infes = iinf.all("infe")
    if iinf.fields is not None and iinf.fields.entry_count != len(infes):
        report(iinf.node.child("entry_count") or iinf.node, "BOX-005", "count_mismatch",
               count=iinf.fields.entry_count, children=len(infes))
    seen = set()
    for infe in infes:
        if infe.fields is None:
            continue
        if infe.fields.version not in (2, 3):
            report(infe.node, "BOX-005", "infe_version", version=infe.fields.version)
        if infe.fields.item_ID in seen:
            report(infe.node, "BOX-005", "duplicate_id", item_id=infe.fields.item_ID)
        seen.add(infe.fields.item_ID)


def _box006(m: ContainerModel) -> None:
    if m.meta is None:
        return
    iloc = m.meta.first("iloc")
    if iloc is None:
        report(m.meta.node, "BOX-006", "no_iloc")
        return
    if iloc.fields is None:
        return
    for item_id, locs in m.locations.items():
        if item_id not in m.items:
            report(locs[0].node, "BOX-006", "undeclared_entry", item_id=item_id)
    for item in m.item_order:
        if m.items[item.id] is not item:
            continue
        locs = m.locations.get(item.id, [])
        if not locs:
            report(item.box.node, "BOX-006", "missing_entry", item_id=item.id)
            continue
        if len(locs) > 1:
            report(locs[1].node, "BOX-006", "duplicate_entry", item_id=item.id, count=len(locs))
        loc = locs[0]
        if loc.data_reference_index != 0:
            report(loc.node, "BOX-006", "data_reference", item_id=item.id, index=loc.data_reference_index)
            continue
        if loc.method not in (0, 1) or (loc.method == 1 and item.type == ITEM):
            report(loc.node, "BOX-006", "construction_method", item_id=item.id, method=loc.method)
            continue
        if not loc.extents:
            report(loc.node, "BOX-006", "no_extent", item_id=item.id)
            continue
        for case, index, values in m.item_data(item.id).problems:
            if case in ("outside_file", "outside_idat", "outside_mdat"):
                node = loc.node.child(f"extents[{index}]") or loc.node
                report(node, "BOX-006", case, item_id=item.id, index=index, file_size=len(m.data), **values)
            elif case == "too_large":
                report(loc.node, "BOX-006", case, item_id=item.id, **values)


def _box008(m: ContainerModel) -> None:
    if m.meta is None:
        return
    iprp = m.meta.first("iprp")
    if iprp is None:
        report(m.meta.node, "BOX-008", "no_iprp")
        return
    if iprp.first("ipco") is None:
        report(iprp.node, "BOX-008", "no_ipco")
    ipma = iprp.first("ipma")
    if ipma is None:
        report(iprp.node, "BOX-008", "no_ipma")
        return
    if ipma.fields is None or ipma.payload_offset < ipma.end:
        _ipma_flags(m, ipma)
        if ipma.fields is None:
            return
    previous = None
    seen = set()
    for i, entry in enumerate(ipma.fields.entries):
        node = ipma.node.child(f"entries[{i}]") or ipma.node
        if entry.item_ID in seen:
            report(node, "BOX-008", "duplicate", item_id=entry.item_ID)
        elif previous is not None and entry.item_ID < previous:
            report(node, "BOX-008", "not_ascending", item_id=entry.item_ID, previous=previous)
        seen.add(entry.item_ID)
        previous = entry.item_ID
        for j, assoc in enumerate(entry.associations):
            if not 1 <= assoc.property_index <= len(m.properties):
                report(node.child(f"associations[{j}]") or node, "BOX-008", "index_range",
                       item_id=entry.item_ID, index=assoc.property_index, count=len(m.properties))


def _ipma_flags(m: ContainerModel, ipma) -> None:
    """An ipma whose body fits exactly only with the other index width has wrong flags."""
    start = ipma.offset + ipma.header_size
    body = bytearray(m.data[start:ipma.end])
    if len(body) < 4:
        return
    flags = int.from_bytes(body[1:4], "big")
    body[3] ^= 1
    try:
        _, _, used = parse_body(schemas.ipma, bytes(body), 0, len(body))
    except ConstructError:
        return
    if used == len(body):
        report(ipma.node, "BOX-008", "flags_width", flags=flags, width=15 if flags & 1 else 7)


def _box009(m: ContainerModel) -> None:
    item = _primary_item(m)
    if item is None:
        return
    props = [(e, i, p) for e, i, p in m.item_properties(item.id) if p is not None]
    node = item.box.node
    jaih = [(e, i) for e, i, p in props if p.type == "jaih"]
    if len(jaih) != 1:
        report(node, "BOX-009", "jaih_count", count=len(jaih))
    for essential, index in jaih:
        if not essential:
            report(_essential_bit(m, item.id, index) or node, "BOX-009", "jaih_not_essential")
    kinds = Counter()
    for _, _, p in props:
        if p.type == "colr" and p.fields is not None:
            kinds["nclx" if p.fields.colour_type == "nclx" else
                  "icc" if p.fields.colour_type in LAYOUT["icc_colour_types"] else "other"] += 1
        else:
            kinds[p.type] += 1
    if kinds["ispe"] != 1:
        report(node, "BOX-009", "ispe_count", count=kinds["ispe"])
    for kind in ("nclx", "icc", "pixi"):
        if kinds[kind] > 1:
            report(node, "BOX-009", f"{kind}_count", count=kinds[kind])


def _box014(m: ContainerModel) -> None:
    item = _primary_item(m)
    if item is None:
        return
    for essential, index, prop in m.item_properties(item.id):
        if essential and prop is not None and prop.type not in LAYOUT["known_properties"]:
            report(_essential_bit(m, item.id, index) or item.box.node, "BOX-014", "unknown_essential",
                   type=prop.type, index=index)


def _essential_bit(m: ContainerModel, item_id: int, index: int) -> Node | None:
    """The `essential` bit of the ipma association that gives `item_id` property `index`: where BOX-009 and
    BOX-014 point, since that bit is what they judge."""
    ipma = m.iprp_child("ipma")
    entries = [n for n in (ipma.node.children if ipma else []) if n.name.startswith("entries[")]
    for entry in entries:
        item = entry.child("item_ID")
        if item is None or item.value != item_id:
            continue
        for assoc in (n for n in entry.children if n.name.startswith("associations[")):
            prop = assoc.child("property_index")
            if prop is not None and prop.value == index:
                return assoc.child("essential") or assoc
    return None


def _metadata_payload(m: ContainerModel, item_id: int) -> bytes | None:
    d = m.item_data(item_id)
    return d.data if d.ranges or d.data else None


def _box015(m: ContainerModel) -> None:
    for item in m.item_order:
        if item.type != LAYOUT["exif_item_type"] or m.items[item.id] is not item:
            continue
        payload = _metadata_payload(m, item.id)
        if payload is not None:
            if len(payload) < 4:
                report(item.box.node, "BOX-015", "short", item_id=item.id, length=len(payload))
            else:
                offset = int.from_bytes(payload[:4], "big")
                if payload[4 + offset:8 + offset] not in TIFF_HEADERS:
                    report(item.box.node, "BOX-015", "no_tiff", item_id=item.id, offset=offset)
        if m.primary_id not in m.references_to("cdsc", item.id):
            report(item.box.node, "BOX-015", "no_cdsc", item_id=item.id)


def _looks_like_xmp(content_type: str | None, payload: bytes | None) -> bool:
    return (content_type == LAYOUT["xmp_content_type"]
            or (payload is not None and (b"x:xmpmeta" in payload or b"<rdf:RDF" in payload)))


def xmp_problem(payload: bytes) -> str | None:
    """What makes an XMP packet unacceptable (BOX-016), or None; the writer refuses the same packets."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start}"
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return "a document type declaration is not allowed in XMP"
    try:
        ET.parse(io.StringIO(text.rstrip("\x00")))
    except ET.ParseError as err:
        return str(err)
    return None


def _box016(m: ContainerModel) -> None:
    for item in m.item_order:
        if item.type != LAYOUT["xmp_item_type"] or m.items[item.id] is not item:
            continue
        payload = _metadata_payload(m, item.id)
        if not _looks_like_xmp(item.content_type, payload):
            continue
        if item.content_type != LAYOUT["xmp_content_type"]:
            report(item.box.node, "BOX-016", "content_type", item_id=item.id,
                   content_type=item.content_type)
        if payload is not None:
            problem = xmp_problem(payload)
            if problem:
                report(item.box.node, "BOX-016", "not_xml", item_id=item.id, error=problem)
        if m.primary_id not in m.references_to("cdsc", item.id):
            report(item.box.node, "BOX-016", "no_cdsc", item_id=item.id)


def _box017(m: ContainerModel) -> None:
    groups = [(m.top, LAYOUT["known_top_level"], "the file")]
    if m.meta is not None:
        groups.append((m.meta.children, LAYOUT["known_meta_children"], "'meta'"))
    for boxes, known, where in groups:
        for box in boxes:
            if box.type in LAYOUT["informational_boxes"]:
                report(box.node, "BOX-017", "free", type=box.type, size=box.size)
            elif box.type not in known:
                report(box.node, "BOX-017", "unknown", type=box.type, where=where)


def _box018(m: ContainerModel) -> None:
    jai0 = [i for i in m.item_order if i.type == ITEM]
    if len(jai0) > 1:
        report(jai0[1].box.node, "BOX-018", "many_items", count=len(jai0), item_id=m.primary_id)


def _box019(m: ContainerModel) -> None:
    for moov in (b for b in m.top if b.type == "moov"):
        stack = list(moov.children)
        while stack:
            box = stack.pop()
            if box.type == LAYOUT["sample_entry_type"]:
                report(moov.node, "BOX-019", "motion")
                return
            stack.extend(box.children)


def _box021(m: ContainerModel) -> None:
    order = [b.type for b in m.top if b.type in LAYOUT["top_level_order"]]
    firsts = list(dict.fromkeys(order))
    expected = [t for t in LAYOUT["top_level_order"] if t in firsts]
    if firsts != expected:
        report(m.root, "BOX-021", "order", order=", ".join(firsts))


# -- codestream cross-checks --------------------------------------------------

def _box010(prop, facts: CodestreamFacts) -> None:
    if prop.fields.version != 0:
        report(prop.node, "BOX-010", "version", version=prop.fields.version)
        return
    body = prop.fields.pih_payload
    if body != facts.pih_payload:
        at = next((i for i, (a, b) in enumerate(zip(body, facts.pih_payload)) if a != b),
                  min(len(body), len(facts.pih_payload)))
        report(prop.node, "BOX-010", "mismatch", length=len(body), pih_length=len(facts.pih_payload), at=at)


def _box011(prop, facts: CodestreamFacts) -> None:
    w, h = prop.fields.image_width, prop.fields.image_height
    if (w, h) != tuple(facts.display_size):
        report(prop.node, "BOX-011", "mismatch", width=w, height=h,
               display_width=facts.display_size[0], display_height=facts.display_size[1])


def _box012(prop, facts: CodestreamFacts) -> None:
    depths = list(prop.fields.bits_per_channel)
    if len(depths) != 3:
        report(prop.node, "BOX-012", "channels", count=len(depths))
    if any(d != facts.bit_depth for d in depths):
        report(prop.node, "BOX-012", "depth", depths=depths, bit_depth=facts.bit_depth)


def _box013(prop, facts: CodestreamFacts) -> None:
    """Also labels the colr node with where its values come from (RDI CICP or §3 defaults)."""
    nclx = prop.fields.nclx
    values = {k: nclx[k] for k in CICP_FIELDS}
    values["full_range_flag"] = int(nclx.range.full_range_flag)
    if nclx.range.reserved:
        report(prop.node, "BOX-013", "reserved", value=nclx.range.reserved)
    if facts.cicp is not None:
        source, case, expected_values = "RDI CICP", "rdi_mismatch", facts.cicp
    else:
        source, case = f"defaults for colour_transform_idx {facts.colour_transform_idx}", "not_default"
        expected_values = LAYOUT["colr_defaults"].get(str(facts.colour_transform_idx), {})
    differs = False
    for k, expected in expected_values.items():
        if not k.startswith("_") and values[k] != expected:
            differs = True
            report(prop.node, "BOX-013", case, field=k, value=values[k], expected=expected,
                   idx=facts.colour_transform_idx)
    prop.node.value = f"colr (nclx {'differs from' if differs else 'matches'} the {source})"
