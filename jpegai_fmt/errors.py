"""The project's own error types: every failure on bad input is one of these, never a bare traceback."""
from __future__ import annotations


class JpegAiError(Exception):
    """Base error: says what went wrong and where (byte/bit offset, field path)."""

    def __init__(self, message: str, *, byte_offset: int | None = None,
                 bit_offset: int | None = None, path: str | None = None, rule: str | None = None):
        self.message = message
        self.rule = rule  # validation rule id the failure breaks, when one applies (e.g. SEG-003)
        self.byte_offset = byte_offset
        self.bit_offset = bit_offset
        self.path = path
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.byte_offset is not None:
            where.append(f"byte {self.byte_offset}")
        if self.bit_offset is not None:
            where.append(f"bit {self.bit_offset}")
        if self.path:
            where.append(self.path)
        if self.rule:
            where.append(self.rule)
        return f"{self.message} ({', '.join(where)})" if where else self.message


class ParseError(JpegAiError):
    """The input does not follow the syntax (or ends early)."""


class TruncatedError(ParseError):
    """The input ends before a field or payload is complete."""


class BuildError(JpegAiError):
    """A tree or value cannot be serialised (out of range, inconsistent)."""


class PathError(JpegAiError):
    """A path names no element of the tree (or one a command cannot take)."""


class DecodeError(JpegAiError):
    """Entropy or picture decoding failed (corrupt payload, model data missing)."""


class ModelMismatchError(DecodeError):
    """The stream was made by another model set than ours: we can parse it but not decode it."""
