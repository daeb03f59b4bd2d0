"""Pillow plugin: `import jpegai_fmt.pillow` (or `import jpegai_fmt`) and Pillow opens and saves JPEG AI.

    Image.open("photo.jai").size         # headers only: no torch import, no decoding
    Image.open("photo.jai").load()       # decodes with this project's model set
    im.save("photo.jai", bpp=0.5)        # .jai = HEIF-based file, .jaic = raw codestream

Opening reads the picture header (display size, mode RGB); decoding waits for `.load()`. Save options:
`bpp` (target rate), `psnr` (target PSNR-RGB in dB) or `model_id` (0..3) with `bdl`, `threads`, `refine`
(latent refinement steps, default "auto"), `container` (default: by extension), `exif`, `xmp`, `icc_profile`
(container only; `icc_profile` defaults to the image's own, as Pillow's PNG and AVIF writers do, and a profile
that does not describe RGB converts a grey or CMYK image to sRGB instead). Only streams made with our model set
decode; others open (size, header info) but `.load()` raises `ModelMismatchError`.
"""
from __future__ import annotations

import os
import warnings

from PIL import Image, ImageFile

from .errors import BuildError

FORMAT = "JPEGAI"
MIME = "image/jpeg-ai"          # placeholder until a media type is registered (container.md §1)
CONTAINER_EXTENSIONS = (".jai",)
CODESTREAM_EXTENSIONS = (".jaic",)
_MAGIC = b"\xff\x80\xff\x82"
_LOOK = 1 << 16                 # bytes read to decide whether an ISOBMFF file holds a JPEG AI item


def _accept(prefix: bytes) -> bool:
    """Sniff by content (container.md §4) on Pillow's 16-byte prefix: the codestream magic, or any ISOBMFF
    'ftyp' (its brands and items are checked in `_open`; other HEIF/MP4 files pass on to other plugins)."""
    return prefix[:4] == _MAGIC or prefix[4:8] == b"ftyp"


def _is_jpegai_heif(data: bytes) -> bool:
    """A HEIF file is ours if its ftyp lists brand 'jaii' or its item infos hold a 'jai0' item."""
    size = int.from_bytes(data[:4], "big")
    ftyp = data[8:min(size, len(data))] if size >= 16 else b""
    brands = [ftyp[i:i + 4] for i in range(0, len(ftyp) - 3, 4) if i != 4]   # skip minor_version
    return b"jaii" in brands or (b"infe" in data and b"jai0" in data)


class JpegAiImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "JPEG AI (ISO/IEC 6048)"

    def _open(self) -> None:
        from . import picture
        from .errors import JpegAiError
        head = self.fp.read(_LOOK)
        if head[:4] != _MAGIC and not _is_jpegai_heif(head):
            raise SyntaxError("not a JPEG AI file")
        data = head + self.fp.read()
        try:
            info = picture.open(data)
        except JpegAiError as err:
            raise SyntaxError(f"not a readable JPEG AI file: {err}") from err
        self._jpegai = info
        self._mode = info.mode
        self._size = info.size
        self.info.update({"jpegai": info.to_dict(), "model_id": info.model_id, "num_chs": info.num_chs})
        if data[:4] != _MAGIC:                 # a .jai file: its Exif, XMP and ICC, as Pillow's readers give them
            from .container.reader import read_metadata
            self.info.update(read_metadata(data))
        self.tile = [_tile(info.size, (None, None))]

    def set_channels(self, luma_channels: int | None = None, chroma_channels: int | None = None) -> None:
        """Before `.load()`: decode only these channel prefixes (a faster, coarser preview)."""
        self.tile = [_tile(self.size, (luma_channels, chroma_channels))]


def _steps(value) -> int | str:
    """The `refine` save option: "auto" or a step count."""
    return value if value == "auto" else int(value)


def _tile(size: tuple[int, int], channels: tuple[int | None, int | None]):
    return ImageFile._Tile("jpegai", (0, 0) + tuple(size), 0, channels)


class JpegAiDecoder(ImageFile.PyDecoder):
    """Decodes the whole picture at once (the networks need every latent) with our model set."""

    _pulls_fd = True

    def decode(self, buffer):
        from .picture import decode
        luma, chroma = self.args if self.args else (None, None)
        assert self.fd is not None
        rgb = decode(self.fd.read(), luma, chroma)
        self.set_as_raw(rgb.tobytes(), "RGB")
        return -1, 0


def _save(im: Image.Image, fp, filename, save_all: bool = False) -> None:
    from . import picture
    from .picture_metadata import coded_samples, drop_refused
    opts = im.encoderinfo
    icc = opts.get("icc_profile", im.info.get("icc_profile"))
    meta, notes = ({"icc_profile": icc} if icc else {}), []
    try:
        rgb = coded_samples(im, meta, notes)
    except BuildError as err:
        raise OSError(f"cannot write mode {im.mode} as JPEG AI: {err}") from None
    if "icc_profile" not in opts:              # the image's own profile: left behind if malformed, not fatal
        drop_refused(meta, notes)
    for note in notes:
        warnings.warn(f"JPEG AI save: {note}", stacklevel=2)
    name = os.fspath(filename) if isinstance(filename, (str, bytes, os.PathLike)) else ""
    name = name.decode() if isinstance(name, bytes) else name
    container = opts.get("container", not name.lower().endswith(CODESTREAM_EXTENSIONS))
    exif = opts.get("exif")
    if isinstance(exif, Image.Exif):
        exif = exif.tobytes()
    if not container and (exif or opts.get("xmp") or opts.get("icc_profile")):
        raise OSError("exif, xmp and icc_profile need the container (.jai); a raw codestream has no place for them")
    try:
        data = picture.encode(rgb, bpp=opts.get("bpp"), psnr=opts.get("psnr"), model_id=opts.get("model_id"),
                              bdl=int(opts.get("bdl", 0)), threads=int(opts.get("threads", 1)),
                              refine=_steps(opts.get("refine", "auto")),
                              post_filter=bool(opts.get("post_filter", True)), container=container,
                              exif=exif or None, xmp=opts.get("xmp") or None,
                              icc_profile=meta.get("icc_profile") if container else None)
    except BuildError as err:                  # Pillow's save reports a bad option as OSError
        raise OSError(f"cannot write JPEG AI: {err}") from None
    fp.write(data)


def register() -> None:
    """Register open/save/extensions/MIME with Pillow (idempotent)."""
    Image.register_open(FORMAT, JpegAiImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_decoder("jpegai", JpegAiDecoder)
    Image.register_extensions(FORMAT, [*CONTAINER_EXTENSIONS, *CODESTREAM_EXTENSIONS])
    Image.register_mime(FORMAT, MIME)


register()
