"""What travels with a picture besides its samples: Exif, XMP and the ICC profile between Pillow's formats and
the .jai container, and the Exif orientation, which is applied to the samples before coding.

A codestream has no orientation field, and HEIF readers take orientation from transform properties, not from
Exif; so a camera JPEG stored sideways is turned upright before coding (its Exif and XMP then say "upright")
unless the caller asks to code the stored samples. An ICC profile that does not describe RGB samples (grey or
CMYK sources, which reach the codec as RGB) is used to convert them to sRGB and then left behind. Metadata
that the container would refuse (malformed XMP, an Exif block without a TIFF header) is left behind with a
note instead of failing the encode. Keys are Pillow's `info` keys (`exif`, `xmp`, `icc_profile`); the command
lines call them exif, xmp and icc.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import BuildError

KINDS = {"exif": "exif", "xmp": "xmp", "icc": "icc_profile"}      # command-line name -> Pillow info key
ALL = frozenset(KINDS)
LABELS = {"exif": "Exif", "xmp": "XMP", "icc_profile": "ICC profile"}   # Pillow info key -> name for people
ORIENTATION = 0x0112
XMP_KEY = "XML:com.adobe.xmp"                                       # PNG iTXt keyword of an XMP packet
# TIFF IFD0 tags that describe the picture rather than lay out its strips (a TIFF's Exif is its IFD0).
TIFF_DESCRIPTIVE = (0x010E, 0x010F, 0x0110, ORIENTATION, 0x0131, 0x0132, 0x013B, 0x8298)
TIFF_SUB_IFDS = (0x8769, 0x8825)                                    # Exif and GPS IFDs
_XMP_ORIENTATION = (re.compile(rb'\s*tiff:Orientation="\d"'),
                    re.compile(rb"<tiff:Orientation>\d</tiff:Orientation>"))

__all__ = ["KINDS", "ALL", "SourcePicture", "kind_names", "metadata_kinds", "load_picture", "coded_samples", "drop_refused",
           "png_options", "describe"]


def kind_names(meta: dict) -> list[str]:
    """The command-line names (exif, icc, xmp) of the kinds `meta`, keyed as Pillow keys them, holds."""
    return sorted(name for name, key in KINDS.items() if key in meta)


def metadata_kinds(text: str) -> frozenset[str]:
    """`all`, `none` or a comma list of exif, xmp, icc (the `--metadata` option of encode and decode)."""
    words = {w.strip().lower() for w in text.split(",") if w.strip()}
    if words == {"all"}:
        return ALL
    if words == {"none"}:
        return frozenset()
    if not words or words - ALL:
        raise ValueError(f"{text!r}: expected all, none or a comma list of {', '.join(sorted(ALL))}")
    return frozenset(words)


@dataclass
class SourcePicture:
    """A picture ready for the encoder: upright 8-bit RGB samples, the metadata to carry and what was left."""

    rgb: np.ndarray
    metadata: dict[str, bytes] = field(default_factory=dict)
    orientation: int = 1               # the Exif orientation applied to the samples (1: none)
    notes: list[str] = field(default_factory=list)


def load_picture(path, keep: frozenset[str] = ALL, auto_orient: bool = True) -> SourcePicture:
    """Open a Pillow-readable picture for encoding; `keep` names the metadata kinds to carry."""
    from PIL import Image, ImageOps

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")         # Pillow warns of damaged Exif: a note, not a stray warning line
        with Image.open(path) as im:
            stored = im.getexif()
            orientation = stored.get(ORIENTATION, 1) if auto_orient else 1
            orientation = orientation if orientation in range(2, 9) else 1
            upright = ImageOps.exif_transpose(im) if orientation != 1 else im
            meta = _found(im, upright, stored, orientation)
            rgb = coded_samples(upright, meta, notes)
    notes += sorted({f"while reading, Pillow warned: {str(w.message).strip()}" for w in said})
    for key in [k for k in meta if k not in {KINDS[name] for name in keep}]:
        del meta[key]
    drop_refused(meta, notes)
    return SourcePicture(rgb, meta, orientation, notes)


def _found(original, upright, stored, orientation: int) -> dict[str, bytes]:
    """Exif, XMP and ICC as the file holds them, with orientation reset where it was applied."""
    meta: dict[str, bytes] = {}
    if original.format == "TIFF":
        exif = _tiff_exif(stored, drop_orientation=orientation != 1)
        xmp = original.tag_v2.get(700)
        if isinstance(xmp, bytes) and orientation != 1:
            for pattern in _XMP_ORIENTATION:
                xmp = pattern.sub(b"", xmp)
    else:
        exif, xmp = upright.info.get("exif"), upright.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    for key, value in (("exif", exif), ("xmp", xmp), ("icc_profile", upright.info.get("icc_profile"))):
        if isinstance(value, bytes) and value:
            meta[key] = value
    return meta


def _tiff_exif(ifd0, drop_orientation: bool) -> bytes | None:
    """The descriptive part of a TIFF's IFD0 with its Exif and GPS IFDs: strip offsets and the like describe
    the TIFF file, not the picture, and would be wrong anywhere else."""
    from PIL import Image
    exif = Image.Exif()
    for tag in TIFF_DESCRIPTIVE:
        if tag in ifd0 and not (tag == ORIENTATION and drop_orientation):
            exif[tag] = ifd0[tag]
    for tag in TIFF_SUB_IFDS:
        sub = ifd0.get_ifd(tag)
        if sub:
            exif[tag] = dict(sub)
    return exif.tobytes() if len(exif) else None


def coded_samples(im, meta: dict[str, bytes], notes: list[str]) -> np.ndarray:
    """8-bit RGB samples; a grey or CMYK picture with its own ICC profile is converted through it to sRGB."""
    from .picture import rgb_of_image
    icc = meta.get("icc_profile")
    space = icc[16:20] if icc is not None and len(icc) >= 20 else b"RGB "
    if space == b"RGB ":
        return rgb_of_image(im)
    del meta["icc_profile"]
    name = space.decode("latin-1").strip() or "unnamed"
    if (space, im.mode) in ((b"GRAY", "L"), (b"CMYK", "CMYK")):
        from PIL import ImageCms
        try:
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb,
                                                  outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError) as err:
            notes.append(f"the {name} ICC profile could not be applied ({err}); samples converted without it, "
                         "and the profile is not kept")
            return rgb_of_image(im)
        notes.append(f"converted from the picture's {name} ICC profile to sRGB (the codec codes RGB); the profile "
                     "is not kept")
        return rgb_of_image(converted)
    notes.append(f"the ICC profile describes {name} samples, not the RGB the codec codes; not kept")
    return rgb_of_image(im)


def drop_refused(meta: dict[str, bytes], notes: list[str]) -> None:
    """Leave behind what the container writer would refuse, saying why."""
    from .container.writer import check_icc, check_xmp, exif_payload
    for key, check in (("exif", exif_payload), ("xmp", check_xmp), ("icc_profile", check_icc)):
        if key in meta:
            try:
                check(meta[key])
            except BuildError as err:
                notes.append(f"{LABELS[key]} not kept: {err.message}")
                del meta[key]


def png_options(meta: dict[str, bytes]) -> dict:
    """Keyword arguments for Pillow's PNG writer carrying `meta`: eXIf, iCCP and an iTXt XMP packet."""
    from PIL import PngImagePlugin
    opts: dict = {}
    if meta.get("icc_profile"):
        opts["icc_profile"] = meta["icc_profile"]
    if meta.get("exif"):
        opts["exif"] = meta["exif"]
    if meta.get("xmp"):
        info = PngImagePlugin.PngInfo()
        info.add_itxt(XMP_KEY, meta["xmp"].decode("utf-8", errors="replace"), zip=True)
        opts["pnginfo"] = info
    return opts


