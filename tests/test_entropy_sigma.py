"""σ-index pipeline: row rounding, quality-map offsets, skip decision with cube flags, chunk rule."""
import numpy as np
import pytest

from codec.entropy import SKIP_ROW
from codec.entropy.sigma import (chunk_channels, coding_order, cube_count, cube_flag_index, qmap_offsets,
                                 residual_rows, row_index, sigma_skip_index)
from jpegai_fmt.errors import DecodeError


def test_row_index_rounds_to_nearest():
    assert row_index([-500, -65, -64, 63, 64, 191, 192, 3967, 5000]).tolist() == [0, 0, 0, 0, 1, 1, 2, 31, 31]


def test_cube_geometry():
    assert cube_count(68, 120) == 160                   # codestream.md §5.2 example (1920×1080)
    idx = cube_flag_index(68, 120)
    assert idx.min() == 0 and idx.max() == 159 and len(np.unique(idx)) == 160
    assert idx[0, 0] == 0 and idx[0, 1] == 40 and idx[1, 0] == 80 and idx[1, 1] == 120
    assert idx[16, 0] == 8 and idx[0, 16] == 1 and idx[15, 15] == 120 and idx[67, 119] == 3 * 40 + 4 * 8 + 7
    assert cube_count(1, 1) == 4 and cube_count(17, 33) == 4 * 2 * 3


def test_skip_and_rows():
    c, h, w = 3, 4, 34
    hsd = np.full((c, h, w), 300)
    hsd[1] = 383
    gain = np.array([0, 0, 100])
    i = sigma_skip_index(hsd, gain, bdl=0)
    rows = residual_rows(i)
    assert (rows[0] == SKIP_ROW).all() and (rows[1] == 3).all() and (rows[2] == 3).all()   # 382 < 383, 400
    flags = np.ones(cube_count(h, w), bool)
    flags[cube_flag_index(h, w)[1, 17]] = False        # force coding in one cube of phase (1, 1)
    rows = residual_rows(i, flags)
    forced = cube_flag_index(h, w) == cube_flag_index(h, w)[1, 17]
    assert (rows[0][forced] == 2).all() and (rows[0][~forced] == SKIP_ROW).all()
    assert (residual_rows(i, rvs_offset=-400)[2] == 0).all()     # RVS moves the row after the skip test
    qp = np.zeros((h, w), int)
    qp[0, 0] = -1
    assert sigma_skip_index(hsd, gain, 5, qp)[2, 0, 0] == 300 + 100 + 5 - 111
    with pytest.raises(DecodeError):
        qmap_offsets([[9]])


def test_chunk_rule_and_order():
    assert chunk_channels(3, 5, 160, 4) == 16 and chunk_channels(4, 4, 96, 16) == 4
    assert chunk_channels(1, 1, 3, 16) == 3            # no k <= N qualifies: one chunk
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert coding_order(a, 1).tolist() == list(range(12))
    assert coding_order(a, 2, (1, 3, 2, 4)).tolist() == [6, 7, 10, 11, 18, 19, 22, 23]
