"""Container constants and BOX- rule texts, loaded from `spec_tables/container_*.json`.

Brands, 4CCs, limits, `colr` defaults and every rule message are data, so a change
of the interim layout (container.md §2) is an edit of the tables, not of the code.
"""
from __future__ import annotations

from spec_tables import load

from ..tree import Finding, Node

LAYOUT = load("container_layout")
RULES = load("container_rules")
LIMITS = LAYOUT["limits"]


def finding(rule: str, case: str, node: Node | None = None, *, byte_offset: int | None = None,
            **values) -> Finding:
    """The Finding for `rule`/`case`, its message formatted with `values`.

    The position defaults to the node's first byte; the path is the node's path.
    """
    spec = RULES[rule]["cases"][case]
    if byte_offset is None and node is not None:
        byte_offset = node.byte_offset
    return Finding(rule, spec["severity"], spec["message"].format(**values),
                   node.path if node is not None else "", byte_offset)


def report(node: Node, rule: str, case: str, *, byte_offset: int | None = None, **values) -> Finding:
    """Attach a finding to `node` and return it."""
    f = finding(rule, case, node, byte_offset=byte_offset, **values)
    node.findings.append(f)
    return f
