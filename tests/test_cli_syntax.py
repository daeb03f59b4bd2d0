"""`jpegai-fmt info / dump / validate`: output, exit codes, one-line errors, no torch."""
import json
import os
import subprocess
import sys

import pytest

from jpegai_fmt.cli import main
from jpegai_fmt.container import wrap
from jpegai_fmt.layout import build_dependent_residual
from jpegai_fmt.pih import default_fields
from jpegai_fmt.codestream import build_codestream


@pytest.fixture
def files(tmp_path):
    f = default_fields(1024, 512, region_partitioning_flag=1, num_ver_splits_minus1=1, num_hor_splits_minus1=1,
                       region_residual_in_its_own_substream_flag=0, hyper_decoder_overlap_in_latent_samples=0,
                       mcm_overlap_in_latent_samples=0)
    res = build_dependent_residual([b"\x01\x02"] * 4)
    data = build_codestream(f, soz=b"\x05" * 6, sorp=[res], sors=[res])
    paths = {"good": tmp_path / "a.jaic", "jai": tmp_path / "a.jai", "cut": tmp_path / "cut.jaic",
             "junk": tmp_path / "junk.jaic", "warn": tmp_path / "w.jaic"}
    paths["good"].write_bytes(data)
    paths["jai"].write_bytes(wrap(data))
    paths["cut"].write_bytes(data[:-9])
    paths["junk"].write_bytes(b"GIF89a....")
    paths["warn"].write_bytes(data + b"\x00")  # bytes after EOC: error, tolerated in lenient mode
    return {k: str(v) for k, v in paths.items()}


def test_validate_exit_codes_and_json(files, capsys):
    assert main(["validate", files["good"], files["jai"]]) == 0
    assert main(["validate", files["good"], files["cut"]]) == 1
    assert main(["validate", files["good"], files["junk"], files["cut"]]) == 2
    capsys.readouterr()
    assert main(["validate", "--json", files["warn"]]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result[0]["status"] == "invalid" and "STR-002" in [f["rule"] for f in result[0]["findings"]]
    assert main(["validate", "--lenient", files["warn"]]) == 0
    out = capsys.readouterr().out
    assert "warning STR-002 at byte" in out and "valid (0 errors, 1 warnings" in out


def test_info_summary(files, capsys):
    assert main(["info", files["good"]]) == 0
    out = capsys.readouterr().out
    for text in ("1024 x 512", "4:2:0", "High", "level", "52", "model_id", "BDL", "2 rows x 2 columns",
                 "SORP", "4 regions"):
        assert text in out
    assert main(["info", files["jai"]]) == 0
    out = capsys.readouterr().out
    assert "Boxes" in out and "mdat" in out and "1024 x 512" in out
    assert main(["info", "--json", files["good"]]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["Picture"]["coded size"] == "1024 x 512"
    import jpegai_fmt.picture
    assert doc["header"] == jpegai_fmt.picture.open(files["good"]).to_dict()      # typed values for scripts
    assert doc["header"]["coded_width"] == 1024 and doc["header"]["regions"] == [2, 2]
    assert main(["info", "--json", files["jai"]]) == 0
    header = json.loads(capsys.readouterr().out)["header"]
    assert header["kind"] == "container" and header["file_size"] > header["bpp"] * 1024 * 512 / 8


def test_dump_tree_and_json(files, capsys):
    assert main(["dump", files["good"]]) == 0
    out = capsys.readouterr().out
    assert "decoder_profile_id = 2" in out and "thread[0]" in out
    assert main(["dump", "--json", files["good"]]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["path"] == files["good"]
    field = doc["codestream"]["children"]["PIH"]["children"]["component[1]"]["children"]["num_chs"]
    assert field["value"] == 96 and field["bit_length"] == 8
    jai = os.path.join(os.path.dirname(files["good"]), "good.jai")
    with open(files["good"], "rb") as fh, open(jai, "wb") as out:
        out.write(wrap(fh.read()))
    assert main(["dump", "--json", jai]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["path"] == jai and "mdat" in doc["file"]["children"]        # the path and the file tree, both


def test_errors_are_one_line(files, capsys):
    for args in (["dump", files["cut"]], ["info", files["junk"]], ["dump", "/nonexistent.jaic"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and err.startswith(f"jpegai-fmt {args[0]}: ")


def test_syntax_commands_do_not_import_torch(files):
    code = ("import sys, runpy; sys.argv = ['jpegai-fmt', 'validate', %r]\n"
            "try:\n    runpy.run_module('jpegai_fmt', run_name='__main__')\n"
            "except SystemExit as e:\n    print('exit', e.code, 'torch' in sys.modules)") % files["good"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().endswith("exit 0 False")


SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")


def test_warnings_as_errors_and_ignored_rules_make_a_ci_gate(capsys):
    warned = os.path.join(SAMPLES, "rules", "rdi-002-cicp.jaic")
    assert main(["validate", warned]) == 0
    assert main(["validate", "-W", warned]) == 1
    assert main(["validate", "-W", "--ignore", "rdi-002", warned]) == 0
    out = capsys.readouterr().out
    assert "invalid (0 errors, 1 warnings" in out and "valid (0 errors, 0 warnings, 1 info, 1 ignored)" in out
    assert main(["validate", "--json", "--ignore", "UDI-*,RDI-*", warned]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["findings"] == [] and result["ignored"] == 2
    broken = os.path.join(SAMPLES, "rules", "prf-002-level.jaic")
    assert main(["validate", "--ignore", "RDI-002", broken]) == 1      # errors of other rules still count


@pytest.mark.parametrize("argv, message", [
    (["--ignore", "UDI-01"], "no such rule id (did you mean UDI-001"),
    (["--ignore", "XYZ-*"], "no such rule id"),
    (["--suite", "samples", "-W"], "--ignore and -W judge files"),
])
def test_ignore_and_warnings_options_are_checked(capsys, argv, message):
    files = [] if "--suite" in argv else [os.path.join(SAMPLES, "valid", "enc-model-0.jaic")]
    assert main(["validate", *argv, *files]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_info_on_several_files_gives_one_row_each(files, capsys):
    assert main(["info", files["good"], files["jai"]]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "info: 2 of 2 files" and "model_id" in out[1] and "level" in out[1]
    rows = [line.split() for line in out[2:]]
    assert [r[0] for r in rows] == [files["good"], files["jai"]] and [r[1] for r in rows] == ["codestream", "container"]
    assert all(r[2] == "1024x512" and r[-2:] == ["0", "0"] for r in rows)
    assert main(["info", "--json", files["good"], files["junk"], files["jai"]]) == 2
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert [r.get("error", "") != "" for r in result] == [False, True, False]
    assert result[2]["header"]["kind"] == "container" and err.startswith(f"jpegai-fmt info: {files['junk']}: ")
    assert main(["info", files["good"], files["cut"]]) == 2              # strict: the truncated one is unreadable
