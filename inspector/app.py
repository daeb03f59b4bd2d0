"""`jpegai-inspect FILE`: browse a JPEG AI file (container or raw codestream) in the terminal.

Panes: syntax tree (lazy), hex view, details, findings, statistics, picture preview, and with
`--compare B` the differences from a second file.
Everything shown comes from the one tree of `jpegai_fmt`; broken input opens with its
damaged parts as error nodes (tolerant parsing)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, TabbedContent, TabPane, Tree

from jpegai_fmt.container.writer import write_file
from jpegai_fmt.errors import JpegAiError
from jpegai_fmt.render import json_default
from jpegai_fmt.tree import Node

from .details_pane import DetailsPane
from .diff_pane import DiffTable
from .document import Document, node_at_byte, validate
from .findings_pane import FindingsTable
from .hex_view import BitRuler, HexView
from .preview import GRAPHICS, MODES, PreviewPane, Selection, can_load_graphics_now, graphics_widgets, \
    resolve_graphics
from .screens import HelpScreen, PromptScreen
from .stats_pane import StatsPane
from .tree_pane import SyntaxTree

CHANNEL_STEP = 8
TABS = {"1": "hex-tab", "2": "findings-tab", "3": "stats-tab", "4": "preview-tab", "5": "diff-tab"}
FOCUS = {"1": "#hex", "2": "#findings", "3": "#stats", "5": "#diff"}  # the preview takes no keys of its own


def tree_json(root: Node) -> bytes:
    return (json.dumps(root.to_dict(), indent=1, default=json_default) + "\n").encode()


class InspectorApp(App):
    """The browser; `doc` is the opened file."""

    CSS_PATH = "inspector.tcss"
    TITLE = "jpegai-inspect"

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "search_next", "Next match", show=False),
        Binding("g", "goto", "Go to offset"),
        Binding("e", "export", "Export JSON"),
        Binding("x", "extract", "Extract"),
        Binding("1", "tab('1')", "Hex tab", show=False),
        Binding("2", "tab('2')", "Findings tab", show=False),
        Binding("3", "tab('3')", "Statistics tab", show=False),
        Binding("4", "tab('4')", "Preview tab", show=False),
        Binding("5", "tab('5')", "Differences tab (with --compare)", show=False),
        Binding("d", "decode", "Decode preview", show=False),
        Binding("m", "graphics", "Picture mode: half blocks, Kitty, Sixel", show=False),
        Binding("left_square_bracket", "channels('luma', -1)", "Fewer luma channels", key_display="[",
                show=False),
        Binding("right_square_bracket", "channels('luma', 1)", "More luma channels", key_display="]",
                show=False),
        Binding("left_curly_bracket", "channels('chroma', -1)", "Fewer chroma channels", key_display="{",
                show=False),
        Binding("right_curly_bracket", "channels('chroma', 1)", "More chroma channels", key_display="}",
                show=False),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False),
    ]

    def __init__(self, doc: Document, *, validate_in_background: bool = True, graphics: str = "halfblock",
                 graphics_note: str = "", entropy: bool = False, compare: Document | None = None) -> None:
        """`graphics`: how the preview draws the picture (a mode of `resolve_graphics`, which
        `main` calls before the app starts); half blocks unless asked, so tests stay exact. `compare`: a
        second file whose differences from this one get a tab of their own."""
        super().__init__()
        self.doc = doc
        self.compare = compare
        self.differences = doc.differences(compare) if compare is not None else []
        self.graphics = (graphics, graphics_note)
        self.current: Node = doc.root
        self.last_search = ""
        self.validate_in_background = validate_in_background
        self.entropy = entropy                # the background validator also runs the decoding rules
        luma, chroma = doc.channel_counts()
        self.selection = Selection(luma, chroma, luma, chroma)

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield SyntaxTree(self.doc.root, id="tree")
            with Vertical(id="right"):
                with TabbedContent(initial="hex-tab", id="tabs"):
                    with TabPane("Hex", id="hex-tab"):
                        yield HexView(self.doc.data, id="hex")
                        yield BitRuler(id="ruler")
                    with TabPane(f"Findings {len(self.doc.findings)}", id="findings-tab"):
                        yield FindingsTable(id="findings")
                    with TabPane("Stats", id="stats-tab"):
                        yield StatsPane(self.doc.root, self.doc.data, id="stats")
                    with TabPane("Preview", id="preview-tab"):
                        yield PreviewPane(self.doc.codestream, self.selection, *self.graphics, id="preview")
                    if self.compare is not None:
                        with TabPane(f"Diff {len(self.differences)}", id="diff-tab"):
                            yield DiffTable(self.differences, id="diff")
                yield DetailsPane(id="details")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{os.path.basename(self.doc.name)} ({self.doc.kind}, {len(self.doc.data)} bytes)"
        self.query_one("#tree").border_title = "syntax tree"
        self.query_one("#details").border_title = "details"
        self._set_findings(self.doc.findings)
        self.select(self.doc.root)
        self.query_one("#tree").focus()
        if self.validate_in_background:
            self._run_validator()

    @work(thread=True, exclusive=True, group="validate")
    def _run_validator(self) -> None:
        findings = validate(self.doc.data, self.doc.root, self.entropy)
        self.call_from_thread(self._set_findings, findings)

    def _set_findings(self, findings) -> None:
        self.doc.set_findings(findings)
        self.query_one(FindingsTable).set_findings(self.doc.findings)
        self.query_one(TabbedContent).get_tab("findings-tab").label = f"Findings {len(findings)}"

    # -- selection ----------------------------------------------------------------
    def select(self, node: Node) -> None:
        """Show `node` in the details pane and highlight its bytes/bits in the hex view."""
        self.current = node
        self.query_one(DetailsPane).show(node, self.doc.data)
        self.query_one(HexView).show_range(node.bit_offset, node.bit_length)
        self.query_one(BitRuler).show_range(self.doc.data, node.bit_offset, node.bit_length)

    def jump(self, node: Node) -> None:
        """Open the tree down to `node`, put the cursor on it and select it."""
        self.query_one(SyntaxTree).reveal(node)
        self.select(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None and event.node.data is not self.current:
            self.select(event.node.data)

    def on_hex_view_byte_chosen(self, event: HexView.ByteChosen) -> None:
        hex_view = self.query_one(HexView)
        self.jump(node_at_byte(self.doc.root, event.offset))
        hex_view.cursor = event.offset

    def on_findings_table_chosen(self, event: FindingsTable.Chosen) -> None:
        self.jump(self.doc.node_of(event.finding))

    def on_diff_table_chosen(self, event: DiffTable.Chosen) -> None:
        self.jump(self.doc.node_of_difference(event.difference))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        preview = self.query_one(PreviewPane)
        if event.pane.id == "preview-tab" and not preview.requested:
            preview.request()

    # -- actions ----------------------------------------------------------------------
    def action_help(self) -> None:
        comparing = self.compare is not None
        groups = [("global", [b for b in self.BINDINGS if isinstance(b, Binding) and (comparing or b.key != "5")]),
                  ("syntax tree", [b for b in Tree.BINDINGS if isinstance(b, Binding)]),
                  ("hex view", list(HexView.BINDINGS)),
                  ("findings", [Binding("enter", "select", "Jump to the finding's node (or click)")])]
        if comparing:
            groups.append(("differences", [Binding("enter", "select", "Jump to the element in this file "
                                                                      "(or where the other file's extra one stands)")]))
        self.push_screen(HelpScreen(groups))

    def action_tab(self, key: str) -> None:
        """Show a tab and give the keyboard to what it holds (so Enter picks a finding, arrows move in hex)."""
        if key == "5" and self.compare is None:
            self.notify("no file to compare with: run jpegai-inspect A --compare B", severity="warning")
            return
        self.query_one(TabbedContent).active = TABS[key]
        if key in FOCUS:
            self.query_one(FOCUS[key]).focus()

    def action_search(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.last_search = text
                self._find(text, after=None)
        self.push_screen(PromptScreen("Search a field by name (part of the name, or a path with /)",
                                      self.last_search), done)

    def action_search_next(self) -> None:
        if self.last_search:
            self._find(self.last_search, after=self.current)
        else:
            self.action_search()

    def _find(self, text: str, after: Node | None) -> None:
        found = self.doc.search(text, after)
        if found is None:
            self.notify(f"no field matches {text!r}", severity="warning")
        else:
            self.jump(found)

    def action_goto(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            try:
                offset = int(text.strip().replace("_", ""), 0)
            except ValueError:
                self.notify(f"not an offset: {text!r} (decimal, or hex with 0x)", severity="error")
                return
            if not 0 <= offset < len(self.doc.data):
                self.notify(f"offset {offset} is outside the file (0..{len(self.doc.data) - 1})",
                            severity="error")
                return
            self.action_tab("1")
            self.jump(node_at_byte(self.doc.root, offset))
            self.query_one(HexView).cursor = offset
        self.push_screen(PromptScreen("Go to byte offset (decimal, or hex with 0x)", "", "0x0"), done)

    def action_export(self) -> None:
        def done(path: str | None) -> None:
            if path:
                self._write(path, lambda: tree_json(self.doc.root), "tree")
        self.push_screen(PromptScreen("Export the tree as JSON to", f"{self.doc.name}.tree.json"), done)

    def action_extract(self) -> None:
        try:
            from jpegai_fmt.extract import extract
        except ImportError:
            self.notify("extraction is not available (jpegai_fmt.extract is not installed)", severity="error")
            return
        sel = self.selection
        stem, ext = os.path.splitext(self.doc.name)

        def done(path: str | None) -> None:
            if path:
                self._write(path, lambda: extract(self.doc.data, luma_channels=sel.luma,
                                                  chroma_channels=sel.chroma)[0], "extract")
        self.push_screen(PromptScreen(f"Extract {sel.describe()} to",
                                      f"{stem}.l{sel.luma}c{sel.chroma}{ext or '.jaic'}"), done)

    def _write(self, path: str, make, what: str) -> None:
        """Build the bytes, then write them atomically; any failure is a message, not a crash."""
        try:
            data = make()
            write_file(path, data)
        except JpegAiError as err:
            self.notify(f"{what} failed: {err.describe()}", severity="error")
        except OSError as err:
            self.notify(f"cannot write {path}: {err.strerror}", severity="error")
        else:
            self.notify(f"wrote {len(data)} bytes to {path}")

    def action_decode(self) -> None:
        self.action_tab("4")
        self.query_one(PreviewPane).request()

    async def action_graphics(self) -> None:
        """Next picture mode. Kitty/Sixel need textual-image, loaded before the app started
        when stdout is a terminal (it queries the terminal as it loads)."""
        preview = self.query_one(PreviewPane)
        mode = MODES[(MODES.index(preview.graphics) + 1) % len(MODES)]
        if mode != "halfblock" and not (can_load_graphics_now() and graphics_widgets()):
            self.notify("Kitty/Sixel need textual-image, loaded at start: run with --graphics auto, kitty or sixel",
                        severity="warning")
            mode = "halfblock"
        await preview.set_graphics(mode, "forced")
        if self.query_one(TabbedContent).active != "preview-tab":
            self.notify(f"picture mode: {mode}", timeout=1.5)

    def action_channels(self, component: str, direction: int) -> None:
        self.selection.step(component, direction * CHANNEL_STEP)
        preview = self.query_one(PreviewPane)
        if preview.requested:
            preview.request()
        else:
            preview.info.update(f"{self.selection.describe()}: press d to decode")
        if self.query_one(TabbedContent).active != "preview-tab":
            self.notify(self.selection.describe(), timeout=1.5)


def has_terminal() -> bool:
    """Keys come from stdin and the screen goes to stdout: without a terminal on both the app would wait
    forever for input that never comes."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jpegai-inspect",
                                     description="Browse a JPEG AI file (container or raw codestream).")
    parser.add_argument("file", help="a .jai file or a raw codestream")
    parser.add_argument("--graphics", choices=GRAPHICS, default="auto",
                        help="how the preview draws the picture: Kitty graphics or Sixel where the terminal "
                             "has them (auto, the default), or forced; halfblock works everywhere")
    parser.add_argument("--compare", metavar="B", help="a second file: a tab lists where it differs from FILE "
                                                          "(as `jpegai-fmt diff FILE B`), Enter jumps there")
    parser.add_argument("--entropy", action="store_true",
                        help="the background validator also entropy-decodes the payloads, for the rules only "
                             "decoding finds (SOQ-003, THR-004)")
    args = parser.parse_args(argv)
    docs = []
    for path in filter(None, (args.file, args.compare)):
        try:
            docs.append(Document.open(path))
        except OSError as err:
            print(f"jpegai-inspect: cannot read {path}: {err.strerror}", file=sys.stderr)
            return 2
    doc, compare = docs[0], (docs[1] if len(docs) > 1 else None)
    if not has_terminal():
        print("jpegai-inspect: needs a terminal on stdin and stdout (it is interactive); for a text or JSON "
              f"view use `jpegai-fmt dump {args.file}` or `jpegai-fmt info --json {args.file}`", file=sys.stderr)
        return 2
    mode, note = resolve_graphics(args.graphics)  # before Textual owns the terminal
    InspectorApp(doc, graphics=mode, graphics_note=note, entropy=args.entropy, compare=compare).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
