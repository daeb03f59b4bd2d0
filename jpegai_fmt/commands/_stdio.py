"""`-` as a path: standard input for what a command reads, standard output for what it writes.

Pipelines (`curl ... | jpegai-fmt info -`, `jpegai-fmt decode photo.jai - | display`) need no temporary
files. Standard input is read once, whole (every reader here needs random access). When a command's output
is `-`, `cli.main` sends everything the command prints to standard error, so that standard output carries
the data alone; files are still written atomically, standard output is written once, at the end.
"""
from __future__ import annotations

import sys

STDIO = "-"
_stdin: bytes | None = None
binary_stdout = None          # set by cli.main while a command's text output goes to standard error


def source(path: str):
    """What to hand a reader for `path`: the bytes of standard input for `-`, else the path itself."""
    global _stdin
    if path != STDIO:
        return path
    if _stdin is None:
        _stdin = sys.stdin.buffer.read()
    return _stdin


def read_input(path: str) -> bytes:
    """The bytes of a file, or of standard input for `-`."""
    data = source(path)
    if isinstance(data, bytes):
        return data
    with open(data, "rb") as fh:
        return fh.read()


def write_output(path: str, data: bytes) -> None:
    """Write a command's result: atomically to a file, or to standard output for `-`."""
    if path != STDIO:
        from ..container.writer import write_file
        write_file(path, data)
        return
    out = binary_stdout or sys.stdout.buffer
    out.write(data)
    out.flush()


def forget_stdin() -> None:
    """Drop the standard input read by an earlier command run in this process (tests run many)."""
    global _stdin
    _stdin = None
