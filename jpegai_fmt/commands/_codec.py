"""Helpers shared by the commands that run the codec (encode, decode): picture input, progress."""
from __future__ import annotations

import contextlib
import io
import sys


def open_picture(path: str, keep: frozenset[str] = frozenset(), auto_orient: bool = True):
    """Any Pillow-readable picture as a `picture_metadata.SourcePicture`: upright 8-bit RGB samples (converted
    as `picture.rgb_of_image` says) and the metadata kinds in `keep`; a picture that cannot be read is a
    ValueError naming the path."""
    from PIL import Image, UnidentifiedImageError

    from ..errors import BuildError
    from ..picture_metadata import load_picture
    from ._stdio import STDIO, read_input
    try:
        return load_picture(io.BytesIO(read_input(path)) if path == STDIO else path, keep, auto_orient)
    except BuildError as err:
        raise ValueError(f"{path}: {err}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not a picture Pillow can read (PNG, JPEG, PPM, TIFF, ...)") from None
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: refused, {err}") from None
    except (OSError, SyntaxError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise                               # missing, unreadable: the system's own words name the file
        raise ValueError(f"{path}: cannot read the picture: {err}") from None   # damaged: truncated, bad chunk


def metadata_option(text: str) -> frozenset[str]:
    """An argparse type for --metadata (`picture_metadata.metadata_kinds`)."""
    import argparse

    from ..picture_metadata import metadata_kinds
    try:
        return metadata_kinds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


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
