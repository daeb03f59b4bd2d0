"""JPEG AI file container (ISO/IEC 6048-5, project layout v0 of container.md §2): HEIF boxes.

Public API: `sniff`, `parse_file` (tree with the codestream nested under its item),
`validate_file` (container + codestream findings), `wrap`, `unwrap`.
"""
from .file import parse_file, sniff, validate_file
from .writer import unwrap, wrap

__all__ = ["parse_file", "sniff", "validate_file", "wrap", "unwrap"]
