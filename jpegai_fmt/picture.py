"""Pictures in and out as numpy arrays: header info without decoding (`open`), `encode`, `decode`.

`open` reads the syntax layer only (no torch import); `encode` and `decode` load our model set on
first use. Bad input raises a project error (`JpegAiError` and subclasses) with offsets and a field path.
"""
from __future__ import annotations

import builtins
import functools
import os
from dataclasses import dataclass, field
from typing import BinaryIO, Union

import numpy as np

from .errors import BuildError, JpegAiError, ParseError
from .picture_metadata import kind_names

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO]

__all__ = ["ImageInfo", "open", "encode", "decode", "read_source", "codestream_of", "networks"]


def read_source(source: Source) -> bytes:
    """Bytes of a path, a binary file object or a bytes-like value."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return bytes(source.read())
    with builtins.open(os.fspath(source), "rb") as fh:
        return fh.read()


def codestream_of(data: bytes) -> tuple[str, bytes]:
    """('container' | 'codestream', the raw codestream): unwraps a .jai file's primary item."""
    from .container import sniff, unwrap
    kind = sniff(data)
    if kind == "container":
        return kind, unwrap(data)
    if kind == "codestream":
        return kind, data
    raise ParseError("not JPEG AI: neither a codestream (FF 80 FF 82) nor an ISOBMFF file ('ftyp' at byte 4)",
                     byte_offset=0)


@dataclass(frozen=True)
class ImageInfo:
    """What the picture header says, read without decoding. `width`/`height` are the display size
    (what decode returns); `coded_size` is the PIH's picture size, which the networks work on (multiples
    of 64 from our encoder, any size from others). `bpp` counts codestream bits, like a rate target;
    `file_size` is the whole input's."""

    kind: str                          # 'container' (.jai) or 'codestream' (.jaic)
    width: int
    height: int
    coded_size: tuple[int, int]
    bit_depth: int | None
    mode: str                          # Pillow mode of the decoded picture (our decoder: 8-bit RGB)
    num_chs: tuple[int, int]           # coded latent channels (luma, chroma)
    model_id: int
    bdl: tuple[int, int]               # beta_displacement_log (luma, chroma)
    decoder_profile_id: int
    level_idc: int
    regions: tuple[int, int]           # region rows, columns
    threads: tuple[int, int]           # residual ANS threads (luma, chroma)
    model_set: str | None              # hex id of the jpegai-fmt model set that made it, None for others
    file_size: int
    codestream: bytes
    metadata: dict[str, bytes] = field(default_factory=dict, repr=False, hash=False)  # .jai: exif, xmp, icc_profile

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def bpp(self) -> float:
        return len(self.codestream) * 8 / (self.width * self.height)

    def decode(self, luma_channels: int | None = None, chroma_channels: int | None = None) -> np.ndarray:
        """Decode with our model set to uint8 RGB (height, width, 3)."""
        return decode(self.codestream, luma_channels, chroma_channels)

    def to_dict(self) -> dict:
        """JSON-ready header summary (no payload bytes)."""
        return {"kind": self.kind, "width": self.width, "height": self.height,
                "coded_width": self.coded_size[0], "coded_height": self.coded_size[1], "bit_depth": self.bit_depth,
                "mode": self.mode, "num_chs": list(self.num_chs), "model_id": self.model_id,
                "bdl": list(self.bdl), "decoder_profile_id": self.decoder_profile_id, "level_idc": self.level_idc,
                "regions": list(self.regions), "threads": list(self.threads), "model_set": self.model_set,
                "file_size": self.file_size, "bpp": round(self.bpp, 6),
                "metadata": kind_names(self.metadata)}

    def __repr__(self) -> str:
        return (f"<ImageInfo {self.kind} {self.width}x{self.height} {self.mode} model_id={self.model_id} "
                f"num_chs={self.num_chs} {self.file_size} bytes>")


def open(source: Source) -> ImageInfo:  # noqa: A001 - mirrors PIL.Image.open
    """Read the headers of a .jai file or raw codestream (path, file object or bytes); no decoding.

    >>> info = jpegai_fmt.open("photo.jai"); info.size
    (768, 512)
    """
    from .codestream import parse_codestream
    data = read_source(source)
    kind, cs_bytes = codestream_of(data)
    cs = parse_codestream(cs_bytes, tolerant=True)
    if cs.pih is None:
        errors = [f for f in cs.findings() if f.severity == "E"]
        first = errors[0] if errors else None
        raise ParseError(f"picture header unreadable: {first.message if first else 'missing'}",
                         byte_offset=first.byte_offset if first else 0, path=first.path if first else "PIH")
    meta = {}
    if kind == "container":
        from .container.reader import read_metadata
        meta = read_metadata(data)
    return image_info(cs, kind=kind, file_size=len(data), codestream=cs_bytes, metadata=meta)


