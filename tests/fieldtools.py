"""Helpers for tests that compare header field dictionaries."""
from __future__ import annotations


def present(d):
    """Drop absent (None) fields, recursively: parsers report every optional field, builders omit them."""
    if isinstance(d, dict):
        return {k: present(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [present(v) for v in d]
    return d
