"""Picture preview: decodes with our codec in a background thread (torch is imported only
then), draws the picture with half blocks (two pixels per cell) or, where the terminal has
them, Kitty graphics / Sixel (through textual-image), and compares a partial decode (fewer
luma/chroma channels) with the full one: bytes used and PSNR."""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.containers import Container, Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from codec.metrics import psnr_rgb
from jpegai_fmt.errors import JpegAiError, ModelMismatchError


def fit(picture: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """The picture scaled to at most cols × (2·rows) pixels, aspect kept (half-block pixels are square)."""
    from PIL import Image
    h, w = picture.shape[:2]
    scale = min(cols / w, 2 * rows / h)
    size = (max(1, round(w * scale)), max(2, 2 * round(h * scale / 2)))
    return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.BILINEAR))


def half_block_lines(picture: np.ndarray) -> list[list[Segment]]:
    """One line of '▀' cells per two pixel rows: upper pixel as foreground, lower as background."""
    lines = []
    for y in range(0, picture.shape[0] - 1, 2):
        top, bottom = picture[y], picture[y + 1]
        lines.append([Segment("▀", Style.parse(f"rgb({t[0]},{t[1]},{t[2]}) on rgb({b[0]},{b[1]},{b[2]})"))
                      for t, b in zip(top, bottom)])
    return lines


