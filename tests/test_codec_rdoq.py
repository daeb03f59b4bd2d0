"""RDOQ: its code lengths are the coder's, it only ever moves symbols towards zero, and on a real photo it
lowers the real rate-distortion cost."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec import entropy, rdoq  # noqa: E402
from codec import pipeline as P  # noqa: E402
from codec.weights import integer_model, load_networks  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return load_networks()


@pytest.fixture(scope="module")
def analysis(model, photo):
    pic = photo(384, 256, top=150, left=500)
    return pic, P.analyse(model, pic)


def test_code_lengths_add_up_to_the_coded_size(analysis):
    _, an = analysis
    s = P.EncodeSettings(model_id=3, bdl=(300, 300))
    rows, r = P.coded_residual(an, 0, s, integer_model())
    seq_rows, seq_vals = rows.reshape(-1), r.reshape(-1)
    coded = sum(len(t) for t in entropy.encode_residual(seq_vals, seq_rows, 1)) * 8
    assert (r != 0).sum() > 1000
    assert abs(rdoq.code_lengths(seq_rows, seq_vals).sum() / coded - 1) < 0.01


def test_symbols_only_move_towards_zero(analysis):
    _, an = analysis
    im = integer_model()
    step = P.gain_step(im.gains[0][2], 0)[:, None, None]
    scaled = (an.y[0] - an.hyper(2).mu[0]) * step
    rows = P.component_rows(im, an.hyper(2).hsd[0], 0, 2, 0)
    gains = rdoq.synthesis_gain()[:160]
    rounded = np.rint(scaled)
    assert np.array_equal(rdoq.quantise(scaled, rows, step, gains, 1e9), rounded)      # distortion too dear
    thinned = rdoq.quantise(scaled, rows, step, gains, P.operating_lambda(2, 0))
    moved = thinned != rounded
    assert moved.any() and np.array_equal(thinned[moved], (rounded - np.sign(rounded))[moved])


@pytest.mark.parametrize("model_id", [0, 2])
def test_rdoq_lowers_the_real_rd_cost(model, analysis, model_id):
    pic, an = analysis

    def cost(on):
        s = P.EncodeSettings(model_id=model_id, rdoq=on, post_filter=False)
        data = P.encode_analysis(an, s)
        mse = np.mean((P.decode(data, model=model).rgb.astype(np.float64) - pic) ** 2)
        return len(data), P.operating_lambda(model_id, 0) * mse + len(data) * 8 / (pic.shape[0] * pic.shape[1])

    (plain_bytes, plain), (thin_bytes, thin) = cost(False), cost(True)
    assert thin_bytes < plain_bytes and thin < plain


def test_refined_latents_are_rounded_plainly(analysis):
    import dataclasses
    _, an = analysis
    im, s = integer_model(), P.EncodeSettings(model_id=1)
    plain = P.coded_residual(an, 0, P.EncodeSettings(model_id=1, rdoq=False), im)[1]
    assert not np.array_equal(P.coded_residual(an, 0, s, im)[1], plain)
    assert np.array_equal(P.coded_residual(dataclasses.replace(an, plain_rounding=True), 0, s, im)[1], plain)
