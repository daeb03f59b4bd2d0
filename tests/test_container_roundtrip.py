"""wrap → unwrap is byte-identical; written files parse cleanly and carry derived properties."""
import pytest

from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.container import parse_file, sniff, unwrap, validate_file, wrap
from jpegai_fmt.errors import BuildError, ParseError
from jpegai_fmt.pih import default_fields

CICP = {"cicp_info_present_flag": 1, "mdcv_info_present_flag": 0, "clli_info_present_flag": 0,
        "dm_present_flag": 0, "ri_reserved_zero_4bits": 0, "colour_primaries": 9,
        "transfer_characteristics": 16, "matrix_coefficients": 9, "image_full_range_flag": 0,
        "chroma420_sample_loc_type": 0, "cicp_reserved_zero_4bits": 0}
EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
ICC = (132).to_bytes(4, "big") + bytes(32) + b"acsp" + bytes(92)


def codestream(width=200, height=120, rdi=None, **pih):
    return build_codestream(default_fields(width, height, **pih), soz=b"z" * 9, sorp=[b"p" * 12],
                            sors=[b"s" * 7], rdi=rdi)


def errors(tree):
    return [f for f in tree.all_findings() if f.severity in "EW"]


@pytest.mark.parametrize("meta", [{}, {"exif": EXIF}, {"xmp": XMP}, {"icc": ICC},
                                  {"exif": EXIF, "xmp": XMP, "icc": ICC}])
def test_wrap_unwrap_is_identical_and_clean(meta):
    cs = codestream()
    jai = wrap(cs, **meta)
    assert sniff(jai) == "container" and sniff(cs) == "codestream"
    assert unwrap(jai) == cs
    tree = parse_file(jai)
    assert errors(tree) == []
    item = tree.get("mdat/item[1]")
    assert item.byte_offset == jai.index(cs) and item.bit_length == 8 * len(cs)
    assert tree.get("mdat/item[1]/PIH/img_width_minus64").byte_offset > item.byte_offset


def test_properties_are_derived_from_the_codestream():
    cs = codestream(300, 100, diff_display_img_width=5, diff_display_img_height=3, bit_depth_idc=1)
    tree = parse_file(wrap(cs))
    ipco = tree.get("meta/iprp/ipco")
    assert ipco.get("ispe/image_width").value == 295 and ipco.get("ispe/image_height").value == 97
    assert [ipco.get(f"pixi/bits_per_channel[{i}]").value for i in range(3)] == [10, 10, 10]
    nclx = {n.name: n.value for n in ipco.get("colr/nclx").walk() if n.kind == "field"}
    assert nclx == {"colour_primaries": 1, "transfer_characteristics": 13, "matrix_coefficients": 0,
                    "full_range_flag": 1, "reserved": 0}
    pih = tree.get("mdat/item[1]/PIH")
    payload_start = pih.byte_end - len(ipco.get("jaih/pih_payload").value)
    assert wrap(cs)[payload_start:pih.byte_end] == ipco.get("jaih/pih_payload").value
    assert tree.get("meta/iprp/ipma/entries[0]/associations[0]/essential").value == 1


def test_colr_follows_rdi_cicp():
    tree = parse_file(wrap(codestream(rdi=CICP)))
    nclx = tree.get("meta/iprp/ipco/colr/nclx")
    assert [nclx.get(k).value for k in ("colour_primaries", "transfer_characteristics",
                                        "matrix_coefficients", "range/full_range_flag")] == [9, 16, 9, 0]
    assert errors(tree) == [] and "matches the RDI CICP" in tree.get("meta/iprp/ipco/colr").value


def test_colour_transform_defaults():
    tree = parse_file(wrap(codestream(colour_transform_idx=0)))
    nclx = tree.get("meta/iprp/ipco/colr/nclx")
    assert [nclx.get(k).value for k in ("colour_primaries", "transfer_characteristics",
                                        "matrix_coefficients", "range/full_range_flag")] == [1, 1, 1, 0]


