"""Segment framing (codestream.md §3) and the splitter's errors and findings."""
import pytest
from hypothesis import given, strategies as st

from jpegai_fmt.errors import ParseError, TruncatedError
from jpegai_fmt.markers import MAGIC, Marker
from jpegai_fmt.segments import frame_segment, join_segments, split_segments

PAYLOAD_MARKERS = [m for m in Marker if m not in (Marker.SOC, Marker.EOC)]


def test_five_byte_payload_takes_three_framing_bytes():
    framed = frame_segment(Marker.UDI, b"abcde")
    # marker, then ue(5) = 00110 and three alignment zeros = 0x30
    assert framed == b"\xff\x8c\x30abcde"


def test_empty_payload_is_one_bit_then_alignment():
    assert frame_segment(Marker.SOQ, b"") == b"\xff\x8b\x80"


@given(st.lists(st.tuples(st.sampled_from(PAYLOAD_MARKERS), st.binary(max_size=300)), max_size=8))
def test_split_inverts_join(parts):
    data = join_segments([(Marker.PIH, b"\x01")] + parts)
    segs = split_segments(data)
    assert data.startswith(MAGIC)
    assert [(s.marker, s.payload) for s in segs[2:-1]] == parts
    assert segs[0].marker is Marker.SOC and segs[-1].marker is Marker.EOC
    assert segs[-1].end == len(data)
    assert not any(s.findings for s in segs)
    for s in segs[1:-1]:
        assert data[s.payload_offset:s.payload_offset + s.size] == s.payload


def test_large_payload_size_code():
    payload = bytes(70000)
    segs = split_segments(join_segments([(Marker.SORP, payload)]))
    assert segs[1].size == 70000 and segs[1].size_bits == 33 and segs[1].payload_offset == 2 + 2 + 5


def test_missing_soc():
    with pytest.raises(ParseError) as e:
        split_segments(b"\xff\x82\x80\xff\x81")
    assert e.value.rule == "STR-001" and e.value.byte_offset == 0


def test_unknown_marker_is_an_error_with_offset():
    data = join_segments([(Marker.PIH, b"\x01")])
    bad = data[:-2] + b"\xff\x85\x80" + data[-2:]
    with pytest.raises(ParseError) as e:
        split_segments(bad, base_byte=100)
    assert e.value.rule == "STR-003" and e.value.byte_offset == 100 + len(data) - 2


def test_stray_bytes_between_segments():
    data = join_segments([(Marker.PIH, b"\x01")])
    with pytest.raises(ParseError) as e:
        split_segments(data[:-2] + b"\x00\x00" + data[-2:])
    assert e.value.rule == "STR-007"


def test_truncated_payload():
    data = join_segments([(Marker.PIH, b"\x01"), (Marker.SOZ, bytes(10))])
    with pytest.raises(TruncatedError) as e:
        split_segments(data[:-5])
    assert e.value.rule == "SEG-003" and "SOZ" in e.value.path


def test_truncated_size_code():
    with pytest.raises(TruncatedError) as e:
        split_segments(b"\xff\x80\xff\x82\x00")
    assert e.value.rule == "SEG-003"


def test_overlong_size_code():
    with pytest.raises(ParseError) as e:
        split_segments(b"\xff\x80\xff\x82" + bytes(5))
    assert e.value.rule == "SEG-001"


def test_nonzero_alignment_is_a_finding():
    segs = split_segments(b"\xff\x80\xff\x82\x41\x07\xff\x81")  # ue(1) = 010, then alignment 00001
    assert segs[1].payload == b"\x07" and segs[1].align_value == 1
    assert [f.rule for f in segs[1].findings] == ["SEG-002"]


def test_bytes_after_eoc_and_missing_eoc():
    data = join_segments([(Marker.PIH, b"\x01")])
    segs = split_segments(data + b"junk")
    assert [f.rule for f in segs[-1].findings] == ["STR-002"]
    segs = split_segments(data[:-2])
    assert segs[-1].marker is Marker.PIH and [f.rule for f in segs[-1].findings] == ["STR-002"]
