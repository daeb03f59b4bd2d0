"""JPEG AI file container (ISO/IEC 6048-5, project layout v0 of container.md §2): HEIF boxes.

Public API: `parse_file` (tree with the codestream nested under its item), `wrap`,
`unwrap`; `sniff` and `validate_file` are the package's `sniff` and `validate`, which
read containers through `parse_file` and add BOX-020 (extension) for paths.
"""
from ..api import sniff
from ..api import validate as validate_file
from .file import parse_file
from .writer import unwrap, wrap

__all__ = ["parse_file", "sniff", "validate_file", "wrap", "unwrap"]
