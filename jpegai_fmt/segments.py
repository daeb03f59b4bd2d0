"""Phase 1 of reading a codestream: split it into segments without looking inside payloads.

Framing (codestream.md §3): a 16-bit marker; for every marker but SOC/EOC a ue(v)
`substream_size` (payload bytes), zero bits to a byte boundary, then the payload.
Failures that leave no way to find the next segment raise; anomalies that do not
(non-zero alignment bits, bytes after EOC, missing EOC) become findings. In tolerant
mode a segment the data ends inside of is kept as a cut-short Segment (its `error` set).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .bits import BitReader, BitWriter
from .errors import BuildError, JpegAiError, ParseError, TruncatedError
from .markers import BARE, MAGIC, Marker
from .tree import Finding


@dataclass
class Segment:
    """One segment; offsets are in bytes from the start of the codestream."""

    marker: Marker
    offset: int
    payload_offset: int = 0
    payload: bytes = b""
    size_bits: int = 0  # length of the ue(v) substream_size code
    align_bits: int = 0  # number of alignment bits after it
    align_value: int = 0  # their value (must be 0, SEG-002)
    findings: list[Finding] = field(default_factory=list)
    # Cut short by the end of the data (tolerant mode): why (SEG-003), and the size its
    # header announced when that much could be read; `payload` then holds the bytes there are.
    error: Finding | None = None
    declared_size: int | None = None

    @property
    def name(self) -> str:
        return self.marker.name

    @property
    def size(self) -> int:
        return len(self.payload)

    @property
    def end(self) -> int:
        """Byte offset just after the segment."""
        return self.payload_offset + len(self.payload) if self.marker not in BARE else self.offset + 2


def _reraise(err: JpegAiError, rule: str, base_byte: int) -> JpegAiError:
    cls = type(err)
    bit = None if err.bit_offset is None else err.bit_offset + 8 * base_byte
    return cls(err.message, byte_offset=None if bit is None else bit >> 3, bit_offset=bit,
               path=err.path, rule=rule)


def split_segments(data: bytes, *, base_byte: int = 0, tolerant: bool = False) -> list[Segment]:
    """All segments from SOC up to and including the first EOC.

    `base_byte` is where `data` starts in the enclosing file; it only shifts the
    offsets reported in errors and findings, not the Segment offsets. With `tolerant`,
    a segment cut short by the end of the data ends the list as a Segment with `error`
    set, and any other framing error after SOC ends the list and becomes a finding on
    its last segment instead of being raised.
    """
    data = bytes(data)
    if len(data) < 2 or data[:2] != MAGIC[:2]:
        raise ParseError("codestream does not start with SOC (FF 80)", byte_offset=base_byte,
                         path="SOC", rule="STR-001")
    segments = [Segment(Marker.SOC, 0)]
    try:
        _split_after_soc(data, base_byte, segments, tolerant)
    except JpegAiError as err:
        if not tolerant:
            raise
        segments[-1].findings.append(Finding(err.rule or "", "E", err.message, err.path or "",
                                             err.byte_offset, err.bit_offset))
    return segments


def _cut_short(marker: Marker, pos: int, start: int, data: bytes, err: JpegAiError, **header) -> Segment:
    """The segment at `pos` that the data ends inside of: the bytes from `start` on, and the error."""
    finding = Finding(err.rule or "", "E", err.message, err.path or marker.name, err.byte_offset, err.bit_offset)
    return Segment(marker, pos, start, data[start:], error=finding, **header)


def _split_after_soc(data: bytes, base_byte: int, segments: list[Segment], tolerant: bool) -> None:
    pos = 2
    while True:
        if pos >= len(data):
            segments[-1].findings.append(Finding(
                "STR-002", "E", "codestream ends without EOC", "EOC", base_byte + pos))
            return
        if pos + 2 > len(data):
            raise TruncatedError("codestream ends inside a marker", byte_offset=base_byte + pos,
                                 path="marker", rule="STR-007")
        value = int.from_bytes(data[pos:pos + 2], "big")
        try:
            marker = Marker(value)
        except ValueError:
            rule = "STR-003" if value >> 8 == 0xFF else "STR-007"
            raise ParseError(f"0x{value:04X} at a segment boundary is not a known marker",
                             byte_offset=base_byte + pos, path=f"segment[{len(segments)}]",
                             rule=rule) from None
        name = marker.name
        if marker in BARE:
            seg = Segment(marker, pos)
            segments.append(seg)
            pos += 2
            if marker is Marker.EOC:
                if pos < len(data):
                    seg.findings.append(Finding(
                        "STR-002", "E", f"{len(data) - pos} bytes follow EOC", name, base_byte + pos))
                return
            continue
        reader = BitReader(data, (pos + 2) * 8, base_bit=0, path=name)
        try:
            size = reader.read_ue("substream_size")
            size_bits = reader.tell() - (pos + 2) * 8
            align_bits, align_value = reader.align("alignment")
        except TruncatedError as err:
            if not tolerant:
                raise _reraise(err, "SEG-003", base_byte) from None
            segments.append(_cut_short(marker, pos, pos + 2, data, _reraise(err, "SEG-003", base_byte)))
            return
        except ParseError as err:
            raise _reraise(err, "SEG-001", base_byte) from None
        start = reader.tell() // 8
        if start + size > len(data):
            err = TruncatedError(f"{marker.name} payload of {size} bytes runs {start + size - len(data)} "
                                 f"bytes past the end", byte_offset=base_byte + start, path=name,
                                 rule="SEG-003")
            if not tolerant:
                raise err
            segments.append(_cut_short(marker, pos, start, data, err, size_bits=size_bits,
                                       align_bits=align_bits, align_value=align_value, declared_size=size))
            return
        seg = Segment(marker, pos, start, data[start:start + size], size_bits, align_bits, align_value)
        if align_value:
            seg.findings.append(Finding("SEG-002", "E", "alignment bits after substream_size are not zero",
                                        name, base_byte + pos + 2, 8 * (base_byte + pos + 2) + size_bits))
        segments.append(seg)
        pos = start + size


def frame_segment(marker: Marker, payload: bytes = b"") -> bytes:
    """Marker, ue(v) size, zero alignment, payload (bare markers take no payload)."""
    marker = Marker(marker)
    if marker in BARE:
        if payload:
            raise BuildError(f"{marker.name} is a bare marker and takes no payload", path=marker.name)
        return marker.to_bytes(2, "big")
    w = BitWriter()
    w.write(marker, 16)
    w.write_ue(len(payload), "substream_size")
    return w.to_bytes() + bytes(payload)


def join_segments(parts: Iterable[tuple[Marker, bytes]]) -> bytes:
    """SOC, the given (marker, payload) segments in the given order, EOC."""
    out = [frame_segment(Marker.SOC)]
    out += [frame_segment(m, p) for m, p in parts]
    out.append(frame_segment(Marker.EOC))
    return b"".join(out)

