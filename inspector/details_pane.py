"""Details pane: everything known about the selected node — value, raw bits, position,
size, meaning and allowed range from the spec tables, and its findings."""
from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from jpegai_fmt.picture_metadata import describe as metadata_description
from jpegai_fmt.tree import Node

from .spec_info import describe
from .tree_pane import short_value

RAW_BITS_MAX = 64  # longer ranges show their first bytes in hex instead
RAW_BYTES_MAX = 8  # one line in the details pane at 80 columns
SEVERITY_STYLE = {"E": "bold red", "W": "bold yellow", "I": "bold blue"}


def raw_bits(data: bytes, bit_offset: int, bit_length: int) -> str:
    """The node's bits as stored (binary up to 64 bits, otherwise the first 8 bytes in hex)."""
    if bit_length == 0:
        return "(none)"
    if bit_length <= RAW_BITS_MAX:
        first, last = bit_offset >> 3, (bit_offset + bit_length + 7) >> 3
        word = int.from_bytes(data[first:last].ljust(last - first, b"\0"), "big")
        shift = 8 * (last - first) - (bit_offset - 8 * first) - bit_length
        value = (word >> shift) & ((1 << bit_length) - 1)
        return f"{value:0{bit_length}b}" + (f" = 0x{value:X}" if bit_length > 4 else "")
    start = bit_offset >> 3
    chunk = data[start:start + RAW_BYTES_MAX]
    return chunk.hex(" ") + (" …" if bit_length > 8 * RAW_BYTES_MAX else "")


def metadata_rows(node: Node, data: bytes) -> list[tuple[str, str]]:
    """What an Exif or XMP item, or an ICC profile, says (camera and date, size, colour space and name), so
    that the metadata a file carries can be read without extracting it."""
    payload = data[node.byte_offset:node.byte_end]
    if node.name == "icc_profile":
        found = {"icc_profile": payload}
    elif node.name.startswith("item[") and node.value == "Exif" and len(payload) >= 4:
        found = {"exif": b"Exif\0\0" + payload[4 + int.from_bytes(payload[:4], "big"):]}
    elif node.name.startswith("item[") and node.value == "mime" and payload.lstrip()[:1] == b"<":
        found = {"xmp": payload}
    else:
        return []
    return [("content", f"{kind} {text}") for kind, text in metadata_description(found)]


def details_text(node: Node, data: bytes) -> Text:
    text = Text()

    def row(label: str, value: str, style: str = "") -> None:
        text.append(f"{label:>9} ", "bold")
        text.append(value + "\n", style)

    row("path", node.path or node.name, "bold")
    value = "" if node.value is None else short_value(node.value, 200)
    row("kind", node.kind + (f"   value {value}" if value else ""))
    end = node.bit_offset + node.bit_length
    aligned = node.bit_offset % 8 == 0 and node.bit_length % 8 == 0
    where = (f"byte {node.byte_offset} (0x{node.byte_offset:X}), {node.bit_length // 8} bytes" if aligned else
             f"bits {node.bit_offset}..{end - 1} (byte {node.byte_offset} bit {node.bit_offset % 8}), "
             f"{node.bit_length} bits")
    row("position", where)
    row("raw", raw_bits(data, node.bit_offset, node.bit_length), "cyan")
    for key, entry in describe(node.name):
        row(key, entry, "green")
    for key, entry in metadata_rows(node, data):
        row(key, entry, "magenta")
    for f in node.findings:
        text.append(f"{f.severity} {f.rule or '-':>7} ", SEVERITY_STYLE.get(f.severity, "bold"))
        text.append(f.message + "\n")
    text.rstrip()
    return text


class DetailsPane(VerticalScroll):
    """Scrolls when the meaning or findings are longer than the pane."""

    def compose(self):
        yield Static(id="details-body")

    def show(self, node: Node, data: bytes) -> None:
        self.query_one("#details-body", Static).update(details_text(node, data))
        self.scroll_home(animate=False)
