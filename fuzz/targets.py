"""Fuzz targets: each takes arbitrary bytes and may only fail with the project's own errors.

Used by the atheris harness (fuzz/run.py) and by the regression test, which replays every input
kept in fuzz/corpus-regressions/. Anything other than a JpegAiError escaping a target is a bug,
as is a valid stream that does not rebuild to the same bytes.
"""
from __future__ import annotations

import contextlib
import io
import zlib
from types import SimpleNamespace

from jpegai_fmt import build, parse, validate
from jpegai_fmt.compare import diff
from jpegai_fmt.edit import edit
from jpegai_fmt.errors import JpegAiError
from jpegai_fmt.markers import MAGIC
from jpegai_fmt.pih import build_pih, default_fields, parse_pih
from jpegai_fmt.rdi import parse_rdi
from jpegai_fmt.segments import split_segments
from jpegai_fmt.ton import parse_ton
from jpegai_fmt.udi_record import parse_record

# PIHs that TON is parsed against: 4:2:0 (no eICCI flag), 4:4:4 and 4:2:2 sources of other sizes
_PIHS = [parse_pih(build_pih(default_fields(192, 128))),
         parse_pih(build_pih(default_fields(576, 320, s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1,
                                            c_hor_minus1=1))),
         parse_pih(build_pih(default_fields(1000, 700, s_ver_minus1=0, s_hor_minus1=1, c_ver_minus1=0)))]


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def _try(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except JpegAiError:
        return None


def target_parse(data: bytes) -> None:
    """parse (strict; `validate` covers lenient); a codestream without errors must rebuild byte for byte."""
    tree = _try(parse, data)
    if tree is None or data[:4] != MAGIC or any(f.severity == "E" for f in tree.all_findings()):
        return
    rebuilt = _try(build, tree)
    if rebuilt != data:
        raise AssertionError("build(parse(x)) != x for a codestream without errors")


def target_validate(data: bytes) -> None:
    """validate (strict with the entropy checks, lenient) and the info and dump commands' JSON."""
    from jpegai_fmt.commands import dump, info
    if _try(validate, data, entropy=True) is None:
        return
    _try(validate, data, lenient=True)
    with _tempfile(data) as path:
        for command in (info, dump):
            _try(_quiet, command.run, SimpleNamespace(file=path, files=[path], path=None, syntax="auto",
                                                      lenient=True, json=True))


def target_edit(data: bytes) -> None:
    """A lenient tree compared with itself (no difference allowed), and an edit that sets a header field to its
    own value, written back through the builders."""
    tree = _try(parse, data, lenient=True)
    if tree is None:
        return
    if diff(tree, tree):
        raise AssertionError("diff(t, t) reports differences")
    model = tree.get("PIH/model_id") if data[:4] == MAGIC else None
    if model is not None:
        _try(edit, data, set_values={"PIH/model_id": model.value}, lenient=True)


def target_extract(data: bytes) -> None:
    """Channel extraction with options picked from the input's checksum."""
    from jpegai_fmt.extract import extract
    crc = zlib.crc32(data)
    luma = (None, 0, 8, 16, 40, 160)[crc % 6]
    chroma = (None, 0, 8, 24, 96)[(crc >> 3) % 5]
    _try(extract, data, luma_channels=luma, chroma_channels=chroma, drop_ton=bool(crc & 0x100),
         drop_udi=bool(crc & 0x200), drop_regions=(1,) if crc & 0x400 else ())


_NETWORKS = []


def target_decode(data: bytes) -> None:
    """Full decode (integer path, entropy decoding, synthesis) of small pictures; the decoding
    limits keep claimed sizes small, so every input stays fast."""
    from codec.pipeline import decode
    from codec.weights import load_networks
    from jpegai_fmt.limits import Limits
    if not _NETWORKS:
        _NETWORKS.append(load_networks())
    _try(decode, data, model=_NETWORKS[0], limits=Limits(max_samples=320 * 320))


def target_headers(data: bytes) -> None:
    """One header parser per input, chosen by the first byte: segment split, PIH (IS, DIS, auto),
    TON against one of three PIHs, RDI, the UDI record."""
    if not data:
        return
    kind, body = data[0] % 9, data[1:]
    if kind == 0:
        _try(split_segments, body, tolerant=True)
    elif kind <= 3:
        _try(parse_pih, body, syntax=("is", "dis", "auto")[kind - 1])
    elif kind <= 6:
        _try(parse_ton, body, _PIHS[kind - 4])
    elif kind == 7:
        _try(parse_rdi, body)
    else:
        _try(parse_record, body)


HEADER_KINDS = {"split": 0, "PIH": 1, "TON": 4, "RDI": 7, "UDI": 8}  # first byte of a seed, by segment

# modules each target imports on its first input (the fuzz harness imports them up front)
LAZY_IMPORTS = {"validate": ("jpegai_fmt.commands.dump", "jpegai_fmt.commands.info", "jpegai_fmt.picture",
                             "codec.pipeline", "codec.entropy.checks"),
                "extract": ("jpegai_fmt.extract", "codec.pipeline", "codec.entropy"),
                "decode": ("codec.pipeline", "codec.weights", "codec.model", "jpegai_fmt.limits")}


TARGETS = {"parse": target_parse, "validate": target_validate, "edit": target_edit, "extract": target_extract,
           "headers": target_headers, "decode": target_decode}


@contextlib.contextmanager
def _tempfile(data: bytes):
    """info reads a path: a RAM-backed file when available."""
    import os
    import tempfile
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, path = tempfile.mkstemp(suffix=".jaic", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        os.unlink(path)
