"""Syntax tree pane: Textual tree nodes are made only when their parent is expanded, so a
file with thousands of threads and regions opens as fast as a small one."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from jpegai_fmt.tree import Node

KIND_STYLE = {"file": "bold", "box": "bold cyan", "segment": "bold green", "header": "green",
              "group": "yellow", "payload": "magenta", "field": "", "error": "bold red"}
VALUE_WIDTH = 28


def short_value(value, width: int = VALUE_WIDTH) -> str:
    if isinstance(value, (bytes, bytearray)):
        text = value[:16].hex(" ") + (" …" if len(value) > 16 else "")
    else:
        text = str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def human_size(n_bytes: int) -> str:
    if n_bytes < 10_000:
        return f"{n_bytes} B"
    if n_bytes < 10_000_000:
        return f"{n_bytes / 1024:.1f} KiB"
    return f"{n_bytes / 1048576:.1f} MiB"


def label(node: Node) -> Text:
    text = Text(node.name, KIND_STYLE.get(node.kind, ""))
    if node.kind == "field" and node.value is not None:
        text.append(" = ")
        text.append(short_value(node.value), "cyan")
    elif node.kind == "error":
        text.append(" " + short_value(node.value, 40), "red")
    elif node.kind in ("segment", "box", "group", "payload", "file"):
        text.append(f"  {human_size(node.bit_length // 8)}", "dim")
    if node.findings:
        severities = {f.severity for f in node.findings}
        style = "bold red" if "E" in severities else "bold yellow" if "W" in severities else "bold blue"
        text.append(f" !{len(node.findings)}", style)
    return text


class SyntaxTree(Tree[Node]):
    """The parser's tree, expanded lazily; `reveal(node)` opens the path down to any node."""

    def __init__(self, root: Node, **kwargs) -> None:
        super().__init__(label(root), data=root, **kwargs)
        self._made: dict[int, TreeNode[Node]] = {id(root): self.root}
        self._filled: set[int] = set()
        self._fill(self.root)
        self.root.expand()

    def _fill(self, tnode: TreeNode[Node]) -> None:
        node = tnode.data
        if node is None or id(node) in self._filled:
            return
        self._filled.add(id(node))
        for child in node.children:
            made = tnode.add(label(child), data=child, allow_expand=bool(child.children))
            self._made[id(child)] = made

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        self._fill(event.node)

    def reveal(self, node: Node) -> None:
        """Expand every ancestor, then put the cursor on `node` (which highlights it)."""
        chain = []
        walk: Node | None = node
        while walk is not None and id(walk) not in self._made:
            chain.append(walk)
            walk = walk.parent
        if walk is None:
            return
        tnode = self._made[id(walk)]
        for step in reversed(chain):
            self._fill(tnode)
            tnode.expand()
            tnode = self._made[id(step)]
        parent = tnode.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        # the expanded rows get their line numbers at the next refresh: move the cursor then
        self.call_after_refresh(self._place_cursor, tnode)

    def _place_cursor(self, tnode: TreeNode[Node]) -> None:
        self.move_cursor(tnode)
        # the scroll range grows with the new rows only after this refresh: scroll after it
        self.call_after_refresh(self.scroll_to_node, tnode, False)
