"""EFE linear post-filter: the signalled weights mean what codec/efe.py says, the encoder's fit pays on a real
photo, and a decoder refuses TON tools it does not implement."""
from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec import efe  # noqa: E402
from codec import pipeline as P  # noqa: E402
from codec.colour import rgb_to_ycbcr, upsample_420  # noqa: E402
from codec.metrics import psnr_rgb  # noqa: E402
from codec.weights import load_networks  # noqa: E402
from conftest import VAL  # noqa: E402
from jpegai_fmt.codestream import parse_codestream  # noqa: E402
from jpegai_fmt.errors import DecodeError  # noqa: E402
import jpegai_fmt  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return load_networks()


@pytest.fixture(scope="module")
def picture(photo):
    return photo(384, 256, top=200, left=300)


def _bilinear_ton(mean_code: int, luma_tap: float = 0.0) -> dict:
    """Filter set 0 with the 2x bilinear up-sampler written as four 3x3 phases, and one luma tap."""
    one_d = {0: np.array([0.25, 0.75, 0.0]), 1: np.array([0.0, 0.75, 0.25])}
    phases = [np.outer(one_d[a], one_d[b]) for a in (0, 1) for b in (0, 1)]
    luma = np.zeros((3, 3))
    luma[1, 1] = luma_tap
    codes = np.rint(np.concatenate([*(p.ravel() for p in phases), luma.ravel()]) * 2048).astype(int) + 32767
    lo = int(codes.min())
    set0 = {"best_cand_idx": [1, 0], "fL_0": 3, "minSymbol": lo, "maxSymbol": int(codes.max()) - lo,
            "weights_u": [int(c) - lo for c in codes]}
    return {"EFE_linear_filter_enabled_flag": 1, "B1": [mean_code, 0],
            "filter_set": [set0, {"best_cand_idx": [0, 0], "minSymbol": 0, "maxSymbol": 0}]}


def _through_stream(model, picture, ton):
    """The TON fields as a decoder reads them back from a real stream of ours."""
    an = P.analyse(model, picture)
    an.ton = ton
    cs = parse_codestream(P.encode_analysis(an, P.EncodeSettings(post_filter=False)))
    return cs.ton


def test_weights_follow_the_coding_order_and_phase_convention(model, picture):
    gen = torch.Generator().manual_seed(0)
    luma, chroma = torch.rand(1, 1, 32, 48, generator=gen), torch.rand(1, 2, 16, 24, generator=gen)
    ton = _through_stream(model, picture, _bilinear_ton(12345))
    out = efe.upsample(ton, luma, chroma)
    assert torch.allclose(out, upsample_420(chroma), atol=1e-6)     # phases 2a+b, taps row-major, m cancels
    ton = _through_stream(model, picture, _bilinear_ton(12345, luma_tap=0.5))
    out = efe.upsample(ton, luma, chroma)
    assert torch.allclose(out[:, :1], upsample_420(chroma[:, :1]) + 0.5 * luma, atol=1e-6)
    assert torch.equal(out[:, 1:], upsample_420(chroma[:, 1:]))         # V off: bilinear


@pytest.mark.parametrize("model_id", [1, 2, 3])
def test_filter_is_sent_only_where_it_pays(model, picture, model_id):
    """The real RD cost (8-bit output, real stream size) never rises; on this crop, whose bright areas clip, the
    filter does not pay at model_id 1 and does at 2 and 3."""
    plain = P.encode(picture, settings=P.EncodeSettings(model_id=model_id, post_filter=False), model=model)
    data = P.encode(picture, settings=P.EncodeSettings(model_id=model_id), model=model)
    on = parse_codestream(data).ton["EFE_linear_filter_enabled_flag"] == 1
    rec, rec_plain = P.decode(data, model=model).rgb, P.decode(plain, model=model).rgb

    def cost(stream, rgb):           # what the encoder's decision weighs: lambda * MSE (8-bit) + bpp
        return P.operating_lambda(model_id, 0) * np.mean((rgb.astype(np.float64) - picture) ** 2) + \
            len(stream) * 8 / (picture.shape[0] * picture.shape[1])
    if on:
        assert psnr_rgb(picture, rec) > psnr_rgb(picture, rec_plain) + 0.05 and len(data) > len(plain)
        assert cost(data, rec) < cost(plain, rec_plain)
        assert [f.rule for f in jpegai_fmt.validate(data, entropy=True) if f.severity != "I"] == []
    else:
        assert data == plain
    if os.path.isdir(VAL):
        assert on == (model_id > 1)


