"""The inspector's pieces without a screen: lookups, spec meanings, raw bits, bit ruler,
statistics, half-block rendering and PSNR, on real trees from the project's writer."""
import json
import math

import numpy as np

from inspector import spec_info
from inspector.app import tree_json
from inspector.details_pane import raw_bits
from inspector.document import Document, node_at_bit, node_at_byte
from inspector.hex_view import bit_ruler
from codec.metrics import psnr_rgb as psnr
from inspector.preview import Selection, fit, half_block_lines
from inspector.stats_pane import bar, channel_rows, sections
from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.pih import default_fields
from jpegai_fmt.udi_record import ChannelIndex, RegionIndex, build_record
from test_inspector_samples import big_codestream, small_codestream, small_container


def test_offset_lookups_find_the_deepest_node():
    doc = Document.from_bytes(small_codestream())
    num_chs = doc.root.get("PIH/component[1]/num_chs")
    assert node_at_bit(doc.root, num_chs.bit_offset + 3) is num_chs
    pih = doc.root.get("PIH")
    assert node_at_byte(doc.root, pih.byte_offset) is pih.get("marker")
    assert node_at_byte(doc.root, len(doc.data) - 1) is doc.root.get("EOC/marker")


def test_findings_map_to_nodes_by_owner_path_or_offset():
    from jpegai_fmt.tree import Finding
    doc = Document.from_bytes(small_container())
    udi = next(n for n in doc.root.walk() if n.name == "UDI")
    by_path = Finding("X-1", "W", "m", path="UDI/user_data")  # codestream-relative, nested in the container
    assert doc.node_of(by_path) is udi.get("user_data")
    by_offset = Finding("X-2", "W", "m", byte_offset=udi.byte_offset + 3)
    assert doc.node_of(by_offset) is node_at_byte(doc.root, udi.byte_offset + 3)
    owned = udi.findings[0]
    assert doc.node_of(owned) is udi


def test_search_wraps_and_matches_paths():
    doc = Document.from_bytes(small_codestream())
    first = doc.search("num_chs")
    second = doc.search("num_chs", after=first)
    assert first.path == "PIH/component[0]/num_chs" and second.path == "PIH/component[1]/num_chs"
    assert doc.search("num_chs", after=second) is first
    assert doc.search("component[1]/num") is second


def test_channel_counts_come_from_pih():
    data = build_codestream(default_fields(640, 480, component=[
        {"multi_threading_r": 0, "num_chs": 128, "use_cube_flags": 0, "rvs_enable_flag": 0,
         "grfs_enable_flag": 0, "synthesis_tile_enable": 0},
        {"multi_threading_r": 0, "num_chs": 64, "use_cube_flags": 0, "rvs_enable_flag": 0,
         "grfs_enable_flag": 0, "synthesis_tile_enable": 0}]), soz=b"\x05", sorp=[b"\x01"], sors=[b"\x01"])
    assert Document.from_bytes(data).channel_counts() == (128, 64)


def test_unreadable_input_is_one_error_node():
    doc = Document.from_bytes(b"GIF89a not a jpeg ai file")
    assert [c.kind for c in doc.root.children] == ["error"]
    assert "not a JPEG AI" in doc.root.children[0].value and doc.findings


def test_spec_meanings_and_ranges():
    rows = dict(spec_info.describe("num_chs"))
    assert "meaning" in rows and "range" in rows
    assert dict(spec_info.describe("SORS[1]")) == dict(spec_info.describe("SORS")) != {}
    assert spec_info.describe("no_such_field_anywhere") == []


def test_spec_tables_missing_or_broken_degrade_to_nothing(tmp_path, monkeypatch):
    (tmp_path / "codestream_fields.json").write_text("{ broken")
    (tmp_path / "codestream_more.json").write_text(json.dumps({"X": [{"name": "foo", "range": [0, 3]},
                                                                      {"name": "SOQ", "min": 0, "max": 1}]}))
    monkeypatch.setattr(spec_info, "TABLES", tmp_path)
    spec_info.field_table.cache_clear()
    try:
        assert spec_info.describe("foo") == [("range", "[0, 3]")]
        assert spec_info.describe("SOQ") == [("count", "0..1")]
        assert spec_info.describe("num_chs") == []
    finally:
        spec_info.field_table.cache_clear()


