"""Resource limits for decoding: refuse a decompression bomb before anything large is allocated.

A codestream of a hundred bytes can claim a 65599 x 65599 picture; decoding it would allocate
latent, residual and network buffers of many gigabytes. Decoders (and everything that rebuilds
the latent grid, such as channel extraction) call `check_decode(pih)` right after the headers
are parsed. Two limits apply (docs/conformance.md):

- picture size: W x H at most the maximum of the stream's level (codestream.md §13), or an
  explicit `max_samples`;
- memory: the estimated decoding memory at most `memory_bytes` (default 4 GiB).

Both can be overridden per call (`Limits(...)`) or for a process with the environment variables
JPEGAI_FMT_MAX_SAMPLES and JPEGAI_FMT_MEMORY_BUDGET (bytes, or with a K/M/G suffix).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import BuildError, DecodeError
from .tables import PROFILES

GIB = 1 << 30
DEFAULT_MEMORY = 4 * GIB
# Measured on our codec (decode of 256..1536 px pictures, peak RSS growth): about 75 bytes per coded
# sample plus a fixed overhead, worst at small sizes; 160 keeps a margin for other model sets.
BYTES_PER_SAMPLE = 160
FIXED_BYTES = 64 << 20
# Refinement keeps the synthesis activations for the backward pass: about 600 bytes per coded sample
# (peak RSS growth, 512x512 and 1024x1024 pictures); 800 keeps a margin.
REFINE_BYTES_PER_SAMPLE = 800
LEVEL_MAX = {int(k): v for k, v in PROFILES["levels"]["L0_max_samples"].items()}


class LimitError(DecodeError):
    """Decoding refused: the picture is larger than allowed or would not fit the memory budget."""


@dataclass(frozen=True)
class Limits:
    """max_samples: None = the level's maximum; memory_bytes: the decoding memory budget."""

    max_samples: int | None = None
    memory_bytes: int = DEFAULT_MEMORY

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(_env_size("JPEGAI_FMT_MAX_SAMPLES", None), _env_size("JPEGAI_FMT_MEMORY_BUDGET", DEFAULT_MEMORY))


def _env_size(name: str, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    scale = {"K": 1 << 10, "M": 1 << 20, "G": GIB}.get(text[-1].upper(), 1)
    try:
        value = int(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise LimitError(f"{name}={text!r} is not a size (an integer, optionally with K, M or G)") from None
    if value <= 0:
        raise LimitError(f"{name}={text!r} must be positive")
    return value


def level_max_samples(level_idc: int) -> int:
    """Maximum W x H of the level; an undefined level gets the largest level's maximum."""
    return LEVEL_MAX.get(level_idc // 10, max(LEVEL_MAX.values()))


def decode_memory(width: int, height: int) -> int:
    """Estimated peak memory (bytes) to decode a W x H picture with our codec."""
    return FIXED_BYTES + BYTES_PER_SAMPLE * width * height


def refine_memory(width: int, height: int) -> int:
    """Estimated peak memory (bytes) of encoder-side latent refinement on a W x H coded picture."""
    return FIXED_BYTES + REFINE_BYTES_PER_SAMPLE * width * height


def check_refine(width: int, height: int, limits: Limits | None = None) -> None:
    limits = limits or Limits.from_env()
    need = refine_memory(width, height)
    if need > limits.memory_bytes:
        raise BuildError(f"latent refinement of a {width}x{height} picture needs about {_gib(need)}, above the "
                         f"memory budget of {_gib(limits.memory_bytes)}; encode without refinement or raise the "
                         f"budget (JPEGAI_FMT_MEMORY_BUDGET or Limits(memory_bytes=...))")


def _gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


def check_decode(pih, limits: Limits | None = None) -> None:
    """Raise LimitError unless a picture with this PIH may be decoded under `limits`.

    Only header values are used, so this runs before any buffer of picture size exists.
    """
    limits = limits or Limits.from_env()
    w, h = pih.width, pih.height
    samples = w * h
    level = pih["level_idc"]
    cap = limits.max_samples if limits.max_samples is not None else level_max_samples(level)
    if samples > cap:
        source = "the limit given" if limits.max_samples is not None else f"the level {level} maximum"
        raise LimitError(f"picture {w}x{h} = {samples:,} samples exceeds {source} of {cap:,}; refused before "
                         f"decoding (raise it with JPEGAI_FMT_MAX_SAMPLES or Limits(max_samples=...))",
                         path="PIH/img_width_minus64")
    need = decode_memory(w, h)
    if need > limits.memory_bytes:
        raise LimitError(f"decoding {w}x{h} needs about {_gib(need)}, above the memory budget of "
                         f"{_gib(limits.memory_bytes)}; refused before decoding (raise it with "
                         f"JPEGAI_FMT_MEMORY_BUDGET or Limits(memory_bytes=...))", path="PIH/img_width_minus64")
