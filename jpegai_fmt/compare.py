"""Differences between two syntax trees: what an engineer asks of two encoders' outputs for one picture, of a
stream before and after `extract`, or of a file and its re-write.

Nodes are matched by path, a repeated name counting as name#2, name#3, ... as in the JSON dump, never by
position in the file: a field that moved because something before it grew is not a difference, its value
is. Fields are compared by value; payloads (entropy-coded threads, opaque records), which have no fields, by
their bits, and a payload difference says where the first differing byte is.
"""
from __future__ import annotations

from dataclasses import dataclass

from .tree import Node

CHANGES = ("value", "payload", "only_a", "only_b")


@dataclass
class Difference:
    """One difference: `change` is 'value' or 'payload' (present in both trees), 'only_a' or 'only_b'."""

    path: str
    change: str
    a: Node | None
    b: Node | None
    detail: str = ""

    def to_dict(self) -> dict:
        def side(node: Node | None) -> dict | None:
            if node is None:
                return None
            d = {"bit_offset": node.bit_offset, "bit_length": node.bit_length}
            if node.value is not None:
                d["value"] = node.value.hex() if isinstance(node.value, (bytes, bytearray)) else node.value
            return d
        return {"path": self.path, "change": self.change, "a": side(self.a), "b": side(self.b),
                "detail": self.detail}


def side_text(node: Node | None, limit: int = 48) -> str:
    """One side of a difference as the CLI and the inspector show it: a field's value; a payload's or a
    subtree's kind and size; '(absent)'."""
    from .render import value_text
    if node is None:
        return "(absent)"
    if node.value is not None and not node.children:
        return value_text(node.value, limit)
    size = f"{node.bit_length // 8:,} bytes" if node.bit_length % 8 == 0 else f"{node.bit_length:,} bits"
    return f"{node.kind}, {size}" if node.value is None else f"{value_text(node.value, limit)} ({node.kind}, {size})"


def diff(a: Node, b: Node) -> list[Difference]:
    """Every difference below trees `a` and `b` (each a parse result, or a subtree of one, such as the
    codestream item of a .jai file), in tree order; paths are relative to `a` and `b`, whose own values are not
    compared. Empty when the two hold the same syntax and the same payload bits."""
    out: list[Difference] = []
    src_a, src_b = _source(a), _source(b)
    if not a.children and not b.children:
        _compare(a, b, "", src_a, src_b, out)
    else:
        _compare_children(a, b, "", src_a, src_b, out)
    return out


def _source(node: Node) -> bytes | None:
    while node.parent is not None:
        node = node.parent
    return node.source


def _compare(a: Node, b: Node, path: str, src_a, src_b, out: list[Difference]) -> None:
    if a.value != b.value:
        out.append(Difference(path, "value", a, b))
    elif not a.children and not b.children and a.value is None:
        detail = _payload_difference(a, b, src_a, src_b)
        if detail:
            out.append(Difference(path, "payload", a, b, detail))
    _compare_children(a, b, path, src_a, src_b, out)


def _compare_children(a: Node, b: Node, path: str, src_a, src_b, out: list[Difference]) -> None:
    """Children matched by key, reported in B's order with A's own children where they stood in A."""
    ka, kb = a.keyed_children(), b.keyed_children()
    a_keys = list(ka)
    done: set[str] = set()

    def emit(key: str) -> None:
        done.add(key)
        sub = f"{path}/{key}" if path else key
        if key not in kb:
            out.append(Difference(sub, "only_a", ka[key], None))
        elif key not in ka:
            out.append(Difference(sub, "only_b", None, kb[key]))
        else:
            _compare(ka[key], kb[key], sub, src_a, src_b, out)

    position = {key: i for i, key in enumerate(a_keys)}
    next_a = 0                                 # A's children before this one that B lacks are emitted first
    for key in kb:
        if key in ka:
            while next_a < position[key]:
                earlier = a_keys[next_a]
                next_a += 1
                if earlier not in done and earlier not in kb:
                    emit(earlier)
        if key not in done:
            emit(key)
    for key in a_keys:
        if key not in done:
            emit(key)


def _bits(node: Node, source: bytes | None) -> tuple[int, bytes]:
    """(bit length, the node's bits left-aligned in bytes, zero-padded): byte-aligned payloads as they are."""
    if source is None:
        return node.bit_length, b""
    start, n = node.bit_offset, node.bit_length
    chunk = source[start >> 3:(start + n + 7) >> 3]
    if start & 7 == 0 and n & 7 == 0:
        return n, chunk
    value = int.from_bytes(chunk, "big") >> (8 * len(chunk) - (start & 7) - n) & ((1 << n) - 1)
    pad = -n % 8
    return n, (value << pad).to_bytes((n + pad) // 8, "big")


def _payload_difference(a: Node, b: Node, src_a, src_b) -> str:
    """'' when the two payloads hold the same bits, else where the first differing byte is."""
    (na, ba), (nb, bb) = _bits(a, src_a), _bits(b, src_b)
    if na == nb and ba == bb:
        return ""
    lo, hi = 0, min(len(ba), len(bb))          # first differing byte: longest equal prefix, by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ba[:mid] == bb[:mid]:
            lo = mid
        else:
            hi = mid - 1
    if lo == min(len(ba), len(bb)):
        return "one is a prefix of the other"
    where = f"first difference at byte {lo:,} of the payload"
    if a.bit_offset % 8 == 0 and b.bit_offset % 8 == 0:
        where += f" (file byte {a.byte_offset + lo:,} / {b.byte_offset + lo:,})"
    return where
