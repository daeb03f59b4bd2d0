"""bench/ceiling.py: the quality-ceiling diagnosis, on a validation crop (or the synthetic stand-in)."""
from __future__ import annotations

import math
import os
import sys

import pytest

pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))


def test_ceiling_row_orders_the_bounds(photo):
    import ceiling

    from codec.weights import load_networks
    row = ceiling.picture_row(load_networks(), photo(192, 128, index=1, top=200, left=200), steps=10, window=64)
    assert set(ceiling.COLUMNS) <= set(row) and all(math.isfinite(row[c]) for c in ceiling.COLUMNS)
    assert row["4:2:0"] > row["AE"]              # the networks lose more than 4:2:0 alone
    assert row["AE luma"] >= row["AE"] - 0.05    # exact chroma cannot cost much
    assert row["ideal Y"] > 0                    # optimised latents beat the analysis' guess
