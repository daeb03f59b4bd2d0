"""Writing and unwrapping `.jai` files (container.md §2.3).

Every item property is derived from the codestream, and every box size and `iloc`
offset is computed from the bytes actually written: `meta` is built once with the
final field widths and placeholder offsets, its size fixes where `mdat` starts, and
it is built again with the real offsets (same size, since the widths do not change).
"""
from __future__ import annotations

import os
import tempfile

from ..errors import BuildError, ParseError
from . import schemas
from .codestream_link import codestream_facts
from ..api import sniff
from .reader import load_primary, metadata, read_model
from .rules import xmp_problem
from .tables import LAYOUT

EXIF_PREFIX = b"Exif\x00\x00"
TIFF_HEADERS = (b"II*\x00", b"MM\x00*")


def box(box_type: str, body: bytes, *, large: bool = False) -> bytes:
    """A box: size (u32, or 1 then a u64 largesize) + type + body."""
    if large or len(body) + 8 >= 1 << 32:
        return (1).to_bytes(4, "big") + box_type.encode("latin-1") + (len(body) + 16).to_bytes(8, "big") + body
    return (len(body) + 8).to_bytes(4, "big") + box_type.encode("latin-1") + body


def _full(version: int = 0, flags: int = 0, **fields) -> dict:
    return {"version": version, "flags": flags, **fields}


def exif_payload(exif: bytes) -> bytes:
    """The Exif item body: u32 offset 0, then the TIFF header and IFDs (`Exif\\0\\0` removed)."""
    tiff = exif[len(EXIF_PREFIX):] if exif.startswith(EXIF_PREFIX) else exif
    if tiff[:4] not in TIFF_HEADERS:
        raise BuildError("Exif data does not start with a TIFF header (II*\\0 or MM\\0*), "
                         "with or without a leading Exif\\0\\0", byte_offset=0, path="exif")
    return b"\x00\x00\x00\x00" + tiff


def check_xmp(xmp: bytes) -> bytes:
    problem = xmp_problem(xmp)
    if problem:
        raise BuildError(f"XMP is refused (BOX-016): {problem}", path="xmp")
    return xmp


def check_icc(icc: bytes) -> bytes:
    if len(icc) < 128 or icc[36:40] != b"acsp":
        raise BuildError("ICC profile lacks the 128-byte header with signature 'acsp' at byte 36",
                         path="icc")
    if int.from_bytes(icc[:4], "big") != len(icc):
        raise BuildError(f"ICC profile header says {int.from_bytes(icc[:4], 'big')} bytes, "
                         f"the data has {len(icc)}", path="icc")
    return icc


def _infe(item_id: int, item_type: str, flags: int, content_type: str | None = None) -> bytes:
    body = schemas.infe.build(_full(2, flags, item_ID=item_id, item_protection_index=0,
                                    item_type=item_type, item_name="", content_type=content_type,
                                    content_encoding=None, item_uri_type=None))
    return box("infe", body)


def _iloc(extents: list[tuple[int, int, int]], size: int) -> bytes:
    items = [{"item_ID": i, "method": None, "data_reference_index": 0, "base_offset": 0,
              "extent_count": 1, "extents": [{"extent_index": None, "extent_offset": off,
                                              "extent_length": n}]} for i, off, n in extents]
    sizes = {"offset_size": size, "length_size": size, "base_offset_size": 0, "index_size": 0}
    return box("iloc", schemas.iloc.build(_full(sizes=sizes, item_count=len(items), items=items)))


def _properties(codestream: bytes, icc: bytes | None, syntax: str) -> list[bytes]:
    facts = codestream_facts(codestream, syntax=syntax)
    if facts.bit_depth is None:
        raise BuildError("the PIH bit_depth_idc is out of range; pixi cannot be written", path="PIH/bit_depth_idc")
    colour = facts.cicp or LAYOUT["colr_defaults"].get(str(facts.colour_transform_idx))
    if colour is None:
        raise BuildError(f"colour_transform_idx {facts.colour_transform_idx} has no colr default",
                         path="PIH/colour_transform_idx")
    nclx = {k: colour[k] for k in ("colour_primaries", "transfer_characteristics", "matrix_coefficients")}
    nclx["range"] = {"full_range_flag": bool(colour["full_range_flag"]), "reserved": 0}
    width, height = facts.display_size
    props = [
        box("jaih", schemas.jaih.build(_full(pih_payload=facts.pih_payload))),
        box("ispe", schemas.ispe.build(_full(image_width=width, image_height=height))),
        box("colr", schemas.colr.build({"colour_type": "nclx", "nclx": nclx, "icc_profile": None})),
        box("pixi", schemas.pixi.build(_full(num_channels=3, bits_per_channel=[facts.bit_depth] * 3))),
    ]
    if icc is not None:
        props.append(box("colr", schemas.colr.build({"colour_type": "prof", "nclx": None, "icc_profile": icc})))
    return props


