"""Differences from a second file (`jpegai-inspect A --compare B`): one row per `jpegai_fmt.compare`
difference; choosing a row jumps to the element in A, or to where B's extra element would stand."""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from jpegai_fmt.compare import Difference
from jpegai_fmt.render import value_text

SIGN = {"value": ("~", "bold yellow"), "payload": ("~", "bold yellow"), "only_a": ("-", "bold red"),
        "only_b": ("+", "bold green")}


def side(diff: Difference, which: str) -> str:
    node = diff.a if which == "a" else diff.b
    if node is None:
        return "(absent)"
    if diff.change == "payload" or node.value is None or node.children:
        return f"{node.kind}, {node.bit_length // 8 if node.bit_length % 8 == 0 else node.bit_length} " \
               f"{'bytes' if node.bit_length % 8 == 0 else 'bits'}"
    return value_text(node.value, 24)


class DiffTable(DataTable):
    """Rows in tree order; the row key is the difference's index."""

    class Chosen(Message):
        def __init__(self, difference: Difference) -> None:
            self.difference = difference
            super().__init__()

    def __init__(self, differences: list[Difference], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.differences = differences

    def on_mount(self) -> None:
        self.add_columns("", "path", "A", "B", "note")
        for i, d in enumerate(self.differences):
            sign, style = SIGN[d.change]
            self.add_row(Text(sign, style), d.path, side(d, "a"), side(d, "b"), d.detail, key=str(i))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self.differences[int(event.row_key.value)]))
