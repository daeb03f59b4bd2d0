"""Bit primitives against the code tables of codestream.md §4."""
import pytest
from hypothesis import given, strategies as st

from jpegai_fmt.bits import BitReader, BitWriter, bounded_width, code_to_se, se_to_code
from jpegai_fmt.errors import BuildError, ParseError, TruncatedError


def bitstring(w: BitWriter) -> str:
    return format(int.from_bytes(w.to_bytes(), "big"), f"0{8 * len(w.to_bytes())}b")[:w.bit_length]


@pytest.mark.parametrize("value,code", [(0, "1"), (1, "010"), (2, "011"), (3, "00100"),
                                        (6, "00111"), (7, "0001000")])
def test_ue_codes(value, code):
    w = BitWriter()
    w.write_ue(value)
    assert bitstring(w) == code
    assert BitReader(w.to_bytes()).read_ue() == value


@pytest.mark.parametrize("code,value", [(0, 0), (1, 1), (2, -1), (3, 2), (4, -2)])
def test_se_mapping(code, value):
    assert code_to_se(code) == value
    assert se_to_code(value) == code


@pytest.mark.parametrize("maximum,width", [(0, 0), (1, 1), (2, 2), (4, 3), (7, 3), (9, 4), (15, 4),
                                           (255, 8), (1023, 10), (32767, 15), (65535, 16)])
def test_bounded_width(maximum, width):
    assert bounded_width(maximum) == width


@given(st.lists(st.tuples(st.sampled_from(["u", "ue", "se"]), st.integers(0, 2**20)), max_size=30))
def test_mixed_roundtrip(items):
    w = BitWriter()
    for kind, v in items:
        if kind == "u":
            w.write(v, 21)
        elif kind == "ue":
            w.write_ue(v)
        else:
            w.write_se(v - 2**19)
    r = BitReader(w.to_bytes())
    for kind, v in items:
        got = r.read(21) if kind == "u" else r.read_ue() if kind == "ue" else r.read_se() + 2**19
        assert got == v
    assert r.bits_left == -w.bit_length % 8


def test_read_past_end_reports_offset():
    r = BitReader(b"\xff", base_bit=80, path="X")
    r.read(5)
    with pytest.raises(TruncatedError) as e:
        r.read(4, "field")
    assert e.value.bit_offset == 85 and e.value.byte_offset == 10 and e.value.path == "X/field"


def test_ue_with_too_many_leading_zeros():
    with pytest.raises(ParseError) as e:
        BitReader(bytes(4) + b"\x80\x00\x00\x00\x00").read_ue()
    assert "31 leading zeros" in e.value.message
    assert BitReader(bytes(3) + b"\x01\x00\x00\x00\x00").read_ue() == 2**31 - 1


def test_ue_truncated_prefix():
    with pytest.raises(TruncatedError):
        BitReader(b"\x00").read_ue()


def test_writer_rejects_values_that_do_not_fit():
    with pytest.raises(BuildError):
        BitWriter().write(8, 3)
    with pytest.raises(BuildError):
        BitWriter().write_ue(-1)


def test_align_returns_skipped_bits():
    r = BitReader(b"\xa5")
    r.read(3)
    assert r.align() == (5, 0b00101)
