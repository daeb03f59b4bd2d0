"""The conformance suite (samples/manifest.json) passes, covers every rule id, and its CLI
reports mismatches with a non-zero exit."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jpegai_fmt.cli import main as cli_main
from jpegai_fmt.suite import load_manifest, run_suite
from jpegai_fmt.tables import RULES

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CONTAINER_RULES = {k for k in json.loads((ROOT / "spec_tables" / "container_rules.json").read_text())
                   if not k.startswith("_")}


@pytest.fixture(scope="module")
def outcomes():
    return run_suite(str(SAMPLES))


def test_every_stream_matches_its_manifest_entry(outcomes):
    failed = [(o.file, o.problems) for o in outcomes if not o.passed]
    assert not failed
    assert len(outcomes) >= 150


def test_every_rule_id_has_a_stream_raising_it():
    listed = {r for e in load_manifest(str(SAMPLES)) for r in e["rules"]}
    assert (set(RULES) | CONTAINER_RULES) - listed == set()
    assert listed - set(RULES) - CONTAINER_RULES == set()


def test_samples_are_small_real_and_complete():
    entries = load_manifest(str(SAMPLES))
    files = {e["file"] for e in entries}
    on_disk = {f"{p.parent.name}/{p.name}" for p in SAMPLES.glob("*/*") if p.is_file()}
    assert files == on_disk
    for rel in files:
        assert 0 < (SAMPLES / rel).stat().st_size <= 50_000, rel
    valid = [e for e in entries if e["file"].startswith("valid/")]
    # raw and wrapped variants of every valid stream, with the facts info must report
    assert {e["kind"] for e in valid} == {"codestream", "container"}
    assert all("info" in e for e in valid)
    seen = {(e["info"]["threads"]["r"][0], tuple(e["info"]["regions"]["grid"]), e["info"]["regions"]["independent"])
            for e in valid}
    assert {t for t, _, _ in seen} >= {1, 2, 8, 16}
    assert any(g != (1, 1) and ind for _, g, ind in seen) and any(g != (1, 1) and not ind for _, g, ind in seen)
    tools = {t for e in valid for t in e["info"]["tools"]}
    assert tools >= {"cube_flags", "grfs", "rvs", "synthesis_tiling", "quality_map", "lsbs", "efe_linear", "icci",
                     "efe_nonlinear", "lef"}
    assert {e["info"]["chroma"] for e in valid} == {"4:4:4", "4:2:2", "4:2:0"}
    assert {e["info"]["bit_depth"] for e in valid} >= {8, 10}
    assert {e["info"]["profile"] for e in valid} == {0, 1, 2}
    assert len({e["info"]["level"] for e in valid}) >= 5
    assert {p for e in valid for p in e["info"]["rdi"]} == {"cicp", "mdcv", "clli", "dm"}


def test_cli_reports_mismatch_and_totals(tmp_path, capsys):
    suite = tmp_path / "suite"
    shutil.copytree(SAMPLES, suite, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    manifest = json.loads((suite / "manifest.json").read_text())
    manifest["samples"] = [e for e in manifest["samples"] if e["file"] in (
        "rules/pih-010-num-chs.jaic", "valid/enc-threads-2.jaic", "valid/hdr-grfs.jai")]
    (suite / "manifest.json").write_text(json.dumps(manifest))
    assert cli_main(["validate", "--suite", str(suite)]) == 0
    out = capsys.readouterr().out
    assert "PASS rules/pih-010-num-chs.jaic" in out and "3 streams: 3 passed, 0 failed" in out

    manifest["samples"][0]["rules"] = ["PIH-009"]            # wrong rule expected
    manifest["samples"][1]["info"]["threads"]["z"] = 4       # wrong info expected
    (suite / "manifest.json").write_text(json.dumps(manifest))
    assert cli_main(["validate", "--suite", str(suite)]) == 1
    out = capsys.readouterr().out
    assert "FAIL rules/pih-010-num-chs.jaic: expected PIH-009, not raised; unexpected PIH-010 (E)" in out
    assert "FAIL valid/enc-threads-2.jaic: info threads" in out
    assert "3 streams: 1 passed, 2 failed" in out


def test_cli_without_manifest_and_in_a_subprocess(tmp_path):
    assert cli_main(["validate", "--suite", str(tmp_path)]) == 2
    run = subprocess.run([sys.executable, "-m", "jpegai_fmt", "validate", "--suite", str(SAMPLES), "--json"],
                         capture_output=True, text=True, timeout=120)
    doc = json.loads(run.stdout)
    assert run.returncode == 0 and doc["failed"] == 0 and doc["passed"] >= 150


@pytest.mark.parametrize("doc, says", [
    ([], "'samples' is a list"),
    ({"samples": {}}, "'samples' is a list"),
    ({"samples": [{"file": "a.jaic", "rules": "BOX-001"}]}, "samples[0]: 'rules' must be a list"),
    ({"samples": [{"rules": []}]}, "samples[0]: expected an object with a 'file'"),
    ({"samples": [{"file": "a.jaic", "info": 3}]}, "'info' must be an object"),
])
def test_malformed_manifests_are_named(tmp_path, capsys, doc, says):
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    assert cli_main(["validate", "--suite", str(tmp_path)]) == 2
    assert says in capsys.readouterr().err


def test_generator_rebuilds_the_same_bytes(tmp_path):
    pytest.importorskip("torch")
    val = Path("/work/shared/data/val")
    if not val.is_dir():
        pytest.skip("validation pictures not available")
    subprocess.run([sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True, timeout=300)
    for rel in [e["file"] for e in load_manifest(str(SAMPLES))] + ["manifest.json"]:
        assert (tmp_path / rel).read_bytes() == (SAMPLES / rel).read_bytes(), rel
