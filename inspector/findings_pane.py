"""Findings list: one row per validator finding; choosing a row jumps to its node."""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from jpegai_fmt.tree import Finding

SEVERITY_STYLE = {"E": "bold red", "W": "bold yellow", "I": "bold blue"}


class FindingsTable(DataTable):
    """Rows in file order; the row key is the finding's index in `findings`."""

    class Chosen(Message):
        def __init__(self, finding: Finding) -> None:
            self.finding = finding
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.findings: list[Finding] = []

    def on_mount(self) -> None:
        self.add_columns("sev", "rule", "offset", "message")

    def set_findings(self, findings: list[Finding]) -> None:
        self.findings = sorted(findings, key=lambda f: (f.byte_offset if f.byte_offset is not None else -1,
                                                         f.rule))
        self.clear()
        for i, f in enumerate(self.findings):
            offset = "" if f.byte_offset is None else str(f.byte_offset)
            self.add_row(Text(f.severity, SEVERITY_STYLE.get(f.severity, "")), f.rule, offset,
                         f.message, key=str(i))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self.findings[int(event.row_key.value)]))
