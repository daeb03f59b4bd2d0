"""Reading a whole `.jai` file into one tree: boxes, BOX- rules, the nested codestream.

Sniffing (container.md §4) and validation of any input are the package's `sniff` and
`validate` (jpegai_fmt.api); `parse` hands every ISOBMFF file to `parse_file`, where
whether it is JPEG AI at all (brand `jaii`, a `jai0` primary item) is BOX-002.
"""
from __future__ import annotations

from ..errors import ParseError
from ..tree import Node
from .codestream_link import read_item
from .reader import fill_gaps, locate_primary, nest_codestream, place_item, read_model
from .rules import check_codestream, check_structure
from .tables import LAYOUT


def parse_file(data: bytes, *, syntax: str = "auto", lenient: bool = False, entropy: bool = False) -> Node:
    """The tree of a HEIF-based JPEG AI file: file → boxes → fields, with the primary
    item's codestream tree nested under its item node (absolute file positions) and
    every BOX- and codestream finding attached (`entropy`: the decoding rules too)."""
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
        tree, facts, error = read_item(item_data.data, syntax=syntax, lenient=lenient, entropy=entropy)
        nest_codestream(node, tree, item_data.ranges)
        check_codestream(model, node, item_data.data, facts, None if error is None else error.describe())
    for other in model.item_order:
        if other is not item and model.items.get(other.id) is other and other.type != LAYOUT["item_type"]:
            d = model.item_data(other.id)
            if d.ranges and d.data:
                place_item(model, other, d)
    fill_gaps(model)
    root.source = data                      # what `build` copies opaque bytes from
    return root
