"""σ-index pipeline (entropy.md §5.3–§5.6): HSD output → Iσ → skip mask and residual row per element.

All integer, Q7 log units (one row = 128). Order of operations:
    Iσ_skip = HSD + gain_vector_log[k] + BDL + quality-map offset(qp)
    coded   = Iσ_skip > 382  or  cube flag of the element is 0
    Iσ      = Iσ_skip + RVS offset (RVS/GRFS: pass `rvs_offset`; computed elsewhere once its tables exist)
    row     = clamp((Iσ + 64) >> 7, 0, 31)
"""
from __future__ import annotations

import numpy as np

from jpegai_fmt.errors import DecodeError

from .coder import SKIP_ROW
from .tables import NUM_ROWS, quality_map_table

SKIP_THRESHOLD = 382


def row_index(i_sigma) -> np.ndarray:
    """Distribution row of a σ index: round to nearest with an arithmetic shift, clamped to 0..31 (§5.1)."""
    return np.clip((np.asarray(i_sigma, dtype=np.int64) + 64) >> 7, 0, NUM_ROWS - 1).astype(np.uint8)


def qmap_offsets(qp) -> np.ndarray:
    """Iσ offset per position from the quality map qp ∈ [-8, 8] (spec_tables/residual_quality_map.json)."""
    q = np.asarray(qp, dtype=np.int64)
    if q.size and (q.min() < -8 or q.max() > 8):
        bad = np.argwhere((q < -8) | (q > 8))[0]
        raise DecodeError(f"quality-map value {int(q[tuple(bad)])} outside -8..8 has no σ offset",
                          path=f"qmap{list(map(int, bad))}", rule="SOQ-003")
    table = np.array(quality_map_table()["sigma_offset"], dtype=np.int64)
    return table[q + 8]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def cube_grid(h_lat: int, w_lat: int) -> tuple[int, int]:
    """(CH, CW) = (ceil(ceil(h_lat/2)/8), ceil(ceil(w_lat/2)/8)): cubes per phase plane (§5.5)."""
    return _ceil_div(_ceil_div(h_lat, 2), 8), _ceil_div(_ceil_div(w_lat, 2), 8)


def cube_count(h_lat: int, w_lat: int) -> int:
    """F = 4 · CH · CW cube flags (codestream.md §5.2 C5)."""
    ch, cw = cube_grid(h_lat, w_lat)
    return 4 * ch * cw


def cube_flag_index(h_lat: int, w_lat: int) -> np.ndarray:
    """Flag index per latent position (h_lat, w_lat): phase·CH·CW + (y >> 4)·CW + (x >> 4), phase =
    2·(y & 1) + (x & 1) (§5.5). The same for every channel."""
    ch, cw = cube_grid(h_lat, w_lat)
    y = np.arange(h_lat)[:, None]
    x = np.arange(w_lat)[None, :]
    return (2 * (y & 1) + (x & 1)) * ch * cw + (y >> 4) * cw + (x >> 4)


def sigma_skip_index(hsd_out, gain_log, bdl: int, qp=None) -> np.ndarray:
    """Iσ_skip (C, h, w) int64: HSD output + per-channel gain_vector_log + BDL + quality-map offset."""
    i = np.asarray(hsd_out, dtype=np.int64)
    g = np.asarray(gain_log, dtype=np.int64)
    if i.ndim != 3 or g.shape != (i.shape[0],):
        raise ValueError("need HSD output (C, h, w) and one gain per channel")
    i = i + g[:, None, None] + int(bdl)
    if qp is not None:
        i = i + qmap_offsets(qp)[None]
    return i


def residual_rows(i_sigma_skip, cube_flags=None, rvs_offset=None) -> np.ndarray:
    """Row per element (C, h, w) uint8, SKIP_ROW where the element is not coded.

    `cube_flags`: the F flags of codestream.md §5.2 C5 in [phase][cube_y][cube_x] order (None = all 1).
    `rvs_offset`: Iσ offset added after the skip decision (RVS, §5.6); None when RVS is off.
    """
    i = np.asarray(i_sigma_skip, dtype=np.int64)
    coded = i > SKIP_THRESHOLD
    if cube_flags is not None:
        flags = np.asarray(cube_flags, dtype=bool).reshape(-1)
        _, h, w = i.shape
        if flags.size != cube_count(h, w):
            raise ValueError(f"{flags.size} cube flags for a {h}×{w} latent, expected {cube_count(h, w)}")
        coded = coded | ~flags[cube_flag_index(h, w)][None]
    if rvs_offset is not None:
        i = i + np.asarray(rvs_offset, dtype=np.int64)
    return np.where(coded, row_index(i), SKIP_ROW).astype(np.uint8)


def coding_order(arr, num_chs: int, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Flatten (C, h, w) data of one component to its coded sequence (§3): channels 0..num_chs-1, each in
    raster order over the region (y0, y1, x0, x1) or the whole latent."""
    a = np.asarray(arr)[:num_chs]
    if region is not None:
        y0, y1, x0, x1 = region
        a = a[:, y0:y1, x0:x1]
    return a.reshape(-1)


def chunk_channels(rh: int, rw: int, num_chs: int, n_threads: int) -> int:
    """Channels per decoding chunk (§4): smallest k ≥ 1 with k·rh·rw ≡ 0 (mod 4n), else all channels.
    Every chunk but the last then holds whole groups of 4 per thread, so chunking changes no bit."""
    for k in range(1, num_chs + 1):
        if (k * rh * rw) % (4 * n_threads) == 0:
            return k
    return num_chs
