"""CLI outputs are atomic: a command that fails or is killed while writing leaves either no
output or the previous file untouched, and never changes its input."""
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jpegai_fmt.cli import main as cli_main
from jpegai_fmt.container import writer

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "samples" / "valid" / "enc-threads-2.jaic"
JAI = ROOT / "samples" / "valid" / "enc-regions-independent.jai"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def commands(tmp: Path, out: Path) -> dict[str, list[str]]:
    raw, jai = tmp / "in.jaic", tmp / "in.jai"
    raw.write_bytes(RAW.read_bytes())
    jai.write_bytes(JAI.read_bytes())
    return {
        "wrap": ["wrap", str(raw), str(out)],
        "unwrap": ["unwrap", str(jai), str(out)],
        "extract": ["extract", str(jai), str(out), "--luma-channels", "16", "--drop-regions", "1"],
        "decode": ["decode", str(raw), str(out)],
    }


def inputs(tmp: Path) -> dict[str, str]:
    return {p.name: digest(p) for p in tmp.glob("in.*")}


@pytest.mark.parametrize("name", ["wrap", "unwrap", "extract", "decode"])
def test_failure_while_writing_leaves_the_old_output_and_no_temporary(name, tmp_path, monkeypatch, capsys):
    if name in ("extract", "decode"):
        pytest.importorskip("torch")
    out = tmp_path / "out.bin"
    cmd = commands(tmp_path, out)[name]
    before = inputs(tmp_path)
    assert cli_main(cmd) == 0 and out.stat().st_size > 0          # a real run first
    good = digest(out)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device (simulated)")
    monkeypatch.setattr(writer.os, "replace", broken_replace)
    code = cli_main(cmd)
    assert code == 2 and "No space left on device" in capsys.readouterr().err
    assert digest(out) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.bin", "in.jaic", "in.jai"])
    assert inputs(tmp_path) == before


def test_written_outputs_get_the_usual_permissions(tmp_path):
    out = tmp_path / "x.jai"
    writer.write_file(out, b"data")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


# SIGINT as a user's Ctrl-C delivers it: a shell running the tests in the background starts its children
# with SIGINT ignored, which Python honours (no KeyboardInterrupt), so the child restores the default.
SLOW_WRITE = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from jpegai_fmt.container import writer
real = os.fdopen
class Slow:
    def __init__(self, fh): self.fh = fh
    def __enter__(self): return self
    def __exit__(self, *exc): return self.fh.__exit__(*exc)
    def write(self, data):
        self.fh.write(data[: len(data) // 2]); self.fh.flush()
        open(sys.argv[1], "w").close()             # tell the parent: half of the file is on disk
        time.sleep(60)
writer.os.fdopen = lambda fd, mode: Slow(real(fd, mode))
from jpegai_fmt.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
@pytest.mark.parametrize("name", ["wrap", "extract"])
def test_command_killed_mid_write_leaves_no_partial_output(name, sig, tmp_path):
    if name == "extract":
        pytest.importorskip("torch")
    out = tmp_path / "out.bin"
    out.write_bytes(b"previous output")
    cmd = commands(tmp_path, out)[name]
    before = inputs(tmp_path)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, str(ready), *cmd], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not ready.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert ready.exists(), proc.communicate()
    temporaries = [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(temporaries) == 1 and temporaries[0].stat().st_size > 0   # really killed mid-write
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert out.read_bytes() == b"previous output"
    assert inputs(tmp_path) == before
    left = {p.name for p in tmp_path.iterdir()} - {"in.jaic", "in.jai", "out.bin", "ready"}
    if sig == signal.SIGKILL:
        # nothing can run after SIGKILL: the hidden temporary stays, the output is untouched
        assert left == {temporaries[0].name}
    else:
        assert left == set() and "interrupted" in err


@pytest.mark.parametrize("name", ["wrap", "unwrap", "extract", "decode", "encode"])
def test_output_naming_the_input_is_refused(name, tmp_path, capsys):
    jai = tmp_path / "in.jai"
    jai.write_bytes(JAI.read_bytes())
    raw = tmp_path / "in.jaic"
    raw.write_bytes(RAW.read_bytes())
    src = {"wrap": raw, "decode": raw}.get(name, jai)
    if name == "encode":
        src = tmp_path / "in.png"
        from PIL import Image
        Image.new("RGB", (64, 64)).save(src)
    before = digest(src)
    alias = tmp_path / "." / src.name                # the same file under another spelling
    assert cli_main([name, str(src), str(alias)]) == 2
    assert "is the input; inputs are never overwritten" in capsys.readouterr().err
    assert digest(src) == before
