"""Sizes the syntax derives from the picture size: latent grids, cube flags,
region grid (codestream.md §10) and synthesis tiles (§11)."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ParseError


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def latent_size(width: int, height: int) -> tuple[int, int]:
    """(h_lat, w_lat): the latent grid, 16x down."""
    return ceil_div(height, 16), ceil_div(width, 16)


def hyper_size(width: int, height: int) -> tuple[int, int]:
    """(h_z, w_z): the hyper-latent grid, 64x down."""
    return ceil_div(height, 64), ceil_div(width, 64)


def cube_flag_count(width: int, height: int) -> int:
    """F of §5.2 C5: 4 phases x ceil(ceil(h_lat/2)/8) x ceil(ceil(w_lat/2)/8) cubes."""
    h_lat, w_lat = latent_size(width, height)
    return 4 * ceil_div(ceil_div(h_lat, 2), 8) * ceil_div(ceil_div(w_lat, 2), 8)


def region_bounds(length: int, count: int, unit: int = 128) -> list[int]:
    """Boundaries 0 = b_0 <= ... <= b_count = length of `count` regions along one axis
    (§10): all but the last take floor(ceil(length/unit)/count) units, the last the rest."""
    base = ceil_div(length, unit) // count * unit
    return [i * base for i in range(count)] + [length]


def scale_bounds(bounds: list[int], factor: int, total: int) -> list[int]:
    """Region boundaries on a grid `factor`x down whose size is `total`: interior
    boundaries are multiples of 128 and divide exactly; the last region takes the rest."""
    return [b // factor for b in bounds[:-1]] + [total]


@dataclass(frozen=True)
class Region:
    """One spatial region: index (row-major), picture and latent rectangles as (y0, y1, x0, x1)."""

    index: int
    row: int
    col: int
    picture: tuple[int, int, int, int]
    latent: tuple[int, int, int, int]
    hyper: tuple[int, int, int, int]


def regions(width: int, height: int, num_ver: int, num_hor: int) -> list[Region]:
    """The region grid in row-major index order (index = row x num_hor + col)."""
    ys, xs = region_bounds(height, num_ver), region_bounds(width, num_hor)
    h_lat, w_lat = latent_size(width, height)
    h_z, w_z = hyper_size(width, height)
    ly, lx = scale_bounds(ys, 16, h_lat), scale_bounds(xs, 16, w_lat)
    zy, zx = scale_bounds(ys, 64, h_z), scale_bounds(xs, 64, w_z)
    return [Region(r * num_hor + c, r, c, (ys[r], ys[r + 1], xs[c], xs[c + 1]),
                   (ly[r], ly[r + 1], lx[c], lx[c + 1]), (zy[r], zy[r + 1], zx[c], zx[c + 1]))
            for r in range(num_ver) for c in range(num_hor)]


@dataclass(frozen=True)
class Tile:
    """One synthesis tile along an axis: its span and the core it keeps."""

    start: int
    end: int
    core_start: int
    core_end: int


def tiles_1d(length: int, size: int, overlap: int) -> list[Tile]:
    """Tiles along one axis (§11): starts 0, T-O, 2(T-O), ... below length-O; the core
    drops O/2 on each side that faces another tile. If length <= O the whole axis is
    one tile [PROJECT DECISION, reported as PIH-013]."""
    if size <= overlap or size <= 0:
        raise ParseError(f"synthesis tile size {size} must exceed overlap {overlap}", rule="PIH-012")
    starts = list(range(0, max(length - overlap, 0), size - overlap)) or [0]
    tiles = []
    for i, s in enumerate(starts):
        e = length if len(starts) == 1 else min(s + size, length)
        tiles.append(Tile(s, e, s + overlap // 2 if i else s,
                          e - overlap // 2 if i < len(starts) - 1 else e))
    return tiles


def tile_count(width: int, height: int, size: int, overlap: int) -> int:
    """How many tiles cover a picture: a product, never the list (a hostile header can ask for ~17M)."""
    return len(tiles_1d(height, size, overlap)) * len(tiles_1d(width, size, overlap))
