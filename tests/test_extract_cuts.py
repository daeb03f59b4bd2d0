"""codec.entropy cut points for extraction: one pass gives the same cut bits as one prefix decode per count,
and cutting there leaves exactly the prefix."""
from __future__ import annotations

import numpy as np
import pytest

from codec.entropy import (aligned_counts, channel_cut_points, channel_index_for, decode_residual, drop_below,
                           encode_residual)
from jpegai_fmt.errors import DecodeError


def _sequence(n_channels, size, seed):
    rng = np.random.default_rng(seed)
    total = n_channels * size
    rows = rng.integers(0, 32, total).astype(np.uint8)
    rows[rng.random(total) < 0.25] = 255
    values = np.where(rows == 255, 0, np.round(rng.laplace(0, 4, total))).astype(np.int32)
    values[rng.random(total) < 0.003] *= 300
    return rows, values


@pytest.mark.parametrize("n", [1, 2, 4, 16])
def test_one_pass_equals_prefix_decodes(n):
    size = 7 * 9
    rows, values = _sequence(20, size, n)
    threads = encode_residual(values, rows, n)
    counts = [m * size for m in range(21)] + [size * 20 + 5]   # beyond the end: clamped to a full decode
    cuts = channel_cut_points(threads, rows, n, counts)
    assert cuts.shape == (len(counts), n)
    for count, row in zip(counts, cuts.tolist()):
        _, expected = decode_residual(threads, rows, n, count=count)
        assert row == expected
    assert (np.diff(cuts, axis=0) <= 0).all()   # more channels, lower cut points


def test_index_entries_cut_to_exact_prefixes():
    n, rh, rw = 2, 5, 6
    rows, values = _sequence(12, rh * rw, 7)
    threads = encode_residual(values, rows, n)
    counts = aligned_counts(rh, rw, 12, n)
    assert counts == [0, 4, 8]      # 30·k ≡ 0 (mod 8) for k a multiple of 4
    for m, drops in channel_index_for(threads, rows, n, counts, rh * rw):
        assert all(d % 8 == 0 for d in drops)
        cut = [t[d:] for t, d in zip(threads, drops)]
        _, bits = decode_residual(threads, rows, n, count=m * rh * rw)
        assert cut == drop_below(threads, bits)
        got, _ = decode_residual(cut, rows[:m * rh * rw], n)
        np.testing.assert_array_equal(got, values[:m * rh * rw])


def test_bad_input():
    rows, values = _sequence(4, 16, 3)
    threads = encode_residual(values, rows, 2)
    with pytest.raises(ValueError, match="ascending"):
        channel_cut_points(threads, rows, 2, [32, 16])
    with pytest.raises(DecodeError, match="expected 2 thread ranges"):
        channel_cut_points(threads[:1], rows, 2, [16])
    with pytest.raises(DecodeError, match="truncated or corrupt|too short"):
        channel_cut_points([t[-8:] for t in threads], rows, 2, [64])
    with pytest.raises(DecodeError, match="no end-of-range marker"):
        channel_cut_points([bytes(8), threads[1]], rows, 2, [16])
