"""The public entry points: parse, build and validate codestreams and .jai files.

`parse` sniffs by content (codestream.md §2 magic, container.md §4) and returns the one
tree model; `build` re-serialises a codestream tree from its field values with the
layer's builders, so every size, prefix and padding is recomputed; `validate` returns
findings under the strict or lenient policy (docs/validation.md).
"""
from __future__ import annotations

import os
import re
from typing import Any

from .codestream import Codestream, build_codestream, parse_codestream
from .errors import BuildError, JpegAiError, ParseError
from .layout import build_dependent_residual, build_independent_residual, build_memory
from .markers import BARE, MAGIC, Marker
from .paths import codestream_item
from .pih import PictureHeader, build_pih, parse_pih
from .rdi import build_rdi
from .rules import apply_policy, check_codestream
from .segments import frame_segment
from .ton import build_ton
from .tree import Finding, Node

SYNTAX_CHOICES = ("auto", "is", "dis")
FRAMING = frozenset({"marker", "substream_size", "alignment"})
# Array elements whose tree label differs from the schema's list name.
LIST_NAMES = {"cube_group": "cube_groups"}
_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")


def load(source) -> tuple[bytes, str | None]:
    """Bytes of `source` (bytes-like, a binary file object, or a path to read) and the path, if any."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    if hasattr(source, "read"):
        try:
            data = source.read()
        except UnicodeDecodeError:          # a text-mode file holding binary data
            data = None
        if not isinstance(data, (bytes, bytearray)):
            raise JpegAiError("the file object gives text: open it in binary mode ('rb')")
        name = getattr(source, "name", None)
        return bytes(data), name if isinstance(name, str) else None
    try:
        path = os.fspath(source)
    except TypeError:
        raise JpegAiError(f"expected bytes, a path or a binary file object, got {type(source).__name__}") from None
    try:
        with open(path, "rb") as fh:
            return fh.read(), path
    except OSError as err:
        raise JpegAiError(f"cannot read {path}: {err.strerror or err}") from None


def sniff(data: bytes) -> str | None:
    """'codestream' (FF 80 FF 82, or SOC followed by something else: then STR-001 is
    reported rather than refusing the input), 'container' ('ftyp' at bytes 4-7) or None."""
    if data[:2] == MAGIC[:2]:
        return "codestream"
    if data[4:8] == b"ftyp":
        return "container"
    return None


def _syntax(syntax: str) -> str:
    s = str(syntax).lower()
    if s not in SYNTAX_CHOICES:
        raise ParseError(f"unknown PIH syntax {syntax!r}; expected one of {', '.join(SYNTAX_CHOICES)}")
    return s


def _not_jpegai(data: bytes) -> ParseError:
    if not data:
        return ParseError("not a JPEG AI file: the input is empty", byte_offset=0)
    return ParseError(f"not a JPEG AI file: starts with {data[:8].hex(' ').upper()}, neither a codestream "
                      "(FF 80 FF 82) nor an ISOBMFF file ('ftyp' box)", byte_offset=0)


def read_codestream(source, *, syntax: str = "auto", lenient: bool = False, entropy: bool = False) -> Codestream:
    """A raw codestream as a `Codestream` (segments, headers, layouts, tree with findings).

    Strict (default): the first error that stops parsing is raised. Lenient: such errors
    become findings, and what the reference decoder tolerates is reported as a warning.
    """
    data, _ = load(source)
    if data[:2] != MAGIC[:2]:
        raise ParseError(f"not a codestream: starts with {data[:4].hex(' ').upper() or 'nothing'}, "
                         "not FF 80 FF 82", byte_offset=0, rule="STR-001")
    cs = parse_codestream(data, syntax=_syntax(syntax), tolerant=lenient)
    check_codestream(cs, entropy=entropy)
    apply_policy(cs.node, lenient)
    cs.node.source = data
    return cs


write_codestream = build_codestream


def parse(source, *, syntax: str = "auto", lenient: bool = False) -> Node:
    """The tree of a codestream or .jai file (path or bytes), findings attached.

    `syntax` picks the PIH syntax ('auto' = IS unless only DIS reads cleanly; the PIH
    node's value says which). Strict mode raises the first error that stops parsing a
    raw codestream; lenient mode keeps going and records it.
    """
    data, _ = load(source)
    kind = sniff(data)
    if kind == "codestream":
        return read_codestream(data, syntax=syntax, lenient=lenient).node
    if kind == "container":
        from .container import parse_file
        root = parse_file(data, syntax=_syntax(syntax), lenient=lenient)
        apply_policy(root, lenient)
        return root
    raise _not_jpegai(data)


def validate(source, *, syntax: str = "auto", lenient: bool = False, entropy: bool = False) -> list[Finding]:
    """Findings for a path, bytes or tree; never raises on a damaged stream (its
    stopping error becomes a finding), only on input that is not JPEG AI at all.

    A tree is validated as it would be written: `build(tree)` is parsed afresh, so
    edits are taken into account. A tree that cannot be written keeps the findings of its
    parse, plus an error at the field that stops the writer. For a `.jai` tree the boxes'
    findings are those of the parse and the codestream item is validated as edited.
    """
    if isinstance(source, Node):
        item = codestream_item(source) if source.name == "file" else None
        try:
            data = build(item if item is not None else source)
        except JpegAiError as err:           # point at the edited field, where the tree still has it
            top = item if item is not None else source
            at = (top.get(err.path) if err.path else None) or top
            return source.all_findings() + [Finding(err.rule or "", "E", f"the tree cannot be written: "
                                                    f"{err.message}", at.path, at.bit_offset >> 3, at.bit_offset)]
        findings = validate(data, syntax=syntax, lenient=lenient, entropy=entropy)
        if item is None:
            return findings
        boxes = [f for f in source.all_findings()
                 if not f.path.startswith(item.path) or f.rule.startswith("BOX-")]
        base = item.bit_offset           # the item's first byte (our files keep the codestream in one extent)
        return boxes + [Finding(f.rule, f.severity, f.message, f"{item.path}/{f.path}".rstrip("/"),
                                None if f.bit_offset is None else (base + f.bit_offset) >> 3,
                                None if f.bit_offset is None else base + f.bit_offset) for f in findings]
    data, path = load(source)
    kind = sniff(data)
    if kind == "codestream":
        findings = read_codestream(data, syntax=syntax, lenient=True, entropy=entropy).findings() \
            if lenient else _strict_findings(data, syntax, entropy)
    elif kind == "container":
        from .container import parse_file
        root = parse_file(data, syntax=_syntax(syntax), lenient=lenient, entropy=entropy)
        apply_policy(root, lenient)
        findings = root.all_findings()
    else:
        raise _not_jpegai(data)
    if path is not None:
        from .container.rules import extension_finding
        ext = extension_finding(path, kind)
        if ext is not None:
            findings.append(ext)
    return findings


def _strict_findings(data: bytes, syntax: str, entropy: bool) -> list[Finding]:
    """Strict severities, but read tolerantly so every finding is reported."""
    cs = parse_codestream(data, syntax=_syntax(syntax), tolerant=True)
    return check_codestream(cs, entropy=entropy)


# -- build ----------------------------------------------------------------------

def build(tree: Node) -> bytes:
    """The codestream a tree describes, re-serialised from its field values.

    Header fields are written with the schemas (sizes, padding and substream_size
    recomputed); thread and region prefixes are recomputed from the thread ranges;
    opaque bytes (thread data, UDI) are copied from the parsed source. `tree` is the
    root returned by `parse` for a codestream, or the item node that holds the
    codestream inside a .jai tree (then wrap the result with `jpegai_fmt.container.wrap`).
    """
    segments = [c for c in tree.children if c.kind == "segment"]
    if not segments:
        raise BuildError(f"'{tree.name}' holds no codestream segments; build() writes codestreams "
                         "(for a .jai file, build its item node and wrap the result)", path=tree.path)
    source = _source(tree)
    state: dict[str, Any] = {}
    return b"".join(_segment(node, source, state) for node in segments)


def _source(node: Node) -> bytes:
    root = node
    while root.parent is not None:
        root = root.parent
    if root.source is None:
        raise BuildError("the tree carries no source bytes (build trees returned by jpegai_fmt.parse)")
    return root.source


def _bytes(node: Node, source: bytes) -> bytes:
    return source[node.bit_offset >> 3:(node.bit_offset + node.bit_length) >> 3]


def _raw_payload(node: Node, source: bytes) -> bytes:
    size = node.child("substream_size")
    start = (size.bit_offset + size.bit_length + 7) >> 3
    return source[start:start + size.value]


def _segment(node: Node, source: bytes, state: dict) -> bytes:
    try:
        marker = Marker[_INDEXED.sub(r"\1", node.name)]
    except KeyError:
        raise BuildError(f"segment '{node.name}' names no marker", path=node.path) from None
    if marker in BARE:
        return frame_segment(marker)
    content = [c for c in node.children if c.name not in FRAMING]
    if not content or any(c.kind == "error" for c in content):
        return frame_segment(marker, _raw_payload(node, source))  # not parsed: copied as it was
    try:
        payload = _payload(marker, node, content, source, state)
    except BuildError as err:
        raise BuildError(err.message, path=err.path or node.path) from None
    return frame_segment(marker, payload)


def _payload(marker: Marker, node: Node, content: list[Node], source: bytes, state: dict) -> bytes:
    if marker == Marker.PIH:
        syntax = node.value.lower() if isinstance(node.value, str) and node.value.lower() in ("is", "dis") else "is"
        payload = build_pih(values(node), syntax)
        state.setdefault("pih", parse_pih(payload, syntax=syntax))
        return payload
    if marker == Marker.TON:
        pih: PictureHeader | None = state.get("pih")
        if pih is None:
            raise BuildError("TON comes before any PIH; its layout depends on the PIH")
        return build_ton(values(node), pih)
    if marker == Marker.RDI:
        return build_rdi(values(node))
    if marker == Marker.UDI:
        return _bytes(content[0], source)
    if marker in (Marker.SOZ, Marker.SOQ):
        return _memory(node, source)
    regions = [c for c in content if c.name.startswith("region[")]
    index = node.child("region_index")
    if index is not None:
        return build_independent_residual(index.value, _memory(regions[0], source))
    return build_dependent_residual([_memory(r, source) for r in regions])


def _memory(node: Node, source: bytes) -> bytes:
    return build_memory([_bytes(t, source) for t in node.children if t.name.startswith("thread[")])


def values(node: Node) -> dict[str, Any]:
    """Field values below a header segment or group node, shaped as the schemas take
    them: `name[i]` groups become lists, groups dicts, fields their values."""
    out: dict[str, Any] = {}
    for child in node.children:
        if child.name in FRAMING or child.kind == "error":
            continue
        value = values(child) if child.kind == "group" else child.value
        m = _INDEXED.match(child.name)
        if m:
            out.setdefault(LIST_NAMES.get(m.group(1), m.group(1)), []).append(value)
        else:
            out[child.name] = value
    return out
