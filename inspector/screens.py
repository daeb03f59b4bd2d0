"""Modal screens: the help screen (built from the live key bindings, so it lists every
key) and a one-line prompt used by search, go-to-offset, export and extract."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


def key_label(b: Binding) -> str:
    """How the help screen names a binding's keys: every key of a multi-key binding ('? / F1'), since a
    footer's short `key_display` would hide the others."""
    keys = b.key.split(",")
    if len(keys) == 1:
        return b.key_display or b.key
    names = {"question_mark": "?", "escape": "Esc"}
    return " / ".join(names.get(k, k.upper() if k[:1] == "f" and k[1:].isdigit() else k) for k in keys)


def key_table(groups: list[tuple[str, list[Binding]]]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, bindings in groups:
        table.add_row(f"[u]{title}[/u]", "")
        for b in bindings:
            table.add_row(key_label(b), b.description or b.action)
    return table


class HelpScreen(ModalScreen[None]):
    """Every key of the app and its panes; Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, groups: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static("[b]jpegai-inspect keys[/b]   (mouse: click tree rows, tabs, hex bytes, findings)")
            yield Static(key_table(self.groups))


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line; Enter gives it back, Escape gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
