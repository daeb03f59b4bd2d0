"""MSB-first bit reading and writing with Exp-Golomb codes (codestream.md §4).

Used wherever the codestream packs fields at bit granularity outside a declarative
header schema: segment framing (§3), thread-size prefixes (§9.1) and region size
tables (§9.2). Every read is bounds-checked and reports the absolute bit offset.
"""
from __future__ import annotations

from .errors import BuildError, ParseError, TruncatedError

MAX_UE_LEADING_ZEROS = 31  # codestream.md §4.3 [PROJECT DECISION]


def bounded_width(maximum: int) -> int:
    """Bits of a b(M) field: ceil(log2(M+1)), computed exactly as M's bit length (§4.2)."""
    if maximum < 0:
        raise BuildError(f"bounded field maximum {maximum} is negative")
    return maximum.bit_length()


def se_to_code(value: int) -> int:
    """se(v) mapping (§4.4): positive values to odd code numbers, zero/negative to even."""
    return 2 * value - 1 if value > 0 else -2 * value


def code_to_se(code: int) -> int:
    return (code + 1) // 2 if code & 1 else -(code // 2)


class BitReader:
    """Reads MSB-first bits from `data[bit_pos:bit_end]` (bit positions inside `data`).

    `base_bit` is added to every reported offset, so errors point into the whole file;
    `path` names the field group being read.
    """

    def __init__(self, data: bytes, bit_pos: int = 0, bit_end: int | None = None,
                 *, base_bit: int = 0, path: str = ""):
        self.data = data
        self.pos = bit_pos
        self.end = len(data) * 8 if bit_end is None else bit_end
        self.base_bit = base_bit
        self.path = path

    def tell(self) -> int:
        return self.pos

    @property
    def bits_left(self) -> int:
        return self.end - self.pos

    def _where(self, what: str) -> dict:
        bit = self.base_bit + self.pos
        return {"byte_offset": bit >> 3, "bit_offset": bit,
                "path": f"{self.path}/{what}" if self.path else what}

    def read(self, n: int, what: str = "bits") -> int:
        """Unsigned n-bit value, most significant bit first."""
        if n == 0:
            return 0
        if self.pos + n > self.end:
            raise TruncatedError(f"{what}: needs {n} bits, {self.bits_left} left", **self._where(what))
        first, last = self.pos >> 3, (self.pos + n - 1) >> 3
        chunk = int.from_bytes(self.data[first:last + 1], "big")
        shift = (last + 1) * 8 - (self.pos + n)
        self.pos += n
        return (chunk >> shift) & ((1 << n) - 1)

    def read_ue(self, what: str = "ue(v)") -> int:
        start = self.pos
        zeros = 0
        while self.read(1, what) == 0:
            zeros += 1
            if zeros > MAX_UE_LEADING_ZEROS:
                self.pos = start
                raise ParseError(f"{what}: ue(v) with more than {MAX_UE_LEADING_ZEROS} leading zeros",
                                 **self._where(what))
        return (1 << zeros) - 1 + self.read(zeros, what)

    def read_se(self, what: str = "se(v)") -> int:
        return code_to_se(self.read_ue(what))

    def align(self, what: str = "alignment") -> tuple[int, int]:
        """Skip to the next byte boundary; returns (number of bits skipped, their value)."""
        n = -self.pos % 8
        return n, self.read(n, what)


class BitWriter:
    """Collects MSB-first bits; `to_bytes` pads with zero bits to a byte boundary."""

    def __init__(self):
        self._value = 0
        self.bit_length = 0

    def write(self, value: int, n: int, what: str = "bits") -> None:
        if value < 0 or value >> n:
            raise BuildError(f"{what}: value {value} does not fit in {n} bits", path=what)
        self._value = (self._value << n) | value
        self.bit_length += n

    def write_ue(self, value: int, what: str = "ue(v)") -> None:
        if value < 0:
            raise BuildError(f"{what}: ue(v) cannot code negative value {value}", path=what)
        n = (value + 1).bit_length()
        if n - 1 > MAX_UE_LEADING_ZEROS:
            raise BuildError(f"{what}: value {value} too large for ue(v)", path=what)
        self.write(value + 1, 2 * n - 1, what)

    def write_se(self, value: int, what: str = "se(v)") -> None:
        self.write_ue(se_to_code(value), what)

    def align(self) -> None:
        self.write(0, -self.bit_length % 8)

    def to_bytes(self) -> bytes:
        pad = -self.bit_length % 8
        return (self._value << pad).to_bytes((self.bit_length + pad) // 8, "big")
