"""jpegai-fmt: JPEG AI (ISO/IEC 6048-1) codestreams and (6048-5) files."""
from .errors import JpegAiError, ParseError, TruncatedError, BuildError, DecodeError, ModelMismatchError
from .tree import Node, Finding

__all__ = ["JpegAiError", "ParseError", "TruncatedError", "BuildError", "DecodeError",
           "ModelMismatchError", "Node", "Finding"]
