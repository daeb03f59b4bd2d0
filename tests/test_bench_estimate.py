"""bench/estimate.py: the training-time estimate judges weight files against the shipped set."""
from __future__ import annotations

import glob
import json
import os
import sys

import pytest
from PIL import Image

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))


def test_estimate_ranks_weight_files_against_the_shipped_set(tmp_path, photo, capsys):
    import estimate

    from codec.weights import training_state
    val = tmp_path / "val"
    val.mkdir()
    for i in range(2):
        Image.fromarray(photo(192, 128, index=i, top=100, left=100)).save(val / f"{i}.png")
    state = training_state()
    torch.save(state, tmp_path / "same.pt")
    gen = torch.Generator().manual_seed(0)
    w = state["ana_y.net.0.weight"]
    torch.save({"model": {"ana_y.net.0.weight": w + torch.randn(w.shape, generator=gen) * w.std() * 0.3}},
               tmp_path / "noisy.pt")           # a checkpoint holding only a damaged first analysis layer
    estimate.main([str(tmp_path / "same.pt"), str(tmp_path / "noisy.pt"), "--val", str(val)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["weights"] for r in rows] == ["shipped", str(tmp_path / "same.pt"), str(tmp_path / "noisy.pt")]
    assert len(rows[0]["points"]) == 6 and rows[0]["points"][0]["bdl"] == -400
    assert rows[1]["points"] == rows[0]["points"] and rows[1]["bd_rate_vs_shipped_pct"] == 0
    assert rows[2]["bd_rate_vs_shipped_pct"] > 1 and rows[2]["bd_rate_bdl0_pct"] > 1


def test_estimate_refuses_a_missing_file(tmp_path):
    import estimate
    with pytest.raises(SystemExit, match="no such weights file"):
        estimate.main([str(tmp_path / "none.pt")])


def test_bench_run_reports_the_shipped_estimate():
    import subprocess
    from conftest import VAL
    if not glob.glob(os.path.join(VAL, "*.png")):
        pytest.skip("needs the validation photos (../shared/data/val)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, os.path.join(root, "bench", "run"), "--quick", "--only", "estimate"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(root, "bench", "results", "quick", "summary.md")) as fh:
        row = next(line for line in fh.read().splitlines() if line.startswith("| `estimate`"))
    assert "(reused)" not in row and " bpp at " in row and " dB" in row
