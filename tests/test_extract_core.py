"""Channel-cut extraction on synthetic streams: random σ rows and residuals coded with the project's me-tANS
coder, packed with build_codestream and the project's UDI record. That exercises the whole byte path of
extraction (entropy.md §9) without a trained model."""
from __future__ import annotations

import numpy as np
import pytest

from codec.entropy import aligned_counts, channel_index_for, decode_residual, encode_residual
from jpegai_fmt import validate
from jpegai_fmt.codestream import build_codestream, parse_codestream
from jpegai_fmt.extract import ExtractError, extract
from jpegai_fmt.geometry import regions
from jpegai_fmt.layout import build_dependent_residual, build_independent_residual, build_memory
from jpegai_fmt.pih import default_component, default_fields
from jpegai_fmt.udi_record import ChannelIndex, RegionIndex, build_record, parse_record

MODEL_SET = bytes(range(32))


def make_stream(width=200, height=136, *, num_chs=(24, 12), threads=(1, 2), grid=(1, 1), independent=False,
                index=True, udi=None, seed=0, skip=0.3, scale=3.0, sparse_index=False):
    """(codestream bytes, truth) with truth[(c, region)] = (rows, values, n_threads, rh·rw)."""
    rng = np.random.default_rng(seed)
    comps = []
    for c in (0, 1):
        extra = {"grfs_enable_flag": 1, "grfs_channel_flag": rng.integers(0, 2, num_chs[c]).tolist()} if c else {}
        if threads[c] > 1:
            extra.update(multi_threading_r=1, log2_num_threads_r_minus1=threads[c].bit_length() - 2)
        comps.append(default_component(c, num_chs=num_chs[c], **extra))
    fields = default_fields(width, height, component=comps)
    if grid != (1, 1):
        fields.update(region_partitioning_flag=1, num_ver_splits_minus1=grid[0] - 1,
                      num_hor_splits_minus1=grid[1] - 1, region_residual_in_its_own_substream_flag=int(independent))
        if not independent:
            fields.update(hyper_decoder_overlap_in_latent_samples=0, mcm_overlap_in_latent_samples=0)
    truth, payloads, tables = {}, ([], []), []
    for c in (0, 1):
        n, mems = threads[c], []
        for reg in regions(width, height, *grid):
            y0, y1, x0, x1 = reg.latent
            size = (y1 - y0) * (x1 - x0)
            total = num_chs[c] * size
            rows = rng.integers(0, 32, total).astype(np.uint8)
            rows[rng.random(total) < skip] = 255
            values = np.round(rng.laplace(0, scale, total)).astype(np.int32)
            values[rng.random(total) < 0.002] = 500
            values[rows == 255] = 0  # skipped positions are not coded and decode as 0
            th = encode_residual(values, rows, n)
            truth[(c, reg.index)] = (rows, values, n, size)
            counts = aligned_counts(y1 - y0, x1 - x0, num_chs[c], n)
            if sparse_index:
                counts = counts[::2]
            tables.append(RegionIndex(c, reg.index, [len(t) for t in th],
                                      channel_index_for(th, rows, n, counts, size)))
            mems.append(build_memory(th))
        if independent:
            payloads[c].extend(build_independent_residual(i, m) for i, m in enumerate(mems))
        else:
            payloads[c].append(build_dependent_residual(mems))
    if index:
        udi = build_record(MODEL_SET, ChannelIndex(num_chs, tables))
    soz = build_memory(encode_residual(rng.integers(-3, 4, 500), np.full(500, 8, np.uint8), 1))
    return build_codestream(fields, soz=soz, sorp=payloads[0], sors=payloads[1], udi=udi), truth


def region_threads(data: bytes) -> dict:
    """(component, region) -> thread byte ranges of a codestream."""
    cs = parse_codestream(data)
    out = {}
    for i, seg in enumerate(cs.segments):
        if seg.name in ("SORP", "SORS"):
            for part in cs.layouts[i].parts:
                out[(0 if seg.name == "SORP" else 1, part.index)] = [seg.payload[o:o + n]
                                                                     for o, n in part.memory.threads]
    return out


