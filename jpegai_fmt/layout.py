"""Phase 2 of reading: byte ranges inside entropy-coded payloads (codestream.md §9).

An ANS memory is an se(v) thread-size prefix plus n thread ranges (§9.1); a residual
segment holds regions, either all in one payload behind a ue(v) size table or one
region per segment behind a u(8) index (§9.2). Offsets are bytes from the start of
the payload; nothing here looks inside a thread range.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .bits import BitReader, BitWriter
from .errors import BuildError, JpegAiError, ParseError
from .tree import Finding


@dataclass
class AnsMemory:
    """One ANS memory: where it lies in the payload and its thread ranges."""

    offset: int
    size: int
    prefix_bits: int = 0  # se(v) codes + alignment, 0 with one thread
    code_bits: int = 0    # the se(v) codes alone
    pad_value: int = 0    # the alignment bits after them (0 when valid)
    deltas: list[int] = field(default_factory=list)
    threads: list[tuple[int, int]] = field(default_factory=list)  # (offset, size) per thread
    findings: list[Finding] = field(default_factory=list)


@dataclass
class RegionPart:
    """One region's residual memory inside a SORP/SORS payload."""

    index: int
    memory: AnsMemory


@dataclass
class ResidualLayout:
    """Regions of one SORP/SORS payload; `table_bits` covers the ue(v) size table
    (dependent mode) or the u(8) region index (independent mode)."""

    independent: bool
    table_bits: int
    region_sizes: list[int]
    parts: list[RegionPart]
    findings: list[Finding] = field(default_factory=list)


def _error(err: JpegAiError, rule: str) -> ParseError:
    return type(err)(err.message, byte_offset=err.byte_offset, bit_offset=err.bit_offset,
                     path=err.path, rule=rule)


def split_threads(payload: bytes, n: int, *, offset: int = 0, size: int | None = None,
                  base_byte: int = 0, path: str = "") -> AnsMemory:
    """Thread ranges of the memory `payload[offset:offset+size]` with n threads (§9.1).

    `base_byte` is the payload's offset in the file, for errors and findings.
    """
    size = len(payload) - offset if size is None else size
    mem = AnsMemory(offset, size)
    end = offset + size
    if n == 1:
        mem.threads = [(offset, size)]
    else:
        reader = BitReader(payload, 8 * offset, 8 * end, base_bit=8 * base_byte, path=path)
        try:
            mem.deltas = [reader.read_se(f"thread_size_delta[{i}]") for i in range(n - 1)]
            mem.code_bits = reader.tell() - 8 * offset
            _, pad = reader.align("alignment")
            mem.pad_value = pad
        except JpegAiError as err:
            raise _error(err, "THR-001") from None
        mem.prefix_bits = reader.tell() - 8 * offset
        if pad:
            mem.findings.append(Finding("THR-001", "E", "alignment bits after the thread-size prefix are "
                                        "not zero", path, base_byte + offset))
        data_start = reader.tell() // 8
        total = end - data_start
        mean = total // n
        sizes = [mean - d for d in mem.deltas]
        sizes.append(total - sum(sizes))
        if min(sizes) < 1:
            raise ParseError(f"thread sizes {sizes} of a {total}-byte memory include sizes below 1",
                             byte_offset=base_byte + offset, path=path, rule="THR-002")
        pos = data_start
        for s in sizes:
            mem.threads.append((pos, s))
            pos += s
    for i, (start, length) in enumerate(mem.threads):
        if payload.count(0, start, start + length) == length:  # no set bit, counted in C
            mem.findings.append(Finding("THR-003", "E", f"thread {i} range has no set bit (no end marker)",
                                        f"{path}/thread[{i}]", base_byte + start))
    return mem


def build_memory(threads: list[bytes]) -> bytes:
    """An ANS memory from its thread ranges: se(v) deltas to the mean size, alignment, data."""
    if not threads or any(len(t) < 1 for t in threads):
        raise BuildError("an ANS memory needs at least one thread and every thread at least one byte")
    if len(threads) > 16:
        raise BuildError(f"{len(threads)} threads; the syntax allows at most 16")
    if len(threads) == 1:
        return bytes(threads[0])
    mean = sum(map(len, threads)) // len(threads)
    w = BitWriter()
    for t in threads[:-1]:
        w.write_se(mean - len(t), "thread_size_delta")
    return w.to_bytes() + b"".join(threads)


def split_residual(payload: bytes, n_threads: int, num_regions: int, independent: bool, *,
                   base_byte: int = 0, path: str = "") -> ResidualLayout:
    """Regions and threads of one SORP/SORS payload (§9.2)."""
    if independent:
        if len(payload) < 1:
            raise ParseError("independent region segment without region_index", byte_offset=base_byte,
                             path=path, rule="REG-001")
        index = payload[0]
        if index >= num_regions:
            raise ParseError(f"region_index {index} not below the {num_regions} regions",
                             byte_offset=base_byte, path=f"{path}/region_index", rule="REG-001")
        mem = split_threads(payload, n_threads, offset=1, base_byte=base_byte, path=f"{path}/region[{index}]")
        return ResidualLayout(True, 8, [len(payload) - 1], [RegionPart(index, mem)])
    reader = BitReader(payload, base_bit=8 * base_byte, path=path)
    try:
        sizes = [reader.read_ue(f"region_size[{i}]") for i in range(num_regions - 1)]
        _, pad = reader.align("alignment")
    except JpegAiError as err:
        raise _error(err, "REG-003") from None
    layout = ResidualLayout(False, reader.tell(), sizes, [])
    if pad:
        layout.findings.append(Finding("REG-003", "E", "alignment bits after the region size table are "
                                       "not zero", path, base_byte))
    pos = reader.tell() // 8
    last = len(payload) - pos - sum(sizes)
    if last < 1:
        raise ParseError(f"region sizes {sizes} leave {last} bytes for the last region of a "
                         f"{len(payload)}-byte payload", byte_offset=base_byte, path=path, rule="REG-003")
    layout.region_sizes = sizes + [last]
    for i, s in enumerate(layout.region_sizes):
        layout.parts.append(RegionPart(i, split_threads(payload, n_threads, offset=pos, size=s,
                                                        base_byte=base_byte, path=f"{path}/region[{i}]")))
        pos += s
    return layout


def build_dependent_residual(memories: list[bytes]) -> bytes:
    """One SORP/SORS payload holding every region: ue(v) sizes of all but the last, alignment, memories."""
    if not memories or any(len(m) < 1 for m in memories):
        raise BuildError("a residual payload needs at least one region and every region at least one byte")
    w = BitWriter()
    for m in memories[:-1]:
        w.write_ue(len(m), "region_size")
    return w.to_bytes() + b"".join(memories)


def build_independent_residual(index: int, memory: bytes) -> bytes:
    """The payload of one independent region's SORP/SORS segment."""
    if not 0 <= index <= 255:
        raise BuildError(f"region_index {index} outside 0..255", path="region_index")
    return bytes([index]) + memory
