"""Per-regime z tables: channels a regime fixes, how the encoder and training apply them, how they are chosen."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec import pipeline as P  # noqa: E402
from codec import zchannels as Z  # noqa: E402
from codec.design import C_MAX, NUM_MODELS, Z_MAX  # noqa: E402
from codec.entropy.tables import z_masses  # noqa: E402
from codec.model import fixed_z_values  # noqa: E402
from codec.weights import INT_FILE, integer_model, load_networks  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return load_networks()


def test_a_one_value_table_gives_its_value_every_mass():
    for value in (-31, -1, 0, 1, 31):
        masses = z_masses(Z.one_value_table(value)[None])[0]
        assert masses[value + Z_MAX] == 255 and masses.sum() == 256       # the escape keeps its one


def test_encoder_and_training_agree_on_the_fixed_channels():
    """`pipeline.fixed_z` reads the integer masses, training reads its float tables: same channels, same values,
    for every regime of the shipped set."""
    im = integer_model()
    for c in (0, 1):
        freqs = np.array(im.z_freqs[c], np.float64)
        value, mask = fixed_z_values(torch.from_numpy(freqs / freqs.sum(-1, keepdims=True)))
        for m in range(NUM_MODELS):
            numpy_rule = P.fixed_z(im, c, m)
            assert np.array_equal(numpy_rule != P.FREE_Z, mask[m].numpy())
            assert np.array_equal(numpy_rule[mask[m].numpy()], value[m][mask[m]].numpy())


def test_the_shipped_low_rate_regimes_fix_most_binary_channels():
    im = integer_model()
    fixed = [sum(int((P.fixed_z(im, c, m) != P.FREE_Z).sum()) for c in (0, 1)) for m in range(NUM_MODELS)]
    assert fixed[0] > 100 and fixed[0] > fixed[2]


def test_streams_carry_the_regimes_values_and_spend_almost_nothing_on_them(model, photo):
    pic = photo(256, 192, top=300, left=300)
    an = P.analyse(model, pic, 0)
    im = integer_model()
    data = P.encode_analysis(an, P.EncodeSettings(model_id=0))
    st = P.parse_state(data)
    for c in (0, 1):
        fixed = P.fixed_z(im, c, 0)
        chans = np.nonzero(fixed != P.FREE_Z)[0]
        assert (st.z[c][chans] == fixed[chans, None, None]).all()
        assert (an.hyper(0).z[c][chans] == fixed[chans, None, None]).all()
    free_sized = [len(P.encode_analysis(an, P.EncodeSettings(model_id=m))) for m in (0, 1)]
    assert P.decode(data, model=model).rgb.shape == pic.shape
    # the z the lowest regime sends costs less than what the same latents cost with fewer channels fixed
    soz = [next(s for s in P.parse_state(P.encode_analysis(an, P.EncodeSettings(model_id=m))).cs.segments
                if s.marker.name == "SOZ") for m in (0, 1)]
    assert len(soz[0].payload) < len(soz[1].payload) and free_sized[0] < free_sized[1]


def test_choice_keeps_only_what_lowers_the_cost(model, photo):
    crops = Z.Crops(model, [photo(128, 128, top=t, left=t) for t in (0, 400)])
    fixed, report = Z.choose(crops, 1, log=lambda *_: None)
    assert all(r["J"] <= 1e-12 for r in report)
    assert [f.shape for f in fixed] == [(C_MAX[0],), (C_MAX[1],)]


def test_tables_are_written_per_regime(tmp_path):
    path = str(tmp_path / "integer.npz")
    shutil.copy(INT_FILE, path)
    im = integer_model()
    free = [np.nonzero(P.fixed_z(im, 0, m) == P.FREE_Z)[0] for m in range(NUM_MODELS)]
    ch = int(free[3][0])
    fixed = {3: [P.fixed_z(im, c, 3) for c in (0, 1)]}
    fixed[3][0][ch] = -2
    try:
        Z.write_tables(fixed, path)
        written = np.load(path)["y.zfreq"]
        assert written.shape == (NUM_MODELS, C_MAX[0], 2 * Z_MAX + 1)
        assert z_masses(written[3])[ch, -2 + Z_MAX] == 255
        assert np.array_equal(written[:3], np.array(im.z_freqs[0][:3]))        # other regimes untouched
    finally:
        integer_model.cache_clear()


def test_fitted_tables_code_what_the_encoder_sends_more_cheaply(model, photo):
    """Re-estimated on some crops, a regime's tables code those crops' z in fewer bits than before; the fixed
    channels keep their one-value tables and no free channel becomes fixed."""
    pics = [photo(192, 192, top=t, left=t) for t in (0, 300)]
    im = integer_model()
    fitted = Z.fitted_tables(model, pics)
    m = 2
    for c in (0, 1):
        fixed = P.fixed_z(im, c, m)
        assert np.array_equal(fitted[c][m][fixed != P.FREE_Z], np.array(im.z_freqs[c][m])[fixed != P.FREE_Z])
        assert (z_masses(fitted[c][m]).max(1)[fixed == P.FREE_Z] < 255).all()
    z = [np.stack([P.analyse(model, pic, m, (0, 0)).hyper(m).z[c] for pic in pics]) for c in (0, 1)]

    def bits(freqs):
        return sum(np.take_along_axis(Z.z_code_lengths(freqs[c][m]),
                                      (z[c] + Z_MAX).transpose(1, 0, 2, 3).reshape(z[c].shape[1], -1), 1).sum()
                   for c in (0, 1))
    assert bits(fitted) < 0.99 * bits([np.array(im.z_freqs[c]) for c in (0, 1)])