class HalfBlockImage(Widget):
    """Renders a numpy RGB picture scaled to the widget; blank until a picture is set."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.picture: np.ndarray | None = None
        self._lines: list[list[Segment]] = []

    def set_picture(self, picture: np.ndarray | None) -> None:
        self.picture = picture
        self._rescale()

    def _rescale(self) -> None:
        if self.picture is None or not self.size.width or not self.size.height:
            self._lines = []
        else:
            self._lines = half_block_lines(fit(self.picture, self.size.width, self.size.height))
        self.refresh()

    def on_resize(self) -> None:
        self._rescale()

    def render_line(self, y: int) -> Strip:
        if y < len(self._lines):
            return Strip(self._lines[y]).extend_cell_length(self.size.width)
        return Strip.blank(self.size.width)


GRAPHICS = ("auto", "kitty", "sixel", "halfblock")
MODES = ("halfblock", "kitty", "sixel")  # what the picture mode key cycles through
MODE_NAMES = {"halfblock": "half blocks", "kitty": "Kitty graphics", "sixel": "Sixel"}


def graphics_widgets() -> dict[str, type] | None:
    """textual-image's Kitty and Sixel widget classes, or None when it is not installed.
    Importing it asks the terminal what it supports (on stdin/stdout), so in a terminal
    this must first happen before Textual starts: `resolve_graphics` does that."""
    try:
        from textual_image.widget import SixelImage, TGPImage
    except (ImportError, OSError):  # OSError: the terminal did not answer its queries in time
        return None
    return {"kitty": TGPImage, "sixel": SixelImage}


def can_load_graphics_now() -> bool:
    """Whether textual-image may be imported with the app running: it already is, or there
    is no terminal for its import-time queries to disturb."""
    return "textual_image.widget" in sys.modules or not (sys.__stdout__ and sys.__stdout__.isatty())


def resolve_graphics(requested: str) -> tuple[str, str]:
    """(mode, why) for `--graphics`: 'auto' takes what textual-image found in this terminal
    (Sixel, else Kitty graphics), else half blocks; a forced mode is used as asked unless
    textual-image is missing. Call before the app starts."""
    if requested == "halfblock":
        return "halfblock", "forced"
    if graphics_widgets() is None:
        return "halfblock", "no textual-image"
    if requested != "auto":
        return requested, "forced"
    if not (sys.__stdout__ and sys.__stdout__.isatty()):
        return "halfblock", "auto: not a terminal"
    from textual_image import renderable
    found = {renderable.SixelImage: "sixel", renderable.TGPImage: "kitty"}.get(renderable.Image)
    return (found, "auto: found") if found else ("halfblock", "auto: no Kitty/Sixel")


class GraphicsImage(Container):
    """textual-image's Kitty or Sixel widget in a frame filling the pane; the widget sizes
    itself to fit the frame with the picture's aspect kept."""

    DEFAULT_CSS = "GraphicsImage > * { width: auto; height: auto; }"

    def __init__(self, mode: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.inner = graphics_widgets()[mode]()

    def compose(self):
        yield self.inner

    def set_picture(self, picture: np.ndarray | None) -> None:
        from PIL import Image
        self.inner.image = None if picture is None else Image.fromarray(picture)


@dataclass
class Selection:
    """How many latent channels of each component the partial decode keeps."""

    luma: int
    chroma: int
    luma_max: int
    chroma_max: int

    @property
    def full(self) -> bool:
        return self.luma == self.luma_max and self.chroma == self.chroma_max

    def step(self, component: str, delta: int) -> None:
        if component == "luma":
            self.luma = max(0, min(self.luma_max, self.luma + delta))
        else:
            self.chroma = max(0, min(self.chroma_max, self.chroma + delta))

    def describe(self) -> str:
        return f"luma {self.luma}/{self.luma_max}  chroma {self.chroma}/{self.chroma_max} channels"


def load_decoder():
    """The codec's `decode_array`: imported only when a preview is asked for, since it pulls in torch."""
    from codec.pipeline import decode_array
    return decode_array


def unavailable(err: BaseException) -> str:
    """A one-line reason the picture cannot be shown."""
    if isinstance(err, ModelMismatchError):
        return ("not decodable with our codec: this stream was made with another model set "
                f"(it parses, but our weights do not match) — {err.message}")
    if isinstance(err, ImportError):
        return f"picture preview unavailable: the codec is not installed ({err})"
    if isinstance(err, JpegAiError):
        return f"decoding failed: {err.describe()}"
    return f"decoding failed: {type(err).__name__}: {err}"


class PreviewPane(Vertical):
    """Decodes only when asked (`request`); a newer request makes older results stale."""

    def __init__(self, codestream, selection: Selection, graphics: str = "halfblock", graphics_note: str = "",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self._codestream = codestream  # callable giving the codestream bytes
        self.selection = selection
        self.graphics = graphics
        self.graphics_note = graphics_note
        self._full: np.ndarray | None = None
        self._picture: np.ndarray | None = None
        self._generation = 0
        self.requested = False

    def compose(self):
        yield Static("Preview: press [b]d[/b] (or open this tab) to decode the picture.", id="preview-info")
        yield self._image_widget()
        yield Static(self._mode_text(), id="preview-mode")

    def _image_widget(self) -> HalfBlockImage | GraphicsImage:
        if self.graphics == "halfblock":
            return HalfBlockImage(id="preview-image")
        return GraphicsImage(self.graphics, id="preview-image")

    def _mode_text(self) -> str:
        note = f" ({self.graphics_note})" if self.graphics_note else ""
        return f"[dim][b]m[/b] picture: {MODE_NAMES[self.graphics]}{note}[/dim]"

    @property
    def info(self) -> Static:
        return self.query_one("#preview-info", Static)

    @property
    def image(self) -> HalfBlockImage | GraphicsImage:
        return self.query_one("#preview-image")

    async def set_graphics(self, mode: str, note: str = "") -> None:
        """Redraw the picture (if any) with another mode; the decode is kept."""
        self.graphics, self.graphics_note = mode, note
        loading = self.image.loading
        if isinstance(self.image, GraphicsImage):
            self.image.set_picture(None)  # lets textual-image free the picture held by the terminal
        await self.image.remove()
        widget = self._image_widget()
        await self.mount(widget, before="#preview-mode")
        widget.loading = loading
        widget.set_picture(self._picture)
        self.query_one("#preview-mode", Static).update(self._mode_text())

    def request(self) -> None:
        """Start (or restart) a decode of the current selection in the background."""
        self.requested = True
        self._generation += 1
        self.info.update(f"decoding… ({self.selection.describe()})")
        self.image.loading = True
        self._decode(self._generation, self.selection.luma, self.selection.chroma)

    @work(thread=True, exclusive=True, group="preview")
    def _decode(self, generation: int, luma: int, chroma: int) -> None:
        try:
            decode_array = load_decoder()
            data = self._codestream()
            if self._full is None:
                self._full = decode_array(data)
            full = self._full
            partial = full if self.selection.full else decode_array(data, luma_channels=luma,
                                                                    chroma_channels=chroma)
            used = bytes_used(data, luma, chroma, self.selection.full)
            quality = psnr_rgb(partial, full)
            message = (f"{self.selection.describe()}  {partial.shape[1]}×{partial.shape[0]}  "
                       f"bytes used {used}  PSNR vs full "
                       f"{'∞' if math.isinf(quality) else f'{quality:.2f}'} dB")
            result = (generation, partial, message)
        except Exception as err:  # every failure becomes a message in the pane, never a crash
            result = (generation, None, unavailable(err))
        self.app.call_from_thread(self._show, *result)

    def _show(self, generation: int, picture: np.ndarray | None, message: str) -> None:
        if generation != self._generation:
            return  # a newer request is on its way
        self._picture = picture
        self.image.loading = False
        self.image.set_picture(picture)
        self.info.update(message)


def bytes_used(data: bytes, luma: int, chroma: int, full: bool) -> str:
    """Size of the stream cut to this selection (by the extraction engine), when it is installed."""
    if full:
        return f"{len(data)} of {len(data)}"
    try:
        from jpegai_fmt.extract import extract
    except ImportError:
        return "unknown (extraction not installed)"
    try:
        return f"{len(extract(data, luma_channels=luma, chroma_channels=chroma)[0])} of {len(data)}"
    except JpegAiError as err:
        return f"unknown ({err.message})"
