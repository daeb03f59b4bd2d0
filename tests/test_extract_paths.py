"""Extraction paths besides the index: σ rows from the codec (cut points or re-encoding), refusals for other
model sets, TON/UDI/region drops, stale or foreign UDI, and `.jai` containers."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from jpegai_fmt.codestream import parse_codestream
from jpegai_fmt import validate
from jpegai_fmt.container import unwrap, wrap
from jpegai_fmt.container.reader import read_model
from jpegai_fmt.errors import ModelMismatchError
from jpegai_fmt.extract import ExtractError, extract
from jpegai_fmt.markers import Marker
from jpegai_fmt.udi_record import parse_record
from test_extract_core import assert_decodes_prefix, make_stream


def _codec_rows(monkeypatch, truth=None, error=None):
    """Stand in for codec.pipeline.residual_rows: the σ rows the stream was made with, or an error."""
    calls = []

    def residual_rows(data):
        calls.append(len(data))
        if error is not None:
            raise error
        return {key: rows for key, (rows, *_) in truth.items()}
    monkeypatch.setitem(sys.modules, "codec.pipeline", types.SimpleNamespace(residual_rows=residual_rows))
    return calls


def test_sigma_path_without_index_matches_index_path(monkeypatch):
    indexed, truth = make_stream(seed=5)
    bare, _ = make_stream(seed=5, index=False)
    calls = _codec_rows(monkeypatch, truth)
    out, report = extract(bare, luma_channels=8, chroma_channels=8)
    assert report["method"] == {"luma": "sigma", "chroma": "sigma"} and calls
    assert_decodes_prefix(out, truth, (8, 8))
    ref, _ = extract(indexed, luma_channels=8, chroma_channels=8)
    strip = lambda d: [s.payload for s in parse_codestream(d).segments if s.marker != Marker.UDI]  # noqa: E731
    assert strip(out) == strip(ref)


def test_unaligned_count_is_re_encoded_and_index_rebuilt(monkeypatch):
    data, truth = make_stream(threads=(2, 1), seed=6)   # luma: multiples of 8 channels are aligned
    _codec_rows(monkeypatch, truth)
    out, report = extract(data, luma_channels=13)
    assert report["method"]["luma"] == "re-encode"
    assert_decodes_prefix(out, truth, (13, 12))
    record = parse_record(parse_codestream(out).udi)
    assert record.index.num_chs == (13, 12)
    assert [m for m, _ in record.index.entry(0, 0).cuts] == [0, 8]
    again, report = extract(out, luma_channels=8)   # the rebuilt index serves the next cut
    assert report["method"]["luma"] == "index"
    assert_decodes_prefix(again, truth, (8, 12))


def test_other_model_set_without_index_is_refused_but_drops_work(monkeypatch):
    data, _ = make_stream(index=False, udi=b"someone else's data")
    _codec_rows(monkeypatch, error=ModelMismatchError("model set abcd is not ours"))
    with pytest.raises(ExtractError, match=r"cannot cut luma to 8 channels.*cannot compute for this stream \(model set abcd is not ours\)"
                       r"; the channel cut is refused; group-aligned luma counts for this stream are 0, 4, \.\.\., 24\. --drop-ton"):
        extract(data, luma_channels=8)
    out, report = extract(data, drop_ton=True, drop_udi=True)
    cs = parse_codestream(out)
    assert not cs.findings()
    assert [s.marker for s in cs.segments if s.marker in (Marker.TON, Marker.UDI)] == []
    assert report["num_chs"]["luma"] == [24, 24]
    assert "not a jpegai-fmt record" in " ".join(report["notes"])


def test_foreign_udi_passes_through(monkeypatch):
    data, truth = make_stream(index=False, udi=b"\x00opaque")
    _codec_rows(monkeypatch, truth)
    out, _ = extract(data, luma_channels=8)
    assert parse_codestream(out).udi == b"\x00opaque"


def test_stale_index_is_not_used(monkeypatch):
    data, truth = make_stream(seed=7)
    other, _ = make_stream(seed=8)
    stale = data.replace(parse_codestream(data).udi, parse_codestream(other).udi)
    _codec_rows(monkeypatch, truth)
    out, report = extract(stale, luma_channels=8)
    assert report["method"]["luma"] == "sigma"
    assert "stale" in " ".join(report["notes"])
    assert_decodes_prefix(out, truth, (8, 12))


def test_drop_regions_independent():
    data, truth = make_stream(width=1040, height=520, grid=(2, 2), independent=True, num_chs=(24, 40), seed=9)
    out, report = extract(data, drop_regions=[1, 2], luma_channels=8)
    cs = parse_codestream(out)
    assert not cs.findings()
    kept = sorted({cs.layouts[i].parts[0].index for i, s in enumerate(cs.segments) if s.marker == Marker.SORP})
    assert kept == [0, 3]
    record = parse_record(cs.udi)
    assert sorted((r.component, r.region) for r in record.index.regions) == [(0, 0), (0, 3), (1, 0), (1, 3)]
    assert_decodes_prefix(out, {k: v for k, v in truth.items() if k[1] in (0, 3)}, (8, 40), allowed={"REG-002"})
    dropped = [r for r in report["segments"] if r["out"] == 0]
    assert len(dropped) == 4 and all(r["component"] in ("luma", "chroma") for r in dropped)
    with pytest.raises(ExtractError, match="no SORP segment"):
        extract(data, drop_regions=[0, 1, 2, 3])
    with pytest.raises(ExtractError, match="do not exist"):
        extract(data, drop_regions=[4])


def test_drop_regions_refused_for_dependent_regions():
    data, _ = make_stream(width=1024, height=512, grid=(2, 2), seed=10)
    with pytest.raises(ExtractError, match="independent regions"):
        extract(data, drop_regions=[0])


def test_report_sums():
    data, _ = make_stream(seed=11)
    out, report = extract(data, luma_channels=8, drop_ton=True)
    assert sum(r["in"] for r in report["segments"]) == len(data)
    assert sum(r["out"] for r in report["segments"]) == len(out)
    comp = report["components"]
    assert comp["luma"]["out"] < comp["luma"]["in"] and comp["chroma"]["out"] == comp["chroma"]["in"]
    w, h = report["display_size"]
    assert report["bpp"] == [round(8 * len(data) / (w * h), 6), round(8 * len(out) / (w * h), 6)]


ICC = bytearray(132)
ICC[:4] = (132).to_bytes(4, "big")
ICC[36:40] = b"acsp"
EXIF = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


def test_container_rewritten_with_metadata():
    data, truth = make_stream(seed=12)
    jai = wrap(data, exif=EXIF, xmp=XMP, icc=bytes(ICC))
    assert extract(jai)[0] == jai
    out, report = extract(jai, luma_channels=8)
    assert report["container"] and len(out) < len(jai)
    assert unwrap(out) == extract(data, luma_channels=8)[0]
    assert report["codestream_bytes"] == [len(data), len(unwrap(out))]   # bpp counts codestream bits, like encode
    assert report["bpp"] == extract(data, luma_channels=8)[1]["bpp"]
    assert_decodes_prefix(unwrap(out), truth, (8, 12))
    assert [f for f in validate(out) if f.severity != "I"] == []
    model = read_model(out)
    types_ = sorted(i.type for i in model.item_order)
    assert types_ == ["Exif", "jai0", "mime"]
    assert out.find(bytes(ICC)) > 0 and out.find(XMP) > 0 and out.find(EXIF[6:]) > 0


def test_not_a_stream():
    with pytest.raises(Exception, match="neither a JPEG AI codestream"):
        extract(b"GIF89a....")
    data, _ = make_stream(seed=13)
    with pytest.raises(Exception) as err:
        extract(data[:len(data) // 2], luma_channels=8)
    assert type(err.value).__module__ == "jpegai_fmt.errors"


def test_index_path_imports_neither_codec_nor_torch(tmp_path):
    import subprocess
    data, _ = make_stream(seed=14)
    src = tmp_path / "in.jaic"
    src.write_bytes(data)
    code = ("import sys; from jpegai_fmt.extract import extract; "
            f"out, r = extract(open({str(src)!r}, 'rb').read(), luma_channels=8); "
            "assert r['method']['luma'] == 'index', r; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.split('.')[0] == 'codec'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_damaged_inputs_give_project_errors(monkeypatch):
    from jpegai_fmt.errors import JpegAiError
    monkeypatch.setitem(sys.modules, "codec.pipeline", None)
    data, _ = make_stream(threads=(2, 2), seed=15)
    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(150):
        bad = bytearray(data)
        for pos in rng.integers(0, len(bad), int(rng.integers(1, 4))):
            bad[pos] = int(rng.integers(0, 256))
        try:
            extract(bytes(bad), luma_channels=8, chroma_channels=8)
            outcomes.add("ok")
        except JpegAiError:
            outcomes.add("error")
    assert outcomes == {"ok", "error"}
