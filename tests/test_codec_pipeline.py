"""End-to-end codec: real encode -> codestream -> decode, layouts, rate control, model-set checks."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec import pipeline as P  # noqa: E402
from codec.metrics import psnr_rgb  # noqa: E402
from codec.weights import load_networks  # noqa: E402
from conftest import VAL  # noqa: E402
from jpegai_fmt.codestream import parse_codestream  # noqa: E402
from jpegai_fmt.errors import BuildError, ModelMismatchError  # noqa: E402

@pytest.fixture(scope="module")
def picture(photo):
    return photo(256, 200, top=100, left=200)       # 256 x 200: not multiples of 64


@pytest.fixture(scope="module")
def model():
    return load_networks()


@pytest.fixture(scope="module")
def analysis(model, picture):
    return P.analyse(model, picture)


def test_round_trip_size_and_quality(analysis, picture, model):
    data = P.encode_analysis(analysis, P.EncodeSettings(model_id=2))
    cs = parse_codestream(data)
    assert cs.pih.display_size == (256, 200)
    assert (cs.pih.width, cs.pih.height) == (256, 256)
    dec = P.decode(data, model=model)
    assert dec.rgb.shape == picture.shape
    bpp = len(data) * 8 / (256 * 200)
    assert 0.05 < bpp < 2.0
    assert psnr_rgb(picture, dec.rgb) > 24.0


def test_stream_validates_clean(analysis):
    import jpegai_fmt
    data = P.encode_analysis(analysis, P.EncodeSettings(model_id=1, threads=4, regions=(1, 1)))
    findings = jpegai_fmt.validate(data)
    assert [f for f in findings if f.severity != "I"] == []
    assert [f.rule for f in findings] == ["UDI-001"] and "jpegai-fmt record" in findings[0].message


def test_rate_rises_with_model_id_and_bdl(analysis):
    sizes = [len(P.encode_analysis(analysis, P.EncodeSettings(model_id=m))) for m in range(4)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    lo = len(P.encode_analysis(analysis, P.EncodeSettings(model_id=2, bdl=(-200, -200))))
    hi = len(P.encode_analysis(analysis, P.EncodeSettings(model_id=2, bdl=(200, 200))))
    assert lo < sizes[2] < hi


def test_layouts_decode_to_the_same_picture(analysis, model):
    """Threads and regions change the stream layout, never the decoded symbols."""
    ref = P.decode(P.encode_analysis(analysis, P.EncodeSettings()), model=model)
    for s in (P.EncodeSettings(threads=16), P.EncodeSettings(threads=2, regions=(2, 2)),
              P.EncodeSettings(threads=4, regions=(1, 2), independent_regions=True)):
        dec = P.decode(P.encode_analysis(analysis, s), model=model)
        assert dec.symbols_sha256 == ref.symbols_sha256
        assert np.array_equal(dec.rgb, ref.rgb)


def test_channel_prefix_quality_rises(analysis, picture, model):
    data = P.encode_analysis(analysis, P.EncodeSettings(model_id=3))
    psnrs = [psnr_rgb(picture, P.decode(data, n, m, model=model).rgb)
             for n, m in ((8, 8), (32, 16), (80, 48), (160, 96))]
    assert psnrs == sorted(psnrs)
    assert psnrs[0] > 15.0          # 8 + 8 channels: a recognisable picture


def test_encoding_fewer_channels_equals_prefix_decode(analysis, model):
    full = P.encode_analysis(analysis, P.EncodeSettings(model_id=2))
    cut = P.encode_analysis(analysis, P.EncodeSettings(model_id=2, num_chs=(32, 16)))
    assert len(cut) < len(full)
    assert np.array_equal(P.decode(cut, model=model).rgb, P.decode(full, 32, 16, model=model).rgb)


def test_the_encoder_analyses_for_the_operating_point_it_codes(model, picture):
    """The shipped analysis is rate-conditioned: latents analysed for model_id 0 and for 3 differ."""
    assert not np.allclose(P.analyse(model, picture, 0).y[0], P.analyse(model, picture, 3).y[0])


def test_a_photo_codes_best_with_latents_analysed_for_its_own_rate(model, picture):
    """At each regime's operating point (lambda * MSE + bpp) a photo's own latents code better than the
    other regime's. Trained behaviour on natural pictures: the synthetic stand-in used where ../shared/data
    is missing is no photo (on it the model_id 3 comparison goes the other way)."""
    if not glob.glob(os.path.join(VAL, "*.png")):
        pytest.skip(f"no validation photos in {VAL}")
    own = {m: P.analyse(model, picture, m) for m in (0, 3)}

    def cost(an, m):
        s = P.EncodeSettings(model_id=m, post_filter=False, rdoq=False)
        data = P.encode_analysis(an, s)
        mse = np.mean((P.decode(data, model=model).rgb.astype(np.float64) - picture) ** 2)
        return P.operating_lambda(m, 0) * mse + len(data) * 8 / picture[..., 0].size

    for m in (0, 3):
        assert cost(own[m], m) < cost(own[3 - m], m)


def test_bpp_search_lands_within_3_percent(model, picture):
    target = 0.6
    data = P.encode(picture, bpp=target, model=model)
    assert abs(len(data) * 8 / (picture.shape[0] * picture.shape[1]) - target) <= 0.03 * target


def _point(data: bytes) -> tuple[int, int]:
    f = parse_codestream(data).pih.fields
    return f["model_id"], f["beta_displacement_log_plus_2048_0"] - 2048


@pytest.mark.parametrize("target", [27.0, 30.5])
def test_psnr_target_is_reached_at_the_lowest_bdl_the_search_resolves(model, picture, target):
    settings = P.EncodeSettings(refine=0, post_filter=False)     # the search's own measure, nothing added after
    data = P.encode(picture, psnr=target, settings=settings, model=model)
    got = psnr_rgb(picture, P.decode(data, model=model).rgb)
    assert got >= target
    model_id, bdl = _point(data)
    lower = P.EncodeSettings(model_id=model_id, bdl=(bdl - 2 * P.QUALITY_BDL_STEP,) * 2, refine=0, post_filter=False)
    assert psnr_rgb(picture, P.decode(P.encode(picture, settings=lower, model=model), model=model).rgb) < target


def test_an_unreachable_psnr_gives_the_best_point_and_targets_are_exclusive(model, picture):
    data = P.encode(picture, psnr=60.0, settings=P.EncodeSettings(refine=0, post_filter=False), model=model)
    assert _point(data) == (3, P.top_bdl(3))          # the model set's best quality point
    with pytest.raises(BuildError, match="not both"):
        P.encode(picture, psnr=30.0, bpp=0.5, model=model)
    with pytest.raises(BuildError, match="between 0 and 100"):
        P.encode(picture, psnr=float("nan"), model=model)


@pytest.mark.parametrize("f, slope, width", [
    (lambda b: -1.5 + 0.00065 * b, P.LOG_RATE_PER_BDL, 1),                   # ln bpp, first guess twice too steep
    (lambda b: 32.3 - 2.0 * np.exp(-(b + 1069) / 500), P.PSNR_PER_BDL, 8),   # PSNR, saturating
    (lambda b: round(-1.2 + 0.002 * b, 2), P.PSNR_PER_BDL, 8),               # stepped
])
@pytest.mark.parametrize("goal_at", [-1000, -900, -37, 0, 5, 311, 690])
def test_bdl_bracket_closes_on_rising_curves_in_few_evaluations(f, slope, width, goal_at):
    """Bisection from the range's ends took 8-12 evaluations a search; the secant and Illinois steps take at most
    8 from BDL 0 on these curves, 5.5 on average."""
    calls = []

    def counted(b):
        calls.append(b)
        return f(b)
    goal = f(goal_at) - 1e-9
    below, above = P.bdl_bracket(counted, goal, 0, P.BDL_RANGE, slope, width)
    assert above is not None and f(above) >= goal and (below is None or f(below) < goal)
    assert below is None and above == P.BDL_RANGE[0] or 0 < above - below <= width
    assert len(calls) == len(set(calls)) <= 8


def test_bdl_bracket_reports_a_goal_beyond_the_range():
    for goal, side in ((5.0, 1), (-5.0, 0)):
        below, above = P.bdl_bracket(lambda b: b / 1000, goal, 0, (-1069, 400), 0.001, 1)
        assert (below, above) == ((400, None) if side else (None, -1069))


def test_the_analysis_stays_inside_the_operating_points_training_sampled():
    from codec.model import TRAINED_BDL_SPREAD, highest_trained_bdl, rate_condition, trained_condition
    inside = rate_condition(torch.tensor([0, 1, 2, 3, 3]), torch.tensor([-TRAINED_BDL_SPREAD, 0, 500, 0,
                                                                           TRAINED_BDL_SPREAD]))
    assert torch.equal(trained_condition(inside), inside)
    beyond = rate_condition(torch.tensor([3, 0]), torch.tensor([702, -1069]))
    assert torch.allclose(trained_condition(beyond), inside[[4, 0]])
    assert highest_trained_bdl(3) == TRAINED_BDL_SPREAD and all(highest_trained_bdl(m) > 702 for m in range(3))
    assert [P.top_bdl(m) for m in range(4)] == [702, 702, 702, TRAINED_BDL_SPREAD]


@pytest.mark.parametrize("steps", [0, 6])
def test_more_bits_above_the_trained_range_do_not_cost_quality(model, photo, steps):
    """Model_id 3 at BDL +702 once decoded 0.3 dB worse than at +400 for more bits: the analysis and the
    refinement extrapolated beyond the points training sampled. Held there, the finer grid only adds bits."""
    pic = photo(256, 256, index=2, top=300, left=500)

    def point(bdl):
        data = P.encode(pic, settings=P.EncodeSettings(model_id=3, bdl=(bdl, bdl), refine=steps), model=model)
        return len(data), psnr_rgb(pic, P.decode(data, model=model).rgb)
    (n400, q400), (n702, q702) = point(400), point(702)
    assert n702 > n400 and q702 > q400 - 0.05


@pytest.mark.parametrize("target, searched", [(8.0, {3, 2}), (0.001, {0})])
def test_a_rate_outside_the_model_sets_range_searches_only_regimes_that_could_reach_it(analysis, monkeypatch,
                                                                                       target, searched):
    seen = []
    real = P.encode_analysis

    def spy(an, s):
        seen.append((s.model_id, s.bdl[0]))
        return real(an, s)
    monkeypatch.setattr(P, "encode_analysis", spy)
    P.search_rate(analysis, target, P.EncodeSettings())
    assert {m for m, b in seen if b != 0} == searched        # every regime is coded once at BDL 0 to rank them


def test_a_rate_above_what_the_model_set_can_use_is_met_at_the_top_of_a_regime(model, picture):
    data = P.encode(picture, bpp=8.0, settings=P.EncodeSettings(refine=0, post_filter=False), model=model)
    model_id, bdl = _point(data)
    assert model_id >= 2 and bdl == P.top_bdl(model_id)


def _rebuild(data: bytes, udi=b"keep", **pih_changes) -> bytes:
    from jpegai_fmt.codestream import build_codestream
    from jpegai_fmt.markers import Marker
    cs = parse_codestream(data)
    seg = {m: [s.payload for s in cs.of(m)] for m in Marker}
    return build_codestream({**cs.pih.fields, **pih_changes}, soz=seg[Marker.SOZ][0], sorp=seg[Marker.SORP],
                            sors=seg[Marker.SORS], ton=cs.ton, rdi=cs.rdi, udi=cs.udi if udi == b"keep" else udi)


def _replace_udi(data: bytes, udi: bytes | None) -> bytes:
    return _rebuild(data, udi=udi)


def test_header_variants_our_networks_cannot_render_are_refused(analysis):
    from jpegai_fmt.errors import DecodeError
    data = P.encode_analysis(analysis, P.EncodeSettings())
    with pytest.raises(DecodeError, match="this one has 10-bit samples \\(it still parses"):
        P.decode(_rebuild(data, bit_depth_idc=1))       # names what differs, nothing that matches


def test_other_model_set_is_refused_clearly(analysis):
    from jpegai_fmt.udi_record import ChannelIndex, build_record
    data = P.encode_analysis(analysis, P.EncodeSettings())
    foreign = _replace_udi(data, build_record(b"\x00" * 16, ChannelIndex((160, 96))))
    with pytest.raises(ModelMismatchError, match="model set"):
        P.decode(foreign)
    with pytest.raises(ModelMismatchError, match="another encoder"):
        P.decode(_replace_udi(data, None))
    parse_codestream(foreign)      # parsing still works


DECODE_SCRIPT = """
import hashlib, io, json, sys, torch
torch.set_num_threads(int(sys.argv[2]))
from PIL import Image
from codec.pipeline import decode
dec = decode(open(sys.argv[1], 'rb').read())
buf = io.BytesIO(); Image.fromarray(dec.rgb).save(buf, 'PNG')
print(json.dumps({'symbols': dec.symbols_sha256, 'png': hashlib.sha256(buf.getvalue()).hexdigest(),
                  'threads': torch.get_num_threads()}))
