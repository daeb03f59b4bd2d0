"""Helpers shared by the commands that run the codec (encode, decode): picture input, progress."""
from __future__ import annotations

import contextlib
import sys

import numpy as np


def open_picture(path: str) -> np.ndarray:
    """Any Pillow-readable picture as 8-bit RGB (H, W, 3)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not a picture Pillow can read (PNG, JPEG, PPM, TIFF, ...)") from None


@contextlib.contextmanager
def progress(label: str, enabled: bool = True, counted: bool = True):
    """A spinner on a terminal (work may take seconds), with a step counter when the work reports its steps
    (`counted`: call the yielded function once per step); silent when piped."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    with Progress(SpinnerColumn(), TextColumn(f"{label} {{task.completed}} steps" if counted else label), TimeElapsedColumn(),
                  transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)
        yield lambda: bar.advance(task)
