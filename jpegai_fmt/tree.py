"""The one syntax tree shared by the CLI, JSON output, validator and inspector.

Every node carries its absolute position in the file in bits, so a header field
packed at an odd bit and a whole box are described the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class Finding:
    """One validator result: rule id, severity (E/W/I), where, and a one-line message."""

    rule: str
    severity: str
    message: str
    path: str = ""
    byte_offset: int | None = None
    bit_offset: int | None = None

    def to_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "path": self.path, "byte_offset": self.byte_offset, "bit_offset": self.bit_offset}


@dataclass(eq=False)
class Node:
    """A syntax element, segment, box or payload part.

    kind: 'file', 'box', 'segment', 'header', 'field', 'group', 'payload', 'error'.
    bit_offset/bit_length are absolute in the file (bits), so byte ranges follow.
    """

    name: str
    value: Any = None
    bit_offset: int = 0
    bit_length: int = 0
    kind: str = "field"
    children: list["Node"] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    parent: "Node | None" = field(default=None, repr=False)
    # On a root from jpegai_fmt.parse: the bytes it was read from, so build() can copy opaque payloads.
    source: bytes | None = field(default=None, repr=False)

    # -- construction -------------------------------------------------------
    def add(self, child: "Node") -> "Node":
        child.parent = self
        self.children.append(child)
        return child

    # -- geometry -----------------------------------------------------------
    @property
    def byte_offset(self) -> int:
        return self.bit_offset >> 3

    @property
    def byte_end(self) -> int:
        return (self.bit_offset + self.bit_length + 7) >> 3

    # -- navigation ---------------------------------------------------------
    @property
    def path(self) -> str:
        parts = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/".join(reversed(parts))

    def walk(self) -> Iterator["Node"]:
        yield self
        for c in self.children:
            yield from c.walk()

    def child(self, name: str) -> "Node | None":
        for c in self.children:
            if c.name == name:
                return c
        return None

    def keyed_children(self) -> dict[str, "Node"]:
        """Children by key: the name, with '#2', '#3'... appended to a repeated one (the JSON dump's keys)."""
        keyed: dict[str, Node] = {}
        for child in self.children:
            key, k = child.name, 1
            while key in keyed:
                k += 1
                key = f"{child.name}#{k}"
            keyed[key] = child
        return keyed

    def get(self, path: str) -> "Node | None":
        """Node at a '/'-separated path below this one, or None. A part names the first child of that name,
        or with '#k' the k-th (the keys of `keyed_children`)."""
        node: Node | None = self
        for part in path.split("/"):
            if node is None:
                return None
            node = node.keyed_children().get(part) if "#" in part else node.child(part)
        return node

    def all_findings(self) -> list[Finding]:
        return [f for n in self.walk() for f in n.findings]

    # -- output -------------------------------------------------------------
    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind,
                             "bit_offset": self.bit_offset, "bit_length": self.bit_length}
        if self.value is not None:
            d["value"] = self.value.hex() if isinstance(self.value, (bytes, bytearray)) else self.value
        if self.findings:
            d["findings"] = [f.to_dict() for f in self.findings]
        if self.children:
            d["children"] = [c.to_dict() for c in self.children]
        return d
