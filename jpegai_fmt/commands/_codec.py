"""Helpers shared by the commands that run the codec (encode, decode): picture input, progress."""
from __future__ import annotations

import contextlib
import sys

import numpy as np


def open_picture(path: str) -> np.ndarray:
    """Any Pillow-readable picture as 8-bit RGB (H, W, 3), converted as `picture.rgb_of_image` says."""
    from PIL import Image, UnidentifiedImageError

    from ..errors import BuildError
    from ..picture import rgb_of_image
    try:
        with Image.open(path) as im:
            return rgb_of_image(im)
    except BuildError as err:
        raise ValueError(f"{path}: {err}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not a picture Pillow can read (PNG, JPEG, PPM, TIFF, ...)") from None
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: refused, {err}") from None


def networks(torch_threads: int | None):
    """Our networks for a codec command, after applying its `--torch-threads` (torch is imported here)."""
    from ..picture import networks as load
    if torch_threads:
        import torch
        torch.set_num_threads(torch_threads)
    return load()


def int_in(low: int, high: int):
    """An argparse type: an integer in low..high, with the range in the error message."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value
    return parse


@contextlib.contextmanager
def progress(label: str, enabled: bool = True, counted: bool = True):
    """A spinner on a terminal (work may take seconds), with a step counter when the work reports its steps
    (`counted`: call the yielded function once per step); silent when piped."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    text = TextColumn(f"{label} {{task.completed}} steps" if counted else label)
    with Progress(SpinnerColumn(), text, TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)
        yield lambda: bar.advance(task)
