"""`jpegai-fmt`: the command-line entry point.

Each subcommand is a module in `jpegai_fmt.commands` with `add_parser(subparsers)`
(which sets `run` as the parser default) and `run(args) -> int`. To add one, add its
module name to COMMANDS. Command modules import heavy dependencies (torch) inside
`run`, so listing the commands stays fast and syntax-only commands never load torch.

Exit codes, for every command: 0 = valid / done, 1 = input read but invalid (error
findings; for `diff`, the inputs differ; for `edit`, written but invalid), 2 = unreadable
input, usage error or failure. Errors are one line on stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

from .commands import _stdio
from .errors import JpegAiError

COMMANDS = ["info", "dump", "validate", "diff", "edit", "wrap", "unwrap", "extract", "encode", "decode", "spec"]


def _modules(names):
    for name in names:
        try:
            yield importlib.import_module(f"{__package__}.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__package__}.commands.{name}":
                raise  # a command module that exists but fails to import is a bug, not an absent command


def build_parser(names=COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jpegai-fmt", description="JPEG AI codestream and .jai file toolkit.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _modules(names):
        module.add_parser(sub)
    return parser


INPUT_OPTIONS = ("input", "exif", "xmp", "icc", "reference")   # options that name a file the command reads


def _output_is_input(args) -> str | None:
    """The output path of an INPUT OUTPUT command when it names a file the command reads (the input, or an
    input option such as wrap's --exif)."""
    output = getattr(args, "output", None)
    pairs = [(getattr(args, name, None), output) for name in INPUT_OPTIONS]
    paths = getattr(args, "paths", None)
    if paths and len(paths) == 2 and not getattr(args, "out_dir", None):
        pairs += [(src, paths[1]) for src in [paths[0]] + [getattr(args, n, None) for n in INPUT_OPTIONS[1:]]]
    for src, dst in pairs:
        if isinstance(src, str) and isinstance(dst, str) and os.path.exists(dst):
            try:
                if os.path.samefile(src, dst):
                    return dst
            except OSError:
                continue
    return None


def _inputs(args) -> list[str]:
    """The paths a command reads: its positional inputs and options such as wrap's --exif."""
    found = [getattr(args, name, None) for name in INPUT_OPTIONS + ("file", "file_a", "file_b")]
    paths = getattr(args, "paths", None) or []
    found += paths[:1] if len(paths) == 2 and not getattr(args, "out_dir", None) else paths
    found += getattr(args, "files", None) or []
    return [p for p in found if isinstance(p, str)]


def _writes_stdout(args) -> bool:
    """Whether the command's output path is `-`."""
    paths = getattr(args, "paths", None) or []
    return getattr(args, "output", None) == _stdio.STDIO or (
        len(paths) == 2 and not getattr(args, "out_dir", None) and paths[1] == _stdio.STDIO)


def _stdio_problem(args) -> str | None:
    """Why `-` cannot stand where it was given, or None."""
    if _inputs(args).count(_stdio.STDIO) > 1:
        return "standard input (-) can be read only once"
    if getattr(args, "out_dir", None) and _stdio.STDIO in (getattr(args, "paths", None) or []):
        return "- (standard input) needs the INPUT OUTPUT form, not --out-dir"
    if _writes_stdout(args) and sys.stdout.isatty():
        return "will not write binary data to a terminal: redirect standard output (> FILE or | PROGRAM)"
    return None


def _terminate(signum, frame):
    """SIGTERM unwinds like Ctrl-C, so a file being written is removed, not left half-done."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    own = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if own:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    finally:
        if own:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only the named command's module is imported (fast start); all of them for help or a typo.
    names = argv[:1] if argv and argv[0] in COMMANDS else COMMANDS
    parser = build_parser(names)
    args, extra = parser.parse_known_args(argv)
    # argparse stops a list positional at the first option: `encode a.png --bdl 50 a.jai` leaves a.jai over.
    listed = next((name for name in ("paths", "files") if isinstance(getattr(args, name, None), list)), None)
    if extra and listed and not any(arg.startswith("-") and arg != "-" for arg in extra):
        getattr(args, listed).extend(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    clash = _output_is_input(args)
    if clash:
        print(f"jpegai-fmt {args.command}: the output {clash} is the input; inputs are never overwritten "
              "(write elsewhere, then move)", file=sys.stderr)
        return 2
    problem = _stdio_problem(args)
    if problem:
        print(f"jpegai-fmt {args.command}: {problem}", file=sys.stderr)
        return 2
    _stdio.forget_stdin()
    try:
        if not _writes_stdout(args):
            return args.run(args)
        _stdio.binary_stdout = sys.stdout.buffer
        try:                                    # stdout carries the data alone; what the command says goes to stderr
            with contextlib.redirect_stdout(sys.stderr):
                return args.run(args)
        finally:
            _stdio.binary_stdout = None
    except KeyboardInterrupt:
        print(f"jpegai-fmt {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # output piped into a reader that stopped (e.g. `| head`)
        return 0
    except (JpegAiError, OSError) as err:
        print(f"jpegai-fmt {args.command}: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - one line instead of a traceback, unless debugging
        if os.environ.get("JPEGAI_FMT_DEBUG"):
            raise
        print(f"jpegai-fmt {args.command}: internal error: {type(err).__name__}: {err} "
              "(set JPEGAI_FMT_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