def image_info(cs, *, kind: str, file_size: int, codestream: bytes, metadata: dict | None = None) -> ImageInfo:
    """ImageInfo of a parsed codestream whose picture header was read (`open`, and `info --json`)."""
    from .udi_record import parse_record
    p = cs.pih
    model_set = None
    if cs.udi is not None:
        try:
            rec = parse_record(cs.udi)
        except JpegAiError:
            rec = None
        model_set = rec.model_set.hex() if rec is not None else None
    return ImageInfo(kind=kind, width=p.display_size[0], height=p.display_size[1], coded_size=(p.width, p.height),
                     bit_depth=p.bit_depth, mode="RGB", num_chs=tuple(p.num_chs),
                     model_id=p["model_id"], bdl=p.bdl, decoder_profile_id=p["decoder_profile_id"],
                     level_idc=p["level_idc"], regions=p.region_grid, threads=tuple(p.n_r), model_set=model_set,
                     file_size=file_size, codestream=codestream, metadata=metadata or {})


@functools.lru_cache(maxsize=1)
def networks():
    """Our float networks, loaded once per process (torch is imported here)."""
    from codec.weights import load_networks
    return load_networks()


def rgb_of_image(im) -> np.ndarray:
    """A Pillow image as the 8-bit RGB array the encoder takes. Samples wider than 8 bits (16-bit grey,
    32-bit integer) are scaled to 8 bits, not clipped as Pillow's RGB conversion would; pictures with an
    alpha channel or float samples are refused, since JPEG AI codes neither and any choice would be ours."""
    mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        raise BuildError(f"mode {mode} has an alpha channel, which JPEG AI does not code; flatten or convert "
                         "to RGB first")
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im).astype(np.float64)
        peak = 65535 if mode.startswith("I;16") or a.max() > 255 else 255
        grey = np.rint(a * 255 / peak).clip(0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "F":
        raise BuildError("mode F (floating-point samples) has no agreed range; convert to 8 or 16 bits first")
    return np.asarray(im if mode == "RGB" else im.convert("RGB"))


def _as_rgb(array) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise BuildError(f"encode expects uint8 samples, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise BuildError(f"encode expects an (H, W, 3) RGB or (H, W) grey array, got shape {a.shape}")
    return np.ascontiguousarray(a)


def encode(array, *, bpp: float | None = None, psnr: float | None = None, model_id: int | None = None, bdl: int = 0,
           container: bool = True, threads: int = 1, regions: tuple[int, int] = (1, 1),
           luma_channels: int | None = None, chroma_channels: int | None = None,
           refine: int | str = "auto", post_filter: bool = True, exif: bytes | None = None,
           xmp: bytes | None = None, icc_profile: bytes | None = None) -> bytes:
    """Encode uint8 RGB (H, W, 3) or grey (H, W) with our model set; returns .jai bytes, or a raw
    codestream with `container=False`. Give `bpp` (searches model_id and BDL), `psnr` (the lowest rate whose
    decoded picture reaches this PSNR-RGB in dB; the best quality point where none does) or `model_id`/`bdl`.
    `refine` is the number of gradient steps spent choosing better latents for this picture (fewer bits
    for the same quality, slower encoding; the stream decodes the same way): "auto" (12 steps up to 1.36 MP, fewer
    up to 5 MP, none above: `codec.refine.auto_steps`), 0 for the fastest encoder, up to 1000. `post_filter` fits the
    EFE linear chroma filter (TON) where it pays for its bits. `exif`, `xmp` and `icc_profile` go into the .jai
    file (a raw codestream has no place for them); `picture_metadata.load_picture` reads them from a file.

    >>> data = jpegai_fmt.encode(np.asarray(Image.open("photo.png").convert("RGB")), bpp=0.5)
    """
    from codec.design import C_MAX
    from codec.pipeline import EncodeSettings
    from codec.pipeline import encode as codec_encode
    targets = [name for name, v in (("bpp", bpp), ("psnr", psnr), ("model_id", model_id)) if v is not None]
    if len(targets) > 1:
        raise BuildError(f"give one of bpp, psnr and model_id, not {' and '.join(targets)}")
    if (bpp is not None or psnr is not None) and bdl:
        raise BuildError("bdl goes with model_id: a bpp or psnr target searches model_id and BDL itself")
    meta = {"exif": exif, "xmp": xmp, "icc_profile": icc_profile}
    if not container and any(meta.values()):
        raise BuildError(f"{', '.join(k for k, v in meta.items() if v)}: a raw codestream has no place for "
                         "metadata; only the .jai container carries it")
    rgb = _as_rgb(array)
    s = EncodeSettings(model_id=2 if model_id is None else model_id, bdl=(bdl, bdl), threads=threads,
                       num_chs=(C_MAX[0] if luma_channels is None else luma_channels,
                                C_MAX[1] if chroma_channels is None else chroma_channels),
                       regions=tuple(regions), refine=refine, post_filter=post_filter)
    data = codec_encode(rgb, bpp=bpp, psnr=psnr, settings=s, model=networks())
    if not container:
        return data
    from .container import wrap
    return wrap(data, exif=exif, xmp=xmp, icc=icc_profile)


def decode(source: Source, luma_channels: int | None = None, chroma_channels: int | None = None) -> np.ndarray:
    """Decode a .jai file or codestream (path, file object or bytes) made with our model set to uint8 RGB
    (height, width, 3); a channel count decodes only that prefix (progressive preview).

    Streams from other encoders raise `ModelMismatchError`: their networks are not ours.
    """
    from codec.pipeline import decode as codec_decode
    _, cs = codestream_of(read_source(source))
    return codec_decode(cs, luma_channels, chroma_channels, model=networks()).rgb
