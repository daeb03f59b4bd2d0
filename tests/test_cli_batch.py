"""CLI: batch encode/decode (one progress bar, per-file errors), `spec`, and the conventions every command
shares (`python -m jpegai_fmt`, --help with examples, --json, exit codes 0/1/2, plain output when piped)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jpegai_fmt import cli
from jpegai_fmt.container import sniff

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pictures(folder, count=3):
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:72, 0:96]
    paths = []
    for i in range(count):
        pic = np.stack([x * 2 + 20 * i, y * 3, (x + y) % 200], -1) + rng.integers(0, 12, (72, 96, 3))
        p = folder / f"pic{i}.png"
        Image.fromarray(pic.clip(0, 255).astype(np.uint8)).save(p)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    pytest.importorskip("torch")
    d = tmp_path_factory.mktemp("batch")
    inputs = _pictures(d)
    return d, inputs


def test_batch_encode_then_decode(batch, capsys):
    d, inputs = batch
    (d / "broken.png").write_bytes(b"not a picture")
    rc = cli.main(["encode", *inputs, str(d / "broken.png"), "--out-dir", str(d / "enc"), "--model-id", "1",
                   "--json"])
    out, err = capsys.readouterr()
    assert rc == 2                                            # one input failed, the others were written
    results = json.loads(out)
    assert [os.path.basename(r["output"]) for r in results] == ["pic0.jai", "pic1.jai", "pic2.jai", "broken.jai"]
    assert "error" in results[3] and "broken.png" in err and len(err.strip().splitlines()) == 1
    for r in results[:3]:
        assert sniff((d / "enc" / os.path.basename(r["output"])).read_bytes()) == "container"
        assert r["psnr_rgb"] > 20 and r["bytes"] > 0
    assert not (d / "enc" / "broken.jai").exists()

    rc = cli.main(["decode", *sorted(str(p) for p in (d / "enc").iterdir()), "--out-dir", str(d / "dec")])
    out, _ = capsys.readouterr()
    assert rc == 0 and "decode: 3 of 3 files" in out
    for name in ("pic0.png", "pic1.png", "pic2.png"):
        with Image.open(d / "dec" / name) as im:
            assert im.size == (96, 72)


def test_single_file_form_is_unchanged(batch, capsys):
    d, inputs = batch
    assert cli.main(["encode", inputs[0], str(d / "one.jaic"), "--raw", "--bpp", "1.0"]) == 0
    assert sniff((d / "one.jaic").read_bytes()) == "codestream"
    assert cli.main(["decode", str(d / "one.jaic"), str(d / "one.png"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (info["width"], info["height"]) == (96, 72)


def test_psnr_target_from_the_command_line(batch, capsys):
    from codec.pipeline import top_bdl
    d, inputs = batch
    assert cli.main(["encode", inputs[1], str(d / "q.jai"), "--psnr", "24", "--refine", "0"]) == 0
    out = capsys.readouterr().out
    reached = float(out.rsplit(",", 1)[1].split()[0])
    assert out.endswith("dB PSNR-RGB\n") and reached >= 24
    assert cli.main(["encode", *inputs[:2], "--out-dir", str(d / "q"), "--psnr", "80", "--refine", "0",
                     "--json"]) == 0
    out, err = capsys.readouterr()
    results = json.loads(out)
    assert all(r["bdl"][0] == top_bdl(r["model_id"]) and r["psnr_rgb"] < 80 and "out of reach" in r["warning"]
               for r in results)
    assert err.count("target 80.0 dB out of reach") == 2


@pytest.mark.parametrize("argv, message", [
    (["encode", "a.png", "b.png", "c.png"], "--out-dir"),
    (["decode", "a.jai"], "--out-dir"),
    (["encode", "x/a.png", "y/a.png", "--out-dir", "OUT"], "both be written"),
    (["encode", "a.png", "a.jai", "--regions", "2by2"], "--regions"),
])
def test_usage_errors_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def _spec(argv, capsys):
    parser = cli.build_parser(["spec"])
    args = parser.parse_args(["spec", *argv])
    rc = args.run(args)
    return rc, capsys.readouterr()


def test_spec_lists_and_prints_tables(capsys):
    from jpegai_fmt.commands.spec import TABLES
    rc, out = _spec([], capsys)
    assert rc == 0 and all(name in out.out for name in TABLES)
    for name in TABLES:
        rc, out = _spec([name.lower(), "--json"], capsys)
        table = json.loads(out.out)
        assert rc == 0 and table["rows"] and all(len(r) == len(table["headers"]) for r in table["rows"])
    rc, out = _spec(["PIH"], capsys)
    assert "img_width_minus64" in out.out and "b(65535)" in out.out and "\x1b[" not in out.out
    rc, out = _spec(["markers", "--json"], capsys)
    assert ["SOC", "0xFF80"] == json.loads(out.out)["rows"][0][:2]
    rc, out = _spec(["container", "--json"], capsys)
    rows = dict(json.loads(out.out)["rows"])
    assert rows["compatible_brands"] == ["jaii", "mif1"]                      # a JSON value, not a string
    assert rows["colr_defaults[colour_transform_idx 1]"]["transfer_characteristics"] == 13
    rc, out = _spec(["rules", "--json"], capsys)
    rules = {r[0]: r for r in json.loads(out.out)["rows"]}
    assert "lenient: W" in rules["STR-002"][-1] and "reference: W" in rules["PIH-005"][-1]
    rc, out = _spec(["udi-record"], capsys)
    assert "varint x threads" in out.out
    rc, out = _spec(["nonsense"], capsys)
    assert rc == 2 and "PIH" in out.err


def test_spec_looks_up_one_rule_element_or_marker(capsys):
    """What a finding's rule id means, without scrolling the whole rule table."""
    rc, out = _spec(["thr-004"], capsys)
    assert rc == 0 and "thread range" in out.out and "THR-003" not in out.out
    rc, out = _spec(["model_id", "--json"], capsys)
    hits = json.loads(out.out)
    assert [h["table"] for h in hits] == ["PIH"] and hits[0]["rows"][0][:2] == ["model_id", "b(15)"]
    rc, out = _spec(["BOX-001", "--json"], capsys)
    assert rc == 0 and len(json.loads(out.out)[0]["rows"]) > 3                 # every case of the rule
    rc, out = _spec(["SOZ"], capsys)
    assert rc == 0 and "0xFF88" in out.out


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "jpegai_fmt", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "encode" in out.stdout and "validate" in out.stdout


