"""Statistics pane: where the bytes go — per segment (and top-level box), per region and
per thread — drawn as bars scaled to the largest entry of each section."""
from __future__ import annotations

import re
from collections import defaultdict

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from jpegai_fmt.errors import JpegAiError
from jpegai_fmt.tree import Node
from jpegai_fmt.udi_record import parse_record

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


def channel_rows(root: Node, data: bytes) -> list[tuple[str, int]] | None:
    """Bytes per channel group, from the jpegai-fmt channel index in UDI (None without one):
    the index gives the bytes kept for each listed channel prefix, so groups are differences."""
    udi = next((n for n in root.walk() if n.name == "user_data" and n.parent.name.startswith("UDI")), None)
    if udi is None:
        return None
    try:
        record = parse_record(data[udi.byte_offset:udi.byte_end])
    except JpegAiError:
        return None
    if record is None:
        return None
    rows = []
    for c, label in ((0, "luma"), (1, "chroma")):
        tables = [t for t in record.index.regions if t.component == c]
        if not tables:
            continue
        total = sum(sum(t.sizes) for t in tables)
        kept = [(0, 0)]
        for count in sorted({m for t in tables for m, _ in t.cuts}):
            drops = [t.drops(count) for t in tables]
            if None not in drops:
                kept.append((count, total - sum(sum(d) for d in drops)))
        kept.append((record.index.num_chs[c], total))
        rows += [(f"{label} ch {a}-{b - 1}", nb - na) for (a, na), (b, nb) in zip(kept, kept[1:]) if b > a]
    return rows


def sections(root: Node, data: bytes = b"") -> list[tuple[str, list[tuple[str, int]]]]:
    """(title, [(label, bytes)]) for each statistic the tree (and a channel index) can give."""
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
    channels = channel_rows(root, data)
    if channels:
        out.append(("bytes per channel group (UDI channel index)", channels))
    return out


def bar(fraction: float, width: int) -> str:
    cells = max(0.0, min(1.0, fraction)) * width
    full = int(cells)
    part = EIGHTHS[int((cells - full) * 8)] if full < width else ""
    return ("█" * full + part).ljust(width)


def render_sections(root: Node, data: bytes, width: int) -> Text:
    text = Text()
    found = sections(root, data)
    for title, rows in found:
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
    if not found[-1][0].startswith("bytes per channel"):
        text.append("bytes per channel: the stream carries no jpegai-fmt channel index\n", "dim")
    text.rstrip()
    return text


class StatsPane(VerticalScroll):
    """Recomputed on resize so the bars always fill the pane's width."""

    def __init__(self, root: Node, data: bytes, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tree_root = root
        self.data = data

    def compose(self):
        yield Static(id="stats-body")

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width or 60
        self.query_one("#stats-body", Static).update(render_sections(self.tree_root, self.data, width))
