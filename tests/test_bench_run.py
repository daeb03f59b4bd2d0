"""bench/run: a partial run keeps the summary whole (other benchmarks' rows come from their saved output)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

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


def test_rd_remeasure_replaces_one_series_and_keeps_the_rest(tmp_path):
    """bench/rd.py --remeasure: after an encoder change, one series is measured again on the saved run's
    pictures; the others stay as saved, and rd.md says which series is newer."""
    rd = [sys.executable, os.path.join(ROOT, "bench", "rd.py"), "--out", str(tmp_path)]
    val = tmp_path / "val"
    val.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (176, 176, 3), dtype="uint8")).save(val / "a.png")
    first = subprocess.run(rd + ["--val", str(val), "--crop", "176", "--without-refine"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    saved = json.loads((tmp_path / "rd.json").read_text())
    saved["pictures"][0]["ours"][0]["bpp"] = 99.0            # a stale figure that the re-measure must replace
    saved["pictures"][0]["ours-refine0"][0]["bpp"] = 98.0    # one that must stay
    (tmp_path / "rd.json").write_text(json.dumps(saved))
    again = subprocess.run(rd + ["--remeasure", "ours"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    run = json.loads((tmp_path / "rd.json").read_text())
    assert run["pictures"][0]["ours"][0]["bpp"] < 99.0
    assert run["pictures"][0]["ours-refine0"][0]["bpp"] == 98.0
    assert "Series ours measured again later" in (tmp_path / "rd.md").read_text()
    wrong = subprocess.run(rd + ["--remeasure", "ours+refine7"], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert wrong.returncode != 0 and "has no series ours+refine7" in wrong.stderr


def test_progressive_lists_every_fall(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "bench"))
    from progressive import PREFIXES, falls
    psnr = {p: [20.0 + i, 20.0 + i] for i, p in enumerate(PREFIXES)}
    psnr[PREFIXES[-1]][1] = psnr[PREFIXES[-2]][1] - 3e-6
    assert falls(psnr, ["a", "b"]) == [("b", PREFIXES[-2], PREFIXES[-1], psnr[PREFIXES[-1]][1] - psnr[PREFIXES[-2]][1])]
    assert falls({p: [1.0] for p in PREFIXES}, ["a"]) == []
