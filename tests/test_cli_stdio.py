"""`-` for standard input and output: every command that reads a file reads a pipe the same way, every command
that writes one writes the same bytes to a pipe, and what it would print goes to standard error instead."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jpegai_fmt import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "valid", "enc-model-0.jai")


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jpegai_fmt", *args], input=stdin, capture_output=True, cwd=ROOT,
                          timeout=300)


@pytest.fixture(scope="module")
def sample() -> bytes:
    with open(SAMPLE, "rb") as fh:
        return fh.read()


def test_readers_take_standard_input(sample, capsys):
    by_path = [cli.main([*cmd, SAMPLE]) for cmd in (["info", "--json"], ["validate", "--json"])]
    from_file = capsys.readouterr().out
    piped = [run(*cmd, "-", stdin=sample) for cmd in (["info", "--json"], ["validate", "--json"])]
    assert [p.returncode for p in piped] == by_path == [0, 0]
    assert b"".join(p.stdout for p in piped).decode().replace('"-"', json.dumps(SAMPLE)) == from_file
    dump = run("dump", "-", "PIH/model_id", "--json", stdin=sample)
    assert dump.returncode == 0 and json.loads(dump.stdout)["element"] == "PIH/model_id"
    same = run("diff", "-", SAMPLE, stdin=sample)
    assert same.returncode == 0 and b"no differences" in same.stdout


def test_writers_put_the_same_bytes_on_standard_output(sample, tmp_path, capsys):
    for cmd in (["unwrap"], ["extract", "--luma-channels", "16"], ["edit", "--set", "PIH/model_id=1"]):
        cli.main([cmd[0], SAMPLE, str(tmp_path / "out"), *cmd[1:]])
        capsys.readouterr()
        piped = run(cmd[0], "-", "-", *cmd[1:], "--json", stdin=sample)
        assert piped.returncode in (0, 1)              # edit's model_id 1 may be flagged; it is written anyway
        assert piped.stdout == (tmp_path / "out").read_bytes()
        assert isinstance(json.loads(piped.stderr), dict)     # the report moved to standard error, whole
    wrapped = run("wrap", "-", "-", stdin=run("unwrap", "-", "-", stdin=sample).stdout)
    assert wrapped.returncode == 0 and run("unwrap", "-", "-", stdin=wrapped.stdout).stdout == \
        run("unwrap", "-", "-", stdin=sample).stdout


def test_encode_and_decode_through_pipes(tmp_path, capsys):
    pytest.importorskip("torch")
    y, x = np.mgrid[0:64, 0:96]
    png = io.BytesIO()
    Image.fromarray(np.stack([x * 2, y * 3, (x + y) % 200], -1).astype(np.uint8)).save(png, "PNG")
    (tmp_path / "p.png").write_bytes(png.getvalue())
    assert cli.main(["encode", str(tmp_path / "p.png"), str(tmp_path / "p.jai"), "--model-id", "1", "--refine",
                     "0"]) == 0
    assert cli.main(["decode", str(tmp_path / "p.jai"), str(tmp_path / "p2.png")]) == 0
    capsys.readouterr()
    enc = run("encode", "-", "-", "--model-id", "1", "--refine", "0", stdin=png.getvalue())
    assert enc.returncode == 0 and enc.stdout == (tmp_path / "p.jai").read_bytes()
    assert b"-: " in enc.stderr and b"model_id 1" in enc.stderr
    dec = run("decode", "-", "-", stdin=enc.stdout)
    assert dec.returncode == 0 and dec.stdout == (tmp_path / "p2.png").read_bytes() and b"64" in dec.stderr


@pytest.mark.parametrize("args, says", [
    (["diff", "-", "-"], "standard input (-) can be read only once"),
    (["decode", "-", "-", "--reference", "-"], "standard input (-) can be read only once"),
    (["encode", "-", "--out-dir", "d"], "needs the INPUT OUTPUT form"),
])
def test_impossible_uses_of_the_dash_are_refused(args, says, capsys):
    assert cli.main(args) == 2 and says in capsys.readouterr().err


def test_binary_output_is_not_written_to_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["unwrap", SAMPLE, "-"]) == 2
    out = capsys.readouterr()
    assert "will not write binary data to a terminal" in out.err and out.out == ""