def test_metadata_items_layout():
    jai = wrap(codestream(), exif=EXIF, xmp=XMP)
    tree = parse_file(jai)
    assert tree.get("meta/iinf/entry_count").value == 3
    assert tree.get("meta/iinf/infe[1]/item_type").value == "Exif"
    assert tree.get("meta/iinf/infe[2]/content_type").value == "application/rdf+xml"
    assert tree.get("meta/iinf/infe[2]/flags").value == 1
    assert tree.get("meta/iref/cdsc[0]/to_item_ID[0]").value == 1
    exif = tree.get("mdat/item[2]")
    assert jai[exif.byte_offset:exif.byte_end] == b"\x00\x00\x00\x00" + EXIF[6:]
    xmp = tree.get("mdat/item[3]")
    assert jai[xmp.byte_offset:xmp.byte_end] == XMP


def test_largesize_mdat_reads_the_same():
    cs = codestream()
    jai = wrap(cs)
    mdat = jai.index(b"mdat") - 4
    size = int.from_bytes(jai[mdat:mdat + 4], "big")
    large = jai[:mdat] + (1).to_bytes(4, "big") + b"mdat" + (size + 8).to_bytes(8, "big") + jai[mdat + 8:]
    off = large.index(b"iloc") + 4 + 4 + 2 + 2 + 2 + 2 + 2  # fullbox, sizes, count, id, dri, extent_count
    old = int.from_bytes(large[off:off + 4], "big")
    large = large[:off] + (old + 8).to_bytes(4, "big") + large[off + 4:]
    assert unwrap(large) == cs
    tree = parse_file(large)
    assert tree.get("mdat/largesize").value == size + 8 and errors(tree) == []


def test_bad_inputs_to_wrap_are_clean_errors():
    with pytest.raises(BuildError):
        wrap(b"\x00" * 20)
    with pytest.raises(BuildError):
        wrap(codestream()[:-2])
    with pytest.raises(BuildError):
        wrap(codestream(), exif=b"no tiff here")
    with pytest.raises(BuildError):
        wrap(codestream(), xmp=b"<unclosed>")
    with pytest.raises(BuildError):
        wrap(codestream(), icc=b"x" * 200)
    with pytest.raises(ParseError):
        unwrap(codestream())


def test_validate_file_reports_extension(tmp_path):
    jai = wrap(codestream())
    good, bad = tmp_path / "a.jai", tmp_path / "a.jaic"
    good.write_bytes(jai)
    bad.write_bytes(jai)
    assert [f for f in validate_file(good) if f.severity != "I"] == []
    assert [f.rule for f in validate_file(bad)] == ["BOX-020"]
    with pytest.raises(ParseError):
        validate_file(b"GIF89a....")


def test_package_api_reads_containers():
    import jpegai_fmt
    cs = codestream(rdi=CICP)
    jai = wrap(cs, exif=EXIF)
    tree = jpegai_fmt.parse(jai)
    assert tree.get("meta/iinf/infe[0]/item_type").value == "jai0"
    assert jpegai_fmt.build(tree.get("mdat/item[1]")) == cs
    assert jpegai_fmt.validate(jai) == []
    damaged = jai.replace(b"ispe\x00\x00\x00\x00\x00\x00\x00\xc8", b"ispe\x00\x00\x00\x00\x00\x00\x00\xc9")
    assert [f.rule for f in jpegai_fmt.validate(damaged)] == ["BOX-011"]


def test_box_sizes_follow_the_layout_table():
    cs = codestream()
    tree = parse_file(wrap(cs, exif=EXIF, xmp=XMP))
    size = lambda path: tree.get(path).bit_length // 8  # noqa: E731
    pih = len(tree.get("meta/iprp/ipco/jaih/pih_payload").value)
    expected = {"ftyp": 24, "meta/hdlr": 33, "meta/pitm": 14, "meta/iinf/infe[0]": 21, "meta/iinf/infe[1]": 21,
                "meta/iinf/infe[2]": 41, "meta/iref": 12 + 2 * 14, "meta/iloc": 16 + 3 * 14,
                "meta/iprp/ipco/jaih": 12 + pih, "meta/iprp/ipco/ispe": 20, "meta/iprp/ipco/colr": 19,
                "meta/iprp/ipco/pixi": 16, "meta/iprp/ipma": 23, "mdat": 8 + len(cs) + 4 + 10 + len(XMP)}
    assert {p: size(p) for p in expected} == expected
    assert [c.name for c in tree.children] == ["ftyp", "meta", "mdat"]
    assert [c.name for c in tree.get("meta").children if c.kind == "box"] == [
        "hdlr", "pitm", "iinf", "iref", "iloc", "iprp"]
