"""Thread and region ranges inside entropy-coded payloads (codestream.md §9)."""
import pytest
from hypothesis import given, strategies as st

from jpegai_fmt.errors import BuildError, ParseError
from jpegai_fmt.layout import (build_dependent_residual, build_independent_residual, build_memory,
                               split_residual, split_threads)

threads = st.lists(st.binary(min_size=1, max_size=40).map(lambda b: b[:-1] + b"\x01"), min_size=1, max_size=16)


@given(threads)
def test_threads_round_trip(parts):
    mem_bytes = build_memory(parts)
    mem = split_threads(mem_bytes, len(parts))
    assert [mem_bytes[o:o + s] for o, s in mem.threads] == parts
    assert not mem.findings
    assert (mem.prefix_bits == 0) == (len(parts) == 1)


def test_thread_prefix_values():
    """Sizes 7 and 9: T = 16, mean 8, d0 = 1 -> se code 010, then 5 alignment zeros."""
    mem = build_memory([b"\x01" * 7, b"\x02" * 9])
    assert mem[0] == 0b0100_0000 and len(mem) == 17
    assert split_threads(mem, 2).deltas == [1]


def test_thread_sizes_below_one_are_errors():
    # se(+5) = ue(9) = 0001010 -> thread 0 size mean-5 < 1 for a 4-byte memory
    with pytest.raises(ParseError) as e:
        split_threads(b"\x14" + b"\x01" * 4, 2, base_byte=50, path="SOZ")
    assert e.value.rule == "THR-002" and e.value.byte_offset == 50


def test_malformed_prefix_and_empty_thread():
    with pytest.raises(ParseError) as e:
        split_threads(b"\x00", 2)
    assert e.value.rule == "THR-001"
    mem = split_threads(b"\x80" + b"\x00\x00" + b"\x01\x01", 2, path="SOZ")  # d0 = 0 -> sizes 2, 2
    assert [f.rule for f in mem.findings] == ["THR-003"] and mem.findings[0].path == "SOZ/thread[0]"


@given(st.lists(threads.map(build_memory), min_size=1, max_size=9), st.integers(1, 16))
def test_dependent_regions_round_trip(memories, n):
    payload = build_dependent_residual(memories)
    layout = split_residual(payload, 1, len(memories), False)
    assert [payload[p.memory.offset:p.memory.offset + p.memory.size] for p in layout.parts] == memories
    assert layout.region_sizes == [len(m) for m in memories]


def test_independent_region():
    payload = build_independent_residual(5, build_memory([b"\x01\x02", b"\x03\x04\x05"]))
    layout = split_residual(payload, 2, 6, True, base_byte=10)
    (part,) = layout.parts
    assert part.index == 5 and [payload[o:o + s] for o, s in part.memory.threads] == [b"\x01\x02", b"\x03\x04\x05"]
    with pytest.raises(ParseError) as e:
        split_residual(payload, 2, 5, True)
    assert e.value.rule == "REG-001"


def test_region_table_overrunning_payload():
    with pytest.raises(ParseError) as e:
        split_residual(b"\x00\x40\x01\x01", 1, 2, False)  # ue = 00000000 01000000 ... = too large
    assert e.value.rule == "REG-003"


def test_builders_refuse_empty_parts():
    with pytest.raises(BuildError):
        build_memory([b"\x01", b""])
    with pytest.raises(BuildError):
        build_memory([b"\x01"] * 17)
    with pytest.raises(BuildError):
        build_independent_residual(256, b"\x01")
