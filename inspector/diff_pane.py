"""Differences from a second file (`jpegai-inspect A --compare B`): one row per `jpegai_fmt.compare`
difference; choosing a row jumps to the element in A, or to where B's extra element would stand."""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from jpegai_fmt.compare import Difference, side_text

SIGN = {"value": ("~", "bold yellow"), "payload": ("~", "bold yellow"), "only_a": ("-", "bold red"),
        "only_b": ("+", "bold green")}


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
            self.add_row(Text(sign, style), d.path, side_text(d.a, 24), side_text(d.b, 24), d.detail, key=str(i))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self.differences[int(event.row_key.value)]))
