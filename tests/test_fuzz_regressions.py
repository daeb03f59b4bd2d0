"""Every input that ever made a fuzz target fail (an exception other than JpegAiError, or over 1 s:
`-slow-` in the name) is replayed (fuzz/corpus-regressions/, named TARGET-what-hash), and a short coverage-guided run of each cheap target finds nothing new."""
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[1]
REGRESSIONS = sorted((ROOT / "fuzz" / "corpus-regressions").glob("*"))


def test_there_are_regression_inputs():
    assert REGRESSIONS and all(p.name.split("-")[0] in TARGETS for p in REGRESSIONS)


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_regression_input_only_raises_project_errors(path):
    target = path.name.split("-")[0]
    if target in ("extract", "decode"):
        pytest.importorskip("torch")
    start = time.perf_counter()
    TARGETS[target](path.read_bytes())  # a JpegAiError is caught inside; anything else fails here
    if "-slow-" in path.name:            # once over the fuzzer's 1 s limit
        assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("target", ["headers", "parse", "edit"])
def test_short_fuzz_run_finds_nothing(target, tmp_path):
    pytest.importorskip("atheris")
    run = subprocess.run([sys.executable, str(ROOT / "fuzz" / "run.py"), target, "-runs=1500", "-seed=1",
                          f"--corpus={tmp_path / 'corpus'}",
                          f"-artifact_prefix={tmp_path}/crash-", "-max_len=4096"],
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    done = re.search(r"Done (\d+) runs", run.stderr)      # at least the seed corpus, which may exceed -runs
    assert done and int(done.group(1)) >= 1500, run.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))


@pytest.mark.parametrize("target", ["validate", "extract", "decode", "edit"])
def test_lazy_imports_cover_what_a_target_loads(target):
    """fuzz/run.py imports a target's LAZY_IMPORTS before fuzzing, so that they are instrumented and the first
    input does not pay torch's import: running the target on a real stream of ours imports no other project module."""
    if target != "edit":
        pytest.importorskip("torch")  # those targets' lists reach the codec
    sample = ROOT / "samples" / "valid" / "enc-tiny-64.jaic"
    code = ("import importlib, sys\n"
            "from fuzz.targets import LAZY_IMPORTS, TARGETS\n"
            "ours = lambda: {m for m in sys.modules if m.split('.')[0] in ('jpegai_fmt', 'codec')}\n"
            f"[importlib.import_module(m) for m in LAZY_IMPORTS.get({target!r}, ())]\n"
            "before = ours()\n"
            f"TARGETS[{target!r}](open({str(sample)!r}, 'rb').read())\n"
            "print(sorted(ours() - before))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
