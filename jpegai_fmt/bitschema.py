"""Running declarative `construct` schemas over MSB-first header bits (PIH, TON, RDI).

A header payload is expanded to one byte per bit, so construct's `BitsInteger`,
`If`, `Array` and context lambdas work unchanged and the stream position is the bit
position. `Traced` fields record where each element starts and ends; that record
becomes the shared syntax tree (`tree.Node`) with absolute bit offsets, and gives
errors their field path.
"""
from __future__ import annotations

import io

from construct import (BitsInteger, Construct, ConstructError, IfThenElse, Pass, StreamError,
                       Subconstruct, bits2bytes, bytes2bits, evaluate, stream_read, stream_write)

from .bits import bounded_width
from .errors import BuildError, JpegAiError, ParseError, TruncatedError
from .tree import Finding, Node


class Tracer:
    """Collects the Node tree while a schema runs; its stack is the current field path."""

    def __init__(self, root: Node, base_bit: int):
        self.stack = [root]
        self.base_bit = base_bit

    def enter(self, label: str, pos: int, kind: str) -> None:
        self.stack.append(self.stack[-1].add(Node(label, bit_offset=self.base_bit + pos, kind=kind)))

    def leave(self, obj, pos: int) -> None:
        node = self.stack.pop()
        node.bit_length = self.base_bit + pos - node.bit_offset
        if not node.children:
            node.value = list(obj) if isinstance(obj, list) else obj

    @property
    def path(self) -> str:
        return "/".join(n.name for n in self.stack)

    @property
    def bit_offset(self) -> int:
        return self.stack[-1].bit_offset


def _tracer(context) -> Tracer | None:
    return context._params.get("trace")


class Traced(Subconstruct):
    """Records one syntax element (or group) in the tree; `element` names it `label[i]` inside an Array."""

    def __init__(self, label: str, subcon, kind: str = "field", element: bool = False):
        super().__init__(subcon)
        self.label, self.kind, self.element = label, kind, element

    def _label(self, context) -> str:
        return f"{self.label}[{context._index}]" if self.element else self.label

    def _parse(self, stream, context, path):
        tr = _tracer(context)
        if tr is None:
            return self.subcon._parsereport(stream, context, path)
        tr.enter(self._label(context), stream.tell(), self.kind)
        obj = self.subcon._parsereport(stream, context, path)
        tr.leave(obj, stream.tell())
        return obj

    def _build(self, obj, stream, context, path):
        tr = _tracer(context)
        if tr is None:
            return self.subcon._build(obj, stream, context, path)
        tr.enter(self._label(context), stream.tell(), self.kind)
        built = self.subcon._build(obj, stream, context, path)
        tr.stack.pop()
        return built


