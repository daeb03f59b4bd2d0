"""Codestream validation rules (codestream.md §15) on a parsed codestream.

Parsing already reports what it meets while reading (framing, header ranges and
padding, thread and region layouts: rules marked `"by": "parser"` in
`spec_tables/codestream_rules.json`). The checks here add the rules that need the
whole picture (segment counts and order, PIH/TON/RDI values, profiles and levels,
regions across segments). Every finding is attached to the tree node it concerns.

Extension point: `register(check, entropy=True)` adds a check that needs entropy
decoding (SOQ-003, THR-004); such checks run only when asked for (`entropy=True`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..codestream import Codestream
from ..markers import Marker
from ..segments import Segment
from ..tables import RULES
from ..tree import Finding, Node


@dataclass
class Context:
    """What a check sees: the codestream, its tree, and segment nodes by marker."""

    cs: Codestream
    nodes: list[tuple[Segment, Node]] = field(default_factory=list)

    def __post_init__(self):
        seg_nodes = [c for c in self.cs.node.children if c.kind == "segment"]
        self.nodes = list(zip(self.cs.segments, seg_nodes))

    @property
    def root(self) -> Node:
        return self.cs.node

    @property
    def syntax(self) -> str:
        return self.cs.pih.syntax if self.cs.pih is not None else "is"

    def of(self, marker: Marker) -> list[tuple[Segment, Node]]:
        return [(s, n) for s, n in self.nodes if s.marker == marker]

    def first(self, marker: Marker) -> Node | None:
        found = self.of(marker)
        return found[0][1] if found else None


def report(node: Node, rule: str, case: str, *, at: Node | None = None, path: str | None = None,
           **values) -> Finding:
    """Attach the finding for `rule`/`case` (message from the rules table) to `node`;
    its position and path are those of `at` (default: `node`) unless `path` is given."""
    spec = RULES[rule]["cases"][case]
    where = at or node
    f = Finding(rule, spec["severity"], spec["message"].format(**values), where.path if path is None else path,
                where.bit_offset >> 3, where.bit_offset)
    node.findings.append(f)
    return f


def flag(node: Node, rule: str, message: str, *, bit_offset: int | None = None) -> Finding:
    """Attach a free-text finding under `rule` with the rule's table severity; for checks
    that report facts found elsewhere (the entropy decoder: SOQ-003, THR-004)."""
    severity = RULES[rule]["severity"].split("/")[0]
    bit = node.bit_offset if bit_offset is None else bit_offset
    f = Finding(rule, severity, message, node.path, bit >> 3, bit)
    node.findings.append(f)
    return f


Check = Callable[[Context], None]
CHECKS: list[Check] = []
ENTROPY_CHECKS: list[Check] = []


def register(check: Check, *, entropy: bool = False) -> Check:
    """Add a check; `entropy=True` marks one that decodes payloads (run only on request)."""
    (ENTROPY_CHECKS if entropy else CHECKS).append(check)
    return check


def check_codestream(cs: Codestream, *, entropy: bool = False) -> list[Finding]:
    """Run every registered check on `cs`, attaching findings to its tree; returns all
    findings of the tree (parser findings included), in tree order."""
    ctx = Context(cs)
    if entropy:
        _load_entropy_checks()
    for check in CHECKS + (ENTROPY_CHECKS if entropy else []):
        check(ctx)
    return cs.node.all_findings()


def _load_entropy_checks() -> None:
    """The codec's entropy checks (SOQ-003, THR-004) register themselves on import, when installed."""
    import importlib
    try:
        importlib.import_module("codec.entropy.checks")
    except ModuleNotFoundError as err:
        if not (err.name or "").startswith("codec"):
            raise


def tolerated(f: Finding) -> bool:
    """Whether the reference decoder tolerates what `f` reports (lenient-mode warning)."""
    lenient = RULES.get(f.rule, {}).get("lenient")
    return lenient is not None and lenient.get("match", "") in f.message


LENIENT_NOTE = " (tolerated by the reference decoder: warning in lenient mode)"


def apply_policy(root: Node, lenient: bool) -> None:
    """Lenient mode: errors the reference decoder tolerates become warnings, in place."""
    if not lenient:
        return
    for node in root.walk():
        for f in node.findings:
            if f.severity == "E" and tolerated(f):
                f.severity = "W"
                f.message += LENIENT_NOTE


from . import picture, structure, tools  # noqa: E402,F401  (register the checks)
