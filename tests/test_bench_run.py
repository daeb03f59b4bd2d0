"""bench/run: a partial run keeps the summary whole (other benchmarks' rows come from their saved output)."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.path.join(ROOT, "bench", "results", "quick")


def _run(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run"), "--quick", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_only_runs_one_and_reuses_the_rest():
    first = _run("--only", "bench_parse")
    assert first.returncode == 0, first.stderr
    assert "running bench_parse" in first.stderr and "running bench_extract" not in first.stderr
    second = _run("--only", "bench_extract")
    assert second.returncode == 0, second.stderr
    with open(os.path.join(QUICK, "summary.md")) as fh:
        summary = fh.read()
    parse_row = next(line for line in summary.splitlines() if line.startswith("| `bench_parse`"))
    extract_row = next(line for line in summary.splitlines() if line.startswith("| `bench_extract`"))
    assert "(reused)" in parse_row and " ms " in parse_row      # figures of the first run, kept
    assert "(reused)" not in extract_row and " ms " in extract_row
    assert "| `rd`" in summary and "| `speed`" in summary        # every benchmark has its line