def test_filter_is_left_off_where_bits_cost_more_than_it_saves(model, picture):
    an = P.analyse(model, picture)
    with torch.no_grad():
        lat = [torch.from_numpy(an.hyper(2).mu[c]).unsqueeze(0) for c in (0, 1)]
        luma, chroma = P.synthesise_planes(model, lat[0], lat[1])
        source = rgb_to_ycbcr(torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1)[None] / 255.0)
    size = picture.shape[:2]
    assert efe.fit(luma, chroma, source[0].numpy(), size, 1e-9) == {"EFE_linear_filter_enabled_flag": 0}
    on = efe.fit(luma, chroma, source[0].numpy(), size, 1.0)
    assert on["EFE_linear_filter_enabled_flag"] == 1 and on["filter_set"][0]["best_cand_idx"] == [1, 1]


@pytest.mark.parametrize("edit,what", [
    (lambda t: t.update(LEF_enabled_flag=1, LEF_chIdx=3), "LEF"),
    (lambda t: t["filter_set"][0].update(best_cand_idx=[2, 0]), "partition candidate 2"),
    (lambda t: t["filter_set"][1].update(best_cand_idx=[0, 1], fL_1=1, weights_v=[0] * 5), "filter set 1"),
])
def test_decoder_refuses_tools_it_does_not_implement(model, picture, edit, what):
    an = P.analyse(model, picture)
    ton = _bilinear_ton(100)
    edit(ton)
    if what.startswith("partition"):
        ton["filter_set"][0]["weights_u"] = [0] * 2 * 45
    an.ton = ton
    data = P.encode_analysis(an, P.EncodeSettings(post_filter=False))
    with pytest.raises(DecodeError, match=what) as err:
        P.decode(data, model=model)
    assert err.value.path == "TON"


def test_sample_stream_with_the_filter_decodes_better_than_without_it(model, photo):
    """samples/valid/enc-post-filter.jaic is the 'wide' crop of wiki-046 (samples/generate.py); dropping its TON
    with extract leaves the same stream with bilinear chroma."""
    from pathlib import Path

    from jpegai_fmt.extract import extract
    if not os.path.isdir(VAL):
        pytest.skip("the sample's source crop comes from the validation photos, absent here")
    data = (Path(__file__).parent.parent / "samples" / "valid" / "enc-post-filter.jaic").read_bytes()
    source = photo(576, 320, index=4, top=300, left=100)
    assert parse_codestream(data).ton["EFE_linear_filter_enabled_flag"] == 1
    bare = extract(data, drop_ton=True)[0]
    assert parse_codestream(bare).ton is None
    with_filter = psnr_rgb(source, P.decode(data, model=model).rgb)
    assert with_filter > psnr_rgb(source, P.decode(bare, model=model).rgb) + 0.05


def test_decision_error_in_stripes_equals_the_whole_picture():
    rng = np.random.default_rng(0)
    luma, chroma = rng.random((192, 128)).astype(np.float32), rng.random((2, 96, 64)).astype(np.float32)
    source = torch.from_numpy(rng.integers(0, 256, (3, 187, 121), np.uint8))
    ton = _bilinear_ton(12345, luma_tap=0.3)
    whole = efe._decoded_rgb_error(ton, luma, chroma, source, rows=1000)
    assert efe._decoded_rgb_error(ton, luma, chroma, source, rows=32) == pytest.approx(whole, rel=1e-12)


def test_normal_equations_of_both_planes_equal_their_features_stacked_directly():
    """The one-pass chunked Gram matrices against the features of each output sample built one by one:
    edge repetition, phases, the display crop and the chunk seams (odd size, chunks of 3 rows) included."""
    rng = np.random.default_rng(1)
    luma, chroma = rng.random((24, 32)), rng.random((2, 12, 16))
    size = (21, 27)
    targets = [rng.random(size) for _ in (0, 1)]
    means = [0.4, 0.6]
    off = list(efe.offsets(efe.MAX_LENGTH))
    got = efe._normal_equations(luma, chroma, targets, means, size, rows=3)
    for c in (0, 1):
        cp = np.pad(chroma[c] - means[c], ((-off[0], off[-1]),) * 2, mode="edge")
        yp = np.pad(luma, ((-off[0], off[-1]),) * 2, mode="edge")
        for a in (0, 1):
            for b in (0, 1):
                rows, t = [], []
                for i in range((size[0] - a + 1) // 2):
                    for j in range((size[1] - b + 1) // 2):
                        rows.append([cp[i - off[0] + u, j - off[0] + v] for u in off for v in off]
                                    + [yp[2 * i + a - off[0] + u, 2 * j + b - off[0] + v] for u in off for v in off])
                        t.append(targets[c][2 * i + a, 2 * j + b] - means[c])
                x, t = np.array(rows), np.array(t)
                gram, rhs, energy = (part[2 * a + b] for part in got[c])
                np.testing.assert_allclose(gram, x.T @ x, rtol=1e-10)
                np.testing.assert_allclose(rhs, x.T @ t, rtol=1e-10)
                assert energy == pytest.approx(t @ t, rel=1e-10)
