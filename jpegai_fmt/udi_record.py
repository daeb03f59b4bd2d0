"""The project's UDI record [PROJECT DECISION, spec_tables/udi_record.json, docs/extraction.md]: which model set
made the stream and a channel index, so that channel-cut extraction (entropy.md §9) is pure byte work.

The index says, per component, region and thread, how many bytes to drop from the start of the thread range
to keep exactly a prefix of N′ channels, for every N′ the encoder listed (group-aligned prefixes, §8). A UDI
that does not start with the magic is somebody else's and passes through untouched (codestream.md §8).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BuildError, ParseError

MAGIC = b"jpegai-fmt"
VERSION = 1
MAX_MODEL_SET = 255  # bytes of the model-set id
MAX_REGIONS = 128 * 128  # codestream.md §10: at most 128 x 128 regions
WORD = 8             # cuts drop whole 64-bit words (entropy.md §9 row 3)


@dataclass
class RegionIndex:
    """Cut table of one (component, region): `sizes` are the thread range sizes (bytes) it was made for;
    `cuts` lists (N′, bytes to drop per thread) for ascending N′ below the stream's num_chs."""

    component: int
    region: int
    sizes: list[int]
    cuts: list[tuple[int, list[int]]] = field(default_factory=list)

    def drops(self, channels: int) -> list[int] | None:
        """Bytes to drop per thread for an N′ = `channels` prefix, None if the table lacks that count."""
        return next((d for m, d in self.cuts if m == channels), None)

    def after_cut(self, channels: int, dropped: list[int]) -> "RegionIndex":
        """This table for the stream cut to `channels` channels with `dropped` bytes gone from each thread."""
        cuts = [(m, [d - x for d, x in zip(ds, dropped)]) for m, ds in self.cuts if m < channels]
        return RegionIndex(self.component, self.region, [s - x for s, x in zip(self.sizes, dropped)], cuts)


@dataclass
class ChannelIndex:
    """Channel index of a whole stream: the PIH num_chs it describes and one table per (component, region)."""

    num_chs: tuple[int, int]
    regions: list[RegionIndex] = field(default_factory=list)

    def entry(self, component: int, region: int) -> RegionIndex | None:
        return next((r for r in self.regions if r.component == component and r.region == region), None)


@dataclass
class Record:
    model_set: bytes
    index: ChannelIndex


def _varint(value: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, low group first, high bit = more follows."""
    if value < 0:
        raise BuildError(f"negative value {value} in the UDI record")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def build_record(model_set: bytes, index: ChannelIndex) -> bytes:
    """UDI payload holding the model-set id and the channel index (layout in spec_tables/udi_record.json)."""
    model_set = bytes(model_set)
    if len(model_set) > MAX_MODEL_SET:
        raise BuildError(f"model-set id of {len(model_set)} bytes; at most {MAX_MODEL_SET}", path="UDI/model_set")
    out = [MAGIC, bytes([VERSION]), _varint(len(model_set)), model_set,
           _varint(index.num_chs[0]), _varint(index.num_chs[1]), _varint(len(index.regions))]
    for r in index.regions:
        path = f"UDI/index[{r.component},{r.region}]"
        n = len(r.sizes)
        if r.component not in (0, 1) or not 1 <= n <= 16:
            raise BuildError(f"component {r.component} / {n} threads out of range", path=path)
        out += [bytes([r.component]), _varint(r.region), _varint(n), *map(_varint, r.sizes), _varint(len(r.cuts))]
        prev_m, prev_d = -1, None
        for m, ds in r.cuts:
            if m <= prev_m or m >= index.num_chs[r.component] or len(ds) != n:
                raise BuildError(f"cut for {m} channels: counts must rise and stay below num_chs "
                                 f"{index.num_chs[r.component]}, with one drop per thread", path=path)
            if any(d % WORD or not 0 <= d < s for d, s in zip(ds, r.sizes)):
                raise BuildError(f"drops {ds} must be whole 64-bit words inside thread sizes {r.sizes}", path=path)
            if prev_d is not None and any(d > p for d, p in zip(ds, prev_d)):
                raise BuildError(f"drops {ds} for {m} channels exceed those for {prev_m}", path=path)
            out.append(_varint(m - prev_m - 1))
            out += [_varint((d if prev_d is None else p - d) // WORD)
                    for d, p in zip(ds, prev_d or ds)]
            prev_m, prev_d = m, ds
    return b"".join(out)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def fail(self, message: str, path: str) -> ParseError:
        return ParseError(f"UDI record: {message}", byte_offset=self.pos, path=path, rule="UDI-REC")

    def byte(self, path: str) -> int:
        if self.pos >= len(self.data):
            raise self.fail("ends early", path)
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self, path: str, limit: int = 1 << 40) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte(path)
            value |= (b & 0x7F) << shift
            shift += 7
            if value > limit:
                raise self.fail(f"value above {limit}", path)
            if not b & 0x80:
                return value

    def take(self, count: int, path: str) -> bytes:
        if self.pos + count > len(self.data):
            raise self.fail("ends early", path)
        self.pos += count
        return self.data[self.pos - count:self.pos]


def parse_record(udi: bytes | None) -> Record | None:
    """The record in a UDI payload; None when the payload is not ours (no magic). A payload with our magic
    that does not follow the layout raises ParseError (rule UDI-REC) with the byte offset in the payload."""
    if udi is None or not bytes(udi[:len(MAGIC)]) == MAGIC:
        return None
    r = _Reader(bytes(udi))
    r.pos = len(MAGIC)
    version = r.byte("UDI/version")
    if version != VERSION:
        raise r.fail(f"version {version}; this reader knows version {VERSION}", "UDI/version")
    model_set = r.take(r.varint("UDI/model_set", MAX_MODEL_SET), "UDI/model_set")
    num_chs = (r.varint("UDI/num_chs[0]", 160), r.varint("UDI/num_chs[1]", 96))
    index = ChannelIndex(num_chs)
    for e in range(r.varint("UDI/entries", 2 * MAX_REGIONS)):
        path = f"UDI/index[{e}]"
        component = r.byte(f"{path}/component")
        if component > 1:
            raise r.fail(f"component {component}", path)
        region = r.varint(f"{path}/region", MAX_REGIONS - 1)
        n = r.varint(f"{path}/threads", 16)
        if n < 1:
            raise r.fail("0 threads", path)
        sizes = [r.varint(f"{path}/size") for _ in range(n)]
        entry = RegionIndex(component, region, sizes)
        prev_m, prev_d = -1, None
        for _ in range(r.varint(f"{path}/cuts", num_chs[component])):
            m = prev_m + 1 + r.varint(f"{path}/channels", 160)
            words = [r.varint(f"{path}/drop") for _ in range(n)]
            ds = [WORD * w if prev_d is None else p - WORD * w for w, p in zip(words, prev_d or words)]
            if m >= num_chs[component] or any(not 0 <= d < s for d, s in zip(ds, sizes)):
                raise r.fail(f"cut for {m} channels (drops {ds}, thread sizes {sizes}) does not fit num_chs "
                             f"{num_chs[component]} or the thread ranges", path)
            entry.cuts.append((m, ds))
            prev_m, prev_d = m, ds
        if index.entry(component, region) is not None:
            raise r.fail(f"second table for component {component}, region {region}", path)
        index.regions.append(entry)
    if r.pos != len(r.data):
        raise r.fail(f"{len(r.data) - r.pos} bytes after the last table", "UDI")
    return Record(model_set, index)
