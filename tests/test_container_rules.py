"""Every BOX- rule is triggered by a crafted file, with its severity and a located node."""
import pytest

from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.container import parse_file, validate_file
from jpegai_fmt.container import schemas as S
from jpegai_fmt.container.rules import extension_finding
from jpegai_fmt.container.writer import box, exif_payload
from jpegai_fmt.pih import default_fields

CICP = {"cicp_info_present_flag": 1, "mdcv_info_present_flag": 0, "clli_info_present_flag": 0,
        "dm_present_flag": 0, "ri_reserved_zero_4bits": 0, "colour_primaries": 9,
        "transfer_characteristics": 16, "matrix_coefficients": 9, "image_full_range_flag": 0,
        "chroma420_sample_loc_type": 0, "cicp_reserved_zero_4bits": 0}
CS = build_codestream(default_fields(200, 120), soz=b"z" * 9, sorp=[b"p" * 12], sors=[b"s" * 7])


def full(schema, version=0, flags=0, **fields):
    return schema.build({"version": version, "flags": flags, **fields})


def infe(item_id, item_type, flags=0, content_type=None, version=2):
    if version < 2:
        item_type, content_type = None, content_type or ""
    return box("infe", full(S.infe, version, flags, item_ID=item_id, item_protection_index=0,
                            item_type=item_type, item_name="", content_type=content_type,
                            content_encoding=None, item_uri_type=None))


def iloc(entries, version=0, size=4):
    """entries: (item_id, offset, length, data_reference_index, method)."""
    items = [{"item_ID": i, "method": {"reserved": 0, "construction_method": m} if version else None,
              "data_reference_index": dri, "base_offset": 0, "extent_count": 1,
              "extents": [{"extent_index": None, "extent_offset": o, "extent_length": n}]}
             for i, o, n, dri, m in entries]
    sizes = {"offset_size": size, "length_size": size, "base_offset_size": 0, "index_size": 0}
    return box("iloc", full(S.iloc, version, sizes=sizes, item_count=len(items), items=items))


def nclx(cp=1, tc=13, mc=0, full_range=True, reserved=0):
    return box("colr", S.colr.build({"colour_type": "nclx", "icc_profile": None, "nclx": {
        "colour_primaries": cp, "transfer_characteristics": tc, "matrix_coefficients": mc,
        "range": {"full_range_flag": full_range, "reserved": reserved}}}))


def ipma(entries, flags=0):
    return box("ipma", full(S.ipma, 0, flags, entry_count=len(entries), entries=[
        {"item_ID": i, "association_count": len(a),
         "associations": [{"essential": e, "property_index": p} for e, p in a]} for i, a in entries]))


def pih_payload(cs):
    from jpegai_fmt.segments import split_segments
    return split_segments(cs)[1].payload


def make(cs=CS, *, brands=("jaii", "mif1"), major="jaii", items=None, props=None, assoc=None,
         refs=(), hdlr_type="pict", meta_version=0, pitm=1, extra_meta=(), extra_top=(), order=None,
         iloc_fn=None, iinf_count=None, infe_version=2):
    """A file like the writer's, with any part replaced. items: (id, type, flags, ctype, payload)."""
    items = items if items is not None else [(1, "jai0", 0, None, cs)]
    props = props if props is not None else [
        box("jaih", full(S.jaih, pih_payload=pih_payload(cs))),
        box("ispe", full(S.ispe, image_width=200, image_height=120)), nclx(),
        box("pixi", full(S.pixi, num_channels=3, bits_per_channel=[8, 8, 8]))]
    assoc = assoc if assoc is not None else [(1, [(True, 1), (False, 2), (False, 3), (False, 4)])]
    ftyp = box("ftyp", S.ftyp.build({"major_brand": major, "minor_version": 0,
                                     "compatible_brands": list(brands)}))

    def meta(base):
        pos, entries = base, []
        for i, _, _, _, data in items:
            entries.append((i, pos, len(data), 0, 0))
            pos += len(data)
        children = [box("hdlr", full(S.hdlr, pre_defined=0, handler_type=hdlr_type, reserved=[0, 0, 0],
                                     name=b"\x00"))]
        if pitm is not None:
            children.append(box("pitm", full(S.pitm, item_ID=pitm)))
        count = len(items) if iinf_count is None else iinf_count
        children.append(box("iinf", full(S.iinf, entry_count=count) + b"".join(
            infe(i, t, f, c, infe_version) for i, t, f, c, _ in items)))
        if refs:
            children.append(box("iref", full(S.iref) + b"".join(
                box("cdsc", S.reference16.build({"from_item_ID": a, "reference_count": 1,
                                                  "to_item_ID": [b]})) for a, b in refs)))
        children.append(iloc_fn(entries) if iloc_fn else iloc(entries))
        children.append(box("iprp", box("ipco", b"".join(props)) + ipma(assoc)))
        children += list(extra_meta)
        return box("meta", full(S.meta, meta_version) + b"".join(children))

    mdat_payload = b"".join(d for *_, d in items)
    draft = meta(0)
    parts = {"ftyp": ftyp, "meta": draft, "mdat": box("mdat", mdat_payload)}
    names = list(order or ("ftyp", "meta", "mdat"))
    start = sum(len(parts[n]) for n in names[:names.index("mdat")]) + sum(len(b) for b in extra_top) + 8
    parts["meta"] = meta(start)
    return b"".join(parts[n] for n in names[:names.index("mdat")]) + b"".join(extra_top) + \
        b"".join(parts[n] for n in names[names.index("mdat"):])