"""


def test_decode_is_identical_with_1_and_2_torch_threads(analysis, tmp_path):
    path = tmp_path / "s.jaic"
    path.write_bytes(P.encode_analysis(analysis, P.EncodeSettings(model_id=2, threads=2)))
    runs = [json.loads(subprocess.run([sys.executable, "-c", DECODE_SCRIPT, str(path), str(n)], check=True,
                                      capture_output=True, text=True).stdout) for n in (1, 2)]
    assert [r["threads"] for r in runs] == [1, 2]
    assert runs[0]["symbols"] == runs[1]["symbols"]
    assert runs[0]["png"] == runs[1]["png"]


ENCODE_SCRIPT = """
import hashlib, sys, torch
torch.set_num_threads(int(sys.argv[2]))
import numpy as np
from PIL import Image
from codec.pipeline import EncodeSettings, encode
rgb = np.asarray(Image.open(sys.argv[1]))
print(hashlib.sha256(encode(rgb, bpp=0.5, settings=EncodeSettings())).hexdigest(), torch.get_num_threads())
"""


def test_encode_is_identical_with_1_and_2_torch_threads(picture, tmp_path):
    """docs/api.md promises the same bytes whatever the thread count: analysis, RDOQ, post-filter fit, search."""
    from PIL import Image
    Image.fromarray(picture).save(tmp_path / "p.png")
    runs = [subprocess.run([sys.executable, "-c", ENCODE_SCRIPT, str(tmp_path / "p.png"), str(n)], check=True,
                           capture_output=True, text=True).stdout.split() for n in (1, 2)]
    assert [r[1] for r in runs] == ["1", "2"] and runs[0][0] == runs[1][0]


def test_striped_synthesis_equals_one_pass(model, photo, monkeypatch):
    pic = photo(128, 900, top=0, left=300)               # 57 latent rows: two stripes of at most 48
    data = P.encode(pic, settings=P.EncodeSettings(model_id=1), model=model)
    striped = P.decode(data, model=model).rgb
    monkeypatch.setattr(P, "STRIPE_ROWS", 1000)
    whole = P.decode(data, model=model).rgb
    assert striped.shape == (900, 128, 3)
    # Same latents in, same network reach: only float summation order differs (a convolution over a smaller
    # tensor may take another algorithm), which can flip an 8-bit rounding in a rare pixel, never more.
    diff = np.abs(striped.astype(int) - whole)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= striped.size * 1e-4
