"""jpegai-fmt: JPEG AI (ISO/IEC 6048-1) codestreams and (6048-5) files.

Public API: `parse`, `build`, `validate`, `read_codestream`, `write_codestream`,
the tree model (`Node`, `Finding`) and the error types; `open`, `encode`, `decode`
(numpy arrays in and out, `jpegai_fmt.picture`) load on first use; `extract` is imported with the
package, so that the submodule of the same name can never shadow the function.
Importing the package loads the syntax layer only (no torch, no textual) and registers
the Pillow plugin.
"""
from .api import build, parse, read_codestream, sniff, validate, write_codestream
from .errors import (BuildError, DecodeError, JpegAiError, ModelMismatchError, ParseError, PathError,
                     TruncatedError)
from .extract import extract
from .tree import Finding, Node
from . import pillow as _pillow  # noqa: F401  (registers .jai/.jaic with Pillow; imports no codec)

_LAZY = {"open": "picture", "encode": "picture", "decode": "picture", "ImageInfo": "picture"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module
        value = globals()[name] = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["parse", "build", "validate", "read_codestream", "write_codestream", "sniff",
           "JpegAiError", "ParseError", "TruncatedError", "BuildError", "DecodeError", "PathError",
           "ModelMismatchError", "Node", "Finding", "open", "encode", "decode", "ImageInfo", "extract"]
