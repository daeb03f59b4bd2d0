"""The entropy rules (SOQ-003, THR-004) found by decoding payloads, only when asked for; ENT-001 where they
cannot be decoded."""
from pathlib import Path

import pytest

from jpegai_fmt import validate
from jpegai_fmt.codestream import parse_codestream
from jpegai_fmt.layout import build_independent_residual, build_memory
from jpegai_fmt.markers import Marker
from jpegai_fmt.segments import join_segments, split_segments

pytest.importorskip("codec.entropy.checks")
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def rules(data, **kw):
    return {(f.rule, f.severity) for f in validate(data, **kw)}


def parts(data):
    return [(s.marker, s.payload) for s in split_segments(data)[1:-1]]


def test_quality_map_range_is_checked_for_streams_of_any_encoder():
    data = (SAMPLES / "rules" / "soq-003-qp.jaic").read_bytes()
    foreign = join_segments([p for p in parts(data) if p[0] != Marker.UDI])  # no model-set record
    assert ("SOQ-003", "E") in rules(foreign, entropy=True)
    assert "SOQ-003" not in {r for r, _ in rules(foreign)}                  # not without entropy=True
    msg = next(f.message for f in validate(foreign, entropy=True) if f.rule == "SOQ-003")
    assert "9..9" in msg and "outside -8..8" in msg


def test_payloads_another_model_set_made_are_reported_as_not_decoded():
    data = (SAMPLES / "valid" / "enc-threads-16.jaic").read_bytes()
    foreign = join_segments([p for p in parts(data) if p[0] != Marker.UDI])
    found = [f for f in validate(foreign, entropy=True) if f.rule == "ENT-001"]
    assert len(found) == 1 and found[0].severity == "I" and found[0].path == "SOZ"
    assert "no jpegai-fmt UDI record" in found[0].message
    assert not [f for f in validate(data, entropy=True) if f.rule == "ENT-001"]   # ours: decoded, no note
    assert not [f for f in validate(foreign) if f.rule == "ENT-001"]              # not asked to decode


def test_a_cut_residual_region_reads_before_its_thread_start():
    data = (SAMPLES / "valid" / "enc-regions-independent.jaic").read_bytes()
    ps = parts(data)
    k = [i for i, (m, _) in enumerate(ps) if m == Marker.SORS][1]
    marker, payload = ps[k]
    ps[k] = (marker, build_independent_residual(payload[0], build_memory([b"\x80", b"\x80"])))  # 2 threads, no data
    found = validate(join_segments(ps), entropy=True)
    hits = [f for f in found if f.rule == "THR-004"]
    assert hits and hits[0].path == "SORS[1]" and "SORS region 1" in hits[0].message


def test_valid_encoder_streams_decode_without_findings():
    for name in ("enc-threads-16", "enc-regions-dependent", "hdr-quality-map-t4", "enc-channel-prefix"):
        data = (SAMPLES / "valid" / f"{name}.jaic").read_bytes()
        assert not {r for r, s in rules(data, entropy=True) if s in "EW"} - {"PIH-014", "PIH-015"}
        assert parse_codestream(data).pih is not None


def test_validate_command_runs_the_entropy_rules_on_request(capsys):
    import pathlib

    from jpegai_fmt.cli import main
    sample = str(pathlib.Path(__file__).resolve().parent.parent / "samples" / "rules" / "thr-004-underrun.jaic")
    assert main(["validate", sample]) == 0                 # only decoding finds this one
    assert main(["validate", sample, "--entropy"]) == 1
    assert "THR-004" in capsys.readouterr().out
