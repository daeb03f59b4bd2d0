"""jpegai-fmt: JPEG AI (ISO/IEC 6048-1) codestreams and (6048-5) files.

Public API: `parse`, `build`, `validate`, `read_codestream`, `write_codestream`,
the tree model (`Node`, `Finding`) and the error types. Importing the package loads
the syntax layer only (no torch, no textual).
"""
from .api import build, parse, read_codestream, sniff, validate, write_codestream
from .errors import BuildError, DecodeError, JpegAiError, ModelMismatchError, ParseError, TruncatedError
from .tree import Finding, Node

__all__ = ["parse", "build", "validate", "read_codestream", "write_codestream", "sniff",
           "JpegAiError", "ParseError", "TruncatedError", "BuildError", "DecodeError",
           "ModelMismatchError", "Node", "Finding"]
