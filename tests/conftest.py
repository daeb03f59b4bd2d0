"""Shared test material: pictures cut from the validation photos at test time (never stored in the repo),
or a synthetic picture with smooth areas, edges and texture where the data set is not on the machine."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

VAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "val")


def _synthetic(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(1)
    r = 128 + 80 * np.sin(x / 23.0) * np.cos(y / 31.0)
    g = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2, 200.0, 60.0)
    b = 255 * x / w
    pic = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(pic, 0, 255).astype(np.uint8)


def photo_crop(width: int, height: int, *, index: int = 0, top: int = 0, left: int = 0) -> np.ndarray:
    """An 8-bit RGB (height, width, 3) crop of validation photo `index` at (top, left)."""
    from PIL import Image
    paths = sorted(glob.glob(os.path.join(VAL, "*.png")))
    if not paths:
        return _synthetic(height, width)
    with Image.open(paths[index]) as im:
        return np.asarray(im.convert("RGB"))[top:top + height, left:left + width].copy()


@pytest.fixture(scope="session")
def photo():
    """The `photo_crop` function, for module-scoped fixtures."""
    return photo_crop
