"""me-tANS residual, SOQ and z coding on per-thread byte ranges (entropy.md §4, §5.4, §6, §7).

A coded sequence is split over n threads by position (p mod n, skipped positions included); every thread
range is self-contained and read back to front. The thread-size prefix and region layouts that glue the
ranges into a segment live in `jpegai_fmt.layout`, not here.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jpegai_fmt.errors import BuildError, DecodeError

from . import tables as tb

try:
    from . import _metans
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(
        "codec.entropy._metans (the me-tANS C extension) is not built; reinstall the project with "
        "`pip install -e .` so that setup.py compiles codec/entropy/_metans.c (needs a C compiler)") from exc

SKIP_ROW = 255          # row value (uint8; -1 as int8) of a position excluded by the skip mask
MAX_THREADS = 16        # codestream.md §9.1: n <= 16
ROW_MAX = tb.NUM_ROWS - 1


def _check_threads(n_threads: int) -> int:
    n = int(n_threads)
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"thread count {n_threads} outside 1..{MAX_THREADS}")
    return n


def _row_indices(rows, err) -> np.ndarray:
    """uint16 table index per position (0xFFFF = skipped) from rows 0..31 / SKIP_ROW (or -1)."""
    r = np.asarray(rows)
    if r.dtype == np.int8:
        r = r.view(np.uint8)
    r = r.reshape(-1)
    if r.dtype != np.uint8:
        if r.size and (r.min() < -1 or r.max() > SKIP_ROW):
            raise err("residual rows must be 0..31 or the skip sentinel (255 or -1)")
        r = (r & 0xFF).astype(np.uint8)
    bad = (r > ROW_MAX) & (r != SKIP_ROW)
    if bad.any():
        p = int(np.argmax(bad))
        raise err(f"residual row {int(r[p])} at position {p} outside 0..{ROW_MAX}", path=f"position[{p}]")
    idx = r.astype(np.uint16)
    idx[r == SKIP_ROW] = _metans.SKIP
    return idx


def _int32_values(values) -> np.ndarray:
    """Flat int32 copy of integer input; values that int32 cannot hold are an error, not a silent wrap."""
    v = np.asarray(values)
    if v.size and not np.issubdtype(v.dtype, np.integer):
        raise BuildError(f"values must be integers, got {v.dtype}")
    if v.dtype != np.int32 and v.size and (v.min() < -2**31 or v.max() >= 2**31):
        raise BuildError("value outside the int32 range")
    return np.ascontiguousarray(v.reshape(-1), dtype=np.int32)


def group_aligned(count: int, total: int, n_threads: int) -> bool:
    """True when the first `count` of `total` positions end every thread on a group of 4 (count ≡ 0 mod 4n)
    or nothing is cut (entropy.md §8). `decode_residual(count=...)` is exact for any count (it finishes the
    cut group); alignment matters when a stream is cut to `count` positions and then read as a complete
    stream (channel-cut extraction, §9): only then do the short final groups read like the original."""
    return count >= total or count % (4 * _check_threads(n_threads)) == 0


def drop_below(threads: Sequence[bytes], cut_bits: Sequence[int]) -> list[bytes]:
    """Cut each thread range to what a prefix decode needs: drop whole 64-bit words below the word that
    holds the lowest consumed bit (entropy.md §9 row 3). Decoding the result with the same `count` gives
    the same prefix."""
    return [bytes(t[(c // 64) * 8:]) for t, c in zip(threads, cut_bits, strict=True)]


def encode_residual(values, rows, n_threads: int) -> list[bytes]:
    """Code residual values (int, |r| <= bound + 32767) at per-position rows; skipped positions
    (row SKIP_ROW) are not coded, whatever their value. Returns one byte range per thread."""
    n = _check_threads(n_threads)
    v = _int32_values(values)
    idx = _row_indices(rows, BuildError)
    if v.size != idx.size:
        raise BuildError(f"{v.size} values but {idx.size} rows")
    try:
        return _metans.encode(_metans.KIND_RES, n, tb.residual_tables().c_args(), [(idx, v, v.size)])
    except ValueError as exc:
        raise BuildError(str(exc)) from None


def decode_residual(threads: Sequence[bytes], rows, n_threads: int,
                    count: int | None = None) -> tuple[np.ndarray, list[int]]:
    """Decode the residual sequence whose rows (and skip mask) are `rows`.

    `count` keeps only the first `count` positions (progressive decoding of a channel prefix); later
    positions read as 0. Each thread decodes up to the end of the group holding its last kept position, so
    the kept values always equal those of a full decode. Returns the int32 values and, per thread, the
    lowest bit position consumed (bits below it hold only later groups); see `group_aligned`.
    """
    n = _check_threads(n_threads)
    idx = _row_indices(rows, DecodeError)
    out = np.zeros(idx.size, dtype=np.int32)
    if len(threads) != n:
        raise DecodeError(f"expected {n} thread ranges, got {len(threads)}")
    count = idx.size if count is None else max(0, min(int(count), idx.size))
    try:
        cut, _ = _metans.decode(_metans.KIND_RES, n, tb.residual_tables().c_args(), list(threads),
                                [(idx, out, count)])
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    out[count:] = 0
    return out, cut


# ---------------------------------------------------------------- quality map (SOQ)

def qmap_deltas(qp) -> np.ndarray:
    """DPCM of the quality map (entropy.md §5.4): first row from the left, first column from the top,
    elsewhere floor((left + top) / 2); the first sample is predicted as 0 [PROJECT DECISION: floor]."""
    q = np.asarray(qp, dtype=np.int64)
    if q.ndim != 2:
        raise BuildError("quality map must be 2-D (h_lat, w_lat)")
    pred = np.zeros_like(q)
    pred[0, 1:] = q[0, :-1]
    pred[1:, 0] = q[:-1, 0]
    pred[1:, 1:] = (q[1:, :-1] + q[:-1, 1:]) // 2
    return (q - pred).astype(np.int32)


def qmap_from_deltas(deltas) -> np.ndarray:
    """Inverse of `qmap_deltas` (sequential along each row: the prediction uses the decoded left sample)."""
    d = np.asarray(deltas, dtype=np.int64)
    h, w = d.shape
    q = np.zeros((h, w), dtype=np.int64)
    if h and w:
        q[0] = np.cumsum(d[0])
        q[1:, 0] = q[0, 0] + np.cumsum(d[1:, 0])
        for y in range(1, h):
            row, up, dr = q[y], q[y - 1].tolist(), d[y].tolist()
            left = int(row[0])
            vals = [left]
            for x in range(1, w):
                left = (left + up[x]) // 2 + dr[x]
                vals.append(left)
            q[y] = vals
    return q.astype(np.int32)


def soq_row(entropy_index: int) -> int:
    rows = tb.quality_map_table()["entropy_index_rows"]
    if not 0 <= entropy_index < len(rows):
        raise ValueError(f"quality_map_entropy_index {entropy_index} outside 0..{len(rows) - 1}")
    return rows[entropy_index]


def encode_quality_map(qp, entropy_index: int, n_threads: int) -> list[bytes]:
    """SOQ thread ranges: DPCM deltas in raster order at the fixed row of `entropy_index`, no skipping."""
    d = qmap_deltas(qp).reshape(-1)
    return encode_residual(d, np.full(d.size, soq_row(entropy_index), dtype=np.uint8), n_threads)


def decode_quality_map(threads: Sequence[bytes], shape: tuple[int, int], entropy_index: int,
                       n_threads: int) -> np.ndarray:
    """qp map (h_lat, w_lat) int32 from SOQ thread ranges; range checks are left to the caller (SOQ rules)."""
    h, w = shape
    d, _ = decode_residual(threads, np.full(h * w, soq_row(entropy_index), dtype=np.uint8), n_threads)
    return qmap_from_deltas(d.reshape(h, w))


# ---------------------------------------------------------------- z (SOZ)

def _merge(parts_tables: Sequence[tb.TansTables]) -> tuple[tuple, list[int]]:
    offsets, total = [], 0
    for t in parts_tables:
        offsets.append(total)
        total += t.count
    if total > 0xFFFE:
        raise ValueError("too many z tables")
    arrays = [np.concatenate([getattr(t, f) for t in parts_tables])
              for f in ("dtab", "delta", "off", "slot", "bound")]
    return tuple(arrays), offsets


def _z_indices(shape, tables: tb.TansTables, offset: int) -> np.ndarray:
    c, h, w = shape
    if c != tables.count:
        raise ValueError(f"{c} z channels but {tables.count} z tables")
    return np.repeat(np.arange(offset, offset + c, dtype=np.uint16), h * w)


def encode_z(parts: Sequence[tuple[np.ndarray, tb.TansTables]], n_threads: int) -> list[bytes]:
    """SOZ thread ranges for consecutive z passes, e.g. [(z_luma, tables_luma), (z_chroma, tables_chroma)].

    Each pass is (symbols uint8 (C, h, w) = ẑ + 31 in 0..62, tables with one distribution per channel,
    see `tables.z_tables`); channel c uses table c. All passes share one ANS stream and the thread states;
    each pass restarts position counting (thread p mod n, groups of 4) [docs/entropy-decisions.md]."""
    n = _check_threads(n_threads)
    try:
        targs, offsets = _merge([t for _, t in parts])
        passes = []
        for (sym, t), off in zip(parts, offsets):
            s = np.asarray(sym)
            if s.ndim != 3:
                raise ValueError("z symbols must be (C, h, w)")
            v = _int32_values(s)
            passes.append((_z_indices(s.shape, t, off), v, v.size))
        return _metans.encode(_metans.KIND_Z, n, targs, passes)
    except ValueError as exc:
        raise BuildError(str(exc)) from None


def decode_z(threads: Sequence[bytes], parts: Sequence[tuple[tuple[int, int, int], tb.TansTables]],
             n_threads: int) -> tuple[list[np.ndarray], list[int]]:
    """Inverse of `encode_z`: parts are ((C, h, w), tables) in decoding order; returns uint8 symbol arrays
    per pass and the lowest consumed bit per thread."""
    n = _check_threads(n_threads)
    if len(threads) != n:
        raise DecodeError(f"expected {n} thread ranges, got {len(threads)}")
    targs, offsets = _merge([t for _, t in parts])
    outs, passes = [], []
    for (shape, t), off in zip(parts, offsets):
        idx = _z_indices(shape, t, off)
        out = np.zeros(idx.size, dtype=np.int32)
        outs.append(out)
        passes.append((idx, out, out.size))
    try:
        cut, _ = _metans.decode(_metans.KIND_Z, n, targs, list(threads), passes)
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    return [o.astype(np.uint8).reshape(shape) for o, (shape, _) in zip(outs, parts)], cut
