"""Statistics pane: where the bytes go — per segment (and top-level box), per region and
per thread — drawn as bars scaled to the largest entry of each section."""
from __future__ import annotations

import re
from collections import defaultdict

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from jpegai_fmt.tree import Node

from .tree_pane import human_size

EIGHTHS = " ▏▎▍▌▋▊▉"
_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")


def segments(root: Node) -> list[Node]:
    """Codestream segments in file order, wherever the codestream sits in the tree."""
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.kind == "segment":
            found.append(node)
        else:
            stack.extend(reversed(node.children))
    return found


def _index(name: str) -> tuple[str, int] | None:
    m = _INDEXED.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def sections(root: Node) -> list[tuple[str, list[tuple[str, int]]]]:
    """(title, [(label, bytes)]) for each statistic the tree can give."""
    out = []
    if root.kind == "file" and any(c.kind == "box" for c in root.children):
        out.append(("bytes per top-level box", [(c.name, c.bit_length // 8) for c in root.children]))
    segs = segments(root)
    out.append(("bytes per segment", [(s.name, s.bit_length // 8) for s in segs]))
    regions: dict[int, int] = defaultdict(int)
    threads: dict[tuple[str, int], int] = defaultdict(int)
    for seg in segs:
        marker = _index(seg.name)[0] if _index(seg.name) else seg.name
        for child in seg.children:
            named = _index(child.name)
            if named and named[0] == "region":
                regions[named[1]] += child.bit_length // 8
                parts = child.children
            elif named and named[0] == "thread":
                parts = [child]
            else:
                continue
            for part in parts:
                t = _index(part.name)
                if t and t[0] == "thread":
                    threads[(marker, t[1])] += part.bit_length // 8
    if regions:
        out.append(("bytes per region (SORP + SORS)", [(f"region[{r}]", n) for r, n in sorted(regions.items())]))
    if threads:
        out.append(("bytes per thread (summed over regions)",
                    [(f"{m} thread[{t}]", n) for (m, t), n in sorted(threads.items())]))
    return out


def bar(fraction: float, width: int) -> str:
    cells = max(0.0, min(1.0, fraction)) * width
    full = int(cells)
    part = EIGHTHS[int((cells - full) * 8)] if full < width else ""
    return ("█" * full + part).ljust(width)


def render_sections(root: Node, width: int) -> Text:
    text = Text()
    for title, rows in sections(root):
        text.append(title + "\n", "bold underline")
        if not rows:
            text.append("  (none)\n", "dim")
            continue
        total = sum(n for _, n in rows) or 1
        top = max(n for _, n in rows) or 1
        name_w = min(18, max(len(name) for name, _ in rows))
        bar_w = max(4, width - name_w - 20)
        for name, n in rows:
            text.append(f"{name[:name_w]:<{name_w}} ")
            text.append(bar(n / top, bar_w), "green")
            text.append(f" {human_size(n):>9} {100 * n / total:5.1f}%\n")
    text.append("bytes per channel: not recorded in the stream (no channel index)\n", "dim")
    text.rstrip()
    return text


class StatsPane(VerticalScroll):
    """Recomputed on resize so the bars always fill the pane's width."""

    def __init__(self, root: Node, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tree_root = root

    def compose(self):
        yield Static(id="stats-body")

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width or 60
        self.query_one("#stats-body", Static).update(render_sections(self.tree_root, width))
