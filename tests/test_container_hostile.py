"""Bad input: every truncation, every byte flip, hostile sizes and counts give findings or
project errors, never a crash, hang or unbounded memory."""
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.container import parse_file, unwrap, wrap
from jpegai_fmt.container.writer import box
from jpegai_fmt.errors import JpegAiError
from jpegai_fmt.pih import default_fields

CS = build_codestream(default_fields(128, 96), soz=b"z" * 5, sorp=[b"p" * 6], sors=[b"s" * 3])
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
JAI = wrap(CS, exif=b"MM\x00*\x00\x00\x00\x08", xmp=XMP)


def serious(tree):
    return [f for f in tree.all_findings() if f.severity == "E"]


def test_every_truncation_is_reported():
    codestream_end = JAI.index(CS) + len(CS)
    for n in range(len(JAI)):
        tree = parse_file(JAI[:n])
        assert serious(tree), f"truncation at {n} gave no error"
        if n < codestream_end:
            with pytest.raises(JpegAiError):
                unwrap(JAI[:n])
        else:  # only metadata items are cut: the codestream is still whole
            assert unwrap(JAI[:n]) == CS


def test_every_byte_flip_is_handled():
    for i in range(len(JAI) - len(CS) - len(XMP) - 12):  # header bytes: boxes and fields
        damaged = JAI[:i] + bytes([JAI[i] ^ 0xFF]) + JAI[i + 1:]
        parse_file(damaged)  # findings, never an exception
        try:
            unwrap(damaged)
        except JpegAiError:
            pass


def _iloc_offset():
    return JAI.index(b"iloc") + 4 + 4 + 2 + 2 + 2 + 2 + 2


@pytest.mark.parametrize("patch_at,new,readable", [
    (lambda: JAI.index(b"mdat") - 4, (0xFFFFFFFF).to_bytes(4, "big"), True),  # past the end
    (lambda: JAI.index(b"meta") - 4, (1).to_bytes(4, "big"), False),  # largesize inside the data
    (lambda: JAI.index(b"ipco") - 4, bytes(4), True),  # size 0 nested
    (_iloc_offset, (0xFFFFFFF0).to_bytes(4, "big"), False),  # iloc outside the file
    (lambda: JAI.index(b"iloc") + 10, b"\xff\xff", False),  # item_count 65535 in a 44-byte box
    (lambda: JAI.index(b"ipma") + 8, b"\xff\xff\xff\xff", True),  # entry_count 2^32-1
    (lambda: JAI.index(b"iloc") + 8, b"\x00\x00", False),  # zero-size extents: whole file
])
def test_hostile_fields(patch_at, new, readable):
    at = patch_at()
    data = JAI[:at] + new + JAI[at + len(new):]
    assert serious(parse_file(data))
    if readable:  # the damage is elsewhere: the codestream item is still located exactly
        assert unwrap(data) == CS
    else:
        with pytest.raises(JpegAiError):
            unwrap(data)


def test_huge_declared_sizes_and_deep_nesting_are_bounded():
    start = time.perf_counter()
    largesize = b"\x00\x00\x00\x01mdat" + (1 << 62).to_bytes(8, "big")
    assert serious(parse_file(JAI + largesize))
    nested = b"".join(box("moov", b"") for _ in range(3))
    deep = b"\x00\x00\x00\x00moov"
    for _ in range(2000):  # each level claims more than its parent holds
        deep = b"\xff\xff\xff\xffmoov" + deep
    assert serious(parse_file(JAI + nested + deep))
    many = JAI + b"\x00\x00\x00\x08free" * 20000
    assert serious(parse_file(many))
    assert time.perf_counter() - start < 20


def test_iloc_extents_past_the_file_are_not_read():
    at = _iloc_offset() + 4
    data = JAI[:at] + (1 << 31).to_bytes(4, "big") + JAI[at + 4:]
    tree = parse_file(data)
    assert any(f.rule == "BOX-006" and "outside" in f.message for f in tree.all_findings())
    assert tree.get("mdat/item[1]") is None



@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(JAI) - 1), st.integers(0, 255), st.sampled_from("sid")),
                min_size=1, max_size=6))
def test_random_edits_never_crash(edits):
    data = bytearray(JAI)
    for pos, value, op in edits:
        pos = min(pos, len(data) - 1)
        if op == "s":
            data[pos] = value
        elif op == "i":
            data.insert(pos, value)
        elif len(data) > 1:
            del data[pos]
    parse_file(bytes(data))
    try:
        unwrap(bytes(data))
    except JpegAiError:
        pass
