"""Many inputs, one progress bar: output naming, per-file error capture and the summary of encode/decode.

`encode IN OUT` and `decode IN OUT` keep working; with `--out-dir D` every positional is an input and
each output is named after its input's stem. One file failing does not stop the others; the exit code
says whether all went well (0) or any failed (2).
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ..errors import JpegAiError

def pairs(paths: list[str], out_dir: str | None, suffix: str, command: str) -> list[tuple[str, str]]:
    """(input, output) pairs: `IN OUT` without --out-dir, else every path is an input."""
    if out_dir is None:
        if len(paths) != 2:
            raise ValueError(f"give INPUT OUTPUT, or several inputs with --out-dir (jpegai-fmt {command} --help)")
        folder = os.path.dirname(os.path.abspath(paths[1]))
        if not os.path.isdir(folder):
            raise ValueError(f"cannot write {paths[1]}: folder {folder} does not exist")
        if _named_like_other_side(command, paths[1]):
            raise ValueError(f"{command} writes {suffix} data, not {Path(paths[1]).suffix}: name the output "
                             f"*{suffix}, or give several inputs with --out-dir")
        return [(paths[0], paths[1])]
    out, seen = [], {}
    for p in paths:
        target = os.path.join(out_dir, Path(p).stem + suffix)
        if target in seen:
            raise ValueError(f"{p} and {seen[target]} would both be written to {target}")
        if _same_file(p, target):
            raise ValueError(f"the output {target} is the input {p}; inputs are never overwritten "
                             "(choose another --out-dir)")
        seen[target] = p
        out.append((p, target))
    return out


def _named_like_other_side(command: str, path: str) -> bool:
    """An output named like a picture for `encode`, or like anything but PNG for `decode`, is almost always two
    inputs given without --out-dir (a shell glob): refused rather than overwritten. Pillow's extension registry
    decides what names a picture, so the list follows the formats Pillow knows."""
    from PIL import Image

    from ..pillow import CODESTREAM_EXTENSIONS, CONTAINER_EXTENSIONS
    ext = Path(path).suffix.lower()
    ours = ext in CONTAINER_EXTENSIONS + CODESTREAM_EXTENSIONS
    fmt = Image.registered_extensions().get(ext)
    if command == "encode":
        return fmt is not None and not ours
    return command == "decode" and (ours or fmt not in (None, "PNG"))


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def bar(label: str, total: int, enabled: bool = True):
    """One bar over all files on a terminal (stderr); a no-op when piped. Yields advance(name)."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda name=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn(f"{label} {{task.description}}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("", total=total)
        yield lambda name=None: progress.update(task, advance=1, description=name or "")


def run_all(jobs: list[tuple[str, str]], work, label: str, quiet: bool) -> list[dict]:
    """Run work(input, output) -> info for every job; a failure becomes {'input', 'output', 'error'}.
    The outputs' folder (--out-dir) is made here, once every option has been checked."""
    for folder in {os.path.dirname(dst) for _, dst in jobs}:
        if folder:
            os.makedirs(folder, exist_ok=True)
    results = []
    with bar(label, len(jobs), enabled=not quiet and len(jobs) > 1) as advance:
        for src, dst in jobs:
            try:
                results.append(work(src, dst))
            except (JpegAiError, OSError, ValueError) as err:
                results.append({"input": src, "output": dst, "error": str(err)})
            advance(os.path.basename(src))
    return results


def report(results: list[dict], command: str, as_json: bool, columns: list[tuple[str, str]], line) -> int:
    """Print results (one JSON object for one file, a list for several; a table on a terminal) and
    return the exit code: 0 when every file went through, 2 otherwise."""
    import json

    from ..render import Block, print_blocks
    failed = [r for r in results if "error" in r]
    for r in failed:
        where = "" if r["error"].startswith(r["input"]) else f"{r['input']}: "
        print(f"jpegai-fmt {command}: {where}{r['error']}", file=sys.stderr)
    if as_json:
        print(json.dumps(results[0] if len(results) == 1 else results))
    elif len(results) == 1:
        if not failed:
            print(line(results[0]))
    else:
        rows = [tuple(fmt.format(r[key]) if key in r else "-" for key, fmt in columns) for r in results
                if "error" not in r]
        print_blocks([Block(f"{command}: {len(results) - len(failed)} of {len(results)} files",
                            rows, tuple(key for key, _ in columns))])
    return 2 if failed else 0
