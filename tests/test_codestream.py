"""Whole codestreams: writer order, tree offsets, strict and tolerant reading."""
import pytest

from jpegai_fmt.codestream import build_codestream, parse_codestream
from jpegai_fmt.errors import ParseError, TruncatedError
from jpegai_fmt.layout import build_dependent_residual, build_independent_residual, build_memory
from jpegai_fmt.markers import MAGIC, Marker
from jpegai_fmt.pih import default_fields
from jpegai_fmt.segments import join_segments


def _simple(**pih):
    return build_codestream(default_fields(640, 480, **pih), soz=b"\x05" * 6, sorp=[b"\x01" * 10],
                            sors=[b"\x02" * 8], udi=b"user")


def test_writer_order_and_tree():
    data = _simple()
    assert data.startswith(MAGIC)
    cs = parse_codestream(data, base_byte=100)
    assert [s.marker for s in cs.segments] == [Marker.SOC, Marker.PIH, Marker.TON, Marker.UDI, Marker.RDI,
                                               Marker.SORP, Marker.SORS, Marker.SOZ, Marker.EOC]
    assert cs.udi == b"user" and cs.pih.width == 640 and cs.ton["LEF_enabled_flag"] == 0
    assert cs.rdi["cicp_info_present_flag"] == 0 and not cs.findings()
    thread = cs.node.get("SORP/region[0]/thread[0]")
    assert thread.byte_offset - 100 == cs.of(Marker.SORP)[0].payload_offset and thread.bit_length == 80
    num_chs = cs.node.get("PIH/component[1]/num_chs")
    assert num_chs.value == 96 and num_chs.path == "PIH/component[1]/num_chs"
    assert num_chs.bit_offset == 8 * (100 + cs.segments[1].payload_offset) + 116
    assert cs.node.bit_length == 8 * len(data)
    assert [c.name for c in cs.node.children][-1] == "EOC"


def test_independent_regions_get_indexed_segment_names():
    f = default_fields(1024, 512, region_partitioning_flag=1, num_ver_splits_minus1=1, num_hor_splits_minus1=1,
                       region_residual_in_its_own_substream_flag=1,
                       component=[{"multi_threading_r": 1, "log2_num_threads_r_minus1": 0, "num_chs": 160,
                                   "use_cube_flags": 0, "rvs_enable_flag": 0, "grfs_enable_flag": 0,
                                   "synthesis_tile_enable": 0},
                                  {"multi_threading_r": 0, "num_chs": 96, "use_cube_flags": 0, "rvs_enable_flag": 0,
                                   "grfs_enable_flag": 0, "synthesis_tile_enable": 0}])
    sorp = [build_independent_residual(i, build_memory([b"\x01" * 3, b"\x01" * 4])) for i in (0, 3)]
    sors = [build_independent_residual(2, b"\x09")]
    cs = parse_codestream(build_codestream(f, soz=b"\x01", sorp=sorp, sors=sors))
    assert cs.node.get("SORP[1]/region_index").value == 3
    assert cs.node.get("SORP[1]/region[3]/thread[1]").bit_length == 32
    assert cs.node.get("SORS/region[2]/thread[0]") is not None


def test_dependent_regions_with_threads():
    f = default_fields(1000, 700, region_partitioning_flag=1, num_ver_splits_minus1=0, num_hor_splits_minus1=1,
                       region_residual_in_its_own_substream_flag=0, hyper_decoder_overlap_in_latent_samples=0,
                       mcm_overlap_in_latent_samples=0, multi_threading_z=1, log2_num_threads_z_minus1=0)
    soz = build_memory([b"\x11" * 7, b"\x22" * 9])
    res = build_dependent_residual([b"\x01" * 3, b"\x01" * 5])
    cs = parse_codestream(build_codestream(f, soz=soz, sorp=[res], sors=[res]))
    assert cs.node.get("SOZ/thread_size_deltas").value == [1]
    assert cs.node.get("SORS/region_sizes").value == [3]
    assert cs.node.get("SORS/region[1]").bit_length == 40


def test_strict_errors_and_tolerant_findings():
    data = _simple()
    with pytest.raises(TruncatedError):
        parse_codestream(data[:-12])
    cut = parse_codestream(data[:-12], tolerant=True)
    assert "SEG-003" in [f.rule for f in cut.findings()] and cut.pih is not None
    no_pih = join_segments([(Marker.SOZ, b"\x01")])
    with pytest.raises(ParseError) as e:
        parse_codestream(no_pih)
    assert e.value.rule == "STR-001"
    assert [f.rule for f in parse_codestream(no_pih, tolerant=True).findings()] == ["STR-001"]


def test_tolerant_mode_keeps_going_after_a_bad_payload():
    f = default_fields(640, 480, multi_threading_z=1, log2_num_threads_z_minus1=0)
    data = build_codestream(f, soz=b"\x00", sorp=[b"\x01"], sors=[b"\x01"])  # SOZ prefix unreadable
    with pytest.raises(ParseError):
        parse_codestream(data)
    cs = parse_codestream(data, tolerant=True)
    assert [f.rule for f in cs.findings()] == ["THR-001"]
    assert cs.node.get("SOZ/error").kind == "error" and cs.node.get("SORP/region[0]/thread[0]") is not None


def test_thread_size_prefix_and_its_alignment_are_separate_leaves():
    """Like the headers: the se(v) codes span exactly their bits; the padding to the byte is its own leaf."""
    import pathlib

    from jpegai_fmt import parse
    tree = parse(pathlib.Path(__file__).resolve().parent.parent / "samples" / "valid" / "enc-threads-16.jaic")
    prefixes = [n for n in tree.walk() if n.name == "thread_size_deltas"]
    assert prefixes
    for codes in prefixes:
        holder = next(n for n in tree.walk() if codes in n.children)
        after = holder.children[holder.children.index(codes) + 1]
        end = codes.bit_offset + codes.bit_length
        if end % 8:
            assert after.name == "alignment" and after.bit_offset == end and (end + after.bit_length) % 8 == 0
        else:
            assert after.name != "alignment"


def test_a_header_that_stops_keeps_the_fields_read_before_the_error():
    """Lenient trees (dump --lenient, the inspector) show a broken TON up to the field that broke it."""
    import pathlib

    from jpegai_fmt import parse
    tree = parse(pathlib.Path(__file__).resolve().parent.parent / "samples" / "rules" / "ton-001-candidate.jaic",
                 lenient=True)
    ton = tree.get("TON")
    names = [n.name for n in ton.children]
    assert names[-1] == "error" and "filter_set[0]" in names and "B1" in names
    assert ton.get("filter_set[0]/weights_u").value and ton.get("error").bit_offset == 295
    kids = ton.get("filter_set[0]").children
    assert all(a.bit_offset + a.bit_length <= b.bit_offset for a, b in zip(kids, kids[1:]))
