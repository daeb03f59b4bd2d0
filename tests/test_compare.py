"""`jpegai-fmt diff` and `jpegai_fmt.compare.diff`: element-by-element differences between real streams."""
import json
import os
import re

import pytest

from jpegai_fmt import parse
from jpegai_fmt.cli import main
from jpegai_fmt.compare import diff
from jpegai_fmt.paths import codestream_root
from jpegai_fmt.tree import Node

VALID = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "valid")


def sample(name: str) -> str:
    return os.path.join(VALID, name)


def changes(found) -> dict[str, str]:
    return {d.path: d.change for d in found}


def test_a_file_and_its_codestream_differ_in_nothing_though_every_offset_moved():
    jai, raw = parse(sample("enc-model-0.jai")), parse(sample("enc-model-0.jaic"))
    item = codestream_root(jai)
    assert item is not jai and item.bit_offset > 0 and codestream_root(raw) is raw
    assert diff(item, raw) == []


def test_thread_counts_show_as_the_fields_and_payloads_the_syntax_changes():
    found = changes(diff(parse(sample("enc-threads-1.jaic")), parse(sample("enc-threads-2.jaic"))))
    assert found["PIH/multi_threading_z"] == "value" and found["PIH/log2_num_threads_z_minus1"] == "only_b"
    assert found["SORP/region[0]/thread[0]"] == "payload" and found["SORP/region[0]/thread[1]"] == "only_b"
    assert "PIH/model_id" not in found and "SOC" not in found and "only_a" not in found.values()


def test_one_flipped_payload_byte_is_found_where_it_is(tmp_path):
    data = bytearray(open(sample("enc-threads-2.jaic"), "rb").read())
    thread = parse(bytes(data)).get("SORS/region[0]/thread[1]")
    at = thread.byte_offset + 7
    data[at] ^= 0x10
    bad = tmp_path / "flipped.jaic"
    bad.write_bytes(bytes(data))
    found = diff(parse(sample("enc-threads-2.jaic")), parse(str(bad)))
    assert [(d.path, d.change) for d in found] == [("SORS/region[0]/thread[1]", "payload")]
    assert found[0].detail == f"first difference at byte 7 of the payload (file byte {at:,} / {at:,})"


def test_an_extracted_prefix_differs_in_channel_counts_and_the_index(tmp_path):
    cut = tmp_path / "cut.jai"
    assert main(["extract", sample("enc-model-0.jai"), str(cut), "--luma-channels", "32",
                 "--chroma-channels", "16"]) == 0
    whole = diff(parse(sample("enc-model-0.jai")), parse(str(cut)))
    found = changes(whole)
    assert found["mdat/item[1]/PIH/component[0]/num_chs"] == "value" and found["mdat/size"] == "value"
    assert found["meta/iloc/items[0]/extents[0]/extent_length"] == "value"
    values = {d.path: (d.a.value, d.b.value) for d in whole}
    assert values["mdat/item[1]/PIH/component[0]/num_chs"] == (160, 32)
    inner = changes(diff(codestream_root(parse(sample("enc-model-0.jai"))), codestream_root(parse(str(cut)))))
    assert set(inner) == {p.removeprefix("mdat/item[1]/") for p in found if p.startswith("mdat/item[1]/")}


def test_unaligned_payload_bits_are_compared_as_bits():
    # two childless payloads of 12 bits starting at bit 3: equal bits, different bytes around them
    def tree(data: bytes) -> Node:
        root = Node("file", kind="file", source=data, bit_length=8 * len(data))
        root.add(Node("p", kind="payload", bit_offset=3, bit_length=12))
        return root
    assert diff(tree(bytes([0b11101010, 0b10101111])), tree(bytes([0b00001010, 0b10101110]))) == []
    found = diff(tree(bytes([0b00001010, 0b10101000])), tree(bytes([0b00001010, 0b10111000])))
    assert [(d.path, d.change, d.detail) for d in found] == [
        ("p", "payload", "first difference at byte 1 of the payload")]


