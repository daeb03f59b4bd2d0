"""Entry points on whole files: sniffing (container.md §4), parse into one tree, validation."""
from __future__ import annotations

import os

from ..errors import JpegAiError, ParseError
from ..markers import MAGIC
from ..tree import Finding, Node
from .codestream_link import read_item
from .reader import fill_gaps, locate_primary, nest_codestream, place_item, read_model
from .rules import check_codestream, check_structure, extension_finding
from .tables import LAYOUT


def sniff(data: bytes) -> str | None:
    """'codestream' (FF 80 FF 82), 'container' (an ISOBMFF file: 'ftyp' at bytes 4-7) or None.

    Whether an ISOBMFF file is JPEG AI (brand `jaii` or a `jai0` primary item) is
    decided by the reader and reported as BOX-002.
    """
    if data[:4] == MAGIC:
        return "codestream"
    if data[4:8] == b"ftyp":
        return "container"
    return None


def parse_file(data: bytes, *, syntax: str = "IS", lenient: bool = False) -> Node:
    """The tree of a HEIF-based JPEG AI file: file → boxes → fields, with the primary
    item's codestream tree nested under its item node (absolute file positions) and
    every BOX- and codestream finding attached."""
    data = bytes(data)
    model = read_model(data)
    check_structure(model)
    root = model.root
    try:
        item, item_data = locate_primary(model)
    except ParseError:
        item = None
    if item is not None:
        node = place_item(model, item, item_data)
        tree, facts, error = read_item(item_data.data, syntax=syntax)
        nest_codestream(node, tree, item_data.ranges)
        check_codestream(model, node, item_data.data, facts, None if error is None else error.describe())
    for other in model.item_order:
        if other is not item and model.items.get(other.id) is other and other.type != LAYOUT["item_type"]:
            d = model.item_data(other.id)
            if d.ranges and d.data:
                place_item(model, other, d)
    fill_gaps(model)
    return root


def _read_source(source) -> tuple[bytes, str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    path = os.fspath(source)
    try:
        with open(path, "rb") as fh:
            return fh.read(), path
    except OSError as err:
        raise JpegAiError(f"cannot read {path}: {err.strerror}") from None


def validate_file(source, *, syntax: str = "IS", lenient: bool = False) -> list[Finding]:
    """Container and codestream findings of a file (path or bytes), raw codestreams included;
    with a path, the extension is checked against the content (BOX-020)."""
    data, path = _read_source(source)
    kind = sniff(data)
    if kind is None:
        raise ParseError("not a JPEG AI file: neither a codestream (FF 80 FF 82) nor an ISOBMFF file "
                         "('ftyp' box)", byte_offset=0)
    if kind == "container":
        findings = parse_file(data, syntax=syntax, lenient=lenient).all_findings()
    else:
        from .. import validate
        findings = list(validate(data, syntax=syntax, lenient=lenient))
    if path is not None:
        ext = extension_finding(path, kind)
        if ext is not None:
            findings.append(ext)
    return findings
