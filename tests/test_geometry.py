"""Region grid and synthesis tile geometry (codestream.md §10, §11)."""
import pytest

from jpegai_fmt.errors import ParseError
from jpegai_fmt.geometry import region_bounds, regions, tile_count, tiles_1d


def test_spec_tile_example():
    """2096x1400, T = 1024, O = 64 -> x starts 0, 960, 1920; y starts 0, 960; 6 tiles."""
    xs = tiles_1d(2096, 1024, 64)
    assert [t.start for t in xs] == [0, 960, 1920] and xs[-1].end == 2096
    assert [t.start for t in tiles_1d(1400, 1024, 64)] == [0, 960]
    assert tile_count(2096, 1400, 1024, 64) == 6
    cores = [(t.core_start, t.core_end) for t in xs]
    assert cores == [(0, 992), (992, 1952), (1952, 2096)]  # contiguous, O/2 dropped at inner edges


def test_degenerate_and_malformed_tiles():
    assert [(t.start, t.end) for t in tiles_1d(40, 128, 64)] == [(0, 40)]
    with pytest.raises(ParseError) as e:
        tiles_1d(100, 64, 64)
    assert e.value.rule == "PIH-012"


def test_region_grid():
    assert region_bounds(1000, 3) == [0, 256, 512, 1000]  # units 8, base 2 units
    rs = regions(1000, 700, 2, 3)
    assert [r.index for r in rs] == list(range(6)) and (rs[4].row, rs[4].col) == (1, 1)
    assert rs[5].picture == (384, 700, 512, 1000)
    assert rs[5].latent == (24, 44, 32, 63) and rs[5].hyper == (6, 11, 8, 16)