def rules(data):
    return {(f.rule, f.severity) for f in parse_file(data).all_findings()}


def test_baseline_is_clean():
    assert rules(make()) == set()


EXIF_ITEM = (2, "Exif", 1, None, exif_payload(b"MM\x00*\x00\x00\x00\x08"))
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
ICC = (132).to_bytes(4, "big") + bytes(32) + b"acsp" + bytes(92)
ICC_COLR = box("colr", S.colr.build({"colour_type": "prof", "nclx": None, "icc_profile": ICC}))


def props(*extra, jaih_version=0, ispe=(200, 120), pixi=(8, 8, 8), colr=None, jaih_body=None):
    return [box("jaih", full(S.jaih, jaih_version, pih_payload=jaih_body or pih_payload(CS))),
            box("ispe", full(S.ispe, image_width=ispe[0], image_height=ispe[1])), colr or nclx(),
            box("pixi", full(S.pixi, num_channels=len(pixi), bits_per_channel=list(pixi)))] + list(extra)


def patch(data, old, new):
    assert data.count(old) == 1, old
    return data.replace(old, new)


def moov(depth, leaf=b""):
    inner = leaf
    for _ in range(depth):
        inner = box("moov", inner)
    return inner


A4 = [(True, 1), (False, 2), (False, 3), (False, 4)]

