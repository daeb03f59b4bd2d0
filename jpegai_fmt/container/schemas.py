"""Declarative `construct` schemas of the box bodies of the project's HEIF layout (container.md §2).

A schema describes what follows the 8/16-byte box header; for a FullBox it starts
with `version` and `flags`. Container boxes (meta, iinf, iref, ...) have a schema for
the fields before their child boxes. Every leaf is wrapped in `Span`, which records
where it lay, so the reader can give each field node its absolute position.
"""
from __future__ import annotations

from construct import (Array, BitsInteger, BitStruct, Bytes, BytesInteger, Check, Computed, CString,
                       ExprAdapter, Flag, GreedyBytes, GreedyRange, If, IfThenElse, Int8ub,
                       Int16ub, Int24ub, Int32ub, Int64ub, Nibble, Optional, Struct, Subconstruct,
                       stream_tell, this)

from .tables import LIMITS


class Span(Subconstruct):
    """Passes its subcon through; while parsing, appends (start, end, subcon, value) to
    the `spans` list given as a parse keyword, in parse order."""

    def _parse(self, stream, context, path):
        start = stream_tell(stream, path)
        obj = self.subcon._parsereport(stream, context, path)
        spans = context._params.get("spans")
        if spans is not None:
            spans.append((start, stream_tell(stream, path), self.subcon, obj))
        return obj


def _fourcc_decode(obj, ctx):
    return obj.decode("latin-1")


def _fourcc_encode(obj, ctx):
    return obj.encode("latin-1")


FourCC = ExprAdapter(Bytes(4), _fourcc_decode, _fourcc_encode)
Utf8Z = CString("utf8")

BoxHeader = Struct(
    "size" / Span(Int32ub),
    "type" / Span(FourCC),
    "largesize" / If(this.size == 1, Span(Int64ub)),
)


def full_box(*subcons):
    """A FullBox body: version u8, flags u24, then `subcons`."""
    return Struct("version" / Span(Int8ub), "flags" / Span(Int24ub), *subcons)


def _id(cond):
    """u16 item id when `cond` (a version test) holds, else u32."""
    return IfThenElse(cond, Span(Int16ub), Span(Int32ub))


ftyp = Struct(
    "major_brand" / Span(FourCC),
    "minor_version" / Span(Int32ub),
    "compatible_brands" / GreedyRange(Span(FourCC)),
)

hdlr = full_box(
    "pre_defined" / Span(Int32ub),
    "handler_type" / Span(FourCC),
    "reserved" / Array(3, Span(Int32ub)),
    "name" / Span(GreedyBytes),
)

pitm = full_box("item_ID" / _id(this.version == 0))

meta = full_box()

iinf = full_box("entry_count" / _id(this.version == 0))

infe = full_box(
    "item_ID" / _id(this.version != 3),
    "item_protection_index" / Span(Int16ub),
    "item_type" / If(this.version >= 2, Span(FourCC)),
    "item_name" / Span(Utf8Z),
    "content_type" / If(lambda c: c.version < 2 or c.item_type == "mime", Span(Utf8Z)),
    "content_encoding" / If(lambda c: c.version < 2 or c.item_type == "mime", Optional(Span(Utf8Z))),
    "item_uri_type" / If(this.item_type == "uri ", Span(Utf8Z)),
)

iref = full_box()


def _reference(wide: bool):
    ident = Span(Int32ub) if wide else Span(Int16ub)
    return Struct(
        "from_item_ID" / ident,
        "reference_count" / Span(Int16ub),
        "to_item_ID" / Array(this.reference_count, ident),
    )


reference16 = _reference(False)  # children of iref version 0
reference32 = _reference(True)  # children of iref version 1


def _sized(size_of):
    """An unsigned integer of 0, 4 or 8 bytes (0 bytes reads as 0), size from context."""
    return Span(IfThenElse(lambda c: size_of(c) == 0, Computed(0), BytesInteger(size_of)))


iloc = full_box(
    "sizes" / Span(BitStruct(
        "offset_size" / Nibble,
        "length_size" / Nibble,
        "base_offset_size" / Nibble,
        "index_size" / Nibble,  # reserved (0) in version 0
    )),
    Check(lambda c: all(v in (0, 4, 8) for k, v in c.sizes.items() if not k.startswith("_"))),
    "item_count" / _id(this.version < 2),
    Check(this.item_count <= LIMITS["max_items"]),
    "items" / Array(this.item_count, Struct(
        "item_ID" / _id(this._.version < 2),
        "method" / If(this._.version >= 1, Span(BitStruct(
            "reserved" / BitsInteger(12),
            "construction_method" / Nibble,
        ))),
        "data_reference_index" / Span(Int16ub),
        "base_offset" / _sized(lambda c: c._.sizes.base_offset_size),
        "extent_count" / Span(Int16ub),
        Check(this.extent_count <= LIMITS["max_extents_per_item"]),
        "extents" / Array(this.extent_count, Struct(
            "extent_index" / If(lambda c: c._._.version >= 1 and c._._.sizes.index_size > 0,
                                Span(BytesInteger(lambda c: c._._.sizes.index_size))),
            "extent_offset" / _sized(lambda c: c._._.sizes.offset_size),
            "extent_length" / _sized(lambda c: c._._.sizes.length_size),
        )),
    )),
)

iprp = Struct()
ipco = Struct()

ipma = full_box(
    "entry_count" / Span(Int32ub),
    "entries" / Array(this.entry_count, Struct(
        "item_ID" / _id(this._.version < 1),
        "association_count" / Span(Int8ub),
        "associations" / Array(this.association_count, IfThenElse(
            lambda c: c._.flags & 1,
            Span(BitStruct("essential" / Flag, "property_index" / BitsInteger(15))),
            Span(BitStruct("essential" / Flag, "property_index" / BitsInteger(7))),
        )),
    )),
)

jaih = full_box("pih_payload" / Span(GreedyBytes))

ispe = full_box("image_width" / Span(Int32ub), "image_height" / Span(Int32ub))

colr = Struct(
    "colour_type" / Span(FourCC),
    "nclx" / If(this.colour_type == "nclx", Struct(
        "colour_primaries" / Span(Int16ub),
        "transfer_characteristics" / Span(Int16ub),
        "matrix_coefficients" / Span(Int16ub),
        "range" / Span(BitStruct("full_range_flag" / Flag, "reserved" / BitsInteger(7))),
    )),
    "icc_profile" / If(lambda c: c.colour_type in ("prof", "rICC"), Span(GreedyBytes)),
)

pixi = full_box(
    "num_channels" / Span(Int8ub),
    "bits_per_channel" / Array(this.num_channels, Span(Int8ub)),
)

stsd = full_box("entry_count" / Span(Int32ub))

# Bodies by box type. Types listed in CONTAINERS continue with child boxes after the schema.
BODIES = {
    "ftyp": ftyp, "meta": meta, "hdlr": hdlr, "pitm": pitm, "iinf": iinf, "infe": infe,
    "iref": iref, "iloc": iloc, "iprp": iprp, "ipco": ipco, "ipma": ipma, "jaih": jaih,
    "ispe": ispe, "colr": colr, "pixi": pixi, "stsd": stsd,
    "moov": Struct(), "trak": Struct(), "mdia": Struct(), "minf": Struct(), "stbl": Struct(),
    "dinf": Struct(),
}
