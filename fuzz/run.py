"""Coverage-guided fuzzing with atheris: `python fuzz/run.py TARGET [libFuzzer options]`.

TARGET is one of fuzz/targets.py: parse, validate, edit, extract, headers, decode. The corpus starts from the
conformance samples (and, for `headers`, their PIH/TON/RDI/UDI payloads) in fuzz/corpus/TARGET/
(or --corpus=DIR).
Defaults: -timeout=1 (an input running over 1 s is a failure; 3 s for `decode`, which runs the
synthesis networks), -rss_limit_mb=2048, the marker and
box dictionary fuzz/jpegai.dict; failing inputs go to fuzz/artifacts/. Examples (docs/conformance.md):

    python fuzz/run.py headers -runs=200000
    nice -n 10 python fuzz/run.py validate -max_total_time=600
"""
from __future__ import annotations

import importlib
import os
import random
import sys
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[0:1] = [str(ROOT)]  # import the `fuzz` package, not this folder's modules

with atheris.instrument_imports(include=["jpegai_fmt", "codec", "fuzz"]):
    from fuzz.targets import HEADER_KINDS, LAZY_IMPORTS, TARGETS
    from jpegai_fmt.container import unwrap, wrap
    from jpegai_fmt.errors import JpegAiError
    from jpegai_fmt.markers import BARE, MAGIC
    from jpegai_fmt.segments import frame_segment, split_segments
    # what the chosen target imports lazily, imported here so that it is instrumented too, and so that the first
    # input does not pay torch's import (over a second, which libFuzzer would report as a timeout)
    for module in LAZY_IMPORTS.get(sys.argv[1] if len(sys.argv) > 1 else "", ()):
        try:
            importlib.import_module(module)
        except ImportError:    # no torch: the target still runs wherever it does not reach the codec
            pass


def mutate_segments(data: bytes, max_size: int, seed: int) -> bytes:
    """Half of the mutations of a codestream keep its framing: one segment's payload is mutated
    (or the segment dropped or repeated) and reframed with a correct substream_size, so the
    mutations reach header fields and payload layouts instead of stopping at the segment split.
    Half of those of a .jai file mutate its codestream and wrap it again."""
    rng = random.Random(seed)
    if data[4:8] == b"ftyp" and rng.random() < 0.5:
        return _mutate_item(data, max_size, seed)
    if data[:4] != MAGIC or rng.random() < 0.5:
        return atheris.Mutate(data, max_size)
    try:
        segments = [s for s in split_segments(data, tolerant=True) if s.marker not in BARE]
    except JpegAiError:
        segments = []
    if not segments:
        return atheris.Mutate(data, max_size)
    seg = rng.choice(segments)
    action = rng.random()
    if action < 0.8:
        new = frame_segment(seg.marker, atheris.Mutate(seg.payload, max(2 * len(seg.payload), 16)))
    elif action < 0.9:
        new = b""
    else:
        new = 2 * data[seg.offset:seg.end]
    return (data[:seg.offset] + new + data[seg.end:])[:max_size]


def seed(target: str, folder: Path) -> None:
    """Fill the corpus folder from the samples (kept files are not rewritten)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "samples").glob("*/*.jai*")):
        data = path.read_bytes()
        pieces = [data]
        if target == "headers":
            pieces = [bytes([HEADER_KINDS["split"]]) + data]
            if path.suffix == ".jaic" and path.parent.name == "valid":
                segments = split_segments(data)[1:-1]
                pieces += [bytes([HEADER_KINDS[s.name]]) + s.payload for s in segments
                           if s.name in HEADER_KINDS and len(s.payload) < 600]
        for k, piece in enumerate(pieces):
            out = folder / f"{path.parent.name}-{path.name}-{k}"
            if not out.exists():
                out.write_bytes(piece)
    for path in sorted((HERE / "corpus-regressions").glob("*")):
        if path.is_file():
            out = folder / f"regression-{path.name}"
            if not out.exists():
                out.write_bytes(path.read_bytes())


def _mutate_item(data: bytes, max_size: int, seed: int) -> bytes:
    """A .jai file whose codestream item is mutated as above and wrapped again, so the item
    properties (jaih, ispe, pixi, colr) follow the new PIH."""
    try:
        stream = unwrap(data)
        return wrap(mutate_segments(stream, max(2 * len(stream), 64), seed ^ 1))[:max_size]
    except JpegAiError:
        return atheris.Mutate(data, max_size)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    name = sys.argv[1]
    target = TARGETS[name]
    options = [o for o in sys.argv[2:] if not o.startswith("--corpus=")]
    chosen = [o.split("=", 1)[1] for o in sys.argv[2:] if o.startswith("--corpus=")]
    corpus = Path(chosen[-1]) if chosen else HERE / "corpus" / name
    seed(name, corpus)
    artifacts = HERE / "artifacts"
    artifacts.mkdir(exist_ok=True)
    defaults = {"-timeout": "1", "-rss_limit_mb": "2048", "-dict": str(HERE / "jpegai.dict"),
                "-artifact_prefix": f"{artifacts}/{name}-", "-max_len": "65536"}
    if name == "decode":
        defaults["-timeout"] = "3"  # synthesis networks: a 320x320 picture takes a few hundred ms unloaded
    for key, value in defaults.items():
        if not any(o.startswith(key + "=") for o in options):
            options.append(f"{key}={value}")
    os.environ.setdefault("JPEGAI_FMT_MEMORY_BUDGET", "1G")

    def one_input(data: bytes) -> None:
        target(data)

    mutator = None if name == "headers" else mutate_segments
    atheris.Setup([sys.argv[0], *options, str(corpus)], one_input, custom_mutator=mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
