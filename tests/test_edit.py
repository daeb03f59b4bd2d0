"""`jpegai-fmt edit` and `jpegai_fmt.edit.edit`: field edits written back, on real streams."""
import json
import os

import pytest

from jpegai_fmt import BuildError, parse, validate
from jpegai_fmt.cli import main
from jpegai_fmt.compare import diff
from jpegai_fmt.container import wrap
from jpegai_fmt.container.reader import metadata, read_model
from jpegai_fmt.edit import edit
from jpegai_fmt.paths import codestream_root

VALID = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "valid")


def sample(name: str) -> str:
    return os.path.join(VALID, name)


def test_a_set_field_is_the_only_difference_and_the_validator_judges_it(tmp_path, capsys):
    out = tmp_path / "m5.jaic"
    assert main(["edit", sample("enc-threads-2.jaic"), str(out), "--set", "PIH/model_id=5"]) == 1
    text = capsys.readouterr().out
    assert "PIH/model_id  2 -> 5" in text and "error PRF-004" in text and "invalid (1 errors" in text
    found = diff(parse(sample("enc-threads-2.jaic")), parse(str(out), lenient=True))
    assert [(d.path, d.change, d.a.value, d.b.value) for d in found] == [("PIH/model_id", "value", 2, 5)]
    assert [(f.rule, f.path) for f in validate(str(out)) if f.severity == "E"] == [("PRF-004", "PIH/model_id")]


def test_removing_segments_of_a_jai_file_keeps_its_metadata(tmp_path):
    raw = open(sample("enc-model-0.jaic"), "rb").read()
    exif = b"II*\x00\x08\x00\x00\x00\x00\x00"
    src = tmp_path / "with-exif.jai"
    src.write_bytes(wrap(raw, exif=exif))
    out = tmp_path / "bare.jai"
    assert main(["edit", str(src), str(out), "--remove", "TON", "--remove", "mdat/item[1]/UDI", "--json"]) == 0
    new = out.read_bytes()
    assert metadata(read_model(new))["exif"].endswith(exif)
    found = diff(codestream_root(parse(str(src))), codestream_root(parse(str(out))))
    assert [(d.path, d.change) for d in found] == [("TON", "only_a"), ("UDI", "only_a")]
    assert src.read_bytes() == wrap(raw, exif=exif)            # the input is never touched


def test_json_report_names_edits_and_what_the_writer_recomputed(tmp_path, capsys):
    out = tmp_path / "e.jaic"
    assert main(["edit", sample("enc-threads-2.jaic"), str(out), "--json", "--set", "PIH/substream_size=3",
                 "--set", "SOZ/alignment#2=1", "--set", "PIH/model_id=0x2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {c["path"]: (c["old"], c["new"]) for c in report["changed"]} == {
        "PIH/substream_size": (17, 3), "SOZ/alignment#2": (0, 1), "PIH/model_id": (2, 2)}
    assert {r["path"] for r in report["recomputed"]} == {"PIH/substream_size", "SOZ/alignment#2"}
    assert not [f for f in report["findings"] if f["severity"] != "I"]
    assert out.read_bytes() == open(sample("enc-threads-2.jaic"), "rb").read()   # every edit undone or a no-op


@pytest.mark.parametrize("args, message", [
    (["--set", "PIH/modl_id=1"], "no such element in this stream; did you mean PIH/model_id"),
    (["--set", "ftyp/major_brand=abcd"], "a box element: the container writer sets those"),
    (["--set", "PIH/model_id=abc"], "cannot read 'abc' as int"),
    (["--set", "PIH/model_id=300"], "value 300 outside 0..15"),
    (["--set", "PIH=1"], "PIH is a segment, not a field with a value"),
    (["--set", "PIH/model_id"], "write PATH=VALUE"),
    ([], "nothing to do"),
])
def test_bad_edits_write_nothing_and_say_why(tmp_path, capsys, args, message):
    out = tmp_path / "x.jai"
    assert main(["edit", sample("enc-model-0.jai"), str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jpegai-fmt edit: ") and message in err and err.count("\n") == 1
    assert not out.exists() and os.listdir(tmp_path) == []


def test_python_edit_takes_typed_values_and_checks_their_type():
    data = open(sample("enc-model-0.jaic"), "rb").read()
    out, report = edit(data, set_values={"PIH/model_id": 3})
    assert parse(out).get("PIH/model_id").value == 3 and report.changed[0]["old"] == 0
    assert len(out) == len(data) and edit(out, set_values={"PIH/model_id": 0})[0] == data
    with pytest.raises(BuildError, match="holds int values, not list"):
        edit(data, set_values={"PIH/model_id": [1]})
