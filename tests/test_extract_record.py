"""The project's UDI record (spec_tables/udi_record.json): round trip, layout bytes, hostile payloads."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from jpegai_fmt.errors import BuildError, ParseError
from jpegai_fmt.udi_record import MAGIC, ChannelIndex, Record, RegionIndex, build_record, parse_record


@st.composite
def indexes(draw):
    num_chs = (draw(st.integers(0, 160)), draw(st.integers(0, 96)))
    tables = []
    for c in (0, 1):
        for region in draw(st.sets(st.integers(0, 300), max_size=3)):
            n = draw(st.sampled_from([1, 2, 4, 16]))
            sizes = [8 * draw(st.integers(1, 5000)) for _ in range(n)]
            counts = sorted(draw(st.sets(st.integers(0, max(num_chs[c] - 1, 0)), max_size=8))) if num_chs[c] else []
            prev, cuts = [s - 8 for s in sizes], []
            for m in counts:  # drops fall (or stay) as the count rises
                prev = [8 * draw(st.integers(0, p // 8)) for p in prev]
                cuts.append((m, prev))
            tables.append(RegionIndex(c, region, sizes, cuts))
    return ChannelIndex(num_chs, tables)


@settings(max_examples=60, deadline=None)
@given(indexes(), st.binary(max_size=40))
def test_round_trip(index, model_set):
    data = build_record(model_set, index)
    assert data.startswith(MAGIC)
    assert parse_record(data) == Record(model_set, index)


def test_layout_bytes():
    index = ChannelIndex((16, 8), [RegionIndex(0, 0, [64, 40], [(0, [56, 32]), (8, [16, 8])])])
    data = build_record(b"\xab", index)
    assert data == (MAGIC + bytes([1, 1, 0xAB, 16, 8, 1,      # version, id, num_chs, one table
                                   0, 0, 2, 64, 40, 2,         # component, region, threads, sizes, cuts
                                   0, 7, 4,                     # N'=0: drops 56, 32 bytes in words
                                   7, 5, 3]))                   # N'=8 (+8 as 7), drops fall by 40, 24 bytes


def test_foreign_and_damaged():
    assert parse_record(None) is None and parse_record(b"") is None and parse_record(b"Exif...") is None
    index = ChannelIndex((160, 96), [RegionIndex(c, 0, [800] * 4, [(m, [640 - 8 * m] * 4) for m in (0, 8, 16)])
                                     for c in (0, 1)])
    data = build_record(bytes(32), index)
    for end in range(len(MAGIC), len(data)):
        with pytest.raises(ParseError) as err:
            parse_record(data[:end])
        assert err.value.rule == "UDI-REC"
    for bad, match in [(data + b"\x00", "after the last table"), (data[:10] + b"\x02" + data[11:], "version 2")]:
        with pytest.raises(ParseError, match=match):
            parse_record(bad)
    with pytest.raises(ParseError, match="does not fit"):
        parse_record(data[:44] + bytes([16]) + data[46:])  # luma num_chs 160 (A0 01) -> 16: count 16 too big


def test_build_refuses_inconsistent_tables():
    for cuts, match in [([(8, [8]), (0, [16])], "must rise"), ([(0, [12])], "whole 64-bit words"),
                        ([(0, [8]), (8, [16])], "exceed"), ([(20, [8])], "below num_chs")]:
        with pytest.raises(BuildError, match=match):
            build_record(b"", ChannelIndex((16, 8), [RegionIndex(0, 0, [64], cuts)]))


def test_spec_table_matches_constants():
    path = os.path.join(os.path.dirname(__file__), "..", "spec_tables", "udi_record.json")
    with open(path) as fh:
        table = json.load(fh)
    assert table["magic"].encode() == MAGIC and table["version"] == 1
