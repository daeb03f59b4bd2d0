"""Field edits on a parsed stream, written back through `build`: how a conformance tester makes the stream a
rule is about (a model_id no profile allows, a missing TON, a thread count the payload does not have)
without writing an encoder. The writer recomputes what depends on the edit (segment sizes, thread and region
prefixes), so the result differs from the input in the edited elements and in those alone; whatever the edit
breaks is left for the validator to report, not refused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import BuildError
from .paths import codestream_root, locate, relative_path


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
    integers in any base Python reads (0x1F), lists as JSON, bytes as hex. Raises PathError where a path names
    no element (or a box's), BuildError where a value cannot be written; both name the path."""
    from .api import build, load, parse
    data, _ = load(source)
    tree = parse(data, syntax=syntax, lenient=lenient)
    item = codestream_root(tree)
    report = EditReport()
    requested = {}
    for path, value in (set_values or {}).items():
        node = locate(tree, path, boxes=False)
        if node.value is None or node.children:
            raise BuildError(f"{path} is a {node.kind}, not a field with a value: edit its fields, or remove it",
                             path=path)
        new, where = _typed(value, node.value, path), relative_path(item, node)
        report.changed.append({"path": where, "old": node.value, "new": new})
        requested[where] = new
        node.value = new
    for path in remove:
        node = locate(tree, path, boxes=False)
        report.removed.append(relative_path(item, node))
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