def wrap(codestream: bytes, *, exif: bytes | None = None, xmp: bytes | None = None,
         icc: bytes | None = None, syntax: str = "auto") -> bytes:
    """A `.jai` file holding `codestream` as primary item 1, with optional Exif, XMP and ICC."""
    codestream = bytes(codestream)
    kind = sniff(codestream)
    if kind == "container":
        raise BuildError("input is already a .jai (ISOBMFF) file; wrap takes a raw codestream (`jpegai-fmt unwrap` "
                         "gives it; to change the metadata, unwrap then wrap again)", byte_offset=0)
    if kind != "codestream":
        raise BuildError("input is not a JPEG AI codestream (it does not start with FF 80 FF 82)",
                         byte_offset=0)
    if codestream[-2:] != b"\xff\x81":
        raise BuildError("codestream does not end with EOC (FF 81)", byte_offset=len(codestream) - 2)
    props = _properties(codestream, None if icc is None else check_icc(bytes(icc)), syntax)
    payloads = [(1, LAYOUT["item_type"], 0, None, codestream)]
    if exif is not None:
        payloads.append((len(payloads) + 1, LAYOUT["exif_item_type"], LAYOUT["metadata_item_flags"],
                         None, exif_payload(bytes(exif))))
    if xmp is not None:
        payloads.append((len(payloads) + 1, LAYOUT["xmp_item_type"], LAYOUT["metadata_item_flags"],
                         LAYOUT["xmp_content_type"], check_xmp(bytes(xmp))))

    ftyp = box("ftyp", schemas.ftyp.build({"major_brand": LAYOUT["brand"], "minor_version": 0,
                                           "compatible_brands": LAYOUT["compatible_brands"]}))
    mdat_size = 8 + sum(len(p[4]) for p in payloads)
    large = mdat_size >= 1 << 32

    def meta(offset_base: int, field_size: int) -> bytes:
        extents, pos = [], offset_base
        for item_id, _, _, _, data in payloads:
            extents.append((item_id, pos, len(data)))
            pos += len(data)
        children = [
            box("hdlr", schemas.hdlr.build(_full(pre_defined=0, handler_type=LAYOUT["handler_type"],
                                                 reserved=[0, 0, 0], name=b"\x00"))),
            box("pitm", schemas.pitm.build(_full(item_ID=LAYOUT["primary_item_id"]))),
            box("iinf", schemas.iinf.build(_full(entry_count=len(payloads)))
                + b"".join(_infe(i, t, f, c) for i, t, f, c, _ in payloads)),
        ]
        if len(payloads) > 1:
            refs = [box("cdsc", schemas.reference16.build({"from_item_ID": i, "reference_count": 1,
                                                           "to_item_ID": [1]})) for i, *_ in payloads[1:]]
            children.append(box("iref", schemas.iref.build(_full()) + b"".join(refs)))
        children.append(_iloc(extents, field_size))
        assoc = [{"essential": True, "property_index": 1}] + [
            {"essential": False, "property_index": i} for i in range(2, len(props) + 1)]
        ipma = schemas.ipma.build(_full(entry_count=1, entries=[
            {"item_ID": 1, "association_count": len(assoc), "associations": assoc}]))
        children.append(box("iprp", box("ipco", b"".join(props)) + box("ipma", ipma)))
        return box("meta", schemas.meta.build(_full()) + b"".join(children))

    header = 16 if large else 8
    field_size = 8 if large else 4
    draft = meta(0, field_size)
    data_start = len(ftyp) + len(draft) + header
    if data_start + mdat_size >= 1 << 32:
        field_size = 8
        draft = meta(0, field_size)
        data_start = len(ftyp) + len(draft) + header
    final = meta(data_start, field_size)
    if len(final) != len(draft):
        raise BuildError("internal: meta size changed when patching iloc offsets")
    return ftyp + final + box("mdat", b"".join(p[4] for p in payloads), large=large)


def rewrap(file_bytes: bytes, codestream: bytes, syntax: str = "auto") -> tuple[bytes, list[str]]:
    """A `.jai` file like `file_bytes` with `codestream` as its primary item, for tools that rewrite the
    codestream (extract, edit): Exif, XMP and an ICC profile are carried over; the notes name what is not (other
    items, malformed metadata, which would make the new file fail to write)."""
    model = read_model(file_bytes)
    item, _ = load_primary(model)
    notes = []
    for other in model.item_order:
        xmp = other.type == LAYOUT["xmp_item_type"] and other.content_type == LAYOUT["xmp_content_type"]
        if other.id != item.id and other.type != LAYOUT["exif_item_type"] and not xmp:
            notes.append(f"item {other.id} ('{other.type}') is not carried into the new file")
    meta = metadata(model)
    for key, check in (("exif", exif_payload), ("xmp", check_xmp), ("icc_profile", check_icc)):
        if key in meta:
            try:
                check(meta[key])
            except BuildError as err:          # the new stream is still wanted: leave the bad item behind
                notes.append(f"{key} is malformed ({err.message}); not carried into the new file")
                del meta[key]
    return wrap(codestream, exif=meta.get("exif"), xmp=meta.get("xmp"), icc=meta.get("icc_profile"),
                syntax=syntax), notes


def unwrap(file_bytes: bytes) -> bytes:
    """The primary item's codestream of a `.jai` file, byte for byte."""
    data = bytes(file_bytes)
    kind = sniff(data)
    if kind == "codestream":
        raise ParseError("input is already a raw codestream (FF 80 FF 82), not a .jai file: there is nothing to "
                         "unwrap", byte_offset=0)
    if kind != "container":
        raise ParseError("not a JPEG AI file container (no 'ftyp' box at the start)", byte_offset=0)
    _, item_data = load_primary(read_model(data))
    return item_data.data


def write_file(path, data: bytes) -> None:
    """Write `data` to `path` atomically: a temporary file in the same folder, then os.replace."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    except OSError as err:                      # the message names the user's path, not the temporary one
        raise OSError(err.errno, f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the output the usual permissions
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise OSError(err.errno, f"cannot write {path}: {err.strerror}") from None
        raise
