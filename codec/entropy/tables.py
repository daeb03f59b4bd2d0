"""8-bit distributions and their tANS tables (entropy.md §6, §7.6).

The residual rows and their decode entries are stored data (`spec_tables/residual_pmf.json`,
`spec_tables/tans_residual.json`, both SHA-256 pinned in tests); the coder builds its runtime arrays from
the masses with the same §7.6 construction that produced the stored decode entries, so one code path serves
residual rows and per-channel z distributions alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from spec_tables import load

NUM_ROWS = 32
Z_SYMBOLS = 63          # z symbols 0..62 (ẑ + 31); symbol 63 is the escape
Z_ESCAPE = 63

_BITREV8 = np.array([int(f"{p:08b}"[::-1], 2) for p in range(256)], dtype=np.int64)


@dataclass(frozen=True)
class TansTables:
    """Runtime arrays for a set of 8-bit distributions (one table per row or z channel).

    `dtab` packs each decode entry as base | nbits << 9 | escape << 13 | value << 16 (value int16; an
    escape entry of a residual row carries the row's bound there); the encoder arrays are per symbol.
    """
    masses: np.ndarray      # (nt, 256) int32, zero-padded
    dtab: np.ndarray        # (nt, 256) uint32
    delta: np.ndarray       # (nt, 256) int32, -1 for zero-mass symbols
    off: np.ndarray         # (nt, 256) int32
    slot: np.ndarray        # (nt, 256) uint16
    bound: np.ndarray       # (nt,) uint16, residual bound (0 for z)

    @property
    def count(self) -> int:
        return self.masses.shape[0]

    def c_args(self) -> tuple:
        return (self.dtab, self.delta, self.off, self.slot, self.bound)


def decode_entries(masses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """§7.6 for one distribution: per state slot j the symbol, nbits, base; and the slots of each symbol
    in symbol-major, increasing-slot order (what the encoder indexes)."""
    masses = np.asarray(masses, dtype=np.int64)
    if masses.min() < 0 or masses.sum() != 256:
        raise ValueError("a distribution needs non-negative 8-bit masses summing to 256")
    owner = np.repeat(np.arange(masses.size), masses)          # owner of cumulative position p
    slot_sym = np.empty(256, dtype=np.int64)
    slot_sym[_BITREV8] = owner
    order = np.argsort(slot_sym, kind="stable")                 # slots grouped by symbol, increasing slot
    starts = np.concatenate(([0], np.cumsum(masses)[:-1]))
    rank = np.empty(256, dtype=np.int64)
    rank[order] = np.arange(256) - starts[slot_sym[order]]
    xs = masses[slot_sym] + rank
    nbits = 8 - (np.floor(np.log2(xs))).astype(np.int64)
    return slot_sym, nbits, xs << nbits, order


def build(rows: list[np.ndarray], *, residual: bool) -> TansTables:
    nt = len(rows)
    masses = np.zeros((nt, 256), dtype=np.int32)
    dtab = np.zeros((nt, 256), dtype=np.uint32)
    delta = np.full((nt, 256), -1, dtype=np.int32)
    off = np.zeros((nt, 256), dtype=np.int32)
    slot = np.zeros((nt, 256), dtype=np.uint16)
    bound = np.zeros(nt, dtype=np.uint16)
    for t, row in enumerate(rows):
        row = np.asarray(row, dtype=np.int64)
        sym, nbits, base, order = decode_entries(row)
        nsym = row.size
        if residual:
            b = nsym // 2
            idx = np.arange(nsym)
            value = np.where(idx % 2 == 1, -(idx + 1) // 2, idx // 2)
            value[nsym - 1] = b
            escape = sym == nsym - 1
            bound[t] = b
        else:
            value = np.arange(nsym)
            escape = sym == Z_ESCAPE
        dtab[t] = (base | (nbits << 9) | (escape.astype(np.int64) << 13)
                   | ((value[sym] & 0xFFFF) << 16)).astype(np.uint32)
        f = row
        present = f > 0
        k0 = 8 - np.floor(np.log2(np.where(present, f, 1))).astype(np.int64)
        delta[t, :nsym] = np.where(present, (k0 << 9) - (f << k0), -1)
        off[t, :nsym] = np.concatenate(([0], np.cumsum(f)[:-1])) - f
        slot[t] = 256 + order
        masses[t, :nsym] = row
    return TansTables(masses, dtab, delta, off, slot, bound)




@lru_cache(maxsize=1)
def residual_rows() -> tuple[tuple[int, ...], ...]:
    """The 32 stored residual rows (entropy.md §6.3), masses in §6.1 symbol order."""
    data = load("residual_pmf")
    return tuple(tuple(r) for r in data["rows"])


@lru_cache(maxsize=1)
def residual_bounds() -> tuple[int, ...]:
    return tuple(load("residual_pmf")["bounds"])


@lru_cache(maxsize=1)
def residual_tables() -> TansTables:
    return build([np.array(r) for r in residual_rows()], residual=True)


def z_masses(freqs: np.ndarray) -> np.ndarray:
    """8-bit masses of z symbols 0..62 and the escape from integer frequencies (entropy.md §6.4).

    cdf_i = floor((C_i * 255 + floor(T / 2)) / T); symbol i owns [cdf_i, cdf_{i+1}); escape owns [255, 256).
    `freqs` is (channels, 63) non-negative integers with a positive total per channel.
    """
    freqs = np.asarray(freqs)
    if freqs.ndim != 2 or freqs.shape[1] != Z_SYMBOLS:
        raise ValueError(f"z frequencies must have shape (channels, {Z_SYMBOLS}), got {freqs.shape}")
    f = freqs.astype(np.int64)
    if (f < 0).any() or (f >= 1 << 40).any():
        raise ValueError("z frequencies must be integers in 0 .. 2^40 - 1")
    total = f.sum(axis=1)
    if (total <= 0).any():
        raise ValueError("every z channel needs a positive frequency total")
    cum = np.concatenate([np.zeros((f.shape[0], 1), dtype=f.dtype), np.cumsum(f, axis=1)], axis=1)
    cdf = (cum * 255 + (total // 2)[:, None]) // total[:, None]
    masses = np.empty((f.shape[0], Z_SYMBOLS + 1), dtype=np.int64)
    masses[:, :Z_SYMBOLS] = np.diff(cdf, axis=1).astype(np.int64)
    masses[:, Z_ESCAPE] = 1
    return masses


def z_tables(freqs: np.ndarray) -> TansTables:
    """tANS tables for per-channel z distributions (one table per row of `freqs`)."""
    return build(list(z_masses(freqs)), residual=False)


@lru_cache(maxsize=1)
def quality_map_table() -> dict:
    """qp -8..8 → step and Iσ offset; SOQ rows by quality_map_entropy_index (spec_tables, §5.4)."""
    return load("residual_quality_map")
