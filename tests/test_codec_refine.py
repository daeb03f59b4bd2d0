"""Encoder-side latent refinement: lower RD cost on a real photo, ordinary streams, rate control still lands."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec import pipeline as P  # noqa: E402
from codec.metrics import psnr_rgb  # noqa: E402
from codec.pipeline import operating_lambda  # noqa: E402
from codec.refine import ADAM_BETAS, LR, LR_MAX, RDOQ_UP_TO, adam_step, expected_bits, refine, step_size  # noqa: E402
from codec.weights import integer_model, load_networks  # noqa: E402


@pytest.fixture(scope="module")
def picture(photo):
    return photo(320, 192, top=300, left=400)


@pytest.fixture(scope="module")
def model():
    return load_networks()


def _rd(model, picture, an, s):
    data = P.encode_analysis(an, s)
    rec = P.decode(data, model=model).rgb
    bpp = len(data) * 8 / (picture.shape[0] * picture.shape[1])
    mse = np.mean((rec.astype(np.float64) - picture) ** 2)
    return data, bpp, psnr_rgb(picture, rec), operating_lambda(s.model_id, s.bdl[0]) * mse + bpp


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("model_id,bdl", [(1, 0), (3, 200)])
def test_refinement_lowers_the_real_rd_cost(model, picture, model_id, bdl, bf16):
    s = P.EncodeSettings(model_id=model_id, bdl=(bdl, bdl))
    an = P.analyse(model, picture)
    _, bpp0, psnr0, cost0 = _rd(model, picture, an, s)
    data, bpp1, psnr1, cost1 = _rd(model, picture, refine(model, picture, an, model_id, s.bdl, 30, bf16=bf16), s)
    assert cost1 < 0.97 * cost0, (bpp0, psnr0, bpp1, psnr1)
    import jpegai_fmt
    assert [f.rule for f in jpegai_fmt.validate(data)] == ["UDI-001"]


def test_refined_encoding_is_repeatable(model, picture):
    s = P.EncodeSettings(model_id=1, refine=5)
    assert P.encode(picture, settings=s, model=model) == P.encode(picture, settings=s, model=model)


def test_rdoq_runs_after_a_short_refinement_only(model, photo):
    """Up to RDOQ_UP_TO steps the refined latents still go through RDOQ; after more, they are rounded plainly."""
    small = photo(128, 64, top=300, left=400)
    an = P.analyse(model, small)
    short = refine(model, small, an, 1, (0, 0), RDOQ_UP_TO)
    long = refine(model, small, an, 1, (0, 0), RDOQ_UP_TO + 1)
    assert not short.plain_rounding and long.plain_rounding
    im, s = integer_model(), P.EncodeSettings(model_id=1)
    plain = P.coded_residual(short, 0, P.EncodeSettings(model_id=1, rdoq=False), im)[1]
    assert not np.array_equal(P.coded_residual(short, 0, s, im)[1], plain)


def test_zero_steps_is_the_plain_encoder(model, picture):
    an = P.analyse(model, picture)
    assert refine(model, picture, an, 2, (0, 0), 0) is an


def test_rate_target_holds_with_refinement(model, picture):
    data = P.encode(picture, bpp=0.4, settings=P.EncodeSettings(refine=10), model=model)
    bpp = len(data) * 8 / (picture.shape[0] * picture.shape[1])
    assert math.isclose(bpp, 0.4, rel_tol=0.03), bpp


@pytest.mark.parametrize("steps", [-3, P.MAX_REFINE_STEPS + 1])
def test_cli_and_api_refuse_step_counts_out_of_range(tmp_path, capsys, steps):
    import jpegai_fmt
    from jpegai_fmt.cli import main
    from jpegai_fmt.errors import BuildError
    from PIL import Image
    src = tmp_path / "a.png"
    Image.new("RGB", (64, 64)).save(src)
    with pytest.raises(SystemExit) as exit_:            # refused by the option parser, before any work
        main(["encode", str(src), str(tmp_path / "a.jai"), "--refine", str(steps)])
    assert exit_.value.code == 2 and f"outside 0..{P.MAX_REFINE_STEPS}" in capsys.readouterr().err
    assert not (tmp_path / "a.jai").exists()
    with pytest.raises(BuildError, match="0..1000"):
        jpegai_fmt.encode(np.zeros((64, 64, 3), np.uint8), refine=steps)


def test_refinement_over_the_memory_budget_is_refused_before_work(model, picture):
    from jpegai_fmt.errors import BuildError
    from jpegai_fmt.limits import Limits
    an = P.analyse(model, picture)
    calls = []
    with pytest.raises(BuildError, match="memory budget"):
        refine(model, picture, an, 2, (0, 0), 5, progress=lambda: calls.append(1), limits=Limits(memory_bytes=1 << 26))
    assert calls == []


def test_refinement_optimises_only_the_coded_channel_prefix(model, picture):
    s = P.EncodeSettings(model_id=2, num_chs=(48, 24))
    an = P.analyse(model, picture)
    aware = _rd(model, picture, refine(model, picture, an, 2, s.bdl, 20, num_chs=s.num_chs), s)[3]
    blind = _rd(model, picture, refine(model, picture, an, 2, s.bdl, 20), s)[3]
    plain = _rd(model, picture, an, s)[3]
    assert aware < blind and aware < plain, (aware, blind, plain)


def test_auto_steps_bound_the_time_and_respect_the_memory_budget():
    from codec.refine import AUTO_MIN_STEPS, AUTO_STEPS, auto_steps
    from jpegai_fmt.limits import Limits
    assert auto_steps(768, 512) == AUTO_STEPS == 12
    assert auto_steps(1344, 960) == 12                       # the validation photos' size (1.29 MP)
    assert auto_steps(1600, 1024) == 9                        # 1.6 MP: the time of 1.36 MP at 12 steps
    assert auto_steps(1920, 1088) == 7                        # 1080p
    assert auto_steps(2560, 1472) == 4                        # 1440p
    assert auto_steps(2880, 1728) == AUTO_MIN_STEPS           # 5 MP
    assert auto_steps(3840, 1664) == 0                        # too few steps to pay for themselves
    assert auto_steps(3840, 2176, Limits(memory_bytes=8 << 30)) == 0   # 4K: no refinement even with the memory
    assert auto_steps(16384, 16384) == 0
    assert auto_steps(768, 512, Limits(memory_bytes=1 << 26)) == 0   # no refinement rather than a refusal


def test_the_default_encoder_refines_with_auto_steps(picture):
    """`jpegai_fmt.encode` (and the CLI, Pillow) default to refine="auto": 12 steps at this size."""
    import jpegai_fmt
    from codec.refine import AUTO_STEPS
    default = jpegai_fmt.encode(picture, model_id=1, container=False)
    assert default == jpegai_fmt.encode(picture, model_id=1, container=False, refine=AUTO_STEPS)
    assert default != jpegai_fmt.encode(picture, model_id=1, container=False, refine=0)
    with pytest.raises(Exception, match="'auto' or 0..1000"):
        P.EncodeSettings(refine="fast")


def test_expected_bits_are_the_real_code_lengths_at_integers():
    """Refinement's rate is what the stream spends: at either integer it equals the coder's code length (escapes
    included, far beyond the table's ends too), and in between it moves linearly from one to the other."""
    from codec import rdoq
    gen = np.random.default_rng(5)
    rows = gen.integers(0, 32, 4000)
    values = np.concatenate([gen.integers(-40, 41, 3000), gen.integers(-5000, 5001, 1000)])
    low = torch.from_numpy(values).float()
    r = torch.from_numpy(rows).long()
    at_low = expected_bits(low, torch.zeros(len(low)), r).numpy()
    at_up = expected_bits(low, torch.ones(len(low)), r).numpy()
    assert np.allclose(at_low, rdoq.code_lengths(rows.astype(np.uint8), values), rtol=1e-5, atol=1e-6)
    assert np.allclose(at_up, rdoq.code_lengths(rows.astype(np.uint8), values + 1), rtol=1e-5, atol=1e-6)
    half = expected_bits(low, torch.full((len(low),), 0.5), r).numpy()
    assert np.allclose(half, (at_low + at_up) / 2, rtol=1e-5, atol=1e-6)


def test_step_size_grows_with_the_rate_above_the_middle_only():
    points = [(0, (-400, -400)), (0, (0, 0)), (1, (0, 0)), (2, (0, 0)), (3, (0, 0)), (3, (300, 300))]
    sizes = [step_size(m, b) for m, b in points]
    assert sizes[:3] == [LR] * 3
    assert LR < sizes[3] < sizes[4] <= LR_MAX and sizes[5] == LR_MAX


def test_adam_step_matches_torch_adam():
    """The hand-written update is Adam: same trajectory as torch.optim.Adam with refinement's betas, a changing
    rate included."""
    gen = torch.Generator().manual_seed(3)
    target = torch.randn(4, 5, generator=gen)
    ours = torch.zeros(4, 5, requires_grad=True)
    theirs = torch.zeros(4, 5, requires_grad=True)
    opt = torch.optim.Adam([theirs], lr=0.1, betas=ADAM_BETAS)
    moments = (torch.zeros(4, 5), torch.zeros(4, 5))
    for t in range(1, 21):
        lr = 0.1 * (1 - t / 40)
        grad, = torch.autograd.grad(((ours - target) ** 4).sum(), [ours])
        with torch.no_grad():
            adam_step(ours, grad, moments, lr, t)
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        ((theirs - target) ** 4).sum().backward()
        opt.step()
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert not torch.allclose(ours, torch.zeros(4, 5))


def test_encoding_does_not_import_torch_dynamo(tmp_path):
    """torch.optim pulls in torch._dynamo (seconds per process): the encoder, refinement included, must not."""
    import subprocess
    import sys
    code = ("import sys, numpy as np; from codec import pipeline as P; "
            "rgb = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8); "
            "P.encode(rgb, settings=P.EncodeSettings(refine=2)); print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