class Bounded(Construct):
    """b(M): ceil(log2(M+1)) bits; M may depend on the context. Values above M are
    kept on parse (reported under the schema's range rule) and refused on build."""

    def __init__(self, maximum):
        super().__init__()
        self.maximum = maximum

    def _parse(self, stream, context, path):
        maximum = evaluate(self.maximum, context)
        width = bounded_width(maximum)
        value = int.from_bytes(bits2bytes(bytes(-width % 8) + stream_read(stream, width, path)), "big") \
            if width else 0
        _report_over_maximum(context, [value], maximum)
        return value

    def _build(self, obj, stream, context, path):
        maximum = evaluate(self.maximum, context)
        if not isinstance(obj, int) or not 0 <= obj <= maximum:
            raise BuildError(f"value {obj!r} outside 0..{maximum}")
        width = bounded_width(maximum)
        if width:
            stream_write(stream, bytes2bits(obj.to_bytes((width + 7) // 8, "big"))[-width:], width, path)
        return obj


def _report_over_maximum(context, values, maximum) -> None:
    """b(M) fields can hold values above M (the width rounds up): each one is a range finding, not an error."""
    tr = _tracer(context)
    if tr is None:
        return
    for value in values:
        if value > maximum:
            tr.stack[-1].findings.append(Finding(
                context._params.get("range_rule", ""), "E", f"value {value} exceeds maximum {maximum}",
                tr.path, tr.bit_offset >> 3, tr.bit_offset))


class BoundedArray(Construct):
    """`count` values of b(M) read in one go. Filter weight arrays hold up to 65535 values and
    take no bits at all when M = 0, so reading them value by value let a few input bytes cost
    a second of parsing."""

    def __init__(self, count, maximum):
        super().__init__()
        self.count, self.maximum = count, maximum

    def _parse(self, stream, context, path):
        count, maximum = evaluate(self.count, context), evaluate(self.maximum, context)
        width = bounded_width(maximum)
        if not width:
            return [0] * count
        bits = stream_read(stream, count * width, path)
        values = [int(bits[i:i + width].translate(_BIT_CHARS), 2) for i in range(0, count * width, width)]
        _report_over_maximum(context, values, maximum)
        return values

    def _build(self, obj, stream, context, path):
        count = evaluate(self.count, context)
        if len(obj) != count:
            raise BuildError(f"expected {count} values, found {len(obj)}")
        for value in obj:
            Bounded._build(self, value, stream, context, path)
        return obj


_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"01")


class Opt(IfThenElse):
    """A field present only when `condition` holds; may be left out (or None) when building."""

    def __init__(self, condition, subcon):
        super().__init__(condition, subcon, Pass)
        self.flagbuildnone = True

    def _build(self, obj, stream, context, path):
        if evaluate(self.condfunc, context):
            return self.thensubcon._build(obj, stream, context, path)
        return None


def u(name: str, bits: int):
    """A traced u(n) field."""
    return name / Traced(name, BitsInteger(bits))


def b(name: str, maximum):
    """A traced b(M) field."""
    return name / Traced(name, Bounded(maximum))


def opt(condition, field):
    """Make a named (traced) field conditional, keeping its name."""
    return field.name / Opt(condition, field.subcon)


def group(name: str, subcon):
    return name / Traced(name, subcon, kind="group")


def _with_partial(err: JpegAiError, tracer: Tracer, pos: int) -> JpegAiError:
    """Attach the fields read before the error (`err.partial`, the header's tree so far): a lenient reader
    still shows them. The field being read when it failed is left out (the error marks it); the groups
    around it end where reading stopped."""
    for depth in range(len(tracer.stack) - 1, 0, -1):
        node = tracer.stack[depth]
        if node.children:
            node.bit_length = tracer.base_bit + pos - node.bit_offset
        else:
            tracer.stack[depth - 1].children.remove(node)
    err.partial = tracer.stack[0]
    return err


def parse_header(schema, payload: bytes, *, name: str, base_bit: int = 0, range_rule: str = "",
                 **params) -> tuple[dict, Node]:
    """Parse a header payload with `schema`; returns (values, tree).

    The tree root is a 'header' node spanning the whole payload. b(M) values above M
    become findings under `range_rule`. Reading past the end
    raises TruncatedError (SEG-006); a payload longer than ceil(bits_read/8) bytes or
    non-zero padding bits become findings SEG-004 / SEG-005 on the root.
    """
    root = Node(name, kind="header", bit_offset=base_bit, bit_length=8 * len(payload))
    tracer = Tracer(root, base_bit)
    bits = bytes2bits(payload)
    stream = io.BytesIO(bits)
    try:
        values = schema.parse_stream(stream, trace=tracer, range_rule=range_rule, **params)
    except StreamError:
        error = TruncatedError(f"{name} payload ({len(payload)} bytes) ends inside a field",
                               byte_offset=tracer.bit_offset >> 3, bit_offset=tracer.bit_offset,
                               path=tracer.path, rule="SEG-006")
        raise _with_partial(error, tracer, stream.tell()) from None
    except ConstructError as err:
        error = ParseError(f"{name}: {err}", byte_offset=tracer.bit_offset >> 3,
                           bit_offset=tracer.bit_offset, path=tracer.path)
        raise _with_partial(error, tracer, stream.tell()) from None
    except JpegAiError as err:  # raised by a size or count rule inside the schema
        error = type(err)(err.message, byte_offset=tracer.bit_offset >> 3, bit_offset=tracer.bit_offset,
                          path=tracer.path, rule=err.rule)
        raise _with_partial(error, tracer, stream.tell()) from None
    used = stream.tell()
    if len(payload) != (used + 7) // 8:
        root.findings.append(Finding("SEG-004", "E", f"{name} payload has {len(payload)} bytes, its fields "
                                     f"use {used} bits ({(used + 7) // 8} bytes)", name,
                                     (base_bit + used) >> 3, base_bit + used))
    pad_end = min(8 * len(payload), (used + 7) // 8 * 8)
    if any(bits[used:pad_end]):
        root.findings.append(Finding("SEG-005", "E", f"{name} padding bits are not zero", name,
                                     (base_bit + used) >> 3, base_bit + used))
    return _plain(values), root


def build_header(schema, values: dict, *, name: str, **params) -> bytes:
    """Serialise header values with `schema`, zero-padded to a byte boundary."""
    tracer = Tracer(Node(name, kind="header"), 0)
    stream = io.BytesIO()
    try:
        schema.build_stream(values, stream, trace=tracer, **params)
    except BuildError as err:
        raise BuildError(f"{name}: {err.message}", path=tracer.path) from None
    except (ConstructError, KeyError, TypeError, ValueError) as err:
        raise BuildError(f"{name}: cannot serialise ({err})", path=tracer.path) from None
    bits = stream.getvalue()
    return bits2bytes(bits + bytes(-len(bits) % 8))


def _plain(obj):
    """construct Containers/ListContainers to plain dicts/lists, dropping its private keys."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj
