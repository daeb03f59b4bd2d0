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