def test_raw_bits_and_ruler_of_unaligned_fields():
    data = bytes([0b10110110, 0b01100000])
    assert raw_bits(data, 3, 6) == "101100 = 0x2C"
    assert raw_bits(data, 0, 16) == "1011011001100000 = 0xB660"
    assert raw_bits(bytes(range(40)), 0, 8 * 40).startswith("00 01 02") and raw_bits(data, 0, 0) == "(none)"
    ruler = bit_ruler(data, 3, 6)
    assert ruler.plain == "bits 3..8: 10110110 01100000"
    inside = [s for s in ruler.spans if "reverse" in str(s.style)]
    assert sum(s.end - s.start for s in inside) == 6
    assert bit_ruler(data, 8, 8).plain == ""
    assert bit_ruler(bytes(20), 3, 100, width=40).plain.endswith("…")


def test_statistics_sections_sum_to_the_payloads():
    doc = Document.from_bytes(big_codestream())
    found = dict(sections(doc.root, doc.data))
    segs = dict(found["bytes per segment"])
    assert sum(segs.values()) == len(doc.data)
    regions = dict(found["bytes per region (SORP + SORS)"])
    assert len(regions) == 128
    assert regions["region[5]"] == (doc.root.get("SORP/region[5]").bit_length
                                    + doc.root.get("SORS/region[5]").bit_length) // 8
    threads = dict(found["bytes per thread (summed over regions)"])
    assert threads["SORP thread[15]"] == 128 * 1600 and threads["SOZ thread[0]"] == 2000
    assert bar(0.5, 8) == "████    " and bar(0.5, 1) == "▌" and bar(1 / 16, 2) == "▏ " and bar(1.0, 3) == "███"


def test_channel_groups_from_the_udi_index():
    tables = [RegionIndex(0, 0, [104, 64], [(32, [72, 40]), (96, [24, 8])]),
              RegionIndex(1, 0, [32], [(48, [16])])]
    udi = build_record(b"ours", ChannelIndex((160, 96), tables))
    data = build_codestream(default_fields(640, 480), soz=b"\x05", sorp=[b"\x01"], sors=[b"\x01"], udi=udi)
    doc = Document.from_bytes(data)
    assert channel_rows(doc.root, doc.data) == [("luma ch 0-31", 56), ("luma ch 32-95", 80),
                                                ("luma ch 96-159", 32), ("chroma ch 0-47", 16),
                                                ("chroma ch 48-95", 16)]
    assert channel_rows(Document.from_bytes(small_codestream()).root, small_codestream()) is None


def test_half_blocks_and_psnr():
    picture = np.zeros((4, 6, 3), np.uint8)
    picture[1] = 255
    lines = half_block_lines(picture)
    assert len(lines) == 2 and len(lines[0]) == 6
    assert lines[0][0].text == "▀" and lines[0][0].style.bgcolor.triplet == (255, 255, 255)
    assert fit(np.zeros((100, 400, 3), np.uint8), 40, 20).shape == (10, 40, 3)
    assert psnr(picture, picture) == math.inf
    other = picture.copy()
    other[0, 0, 0] = 10
    assert abs(psnr(picture, other) - 10 * math.log10(255 ** 2 / (100 / 72))) < 1e-9


def test_channel_selection_stays_in_range():
    sel = Selection(160, 96, 160, 96)
    sel.step("luma", 8)
    sel.step("chroma", -100)
    assert (sel.luma, sel.chroma, sel.full) == (160, 0, False)


def test_tree_json_is_the_tree():
    doc = Document.from_bytes(small_container())
    exported = json.loads(tree_json(doc.root))
    assert exported["name"] == doc.root.name and len(exported["children"]) == len(doc.root.children)


def test_inspect_without_a_terminal_refuses_instead_of_spinning(tmp_path):
    """A pipe or /dev/null is not a terminal: the app would wait forever for keys."""
    import subprocess
    import sys
    path = tmp_path / "small.jaic"
    path.write_bytes(small_codestream())
    done = subprocess.run([sys.executable, "-m", "inspector.app", str(path)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr and f"jpegai-fmt dump {path}" in done.stderr
    assert "Traceback" not in done.stderr


def test_details_read_the_metadata_a_file_carries():
    from PIL import Image, ImageCms

    from inspector.details_pane import details_text
    from jpegai_fmt.container import wrap
    exif = Image.Exif()
    exif[0x010F] = "DetailCam"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    doc = Document.from_bytes(wrap(small_codestream(), exif=exif.tobytes(), xmp=xmp, icc=icc))
    lines = {n.name: details_text(n, doc.data).plain.splitlines()[-1] for n in doc.root.walk()
             if n.name == "icc_profile" or n.name.startswith("item[") and n.value in ("Exif", "mime")}
    assert lines["item[2]"].endswith(f"Exif {len(exif.tobytes()):,} bytes: DetailCam")
    assert lines["item[3]"].endswith(f"XMP {len(xmp)} bytes")
    assert lines["icc_profile"].endswith(f"ICC profile {len(icc):,} bytes: RGB, 'sRGB built-in'")