CASES = {
    "BOX-001 first_not_ftyp": (lambda: make(order=("meta", "ftyp", "mdat")), ("BOX-001", "E")),
    "BOX-001 size_too_small": (lambda: patch(make(), b"\x00\x00\x00\x14ispe", b"\x00\x00\x00\x04ispe"),
                               ("BOX-001", "E")),
    "BOX-001 past_parent": (lambda: patch(make(), b"\x00\x00\x00\x14ispe", b"\x00\x00\x10\x14ispe"),
                            ("BOX-001", "E")),
    "BOX-001 past_file": (lambda: make()[:-3], ("BOX-001", "E")),
    "BOX-001 size_zero_nested": (lambda: patch(make(), b"\x00\x00\x00\x10pixi", b"\x00\x00\x00\x00pixi"),
                                 ("BOX-001", "E")),
    "BOX-001 short_header": (lambda: make() + b"abc", ("BOX-001", "E")),
    "BOX-001 bad_body": (lambda: make(props=props()[:1] + [box("ispe", full(S.ispe, image_width=1,
                                                                              image_height=2)[:-2])]
                                      + props()[2:]), ("BOX-001", "E")),
    "BOX-001 trailing": (lambda: make(props=props()[:3] + [
        box("pixi", full(S.pixi, num_channels=3, bits_per_channel=[8, 8, 8]) + b"\x00")]), ("BOX-001", "E")),
    "BOX-001 too_deep": (lambda: make(extra_top=[moov(20)]), ("BOX-001", "E")),
    "BOX-002 no_jaii_item": (lambda: make(major="mif1", brands=("mif1",)), ("BOX-002", "W")),
    "BOX-002 no_jaii": (lambda: make(major="heic", brands=("mif1", "heic"), items=[(1, "hvc1", 0, None, CS)]),
                        ("BOX-002", "E")),
    "BOX-002 no_mif1": (lambda: make(brands=("jaii",)), ("BOX-002", "E")),
    "BOX-003 no_meta": (lambda: box("ftyp", S.ftyp.build({"major_brand": "jaii", "minor_version": 0,
                                                          "compatible_brands": ["jaii", "mif1"]}))
                        + box("mdat", CS), ("BOX-003", "E")),
    "BOX-003 two_meta": (lambda: make(extra_top=[box("meta", full(S.meta))]), ("BOX-003", "E")),
    "BOX-003 version": (lambda: make(meta_version=1), ("BOX-003", "E")),
    "BOX-003 handler": (lambda: make(hdlr_type="vide"), ("BOX-003", "E")),
    "BOX-003 hdlr_not_first": (lambda: patch(make(), b"hdlr", b"hdlx"), ("BOX-003", "E")),
    "BOX-004 no_pitm": (lambda: make(pitm=None), ("BOX-004", "E")),
    "BOX-004 undeclared": (lambda: make(pitm=7), ("BOX-004", "E")),
    "BOX-004 wrong_type": (lambda: make(pitm=2, items=[(1, "jai0", 0, None, CS), EXIF_ITEM],
                                        refs=[(2, 1)]), ("BOX-004", "E")),
    "BOX-005 count": (lambda: make(iinf_count=2), ("BOX-005", "E")),
    "BOX-005 duplicate": (lambda: make(items=[(1, "jai0", 0, None, CS), (1, "Exif", 1, None, EXIF_ITEM[4])]),
                          ("BOX-005", "E")),
    "BOX-005 infe_version": (lambda: make(infe_version=1), ("BOX-005", "E")),
    "BOX-006 no_iloc": (lambda: patch(make(), b"iloc", b"ilox"), ("BOX-006", "E")),
    "BOX-006 missing": (lambda: make(iloc_fn=lambda e: iloc(e[:0])), ("BOX-006", "E")),
    "BOX-006 duplicate": (lambda: make(iloc_fn=lambda e: iloc(e + e)), ("BOX-006", "E")),
    "BOX-006 dri": (lambda: make(iloc_fn=lambda e: iloc([(1, o, n, 1, 0) for i, o, n, _, _ in e])),
                    ("BOX-006", "E")),
    "BOX-006 method_idat_primary": (lambda: make(iloc_fn=lambda e: iloc([(1, o, n, 0, 1) for i, o, n, _, _ in e],
                                                                         version=1)), ("BOX-006", "E")),
    "BOX-006 outside_file": (lambda: make(iloc_fn=lambda e: iloc([(1, o, n + 100, 0, 0) for i, o, n, _, _ in e])),
                             ("BOX-006", "E")),
    "BOX-006 outside_mdat": (lambda: make(iloc_fn=lambda e: iloc([(1, 0, 8, 0, 0)])), ("BOX-006", "W")),
    "BOX-007 no_eoc": (lambda: make(iloc_fn=lambda e: iloc([(1, o, n - 2, 0, 0) for i, o, n, _, _ in e])),
                       ("BOX-007", "E")),
    "BOX-007 magic": (lambda: make(iloc_fn=lambda e: iloc([(1, o + 2, n - 2, 0, 0) for i, o, n, _, _ in e])),
                      ("BOX-007", "E")),
    "BOX-007 codestream_errors": (lambda: make(items=[(1, "jai0", 0, None, CS + b"\x00\x00")]), ("BOX-007", "E")),
    "BOX-008 no_ipma": (lambda: patch(make(), b"ipma", b"ipmx"), ("BOX-008", "E")),
    "BOX-008 order_dup": (lambda: make(items=[(1, "jai0", 0, None, CS), EXIF_ITEM], refs=[(2, 1)],
                                       assoc=[(2, []), (1, A4)]), ("BOX-008", "E")),
    "BOX-008 duplicate": (lambda: make(assoc=[(1, A4), (1, A4)]), ("BOX-008", "E")),
    "BOX-008 index": (lambda: make(assoc=[(1, A4 + [(False, 9)])]), ("BOX-008", "E")),
    "BOX-008 flags": (lambda: patch(make(), b"ipma\x00\x00\x00\x00", b"ipma\x00\x00\x00\x01"), ("BOX-008", "E")),
    "BOX-009 jaih_essential": (lambda: make(assoc=[(1, [(False, 1), (False, 2), (False, 3), (False, 4)])]),
                               ("BOX-009", "E")),
    "BOX-009 no_jaih": (lambda: make(assoc=[(1, A4[1:])]), ("BOX-009", "E")),
    "BOX-009 two_ispe": (lambda: make(props=props(box("ispe", full(S.ispe, image_width=200, image_height=120))),
                                      assoc=[(1, A4 + [(False, 5)])]), ("BOX-009", "E")),
    "BOX-009 two_nclx": (lambda: make(props=props(nclx()), assoc=[(1, A4 + [(False, 5)])]), ("BOX-009", "E")),
    "BOX-009 two_icc": (lambda: make(props=props(ICC_COLR, ICC_COLR), assoc=[(1, A4 + [(False, 5), (False, 6)])]),
                        ("BOX-009", "E")),
    "BOX-009 two_pixi": (lambda: make(props=props(props()[3]), assoc=[(1, A4 + [(False, 5)])]), ("BOX-009", "E")),
    "BOX-010 version": (lambda: make(props=props(jaih_version=1)), ("BOX-010", "W")),
    "BOX-010 mismatch": (lambda: make(props=props(jaih_body=bytes(len(pih_payload(CS))))), ("BOX-010", "E")),
    "BOX-011": (lambda: make(props=props(ispe=(199, 120))), ("BOX-011", "E")),
    "BOX-012 channels": (lambda: make(props=props(pixi=(8,))), ("BOX-012", "E")),
    "BOX-012 depth": (lambda: make(props=props(pixi=(10, 10, 10))), ("BOX-012", "E")),
    "BOX-013 reserved": (lambda: make(props=props(colr=nclx(reserved=3))), ("BOX-013", "E")),
    "BOX-013 rdi": (lambda: make(build_codestream(default_fields(200, 120), soz=b"z", sorp=[b"p"], sors=[b"s"],
                                                  rdi=CICP)), ("BOX-013", "E")),
    "BOX-013 default": (lambda: make(props=props(colr=nclx(cp=9))), ("BOX-013", "I")),
    "BOX-014": (lambda: make(props=props(box("abcd", b"")), assoc=[(1, A4 + [(True, 5)])]), ("BOX-014", "E")),
    "BOX-015 short": (lambda: make(items=[(1, "jai0", 0, None, CS), (2, "Exif", 1, None, b"\x00")],
                                   refs=[(2, 1)]), ("BOX-015", "W")),
    "BOX-015 no_tiff": (lambda: make(items=[(1, "jai0", 0, None, CS), (2, "Exif", 1, None, bytes(12))],
                                     refs=[(2, 1)]), ("BOX-015", "W")),
    "BOX-015 no_cdsc": (lambda: make(items=[(1, "jai0", 0, None, CS), EXIF_ITEM]), ("BOX-015", "W")),
    "BOX-016 content_type": (lambda: make(items=[(1, "jai0", 0, None, CS), (2, "mime", 1, "text/xml", XMP)],
                                          refs=[(2, 1)]), ("BOX-016", "W")),
    "BOX-016 not_xml": (lambda: make(items=[(1, "jai0", 0, None, CS),
                                            (2, "mime", 1, "application/rdf+xml", b"<x:xmpmeta")],
                                     refs=[(2, 1)]), ("BOX-016", "W")),
    "BOX-016 no_cdsc": (lambda: make(items=[(1, "jai0", 0, None, CS), (2, "mime", 1, "application/rdf+xml", XMP)]),
                        ("BOX-016", "W")),
    "BOX-017 unknown_top": (lambda: make(extra_top=[box("abcd", b"12")]), ("BOX-017", "W")),
    "BOX-017 unknown_meta": (lambda: make(extra_meta=[box("abcd", b"12")]), ("BOX-017", "W")),
    "BOX-017 free": (lambda: make(extra_top=[box("free", b"12")]), ("BOX-017", "I")),
    "BOX-018": (lambda: make(items=[(1, "jai0", 0, None, CS), (2, "jai0", 0, None, CS)]), ("BOX-018", "W")),
    "BOX-019": (lambda: make(extra_top=[box("moov", box("trak", box("mdia", box("minf", box("stbl", box(
        "stsd", full(S.stsd, entry_count=1) + box("jaim", bytes(8)))))))) ]), ("BOX-019", "I")),
    "BOX-021": (lambda: make(order=("ftyp", "mdat", "meta")), ("BOX-021", "W")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_is_triggered(name):
    build, expected = CASES[name]
    findings = parse_file(build()).all_findings()
    hits = [f for f in findings if (f.rule, f.severity) == expected]
    assert hits, f"{name}: got {[(f.rule, f.severity, f.message) for f in findings]}"
    assert all(f.byte_offset is not None and f.message for f in hits)


def test_box001_too_many_boxes_is_bounded():
    findings = parse_file(make(extra_top=[box("free", b"")] * 10001)).all_findings()
    assert ("BOX-001", "E") in {(f.rule, f.severity) for f in findings}


def test_box001_empty_and_finding_paths():
    assert [f.rule for f in parse_file(b"").all_findings()][:1] == ["BOX-001"]
    finding = next(f for f in parse_file(make(props=props(ispe=(1, 1)))).all_findings() if f.rule == "BOX-011")
    assert finding.path == "meta/iprp/ipco/ispe"


def test_box020_extension(tmp_path):
    assert extension_finding("x.jai", "container") is None
    assert extension_finding("x.bits", "codestream") is None
    assert extension_finding("x.jai", "codestream").rule == "BOX-020"
    path = tmp_path / "x.heic"
    path.write_bytes(make())
    assert "BOX-020" in {f.rule for f in validate_file(path)}


def test_multi_extent_item_is_joined_and_mapped():
    def two_extents(entries):
        (_, offset, length, _, _), = entries
        items = [{"item_ID": 1, "method": None, "data_reference_index": 0, "base_offset": 0, "extent_count": 2,
                  "extents": [{"extent_index": None, "extent_offset": offset, "extent_length": 10},
                              {"extent_index": None, "extent_offset": offset + 10,
                               "extent_length": length - 10}]}]
        sizes = {"offset_size": 4, "length_size": 4, "base_offset_size": 0, "index_size": 0}
        return box("iloc", full(S.iloc, 0, sizes=sizes, item_count=1, items=items))
    data = make(iloc_fn=two_extents)
    from jpegai_fmt.container import unwrap
    assert unwrap(data) == CS
    tree = parse_file(data)
    assert [f for f in tree.all_findings() if f.severity in "EW"] == []
    sorp = tree.get("mdat/item[1]/SORP")
    assert data[sorp.byte_offset:sorp.byte_offset + 2] == b"\xff\x89"


def test_extents_claiming_more_than_the_file_are_refused():
    def greedy(entries):
        items = [{"item_ID": 1, "method": None, "data_reference_index": 0, "base_offset": 0,
                  "extent_count": 1000, "extents": [{"extent_index": None, "extent_offset": 0,
                                                     "extent_length": 0}] * 1000}]
        sizes = {"offset_size": 4, "length_size": 4, "base_offset_size": 0, "index_size": 0}
        return box("iloc", full(S.iloc, 0, sizes=sizes, item_count=1, items=items))
    data = make(iloc_fn=greedy)
    findings = parse_file(data).all_findings()
    assert any(f.rule == "BOX-006" and "more than the file holds" in f.message for f in findings)
    from jpegai_fmt.container import unwrap
    from jpegai_fmt.errors import JpegAiError
    with pytest.raises(JpegAiError):
        unwrap(data)


def _exif_in_idat(length_delta=0):
    exif = exif_payload(b"II*\x00\x08\x00\x00\x00")

    def iloc_v1(entries):
        (_, offset, length, _, _), _ = entries
        return iloc([(1, offset, length, 0, 0), (2, 0, len(exif) + length_delta, 0, 1)], version=1)
    return make(items=[(1, "jai0", 0, None, CS), (2, "Exif", 1, None, b"")], refs=[(2, 1)],
                iloc_fn=iloc_v1, extra_meta=[box("idat", exif)])


def test_metadata_item_in_idat():
    tree = parse_file(_exif_in_idat())
    assert [f for f in tree.all_findings() if f.severity in "EW"] == []
    assert tree.get("meta/idat/item[2]").bit_length == 8 * 12
    findings = parse_file(_exif_in_idat(length_delta=5)).all_findings()
    assert any(f.rule == "BOX-006" and "idat" in f.message for f in findings)


def test_lenient_policy_applies_to_the_item():
    data = make(items=[(1, "jai0", 0, None, CS + b"\x00\x00")])  # bytes after EOC (STR-002)
    strict = {(f.rule, f.severity) for f in parse_file(data).all_findings()}
    lenient = parse_file(data, lenient=True).all_findings()
    assert ("STR-002", "E") in strict and ("BOX-007", "E") in strict
    assert ("STR-002", "W") in {(f.rule, f.severity) for f in lenient}
    assert [f.message for f in lenient if f.rule == "BOX-007"] == [
        "primary item data does not end with EOC (FF 81)"]
    assert next(f for f in lenient if f.rule == "STR-002").path.startswith("mdat/item[1]/")
