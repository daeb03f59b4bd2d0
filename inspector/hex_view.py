"""Hex view: draws only the rows on screen (the Line API), so a file of any size costs
the same; the selected node's bytes are highlighted and a bit ruler shows the exact bits
of a bit-packed field. Clicking a byte (or Enter on the cursor byte) asks for its node."""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

OFFSET = Style(color="bright_black")
PLAIN = Style()
SELECTED = Style(bgcolor="dark_blue", color="bright_white")
PARTIAL = Style(bgcolor="grey30", color="bright_white")
CURSOR = Style(reverse=True, bold=True)


def _printable(b: int) -> str:
    return chr(b) if 32 <= b < 127 else "."


class HexView(ScrollView, can_focus=True):
    """Offsets, bytes and ASCII; 4, 8, 16 or 32 bytes a row, whatever fits the width."""

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "move(-16, 0)", "Page up", show=False),
        Binding("pagedown", "move(16, 0)", "Page down", show=False),
        Binding("enter", "pick", "Select node at cursor"),
    ]

    class ByteChosen(Message):
        """The user picked a byte: the app selects the node that covers it."""

        def __init__(self, offset: int) -> None:
            self.offset = offset
            super().__init__()

    cursor = reactive(0, repaint=True)

    def __init__(self, data: bytes, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data = data
        self.bits = (0, 0)  # selected range in bits: start, length

    # -- geometry -------------------------------------------------------------
    @property
    def per_row(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        for n in (32, 16, 8):
            if 10 + 4 * n + 2 <= width:
                return n
        return 4

    @property
    def rows(self) -> int:
        return max(1, -(-len(self.data) // self.per_row))

    def _resize(self) -> None:
        self.virtual_size = Size(10 + 4 * self.per_row + 1, self.rows)

    def on_resize(self) -> None:
        self._resize()

    def on_mount(self) -> None:
        self._resize()

    # -- selection --------------------------------------------------------------
    def show_range(self, bit_offset: int, bit_length: int) -> None:
        """Highlight a node's range and scroll it into view (near the top third)."""
        self.bits = (bit_offset, bit_length)
        self.cursor = min(bit_offset >> 3, max(0, len(self.data) - 1))
        self._scroll_to_cursor(center=True)
        self.refresh()

    def _scroll_to_cursor(self, center: bool = False) -> None:
        row = self.cursor // self.per_row
        height = self.scrollable_content_region.height or 1
        top = self.scroll_offset.y
        if center and not top <= row < top + height:
            self.scroll_to(y=max(0, row - height // 3), animate=False)
        elif row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)

    def action_move(self, rows: int, cols: int) -> None:
        step = rows * self.per_row + cols
        self.cursor = max(0, min(len(self.data) - 1, self.cursor + step))
        self._scroll_to_cursor()

    def action_pick(self) -> None:
        self.post_message(self.ByteChosen(self.cursor))

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = offset.y + self.scroll_offset.y
        x = offset.x + self.scroll_offset.x
        n = self.per_row
        if 10 <= x < 10 + 3 * n:
            col = (x - 10) // 3
        elif 11 + 3 * n <= x < 11 + 4 * n:
            col = x - 11 - 3 * n
        else:
            return
        byte = row * n + col
        if byte < len(self.data):
            self.cursor = byte
            self.focus()
            self.post_message(self.ByteChosen(byte))

    # -- drawing ----------------------------------------------------------------
    def _style(self, index: int) -> Style:
        start, length = self.bits
        lo, hi = start >> 3, (start + length + 7) >> 3
        if length and lo <= index < hi:
            whole = 8 * index >= start and 8 * index + 8 <= start + length
            style = SELECTED if whole else PARTIAL
        else:
            style = PLAIN
        if index == self.cursor and self.has_focus:
            style = style + CURSOR
        return style

    def render_line(self, y: int) -> Strip:
        row = y + self.scroll_offset.y
        n = self.per_row
        start = row * n
        if start >= len(self.data) or row < 0:
            return Strip.blank(self.size.width)
        chunk = self.data[start:start + n]
        segments = [Segment(f"{start:08x}  ", OFFSET)]
        for i, b in enumerate(chunk):
            segments.append(Segment(f"{b:02x}", self._style(start + i)))
            segments.append(Segment(" "))
        segments.append(Segment("   " * (n - len(chunk)) + " "))
        for i, b in enumerate(chunk):
            segments.append(Segment(_printable(b), self._style(start + i)))
        strip = Strip(segments)
        return strip.crop(self.scroll_offset.x, self.scroll_offset.x + self.size.width)


def bit_ruler(data: bytes, bit_offset: int, bit_length: int, width: int = 80) -> Text:
    """The bytes holding a bit-packed field in binary, the field's own bits highlighted, in
    at most `width` cells; empty for ranges that start and end on byte boundaries."""
    text = Text()
    if bit_length == 0 or (bit_offset % 8 == 0 and bit_length % 8 == 0):
        return text
    first = bit_offset >> 3
    last = min(len(data), (bit_offset + bit_length + 7) >> 3)
    text.append(f"bits {bit_offset}..{bit_offset + bit_length - 1}:", "bold")
    fits = max(1, (width - len(text) - 2) // 9)
    shown = min(last, first + fits)
    for byte in range(first, shown):
        text.append(" ")
        for k in range(8):
            bit = 8 * byte + k
            inside = bit_offset <= bit < bit_offset + bit_length
            text.append("1" if data[byte] >> (7 - k) & 1 else "0", "reverse bold" if inside else "dim")
    if shown < last:
        text.append(" …")
    return text


class BitRuler(Static):
    """One line under the hex grid; empty for byte-aligned ranges."""

    def show_range(self, data: bytes, bit_offset: int, bit_length: int) -> None:
        self.update(bit_ruler(data, bit_offset, bit_length, self.size.width or 80))
