"""`jpegai-fmt extract`: arguments, size report (text and JSON), atomic output, clear failures."""
from __future__ import annotations

import argparse
import json

from jpegai_fmt.codestream import parse_codestream
from jpegai_fmt.commands import extract as command
from jpegai_fmt.container import unwrap, wrap
from test_extract_core import make_stream


def _run(argv) -> int:
    parser = argparse.ArgumentParser(prog="jpegai-fmt")
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["extract", *map(str, argv)])
    return args.run(args)


def test_text_and_json_reports(tmp_path, capsys):
    data, _ = make_stream(seed=20)
    src = tmp_path / "in.jaic"
    src.write_bytes(data)
    assert _run([src, tmp_path / "out.jaic", "--luma-channels", 8, "--drop-ton"]) == 0
    text = capsys.readouterr().out
    assert "SORP" in text and "luma 24 -> 8 (index)" in text and "bpp" in text
    out = (tmp_path / "out.jaic").read_bytes()
    assert parse_codestream(out).pih.num_chs == (8, 12)
    assert _run([src, tmp_path / "out2.jaic", "--luma-channels", 8, "--drop-ton", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output_bytes"] == len(out) == len((tmp_path / "out2.jaic").read_bytes())
    assert report["num_chs"]["luma"] == [24, 8]
    assert {r["segment"] for r in report["segments"]} >= {"PIH", "TON", "SORP", "SORS", "SOZ", "UDI"}


def test_container_raw_output(tmp_path, capsys):
    data, _ = make_stream(seed=21)
    src = tmp_path / "in.jai"
    src.write_bytes(wrap(data))
    assert _run([src, tmp_path / "a.jai", "--luma-channels", 8, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["container"]
    assert _run([src, tmp_path / "b.jaic", "--luma-channels", 8, "--raw", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    raw = (tmp_path / "b.jaic").read_bytes()
    assert not second["container"] and second["output_bytes"] == len(raw)
    assert raw == unwrap((tmp_path / "a.jai").read_bytes())


def test_failure_leaves_no_output(tmp_path, capsys):
    data, _ = make_stream(threads=(2, 1), seed=22, index=False)
    src = tmp_path / "in.jaic"
    src.write_bytes(data)
    dst = tmp_path / "out.jaic"
    assert _run([src, dst, "--drop-regions", "0"]) == 2
    assert "independent regions" in capsys.readouterr().err
    assert not dst.exists() and [p.name for p in tmp_path.iterdir()] == ["in.jaic"]


SAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "samples"


def test_malformed_metadata_is_left_behind_not_fatal(tmp_path, capsys):
    from jpegai_fmt import validate
    for sample, key in (("rules/box-015-exif.jai", "exif"), ("rules/box-016-xmp.jai", "xmp")):
        assert _run([SAMPLES / sample, tmp_path / "raw.jaic", "--raw", "--drop-ton"]) == 0
        assert "taken out of its .jai file" in capsys.readouterr().out
        assert _run([SAMPLES / sample, tmp_path / "cut.jai", "--drop-ton", "--json"]) == 0
        notes = " ".join(json.loads(capsys.readouterr().out)["notes"])
        assert f"{key} is malformed" in notes
        assert not [f for f in validate(str(tmp_path / "cut.jai")) if f.severity != "I"]


def test_drop_udi_says_the_foreign_udi_was_dropped(tmp_path, capsys):
    assert _run([SAMPLES / "valid/udi-opaque.jaic", tmp_path / "o.jaic", "--drop-udi", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "UDI is not a jpegai-fmt record; dropped" in report["notes"]
    assert [r["out"] for r in report["segments"] if r["segment"] == "UDI"] == [0]


def test_a_damaged_record_refuses_the_cut_with_the_reason(tmp_path, capsys):
    __import__("pytest").importorskip("torch")
    assert _run([SAMPLES / "rules/udi-002-record.jaic", tmp_path / "o.jaic", "--drop-udi",
                 "--luma-channels", 64]) == 2
    err = capsys.readouterr().err
    assert "UDI record is damaged" in err and "the channel cut is refused" in err and "--drop-udi" in err