def test_cli_exit_codes_text_and_json(tmp_path, capsys):
    assert main(["diff", sample("enc-model-0.jai"), sample("enc-model-0.jaic")]) == 0
    assert "no differences (codestreams" in capsys.readouterr().out
    assert main(["diff", sample("enc-threads-1.jaic"), sample("enc-threads-2.jaic")]) == 1
    out = capsys.readouterr().out
    assert "+  PIH/log2_num_threads_z_minus1" in out and "4 payloads, 0 only in A" in out
    assert main(["diff", "--json", "--codestream", sample("enc-model-0.jai"), sample("enc-display-crop.jai")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["compared"] == "codestreams" and not report["identical"]
    model = next(d for d in report["differences"] if d["path"] == "PIH/model_id")
    assert (model["change"], model["a"]["value"], model["b"]["value"]) == ("value", 0, 1)
    assert report["counts"]["value"] == sum(d["change"] == "value" for d in report["differences"])
    junk = tmp_path / "junk.jaic"
    junk.write_bytes(b"GIF89a....")
    assert main(["diff", sample("enc-model-0.jai"), str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jpegai-fmt diff: not a JPEG AI file") and "Traceback" not in err


def test_lenient_compares_what_a_damaged_stream_holds(tmp_path, capsys):
    data = open(sample("enc-model-0.jaic"), "rb").read()
    cut = tmp_path / "cut.jaic"
    cut.write_bytes(data[:-9])
    assert main(["diff", sample("enc-model-0.jaic"), str(cut)]) == 2
    assert main(["diff", "--lenient", sample("enc-model-0.jaic"), str(cut)]) == 1
    assert "only in A" in capsys.readouterr().out


def test_diff_never_imports_torch():
    import subprocess
    import sys
    code = ("import sys, runpy; sys.argv = ['jpegai-fmt', 'diff', %r, %r]\n"
            "try:\n    runpy.run_module('jpegai_fmt', run_name='__main__')\n"
            "except SystemExit as e:\n    print('exit', e.code, 'torch' in sys.modules)"
            ) % (sample("enc-threads-1.jaic"), sample("enc-threads-2.jaic"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().endswith("exit 1 False")


def test_dump_prints_one_element_and_names_close_paths_for_a_typo(capsys):
    assert main(["dump", sample("enc-model-0.jai"), "PIH/component[0]"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["2368", "13", "component[0]"] and len(lines) == 8 and "num_chs = 160" in lines[3]
    assert main(["dump", sample("enc-model-0.jai"), "mdat/item[1]/PIH/model_id", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["element"] == "mdat/item[1]/PIH/model_id" and out["model_id"]["value"] == 0
    assert main(["dump", sample("enc-model-0.jai"), "meta/pitm/item_ID"]) == 0
    assert "item_ID = 1" in capsys.readouterr().out
    assert main(["dump", sample("enc-model-0.jai"), "PIH/compnent"]) == 2
    assert "did you mean PIH/component[1], PIH/component[0]" in capsys.readouterr().err


def test_elements_one_side_lacks_are_listed_where_they_stand():
    def tree(names: str) -> Node:
        root = Node("r", kind="file", source=b"")
        for name in names:
            root.add(Node(name, value=1))
        return root
    found = [(d.path, d.change) for d in diff(tree("abcde"), tree("axcyz"))]
    assert found == [("x", "only_b"), ("b", "only_a"), ("y", "only_b"), ("z", "only_b"), ("d", "only_a"),
                     ("e", "only_a")]
    assert diff(tree("ab"), tree("ba")) == [] and [d.path for d in diff(tree("aa"), tree("a"))] == ["a#2"]


EXTRACT_MAY_CHANGE = {"PIH/component[]/num_chs:value", "UDI/substream_size:value", "UDI/user_data:payload",
                      "SORP/substream_size:value", "SORS/substream_size:value",
                      "SORP/region[]/thread[]:payload", "SORS/region[]/thread[]:payload",
                      "SORP/region[]/thread_size_deltas:value", "SORS/region[]/thread_size_deltas:value",
                      "SORP/region_sizes:value", "SORS/region_sizes:value"}


@pytest.mark.parametrize("name", ["enc-threads-16", "enc-regions-dependent", "enc-regions-independent-t8",
                                  "enc-post-filter"])
def test_a_channel_cut_changes_only_what_extraction_may_change(name):
    from jpegai_fmt.extract import extract
    data = open(sample(f"{name}.jaic"), "rb").read()
    cut, _ = extract(data, luma_channels=24, chroma_channels=8)
    found = diff(parse(data), parse(cut))
    # indices dropped ([3] -> []); independent regions' segments (SORP[k]) count as their marker
    changed = {re.sub(r"^(SOR[PS])\[\]", r"\1", re.sub(r"\[\d+\]", "[]", d.path)) + ":" + d.change for d in found}
    assert changed <= EXTRACT_MAY_CHANGE and "PIH/component[]/num_chs:value" in changed
    threads = [d for d in found if d.change == "payload" and "/thread[" in d.path]
    assert threads
    for d in threads:                                # ANS is LIFO: a cut keeps the end of each thread's range
        assert payload(d.a).endswith(payload(d.b)) and len(payload(d.b)) < len(payload(d.a))


def payload(node: Node) -> bytes:
    root = node
    while root.parent is not None:
        root = root.parent
    return root.source[node.byte_offset:node.byte_end]
