"""Training smoke run on tiny synthetic data: a run writes checkpoints, resumes, and exports a model set
that loads. Keeps the GPU recipe from breaking unnoticed (training itself never runs in CI)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "codec.train", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from PIL import Image

    from codec.pack import copy_site, pack
    src = tmp_path_factory.mktemp("png")
    rng = np.random.default_rng(0)
    for i in range(3):
        y, x = np.mgrid[0:288, 0:320]
        pic = np.stack([128 + 100 * np.sin(x / (9 + i)), 128 + 100 * np.cos(y / 13), 255 * x / 320], -1)
        pic = np.clip(pic + rng.normal(0, 8, pic.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pic).save(src / f"p{i}.png")
    out = tmp_path_factory.mktemp("packed")
    assert pack(str(src), str(out / "train"), 93) > 0 and pack(str(src), str(out / "val"), 97) > 0
    assert sorted(os.listdir(out / "train")) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert copy_site(str(out / "site")) > 0 and (out / "site" / "construct" / "__init__.py").is_file()
    return out


def test_train_resume_and_export(data, tmp_path):
    run = tmp_path / "run"
    common = ["--train", str(data / "train"), "--val", str(data / "val"), "--batch", "2", "--crop", "256",
              "--threads", "1", "--out", str(run)]
    first = _run(*common, "--minutes", "0.05", "--regime-weights", "0,0,1,1", "--qat-from", "0.5")
    assert first.returncode == 0, first.stderr
    assert "final_val" in first.stdout and "done:" in first.stdout
    ck = torch.load(run / "last.pt", map_location="cpu")
    assert ck["step"] > 0 and ck["args"]["regime_weights"] == "0,0,1,1"

    again = _run(*common, "--minutes", "0.02", "--rate-ramp", "0", "--channels-last", "--resume", str(run / "last.pt"))
    assert again.returncode == 0, again.stderr
    assert f"resumed from {run / 'last.pt'}" in again.stdout

    from codec.weights import export, model_set_id
    out = tmp_path / "weights"
    ident = export(str(run / "last-weights.pt"), str(out))
    assert ident == model_set_id((str(out / "decoder.pt"), str(out / "integer.npz"))) and len(ident) == 16
    assert (out / "encoder.pt").stat().st_size > 0
    cli = subprocess.run([sys.executable, "-m", "codec.weights", str(run / "last-weights.pt"), "--out",
                          str(tmp_path / "cli")], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert cli.returncode == 0 and cli.stdout.split() == ["model", "set", ident.hex()], cli.stderr


def test_gpu_call_script_resumes_shipped_and_leaves_returnable_files(data, tmp_path):
    """codec/gpu_train.sh, the one command a GPU session sends, run here on the CPU with a tiny batch: it trains
    from the shipped set on the packed data (its site/ on the path) and leaves only files a call can return."""
    env = {**os.environ, "GPU_DATA": str(data), "OUT": str(tmp_path), "PYTHON": sys.executable}
    out = subprocess.run(["bash", os.path.join(ROOT, "codec", "gpu_train.sh"), "0.03", "--batch", "2", "--threads", "1"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    log = (tmp_path / "train.log").read_text()
    assert "resumed from shipped" in log and "done:" in log and "NO GPU" in out.stdout
    assert (tmp_path / "run" / "last-weights.pt").stat().st_size < 16 * 2 ** 20
    assert not (tmp_path / "run" / "last.pt").exists()
    missing = subprocess.run(["bash", os.path.join(ROOT, "codec", "gpu_train.sh")], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "usage: gpu_train.sh MINUTES" in missing.stderr


def test_regime_weights_are_checked(data, tmp_path):
    bad = _run("--train", str(data / "train"), "--out", str(tmp_path), "--regime-weights", "1,2")
    assert bad.returncode == 2 and "--regime-weights needs 4" in bad.stderr


def test_train_step_benchmark_compares_layouts():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "train_step.py"), "--batch", "1", "--crop", "64",
                          "--seconds", "0.2", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    names = [r["name"] for r in rows]
    assert names[:2] == ["NCHW (baseline)", "channels_last"] and names[-2:] == [n for n in names if n.startswith("--part")]
    assert all(r["steps_per_s"] > 0 and r["mpx_per_s"] > 0 for r in rows)
    assert "1.00x baseline" in out.stdout


def test_decoder_only_moves_the_synthesis_alone():
    """Synthesis-only fine-tuning: the loss falls on a fixed batch, the synthesis changes, and nothing
    that decides the stream (analysis, hyper-prior, gains) moves, so every rate stays as it was."""
    from codec.model import Codec
    from codec.train import decoder_step, freeze_all_but, prefix_masks

    torch.manual_seed(0)
    model = Codec()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(freeze_all_but(model, "synthesis"), lr=3e-3)
    x = torch.rand(2, 3, 64, 64)
    mid = torch.tensor([0, 3])
    ky, kuv = prefix_masks(2, 0.0, np.random.default_rng(0), "cpu")
    lambdas = torch.tensor([0.01, 0.01, 0.01, 0.01])
    losses = [decoder_step(model, opt, x, mid, ky, kuv, lambdas, amp=False)[0].item() for _ in range(15)]
    assert losses[-1] < 0.95 * losses[0], losses          # untrained networks: it falls slowly
    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith(("syn_y.", "syn_uv.")) for k in moved), sorted(moved)
    assert any(k.startswith("syn_uv.") for k in moved)


def test_decoder_only_run(data, tmp_path):
    run = _run("--train", str(data / "train"), "--val", str(data / "val"), "--batch", "2", "--crop", "256",
               "--threads", "1", "--out", str(tmp_path), "--minutes", "0.05", "--part", "synthesis", "--no-amp")
    assert run.returncode == 0, run.stderr
    assert "final_val" in run.stdout and "done:" in run.stdout


def test_encoder_only_leaves_the_decoder_alone(data, tmp_path):
    """`--part encoder`: a run changes the analysis and hyper-encoder, and nothing a decoder uses; the FiLM
    layers learn at `--film-lr-scale` times the rate of the rest."""
    from codec.model import Codec
    from codec.train import PARTS
    run = _run("--train", str(data / "train"), "--batch", "2", "--crop", "256", "--threads", "1",
               "--out", str(tmp_path), "--minutes", "0.05", "--part", "encoder", "--no-amp", "--val", "",
               "--film-lr-scale", "7")
    assert run.returncode == 0, run.stderr
    torch.manual_seed(0)                    # the run's seed: the same initial weights
    start = Codec().state_dict()
    ck = torch.load(tmp_path / "last.pt", map_location="cpu")
    after = ck["model"]
    rest, film = ck["opt"]["param_groups"]
    assert film["scale"] == 7.0 and film["lr"] == pytest.approx(7 * rest["lr"]) and rest["lr"] > 0
    moved = {k for k in start if not torch.equal(start[k], after[k])}
    assert moved and all(k.startswith(PARTS["encoder"]) for k in moved), sorted(moved)


def test_pictures_smaller_than_the_crop_are_refused_not_waited_for(data, tmp_path):
    run = _run("--train", str(data / "train"), "--val", "", "--crop", "512", "--out", str(tmp_path),
               "--minutes", "0.05")
    assert run.returncode == 1 and "no training pictures of at least 512x512" in run.stderr
    missing = _run("--train", str(data / "train"), "--val", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert missing.returncode == 1 and "validation folder" in missing.stderr


def test_resume_into_another_part_starts_adam_afresh(data, tmp_path):
    common = ["--train", str(data / "train"), "--val", "", "--batch", "2", "--crop", "256", "--threads", "1",
              "--no-amp", "--minutes", "0.02"]
    first = _run(*common, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    again = _run(*common, "--out", str(tmp_path / "b"), "--part", "synthesis",
                 "--resume", str(tmp_path / "a" / "last.pt"))
    assert again.returncode == 0, again.stderr
    assert "optimiser state not reused" in again.stdout
    gone = _run(*common, "--out", str(tmp_path / "c"), "--resume", str(tmp_path / "none.pt"))
    assert gone.returncode == 1 and "no such checkpoint" in gone.stderr
