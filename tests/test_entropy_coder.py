"""me-tANS coder: round trips, bit layout against a spec-level reference reader, prefixes, size, corruption."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from codec.entropy import (SKIP_ROW, decode_quality_map, decode_residual, decode_z, drop_below,
                           encode_quality_map, encode_residual, encode_z, group_aligned, qmap_deltas,
                           qmap_from_deltas, z_tables)
from codec.entropy import tables as tb
from jpegai_fmt.errors import BuildError, DecodeError

BOUNDS = np.array(tb.residual_bounds())
STORED = json.loads((Path(__file__).resolve().parent.parent / "spec_tables" / "tans_residual.json").read_text())


def reference_decode(ranges, rows, n):
    """Straight reading of entropy.md §7 with the stored decode entries: bit i of a range is
    (byte[i >> 3] >> (i & 7)) & 1; marker, state(s), then per group of 4 the ANS bits, then escapes."""
    out = [0] * len(rows)
    for t, data in enumerate(ranges):
        bits = int.from_bytes(data, "little")
        q = bits.bit_length() - 1

        def read(k, bits=bits):
            nonlocal q
            q -= k
            assert q >= 0
            return (bits >> q) & ((1 << k) - 1)

        states = [256 + read(8) for _ in range(2 if n == 1 else 1)]
        mine = list(range(t, len(rows), n))
        for g in range(0, len(mine), 4):
            escaped = []
            for p in mine[g:g + 4]:
                if rows[p] == SKIP_ROW:
                    continue
                sv = p & 1 if n == 1 else 0
                e = {f: STORED["rows"][rows[p]][f][states[sv] - 256] for f in ("symbol", "nbits", "base")}
                states[sv] = e["base"] + read(e["nbits"])
                s, b = e["symbol"], BOUNDS[rows[p]]
                if s == 2 * b - 1:
                    escaped.append(p)
                else:
                    out[p] = 0 if s == 0 else (-(s + 1) // 2 if s % 2 else s // 2)
            for p in escaped:
                v = read(3 if read(1) else 16)
                mag = (v >> 1) + int(BOUNDS[rows[p]])
                out[p] = -mag if v & 1 else mag
        assert q == 0                       # the project writer starts every range at bit 0
    return out


def random_case(rng, n_pos, skip=0.2, escapes=0.1):
    rows = rng.integers(0, 32, n_pos).astype(np.uint8)
    b = BOUNDS[rows]
    vals = np.round(rng.normal(0, 0.11 * np.exp(math.log(54.82 / 0.11) / 31 * rows))).astype(np.int64)
    vals = np.clip(vals, -(b - 1), b - 1)
    kind = rng.random(n_pos)
    short = rng.integers(0, 4, n_pos)
    long_ = rng.integers(4, 32768, n_pos)
    sign = rng.choice([-1, 1], n_pos)
    vals = np.where(kind < escapes / 2, sign * (b + short), vals)
    vals = np.where((kind >= escapes / 2) & (kind < escapes), sign * (b + long_), vals)
    rows[rng.random(n_pos) < skip] = SKIP_ROW
    return vals.astype(np.int32), rows


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 16), n_pos=st.integers(0, 300),
       skip=st.sampled_from([0.0, 0.3, 1.0]), escapes=st.sampled_from([0.0, 0.1, 0.5]))
def test_residual_round_trip_matches_reference_reader(seed, n, n_pos, skip, escapes):
    vals, rows = random_case(np.random.default_rng(seed), n_pos, skip, escapes)
    ranges = encode_residual(vals, rows, n)
    assert len(ranges) == n and all(len(r) % 8 == 0 and len(r) > 0 for r in ranges)
    expect = np.where(rows == SKIP_ROW, 0, vals)
    got, cut = decode_residual(ranges, rows, n)
    assert got.dtype == np.int32 and (got == expect).all() and cut == [0] * n
    assert reference_decode(ranges, rows.tolist(), n) == expect.tolist()


def test_escape_forms_and_limits():
    rows = np.array([10, 10, 10, 10, 31, 0], dtype=np.uint8)          # bounds 4, 4, 4, 4, 128, 1
    vals = np.array([-4, 7, 8, -(4 + 32767), 128 + 32767, -1], dtype=np.int32)
    ranges = encode_residual(vals, rows, 1)
    assert decode_residual(ranges, rows, 1)[0].tolist() == vals.tolist()
    assert reference_decode(ranges, rows.tolist(), 1) == vals.tolist()
    # short form (|r| - b < 4) takes 1 + 3 escape bits, long form 1 + 16; the ANS part is the same
    used = lambda v: int.from_bytes(encode_residual(np.full(64, v), np.full(64, 10, np.uint8), 1)[0],
                                    "little").bit_length()
    assert used(8) - used(7) == 64 * 13 and used(-7) == used(7)
    with pytest.raises(BuildError):
        encode_residual(np.array([4 + 32768]), np.array([10], np.uint8), 1)
    with pytest.raises(BuildError):
        encode_residual(np.array([0]), np.array([32], np.uint8), 1)
    with pytest.raises(BuildError):
        encode_residual(np.array([2**32 + 1]), np.array([10], np.uint8), 1)    # would wrap to 1 in int32
    with pytest.raises(BuildError):
        encode_residual(np.array([0.5]), np.array([10], np.uint8), 1)


def test_single_thread_layout_by_hand():
    # row 0 = (255, 1). Coding value 0 from state x < 510 writes no bit and moves to the next slot of
    # symbol 0 (x + 1), so 8 zeros leave both states at 260: word = state2 - 256 | (state1 - 256) << 8 |
    # marker << 16, padded to one little-endian 64-bit word.
    ranges = encode_residual(np.zeros(8, np.int32), np.zeros(8, np.uint8), 1)
    assert ranges == [bytes([4, 4, 1, 0, 0, 0, 0, 0])]
    ranges = encode_residual(np.zeros(8, np.int32), np.zeros(8, np.uint8), 2)   # one state per thread
    assert ranges == [bytes([4, 1, 0, 0, 0, 0, 0, 0])] * 2
    assert decode_residual(ranges, np.zeros(8, np.uint8), 2)[0].tolist() == [0] * 8
    # the reader accepts ranges that are not whole words
    assert decode_residual([b"\x04\x04\x01"], np.zeros(8, np.uint8), 1)[0].tolist() == [0] * 8


def test_skipped_positions_cost_nothing_and_decode_zero():
    rows = np.full(1000, SKIP_ROW, dtype=np.uint8)
    for n in (1, 5, 16):
        ranges = encode_residual(np.arange(1000), rows, n)
        assert all(len(r) == 8 for r in ranges)
        assert not decode_residual(ranges, rows, n)[0].any()


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 16), n_pos=st.integers(0, 600), data=st.data())
def test_prefix_decoding_and_cut(seed, n, n_pos, data):
    """Any prefix decodes like the full stream (the cut group is finished); the ranges cut below the
    reported bit positions decode the same prefix; aligned cut points never move up as count grows."""
    vals, rows = random_case(np.random.default_rng(seed), n_pos, escapes=0.3)
    ranges = encode_residual(vals, rows, n)
    full = np.where(rows == SKIP_ROW, 0, vals)
    count = data.draw(st.integers(0, n_pos))
    got, cut = decode_residual(ranges, rows, n, count=count)
    assert (got[:count] == full[:count]).all() and not got[count:].any()
    again, cut2 = decode_residual(drop_below(ranges, cut), rows, n, count=count)
    assert (again == got).all() and all(c < 64 for c in cut2)
    aligned = count - count % (4 * n)
    assert group_aligned(aligned, n_pos, n) and group_aligned(n_pos, n_pos, n)
    assert group_aligned(count, n_pos, n) == (count % (4 * n) == 0 or count == n_pos)
    cut_aligned = decode_residual(ranges, rows, n, count=aligned)[1]
    assert all(a >= c for a, c in zip(cut_aligned, cut))


def test_coded_size_close_to_ideal():
    """Realistic σ rows (mostly small), 200 k symbols: coded bits within 2 % of the ideal code length
    -log2(f/256) + escape bits. (bench/bench_entropy.py reports the 1 M figure.)"""
    rng = np.random.default_rng(7)
    n_pos = 200_000
    rows = np.clip(np.round(rng.gamma(3.0, 3.0, n_pos)), 0, 31).astype(np.uint8)
    sigma = 0.11 * np.exp(math.log(54.82 / 0.11) / 31 * rows)
    vals = np.round(rng.normal(0, sigma)).astype(np.int32)
    ideal = 0.0
    masses = tb.residual_tables().masses
    b = BOUNDS[rows]
    a = np.abs(vals)
    sym = np.where(a >= b, 2 * b - 1, np.where(vals < 0, 2 * a - 1, 2 * a))
    ideal = -np.log2(masses[rows, sym] / 256).sum() + np.where(a >= b, np.where(a - b < 4, 4, 17), 0).sum()
    for n in (1, 8):
        bits = 8 * sum(map(len, encode_residual(vals, rows, n)))
        assert bits <= 1.02 * ideal, (n, bits / ideal)


def test_truncated_and_corrupt_payloads():
    rng = np.random.default_rng(3)
    vals, rows = random_case(rng, 3000, skip=0.1)
    for n in (1, 4):
        ranges = encode_residual(vals, rows, n)
        # dropping words at the start: the decoder runs out of bits → always a clean error
        with pytest.raises(DecodeError, match="exhausted|too short"):
            decode_residual([r[8:] for r in ranges], rows, n)
        with pytest.raises(DecodeError, match="marker"):
            decode_residual([b"\0" * 16] * n, rows, n)
        with pytest.raises(DecodeError, match="marker"):
            decode_residual([b""] * n, rows, n)
        with pytest.raises(DecodeError):
            decode_residual(ranges[:-1], rows, n)
        # arbitrary damage: a clean error or some values, never a crash or hang
        for _ in range(50):
            bad = [bytearray(r) for r in ranges]
            t = rng.integers(n)
            if rng.random() < 0.5:
                bad[t] = bad[t][: rng.integers(0, len(bad[t]) + 1)]
            else:
                bad[t][rng.integers(len(bad[t]))] ^= 1 << rng.integers(8)
            try:
                got, _ = decode_residual([bytes(b) for b in bad], rows, n)
                assert got.shape == rows.shape
            except DecodeError:
                pass


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=64), n_pos=st.integers(0, 200))
def test_random_bytes_never_crash(data, n_pos):
    rows = np.full(n_pos, 20, dtype=np.uint8)
    try:
        decode_residual([data], rows, 1)
    except DecodeError:
        pass


def test_bad_rows_are_rejected():
    with pytest.raises(DecodeError):
        decode_residual([b"\x01" + b"\0" * 7], np.array([40], np.uint8), 1)
    with pytest.raises(BuildError):
        encode_residual(np.zeros(2), np.zeros(3, np.uint8), 1)
    vals = np.array([1, -2, 0], np.int32)
    assert (decode_residual(encode_residual(vals, np.array([9, -1, 9], np.int8), 2),
                            np.array([9, 255, 9], np.uint8), 2)[0] == [1, 0, 0]).all()


# ---------------------------------------------------------------- z and SOQ

def z_case(rng, c, h, w):
    freqs = rng.integers(0, 400, (c, 63))
    freqs[:, 31] += rng.integers(0, 100000, c)               # peaked at ẑ = 0, many empty intervals
    freqs[rng.random((c, 63)) < 0.3] = 0
    freqs[:, 31] += 1
    return z_tables(freqs), rng.integers(0, 63, (c, h, w)).astype(np.uint8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 16), h=st.integers(1, 5), w=st.integers(1, 5))
def test_z_two_pass_round_trip(seed, n, h, w):
    rng = np.random.default_rng(seed)
    (tl, zl), (tc, zc) = z_case(rng, 16, h, w), z_case(rng, 6, h, w)
    ranges = encode_z([(zl, tl), (zc, tc)], n)
    (dl, dc), cut = decode_z(ranges, [(zl.shape, tl), (zc.shape, tc)], n)
    assert (dl == zl).all() and (dc == zc).all() and cut == [0] * n
    # luma alone decodes from the same ranges (chroma bits sit below it)
    (dl2,), _ = decode_z(ranges, [(zl.shape, tl)], n)
    assert (dl2 == zl).all()


def test_z_escape_costs_six_raw_bits_and_bad_input():
    freqs = np.zeros((1, 63), np.int64)
    freqs[0, 31] = 1
    t = z_tables(freqs)                                     # symbol 31 owns 255, everything else escapes
    z = np.full((1, 1, 64), 5, np.uint8)
    r = encode_z([(z, t)], 1)
    assert len(r[0]) * 8 >= 64 * (8 + 6)
    assert (decode_z(r, [(z.shape, t)], 1)[0][0] == 5).all()
    with pytest.raises(BuildError):
        encode_z([(np.full((1, 1, 1), 63, np.uint8), t)], 1)
    with pytest.raises(BuildError):
        encode_z([(z, z_tables(np.ones((2, 63))))], 1)


def test_quality_map_dpcm_and_soq():
    rng = np.random.default_rng(5)
    qp = rng.integers(-8, 9, (9, 14))
    d = qmap_deltas(qp)
    assert d[0, 0] == qp[0, 0] and d[0, 3] == qp[0, 3] - qp[0, 2] and d[4, 0] == qp[4, 0] - qp[3, 0]
    assert d[2, 5] == qp[2, 5] - (qp[2, 4] + qp[1, 5]) // 2           # floor, also for negative sums
    assert (qmap_from_deltas(d) == qp).all()
    for n in (1, 2, 16):
        for index in range(8):
            assert (decode_quality_map(encode_quality_map(qp, index, n), qp.shape, index, n) == qp).all()


def test_ranges_through_thread_size_prefix():
    """Thread ranges glued by jpegai_fmt.layout (codestream.md §9.1) come back intact and decode."""
    from jpegai_fmt.layout import build_memory, split_threads

    rng = np.random.default_rng(11)
    vals, rows = random_case(rng, 5000)
    for n in (1, 2, 16):
        payload = build_memory(encode_residual(vals, rows, n))
        mem = split_threads(payload, n)
        assert not mem.findings
        ranges = [payload[o:o + s] for o, s in mem.threads]
        assert (decode_residual(ranges, rows, n)[0] == np.where(rows == SKIP_ROW, 0, vals)).all()
