"""Terminal output for the syntax commands: rich on a terminal, plain text when piped.

Commands describe their output as blocks (key/value sections, tables, a tree) and
findings; this module draws them. `rich` is imported only for a terminal.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from .tree import Finding, Node

SEVERITY = {"E": "error", "W": "warning", "I": "info"}
STYLE = {"E": "bold red", "W": "yellow", "I": "cyan"}


@dataclass
class Block:
    """A titled section: key/value rows, or a table when `headers` is given."""

    title: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    headers: tuple[str, ...] | None = None


def rich_output(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def _console():
    from rich.console import Console
    return Console(highlight=False)


def print_blocks(blocks: list[Block]) -> None:
    if rich_output():
        _rich_blocks(blocks)
        return
    for block in blocks:
        print(block.title)
        if block.headers:
            widths = [max(len(str(r[i])) for r in [block.headers, *block.rows]) for i in range(len(block.headers))]
            for row in [block.headers, *block.rows]:
                print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
        else:
            width = max((len(str(r[0])) for r in block.rows), default=0)
            for key, value in block.rows:
                print(f"  {str(key).ljust(width)}  {value}")


def _rich_blocks(blocks: list[Block]) -> None:
    from rich.table import Table
    console = _console()
    for block in blocks:
        if block.headers:
            table = Table(title=block.title, title_justify="left", title_style="bold")
            for h in block.headers:
                table.add_column(h, justify="right" if h in ("offset", "bytes", "size", "bits") else "left")
        else:
            table = Table(title=block.title, title_justify="left", title_style="bold", show_header=False,
                          box=None, padding=(0, 2))
            table.add_column(style="dim")
            table.add_column()
        for row in block.rows:
            table.add_row(*(str(v) for v in row))
        console.print(table)


def finding_line(f: Finding, prefix: str = "") -> str:
    where = []
    if f.byte_offset is not None:
        where.append(f"byte {f.byte_offset}")
    if f.bit_offset is not None and f.bit_offset != 8 * (f.byte_offset or 0):
        where.append(f"bit {f.bit_offset}")
    loc = f" at {', '.join(where)}" if where else ""
    path = f" {f.path}" if f.path else ""
    return f"{prefix}{SEVERITY.get(f.severity, f.severity)} {f.rule}{loc}{path}: {f.message}"


def print_findings(findings: list[Finding], prefix: str = "") -> None:
    if rich_output():
        from rich.text import Text
        console = _console()
        for f in findings:
            console.print(Text(finding_line(f, prefix), style=STYLE.get(f.severity, "")))
    else:
        for f in findings:
            print(finding_line(f, prefix))


def value_text(value: Any, limit: int = 48) -> str:
    if isinstance(value, (bytes, bytearray)):
        text = value.hex()
    elif isinstance(value, list):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def node_label(node: Node) -> str:
    value = "" if node.value is None else f" = {value_text(node.value)}"
    marks = "".join(f" [{f.severity} {f.rule}]" for f in node.findings)
    return f"{node.name}{value}{marks}"


def print_tree(root: Node) -> None:
    """Every node with its bit offset and width, indented by depth."""
    if rich_output():
        from rich.tree import Tree

        def grow(tree: Tree, node: Node) -> None:
            for child in node.children:
                style = "bold" if child.kind in ("segment", "box") else ""
                if child.findings:
                    style = STYLE[max((f.severity for f in child.findings), key="IWE".index)]
                sub = tree.add(f"[dim]{child.bit_offset}+{child.bit_length}[/dim] "
                               f"[{style}]{_escape(node_label(child))}[/{style}]" if style else
                               f"[dim]{child.bit_offset}+{child.bit_length}[/dim] {_escape(node_label(child))}")
                grow(sub, child)
        top = Tree(f"[bold]{_escape(node_label(root))}[/bold] [dim]{root.bit_offset}+{root.bit_length}[/dim]")
        grow(top, root)
        _console().print(top)
        return
    print(f"{'bit_offset':>12} {'bits':>10}  name = value")
    out = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        out.append(f"{node.bit_offset:>12} {node.bit_length:>10}  {'  ' * depth}{node_label(node)}")
        stack.extend((c, depth + 1) for c in reversed(node.children))
    print("\n".join(out))


def _escape(text: str) -> str:
    from rich.markup import escape
    return escape(text)


def keyed(node: Node) -> dict:
    """JSON form of a subtree: children keyed by their syntax element names (a repeated
    name gets '#2', '#3'... appended)."""
    d: dict[str, Any] = {"kind": node.kind, "bit_offset": node.bit_offset, "bit_length": node.bit_length}
    if node.value is not None:
        d["value"] = node.value.hex() if isinstance(node.value, (bytes, bytearray)) else node.value
    if node.findings:
        d["findings"] = [f.to_dict() for f in node.findings]
    if node.children:
        d["children"] = {key: keyed(child) for key, child in node.keyed_children().items()}
    return d


def json_default(value: Any) -> str:
    """How the JSON views write what JSON lacks: bytes as hex, anything else as its str."""
    return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=1, default=json_default)
    sys.stdout.write("\n")