@pytest.mark.parametrize("command", sorted({*cli.COMMANDS, "spec"}))
def test_every_command_has_help_with_examples_and_json(command, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.build_parser([command]).parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    assert "examples:" in text and f"jpegai-fmt {command} " in text.split("examples:")[1]
    assert "--json" in text


@pytest.mark.parametrize("command", ["info", "dump", "validate", "wrap", "unwrap", "extract", "decode"])
def test_unreadable_input_exits_2_with_one_line(command, tmp_path, capsys):
    bad = tmp_path / "bad.jai"
    bad.write_bytes(b"\x00\x01garbage that is no JPEG AI at all")
    argv = [command, str(bad)] + ([str(tmp_path / "out.bin")] if command in ("wrap", "unwrap", "extract", "decode")
                                  else [])
    if command == "decode":
        pytest.importorskip("torch")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"jpegai-fmt {command}:")
    if command == "validate":
        assert str(bad) in err[0]


def test_invalid_input_exits_1_and_piped_output_is_plain(tmp_path):
    from jpegai_fmt.pih import default_fields
    from jpegai_fmt.codestream import build_codestream
    data = bytearray(build_codestream(default_fields(64, 64), soz=b"\x00" * 8, sorp=[b"\x00" * 8],
                                      sors=[b"\x00" * 8]))
    data += b"\x00\x00"                                     # bytes after EOC: read, but invalid
    path = tmp_path / "trail.jaic"
    path.write_bytes(bytes(data))
    out = subprocess.run([sys.executable, "-m", "jpegai_fmt", "validate", str(path)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 1 and "\x1b[" not in out.stdout and out.stdout.strip()
