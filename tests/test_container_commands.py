"""`wrap` and `unwrap` subcommands: byte-identical round trip, clean failures, atomic output."""
import argparse
import json

from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.commands import unwrap as unwrap_cmd
from jpegai_fmt.commands import wrap as wrap_cmd
from jpegai_fmt.container import parse_file
from jpegai_fmt.pih import default_fields

CS = build_codestream(default_fields(256, 128), soz=b"z" * 9, sorp=[b"p" * 12], sors=[b"s" * 7])


def run(*argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    wrap_cmd.add_parser(sub)
    unwrap_cmd.add_parser(sub)
    args = parser.parse_args(list(map(str, argv)))
    return {"wrap": wrap_cmd, "unwrap": unwrap_cmd}[args.command].run(args)


def test_wrap_then_unwrap(tmp_path):
    src, jai, out = tmp_path / "a.jaic", tmp_path / "a.jai", tmp_path / "b.jaic"
    exif, xmp = tmp_path / "e.bin", tmp_path / "x.xml"
    src.write_bytes(CS)
    exif.write_bytes(b"Exif\x00\x00II*\x00\x08\x00\x00\x00")
    xmp.write_bytes(b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    assert run("wrap", src, jai, "--exif", exif, "--xmp", xmp) == 0
    tree = parse_file(jai.read_bytes())
    assert tree.get("meta/iinf/entry_count").value == 3
    assert run("unwrap", jai, out) == 0
    assert out.read_bytes() == CS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jai", "a.jaic", "b.jaic", "e.bin", "x.xml"]


def test_failures_leave_outputs_untouched(tmp_path, capsys):
    src, jai = tmp_path / "a.jaic", tmp_path / "a.jai"
    src.write_bytes(CS[:-2])  # no EOC
    jai.write_bytes(b"old")
    assert run("wrap", src, jai) == 2
    assert jai.read_bytes() == b"old"
    assert "EOC" in capsys.readouterr().err
    assert run("unwrap", src, tmp_path / "x.jaic") == 2  # a codestream is not a container
    assert "already a raw codestream" in capsys.readouterr().err
    assert run("wrap", jai, tmp_path / "x.jai") == 2    # nor a container a codestream ("old" is neither)
    src.write_bytes(CS)
    assert run("wrap", src, jai) == 0
    assert run("wrap", jai, tmp_path / "x.jai") == 2
    assert "already a .jai" in capsys.readouterr().err and not (tmp_path / "x.jai").exists()
    src.write_bytes(CS[:-2])
    assert run("unwrap", tmp_path / "missing.jai", tmp_path / "x.jaic") == 2
    assert not (tmp_path / "x.jaic").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jai", "a.jaic"]


def test_json_reports_what_was_written(tmp_path, capsys):
    src, jai, out, xmp = tmp_path / "a.jaic", tmp_path / "a.jai", tmp_path / "b.jaic", tmp_path / "x.xml"
    src.write_bytes(CS)
    xmp.write_bytes(b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    assert run("wrap", src, jai, "--xmp", xmp, "--json") == 0
    wrapped = json.loads(capsys.readouterr().out)
    assert wrapped["bytes"] == jai.stat().st_size and wrapped["codestream_bytes"] == len(CS)
    assert (wrapped["input"], wrapped["output"]) == (str(src), str(jai))
    assert [i["id"] for i in wrapped["items"]] == [1, 2] and wrapped["items"][1]["content_type"]
    assert [b["type"] for b in wrapped["boxes"]] == ["ftyp", "meta", "mdat"]
    assert sum(b["size"] for b in wrapped["boxes"]) == wrapped["bytes"]
    assert run("unwrap", jai, out, "--json") == 0
    unwrapped = json.loads(capsys.readouterr().out)
    assert unwrapped == {"input": str(jai), "output": str(out), "bytes": wrapped["bytes"],
                         "codestream_bytes": len(CS), "item": {"id": 1, "type": wrapped["items"][0]["type"]},
                         "items_in_file": 2}
    assert run("wrap", src, jai) == 0 and capsys.readouterr().out == ""   # no --json: silent as before


VALID = __import__("pathlib").Path(__file__).resolve().parent.parent / "samples" / "valid"


def test_info_lenient_summarises_a_jai_whose_codestream_cannot_be_located(tmp_path, capsys):
    from jpegai_fmt.cli import main
    short = tmp_path / "short.jai"
    short.write_bytes((VALID / "hdr-444.jai").read_bytes()[:-1])
    assert main(["info", str(short)]) == 2                       # strict: the one-line reason
    assert main(["info", "--lenient", "--json", str(short)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert "Boxes" in json.dumps(doc) and {"BOX-001", "BOX-006"} <= {f["rule"] for f in doc["findings"]}


def test_wrap_reads_dis_by_itself_and_refuses_what_the_validator_flags(tmp_path, capsys):
    from jpegai_fmt import validate
    from jpegai_fmt.cli import main
    out = tmp_path / "d.jai"
    assert main(["wrap", str(VALID / "hdr-dis.jaic"), str(out)]) == 0
    assert not [f for f in validate(str(out)) if f.severity != "I"]
    xmp = tmp_path / "d.xmp"
    xmp.write_text('<!DOCTYPE x><x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    assert main(["wrap", str(VALID / "hdr-dis.jaic"), str(tmp_path / "x.jai"), "--xmp", str(xmp)]) == 2
    assert "BOX-016" in capsys.readouterr().err and not (tmp_path / "x.jai").exists()
    exif = tmp_path / "e.bin"
    exif.write_bytes(b"II*\x00" + bytes(16))
    assert main(["wrap", str(VALID / "hdr-dis.jaic"), str(exif), "--exif", str(exif)]) == 2
    assert "is the input" in capsys.readouterr().err and exif.read_bytes()[:4] == b"II*\x00"


def test_parse_file_tree_builds_as_documented():
    from jpegai_fmt import build
    from jpegai_fmt.container import unwrap
    data = (VALID / "hdr-dis.jai").read_bytes()
    assert build(parse_file(data).get("mdat/item[1]")) == unwrap(data)
