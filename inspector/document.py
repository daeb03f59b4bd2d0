"""The file being inspected: its bytes, the parser's tree (lenient mode), and lookups
from an offset, a finding or a name to a tree node. No parsing of its own happens here."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import jpegai_fmt
from jpegai_fmt.container import unwrap
from jpegai_fmt.errors import JpegAiError
from jpegai_fmt.tree import Finding, Node


def parse_tree(data: bytes) -> Node:
    """The lenient tree of a container or raw codestream; input that is not JPEG AI at all
    becomes a file node holding one error node, so the inspector always has something to show."""
    try:
        return jpegai_fmt.parse(data, lenient=True)
    except JpegAiError as err:
        root = Node("file", None, 0, 8 * len(data), "file")
        bit = err.bit_offset if err.bit_offset is not None else 8 * (err.byte_offset or 0)
        root.add(Node("error", err.describe(), bit, 0, "error"))
        root.findings.append(Finding(err.rule or "", "E", err.message, err.path or "", bit >> 3, bit))
        return root


def validate(data: bytes, root: Node, entropy: bool = False) -> list[Finding]:
    """The validator's findings (lenient policy; with `entropy`, the decoding rules too); the parser's own
    when the validator refuses the input."""
    try:
        return list(jpegai_fmt.validate(data, lenient=True, entropy=entropy))
    except JpegAiError:
        return root.all_findings()


def node_at_bit(root: Node, bit: int) -> Node:
    """The deepest node whose range holds `bit` (zero-length nodes only match exactly)."""
    node = root
    while True:
        for child in node.children:
            start, length = child.bit_offset, child.bit_length
            if start <= bit < start + length or (length == 0 and start == bit):
                node = child
                break
        else:
            return node


def node_at_byte(root: Node, offset: int) -> Node:
    """The deepest node that covers any bit of byte `offset`: the first such field wins."""
    node = root
    while True:
        for child in node.children:
            if child.byte_offset <= offset < max(child.byte_end, child.byte_offset + 1):
                node = child
                break
        else:
            return node


@dataclass
class Document:
    """One opened file: name, bytes, tree, kind and findings (the validator's when present)."""

    name: str
    data: bytes
    root: Node
    findings: list[Finding] = field(default_factory=list)
    _owner: dict[int, Node] = field(default_factory=dict, repr=False)
    _compared: Node | None = field(default=None, repr=False)     # the subtree `differences` compared

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Document":
        with open(path, "rb") as fh:
            data = fh.read()
        return cls.from_bytes(data, os.fspath(path))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>") -> "Document":
        root = parse_tree(bytes(data))
        doc = cls(name, bytes(data), root)
        doc.set_findings(root.all_findings())
        return doc

    @property
    def kind(self) -> str:
        if self.data[:4] == b"\xff\x80\xff\x82":
            return "codestream"
        return "container" if self.data[4:8] == b"ftyp" else "unknown"

    def set_findings(self, findings: list[Finding]) -> None:
        self.findings = list(findings)
        self._owner = {id(f): n for n in self.root.walk() for f in n.findings}

    def node_of(self, finding: Finding) -> Node:
        """The node a finding is about: its owner in the tree, else its path, else its offset."""
        owner = self._owner.get(id(finding))
        if owner is not None:
            return owner
        if finding.path:
            for candidate in (self.root.get(finding.path), self._by_suffix(finding.path)):
                if candidate is not None:
                    return candidate
        if finding.bit_offset is not None:
            return node_at_bit(self.root, finding.bit_offset)
        if finding.byte_offset is not None:
            return node_at_byte(self.root, finding.byte_offset)
        return self.root

    def differences(self, other: "Document") -> list:
        """`jpegai_fmt.compare.diff` of this file against `other`: whole trees for two files of one kind, their
        codestreams for a .jai file against a raw codestream (as `jpegai-fmt diff` does)."""
        from jpegai_fmt.compare import diff
        from jpegai_fmt.paths import codestream_root
        a, b = self.root, other.root
        if (a.name == "file") != (b.name == "file"):
            a, b = codestream_root(a), codestream_root(b)
        self._compared = a
        return diff(a, b)

    def node_of_difference(self, difference) -> Node:
        """The element of this file a difference is about; for one only the other file has, the deepest
        element of this file on its path (where it would stand)."""
        if difference.a is not None:
            return difference.a
        node, parts = self._compared or self.root, difference.path.split("/")[:-1]
        for part in parts:
            child = node.get(part)
            if child is None:
                break
            node = child
        return node

    def _by_suffix(self, path: str) -> Node | None:
        """A codestream finding path is relative to the codestream, which a container nests deeper."""
        tail = "/" + path
        return next((n for n in self.root.walk() if n.path.endswith(tail)), None)

    def search(self, text: str, after: Node | None = None) -> Node | None:
        """The next node (in tree order, wrapping) whose name or path contains `text`."""
        needle = text.lower()
        nodes = list(self.root.walk())
        start = 0
        if after is not None:
            start = next((i + 1 for i, n in enumerate(nodes) if n is after), 0)
        for node in nodes[start:] + nodes[:start]:
            if needle in node.name.lower() or (("/" in needle) and needle in node.path.lower()):
                return node
        return None

    def codestream(self) -> bytes:
        """The codestream bytes: the file itself, or the primary item of a container."""
        if self.kind != "container":
            return self.data
        return unwrap(self.data)

    def channel_counts(self) -> tuple[int, int]:
        """Coded latent channel counts (luma, chroma) from PIH, or the maxima when unknown."""
        counts = []
        for c, default in ((0, 160), (1, 96)):
            node = next((n for n in self.root.walk() if n.path.endswith(f"PIH/component[{c}]/num_chs")), None)
            counts.append(node.value if node is not None and isinstance(node.value, int) else default)
        return counts[0], counts[1]