def assert_decodes_prefix(out: bytes, truth: dict, keep: tuple[int, int], allowed=()) -> None:
    """Every region of the cut stream decodes, as a complete stream, to the prefix of the original values."""
    cs = parse_codestream(out)
    # info only (UDI-001: user data present), plus the warnings a caller expects
    assert [f for f in validate(out) if f.severity != "I" and f.rule not in allowed] == []
    assert cs.pih.num_chs == keep
    for (c, r), threads in region_threads(out).items():
        rows, values, n, size = truth[(c, r)]
        count = keep[c] * size
        got, _ = decode_residual(threads, rows[:count], n)
        np.testing.assert_array_equal(got, values[:count])


CONFIGS = [
    dict(),
    dict(threads=(4, 16), num_chs=(40, 96), seed=1),
    dict(width=1024, height=512, grid=(2, 2), threads=(2, 1), seed=2),
    dict(width=1040, height=520, grid=(2, 2), independent=True, threads=(1, 4), num_chs=(24, 40), seed=3),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_all_channels_is_identity(cfg):
    data, _ = make_stream(**cfg)
    cs = parse_codestream(data)
    out, report = extract(data, luma_channels=cs.pih.num_chs[0], chroma_channels=cs.pih.num_chs[1])
    assert out == data
    assert report["codestream_bytes"] == [len(data), len(data)]
    assert extract(data)[0] == data
    assert extract(data, luma_channels=160, chroma_channels=96)[0] == data


def _valid(data, c):
    cs = parse_codestream(data)
    n = cs.pih.n_r[c]
    geo = regions(cs.pih.width, cs.pih.height, *cs.pih.region_grid)
    sizes = [(g.latent[1] - g.latent[0]) * (g.latent[3] - g.latent[2]) for g in geo]
    return [m for m in range(cs.pih.num_chs[c]) if all(m * s % (4 * n) == 0 for s in sizes)]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_cut_decodes_prefix_and_validates(cfg):
    data, truth = make_stream(**cfg)
    luma, chroma = _valid(data, 0), _valid(data, 1)
    for keep in [(luma[-1], chroma[1]), (luma[1], chroma[-1]), (0, 0)]:
        out, report = extract(data, luma_channels=keep[0], chroma_channels=keep[1])
        assert report["method"] == {"luma": "index", "chroma": "index"}
        assert_decodes_prefix(out, truth, keep)
        record = parse_record(parse_codestream(out).udi)
        assert record.index.num_chs == keep and record.model_set == MODEL_SET


@pytest.mark.parametrize("cfg", CONFIGS[:3])
def test_extraction_composes(cfg):
    data, _ = make_stream(**cfg)
    luma = _valid(data, 0)
    picks = [luma[-1], luma[len(luma) // 2], luma[1], 0]
    for a in picks:
        once, _ = extract(data, luma_channels=a)
        for b in picks:
            twice, _ = extract(once, luma_channels=b)
            assert twice == extract(data, luma_channels=min(a, b))[0], (a, b)


def test_size_falls_strictly_with_channels():
    data, _ = make_stream(threads=(2, 1), scale=4.0)
    sizes = [len(extract(data, luma_channels=m)[0]) for m in _valid(data, 0)]
    assert all(a < b for a, b in zip(sizes, sizes[1:])), sizes
    assert sizes[-1] < len(data)


def test_unaligned_count_is_refused_with_valid_counts(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "codec.pipeline", None)  # no σ decoder: only the index can cut
    data, _ = make_stream(threads=(2, 1))  # 9 x 13 latent, two threads: multiples of 8 channels
    with pytest.raises(ExtractError, match=r"counts for this stream are 0, 8, 16") as err:
        extract(data, luma_channels=5)
    assert "not available" in str(err.value)
    with pytest.raises(ExtractError, match="outside 0..160"):
        extract(data, luma_channels=161)


def test_count_missing_from_a_sparse_index_names_indexed_counts(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "codec.pipeline", None)
    data, _ = make_stream(threads=(1, 1), sparse_index=True)  # 117 positions: multiples of 4, index every 8
    with pytest.raises(ExtractError, match=r"of which the index covers 0, 8, 16"):
        extract(data, luma_channels=4)
