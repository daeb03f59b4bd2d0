"""The analysis's rate conditioning: a new FiLM changes nothing, training makes the analysis depend on the
operating point, and the operating point is one number ordered like lambda."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec.model import Analysis, Codec, rate_condition  # noqa: E402


def test_rate_condition_follows_lambda():
    """model_id 0..3 at BDL 0 sit one log3 step apart (the regimes' lambdas triple), and BDL moves the
    point as it moves the gains: +128 (one sigma row) is a factor exp(2 LOG_K) on lambda."""
    from codec.design import LOG_K
    t = rate_condition(torch.tensor([0, 1, 2, 3]))
    assert torch.allclose(t, torch.tensor([-1.5, -0.5, 0.5, 1.5]), atol=0.01), t
    moved = rate_condition(torch.tensor([1]), torch.tensor([128])) - rate_condition(torch.tensor([1]))
    assert moved.item() == pytest.approx(2 * LOG_K / np.log(3), rel=1e-5)


def test_new_film_layers_leave_the_analysis_as_it_was():
    """Zero-initialised: an encoder trained before the conditioning existed runs unchanged at every rate."""
    torch.manual_seed(0)
    ana = Analysis(1, 160, 4)
    x = torch.rand(2, 1, 64, 64)
    plain = ana.net(x)
    for mid in (0, 3):
        assert torch.equal(ana(x, rate_condition(torch.tensor([mid, mid]))), plain)


def test_folded_film_computes_what_the_layers_do():
    """Encoding one picture folds each FiLM into its convolution; the latents are those of the unfolded
    layers (which training runs) to float rounding, for the shipped, trained conditioning."""
    from codec.weights import load_networks
    model = load_networks()
    x = torch.rand(1, 1, 128, 192, generator=torch.Generator().manual_seed(1))
    for mid, bdl in ((0, -400), (3, 300)):
        t = rate_condition(torch.tensor([mid]), torch.tensor([bdl]))
        with torch.no_grad():
            folded = model.ana_y(x, t)
        layered = model.ana_y(x, t).detach()         # gradients on: the training path, layer by layer
        assert folded.abs().max() > 1
        assert torch.allclose(folded, layered, rtol=1e-4, atol=1e-4)


def test_encoder_training_makes_the_analysis_depend_on_the_rate():
    """A few encoder-only steps at mixed regimes and BDLs move the FiLM layers, after which the same picture
    analyses differently for model_id 0 and 3; the decoder's parameters do not move."""
    from codec.train import freeze_all_but, prefix_masks, random_bdl, train_step
    torch.manual_seed(0)
    model = Codec()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(freeze_all_but(model, "encoder"), lr=1e-2)
    gen = np.random.default_rng(0)
    x = torch.rand(4, 3, 64, 64)
    mid = torch.tensor([0, 1, 2, 3])
    ky, kuv = prefix_masks(4, 0.0, gen, "cpu")
    lambdas = torch.tensor([0.0018, 0.0054, 0.016, 0.048])
    for _ in range(3):
        train_step(model, opt, x, mid, ky, kuv, lambdas, 1.0, amp=False, skip=False,
                   bdl=random_bdl(4, 400, gen, "cpu"))
    moved = {k for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert any(".film." in k for k in moved)
    assert all(k.startswith(("ana_", "ent_y.hyper_enc.", "ent_uv.hyper_enc.")) for k in moved), sorted(moved)
    with torch.no_grad():
        low = model.analyse(x[:1], rate_condition(torch.tensor([0])))[0]
        high = model.analyse(x[:1], rate_condition(torch.tensor([3])))[0]
    assert not torch.allclose(low, high)


def test_random_bdl_keeps_half_the_samples_at_their_regime():
    from codec.train import random_bdl
    bdl = random_bdl(4000, 400, np.random.default_rng(1), "cpu")
    zero = (bdl == 0).float().mean().item()
    assert 0.45 < zero < 0.56 and bdl.abs().max().item() <= 400 and bdl.min() < -300 and bdl.max() > 300


def test_film_learning_rate_factor_is_an_option():
    """--film-lr-scale reaches the FiLM group of both recipes (joint and encoder-only); the rest keep theirs."""
    from codec.train import freeze_all_but, main, param_groups
    model = Codec()
    films = {id(p) for n, p in model.named_parameters() if ".film." in n}
    for groups in (param_groups(model, 1e-4, 10.0), freeze_all_but(model, "encoder", 10.0)):
        scales = {id(p): g["scale"] for g in groups for p in g["params"]}
        assert {scales[i] for i in films} == {10.0}
        assert 1.0 in {s for i, s in scales.items() if i not in films}
    assert {g["scale"] for g in freeze_all_but(Codec(), "encoder")} == {1.0}
    with pytest.raises(SystemExit):
        main(["--film-lr-scale", "x"])


def test_hard_rate_trains_on_the_bits_the_coder_pays():
    """With `hard_rate` the residual's training rate is that of the rounded latents (what evaluation counts,
    no noise; z keeps its noise proxy), and its gradient still reaches the analysis through the
    straight-through rounding."""
    torch.manual_seed(0)
    model = Codec()
    x, mid = torch.rand(2, 3, 64, 64), torch.tensor([0, 3])
    noisy = [model(x, mid)[2].item() for _ in range(2)]
    assert noisy[0] != noisy[1]
    with torch.no_grad():
        _, _, bits, z_bits = model(x, mid, train=False)
        exact = bits - z_bits
    model.hard_rate = True
    _, _, bits, z_bits = model(x, mid)
    assert torch.allclose(bits - z_bits, exact, rtol=1e-5)
    bits.backward()
    assert model.ana_y.net[0].weight.grad.abs().sum() > 0
