"""Cut points of channel prefixes in residual thread ranges (entropy.md §8-§9), for extraction and for the
channel index that the encoder writes into UDI.

ANS is last-in-first-out: the first channels sit at the end of each thread range and later channels towards
its start. A prefix of N′ channels therefore ends, in thread t, at the lowest bit the decoder consumes for
it; `channel_cut_points` finds that bit for many prefixes in one decoding pass.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jpegai_fmt.errors import DecodeError

from . import tables as tb
from .coder import _check_threads, _metans, _row_indices
from .sigma import chunk_channels


def channel_cut_points(threads: Sequence[bytes], rows, n_threads: int, counts: Sequence[int]) -> np.ndarray:
    """int64 [len(counts), n]: for each position count (ascending), each thread's lowest consumed bit when
    only the first `count` positions are decoded (the cut group finished, as `decode_residual` does).

    Bits below a thread's cut point hold only later positions; `drop_below` turns them into byte cuts.
    """
    n = _check_threads(n_threads)
    if len(threads) != n:
        raise DecodeError(f"expected {n} thread ranges, got {len(threads)}")
    idx = _row_indices(rows, DecodeError)
    c = np.ascontiguousarray(np.clip(np.asarray(counts, dtype=np.int64).reshape(-1), 0, idx.size))
    if c.size > 1 and (np.diff(c) < 0).any():
        raise ValueError("counts must be ascending")
    scratch = np.zeros(idx.size, dtype=np.int32)
    try:
        raw = _metans.cut_points(n, tb.residual_tables().c_args(), list(threads), (idx, scratch, 0), c)
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    return np.frombuffer(raw, dtype=np.int64).reshape(c.size, n)


def aligned_counts(rh: int, rw: int, num_chs: int, n_threads: int) -> list[int]:
    """Channel counts 0 <= N′ < num_chs whose prefix ends every thread of an rh x rw region on a group of 4
    (N′·rh·rw ≡ 0 mod 4n, entropy.md §8): the multiples of the chunk size of §4."""
    k = chunk_channels(rh, rw, num_chs, n_threads)
    return [m for m in range(0, num_chs, k) if (m * rh * rw) % (4 * n_threads) == 0]


def channel_index_for(threads: Sequence[bytes], rows, n_threads: int, channel_counts: Sequence[int],
                      region_size: int) -> list[tuple[int, list[int]]]:
    """Index entries of one (component, region): for each channel count N′ (ascending), the bytes to drop
    from the start of every thread range to keep exactly the N′-channel prefix (whole 64-bit words below
    the one holding the cut bit, entropy.md §9 row 3). `region_size` = rh·rw latent positions."""
    counts = [int(m) for m in channel_counts]
    cuts = channel_cut_points(threads, rows, n_threads, [m * region_size for m in counts])
    return [(m, [int(b) // 64 * 8 for b in row]) for m, row in zip(counts, cuts.tolist())]