def describe(meta: dict[str, bytes]) -> list[tuple[str, str]]:
    """(kind, what it says) rows for people: sizes, the camera and date of an Exif block, an ICC profile's
    colour space and description. Unreadable metadata is described as such (validate judges it)."""
    summaries = {"exif": _exif_summary, "xmp": lambda _: "", "icc_profile": _icc_summary}
    return [(LABELS[key], _sized(meta[key], summary(meta[key]))) for key, summary in summaries.items()
            if key in meta]


def _sized(data: bytes, detail: str) -> str:
    return f"{len(data):,} bytes" + (f": {detail}" if detail else "")


def _exif_summary(exif: bytes) -> str:
    from PIL import Image
    tags = Image.Exif()
    try:
        tags.load(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
        sub = tags.get_ifd(0x8769)
    except Exception:                  # noqa: BLE001 - Pillow's TIFF reader raises many kinds on bad data
        return "unreadable"
    camera = " ".join(str(tags[t]).strip("\x00 ") for t in (0x010F, 0x0110) if t in tags)
    when = sub.get(0x9003) or tags.get(0x0132)
    parts = [camera, str(when).strip("\x00 ") if when else "", f"orientation {tags[ORIENTATION]}"
             if ORIENTATION in tags else ""]
    return ", ".join(p for p in parts if p) or f"{len(tags)} tags"


def _icc_summary(icc: bytes) -> str:
    from PIL import ImageCms
    space = icc[16:20].decode("latin-1").strip() if len(icc) >= 20 else "?"
    try:
        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except (ImageCms.PyCMSError, OSError, ValueError):
        name = "unreadable"
    return f"{space}, {name!r}" if name != "unreadable" else f"{space}, unreadable"
