"""Extraction on real streams of our codec: decode(extract(x, N, M)) equals decode(x, N, M) pixel for pixel,
through the index, the σ path (no index) and re-encoding (a count that is not group-aligned)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from codec import pipeline as P  # noqa: E402
from codec.weights import load_networks  # noqa: E402
from jpegai_fmt.codestream import parse_codestream  # noqa: E402
from jpegai_fmt.extract import extract  # noqa: E402
from jpegai_fmt.markers import Marker  # noqa: E402


@pytest.fixture(scope="module")
def analysis():
    y, x = np.mgrid[0:128, 0:192].astype(np.float64)
    pic = np.stack([128 + 80 * np.sin(x / 9), 100 + 50 * np.cos(y / 7), 255 * x / 192], -1)
    pic = np.clip(pic + np.random.default_rng(0).normal(0, 6, pic.shape), 0, 255).astype(np.uint8)
    return P.analyse(load_networks(), pic)


def _same_decode(cut: bytes, original: bytes, keep: tuple[int, int]) -> None:
    a, b = P.decode(cut), P.decode(original, *keep)
    assert a.symbols_sha256 == b.symbols_sha256
    np.testing.assert_array_equal(a.rgb, b.rgb)


def test_index_and_sigma_paths(analysis):
    data = P.encode_analysis(analysis, P.EncodeSettings(threads=2))
    out, report = extract(data, luma_channels=64, chroma_channels=32)
    assert report["method"] == {"luma": "index", "chroma": "index"} and len(out) < len(data)
    assert not parse_codestream(out).findings()
    _same_decode(out, data, (64, 32))
    bare = P.encode_analysis(analysis, P.EncodeSettings(threads=2, channel_index=False))
    cut, report = extract(bare, luma_channels=64, chroma_channels=32)
    assert report["method"] == {"luma": "sigma", "chroma": "sigma"}
    payloads = lambda d: [s.payload for s in parse_codestream(d).segments if s.marker != Marker.UDI]  # noqa: E731
    assert payloads(cut) == payloads(out)


def test_unaligned_count_re_encodes(analysis):
    data = P.encode_analysis(analysis, P.EncodeSettings(threads=16))  # 8 x 12 latent: even counts only
    out, report = extract(data, luma_channels=13, chroma_channels=96)
    assert report["method"]["luma"] == "re-encode"
    _same_decode(out, data, (13, 96))
