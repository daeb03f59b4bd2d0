"""Field edits on a parsed stream, written back through `build`: how a conformance tester makes the stream a
rule is about (a model_id no profile allows, a missing TON, a thread count the payload does not have)
without writing an encoder. The writer recomputes what depends on the edit (segment sizes, thread and region
prefixes), so the result differs from the input in the edited elements and in those alone; whatever the edit
breaks is left for the validator to report, not refused.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import BuildError
from .tree import Node


@dataclass
class EditReport:
    """What `edit` did: the edits as applied (path, old, new), the fields the writer then recomputed over
    an edit, and notes (what a rewritten .jai file does not carry over)."""

    changed: list[dict] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recomputed: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def edit(source, *, set_values: dict[str, Any] | None = None, remove: Iterable[str] = (),
         syntax: str = "auto", lenient: bool = False) -> tuple[bytes, EditReport]:
    """The stream (path or bytes; raw codestream or .jai file) with fields set and elements removed, re-built.

    Paths are those of `dump` (a repeated name as name#2), relative to the codestream; in a .jai file the
    full path through the item (mdat/item[1]/PIH/...) is accepted too, box fields are not (the container
    writer owns them). A value may be given as text (`jpegai-fmt edit --set`), converted to the field's type:
    integers in any base Python reads (0x1F), lists as JSON, bytes as hex. Raises BuildError, naming the path,
    when a path does not exist or a value cannot be written."""
    from .api import build, load, parse
    from .compare import codestream_root
    data, _ = load(source)
    tree = parse(data, syntax=syntax, lenient=lenient)
    item = codestream_root(tree)
    report = EditReport()
    requested = {}
    for path, value in (set_values or {}).items():
        node = _find(tree, item, path)
        if node.value is None or node.children:
            raise BuildError(f"{path} is a {node.kind}, not a field with a value: edit its fields, or remove it",
                             path=path)
        new = _typed(value, node.value, path)
        report.changed.append({"path": _rel(item, node), "old": node.value, "new": new})
        requested[_rel(item, node)] = new
        node.value = new
    for path in remove:
        node = _find(tree, item, path)
        report.removed.append(_rel(item, node))
        node.parent.children.remove(node)
    out = build(item)
    again = parse(out, lenient=True)
    for path, value in requested.items():
        now = again.get(path)
        if now is not None and now.value != value:
            report.recomputed.append({"path": path, "requested": value, "written": now.value})
    if item is not tree:
        from .container.writer import rewrap
        out, report.notes = rewrap(data, out)
    return out, report


def _rel(item: Node, node: Node) -> str:
    """A node's path relative to the codestream (its key among its siblings, so name#2 stays name#2)."""
    parts = []
    while node is not item:
        parent = node.parent
        parts.append(next(k for k, c in parent.keyed_children().items() if c is node))
        node = parent
    return "/".join(reversed(parts))


def _find(tree: Node, item: Node, path: str) -> Node:
    path = path.strip("/")
    node = item.get(path)
    if node is None and item is not tree and item.path and path.startswith(item.path + "/"):
        node = item.get(path[len(item.path) + 1:])
    if node is not None:
        return node
    if item is not tree and tree.get(path) is not None:
        raise BuildError(f"{path} is a box field: the container writer sets those; edit the codestream's "
                         f"elements (paths under {item.path}/, or relative to the codestream)", path=path)
    close = difflib.get_close_matches(path, list(_paths(item)), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else " (`jpegai-fmt dump` lists the paths)"
    raise BuildError(f"no element {path} in this stream{hint}", path=path)


def _paths(node: Node, prefix: str = "") -> Iterable[str]:
    for key, child in node.keyed_children().items():
        path = f"{prefix}/{key}" if prefix else key
        yield path
        yield from _paths(child, path)


def _typed(value: Any, old: Any, path: str) -> Any:
    """`value` as the type of the field's current value; text is parsed, a typed value checked."""
    kind = type(old)
    if not isinstance(value, str) or kind is str:
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        if kind is not str:
            raise BuildError(f"{path} holds {kind.__name__} values, not {type(value).__name__}", path=path)
        raise BuildError(f"{path} holds text, not {type(value).__name__}", path=path)
    try:
        if kind is int:
            return int(value, 0)
        if kind is list:
            parsed = json.loads(value)
            if not isinstance(parsed, list):
                raise ValueError("not a JSON list")
            return parsed
        if kind in (bytes, bytearray):
            return bytes.fromhex(value)
    except ValueError as err:
        raise BuildError(f"{path}: cannot read {value!r} as {kind.__name__} ({err})", path=path) from None
    raise BuildError(f"{path} holds {kind.__name__} values, which cannot be set from text", path=path)
