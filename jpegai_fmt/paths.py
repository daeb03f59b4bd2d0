"""Paths into the one tree, as the commands take them: `dump`, `diff` and `edit` name elements the same way,
relative to the codestream, also inside a .jai file."""
from __future__ import annotations

import difflib
from typing import Iterator

from .errors import PathError
from .tree import Node


def codestream_item(root: Node) -> Node | None:
    """The item node of a `.jai` tree that holds the primary codestream (its segments hang under it)."""
    from .container.tables import LAYOUT
    return next((n for n in root.walk() if n.name.startswith("item[") and n.value == LAYOUT["item_type"]
                 and n.children), None)


def codestream_root(root: Node) -> Node:
    """The node whose children are the codestream's segments: the root of a raw codestream's tree, the
    primary codestream item of a .jai file's tree (the root itself where the file holds none)."""
    if root.name != "file":
        return root
    return codestream_item(root) or root


def locate(tree: Node, path: str, boxes: bool = True) -> Node:
    """The node at `path` in a parse result: relative to the codestream, or (in a .jai file) through the item
    (mdat/item[1]/PIH/...) or, where `boxes`, to a box. Raises PathError naming the closest paths."""
    path = path.strip("/")
    item = codestream_root(tree)
    node = item.get(path)
    if node is None and item is not tree and path.startswith(item.path + "/"):
        node = item.get(path[len(item.path) + 1:])
    if node is None and item is not tree and tree.get(path) is not None:
        if boxes:
            return tree.get(path)
        raise PathError(f"a box element: the container writer sets those; edit the codestream's elements "
                        f"(paths under {item.path}/, or relative to the codestream)", path=path)
    if node is not None:
        return node
    known = list(all_paths(item)) + (list(all_paths(tree)) if boxes and item is not tree else [])
    close = difflib.get_close_matches(path, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `jpegai-fmt dump` lists the paths"
    raise PathError(f"no such element in this stream{hint}", path=path)


def relative_path(item: Node, node: Node) -> str:
    """A node's path below `item`, by keys (so a repeated name stays name#2)."""
    parts = []
    while node is not item:
        parent = node.parent
        parts.append(next(k for k, c in parent.keyed_children().items() if c is node))
        node = parent
    return "/".join(reversed(parts))


def all_paths(node: Node, prefix: str = "") -> Iterator[str]:
    for key, child in node.keyed_children().items():
        path = f"{prefix}/{key}" if prefix else key
        yield path
        yield from all_paths(child, path)
