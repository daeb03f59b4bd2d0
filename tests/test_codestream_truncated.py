"""A codestream cut short: in tolerant mode the segment the data ends inside of is an 'error'
node carrying SEG-003, and every segment before it keeps its whole subtree; strict mode raises."""
from pathlib import Path

import pytest

from jpegai_fmt import parse
from jpegai_fmt.codestream import parse_codestream
from jpegai_fmt.errors import TruncatedError

# Made by our encoder: 2 independent regions, 8 threads, UDI channel index.
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "valid" / "enc-regions-independent-t8.jaic"


def cut_points(full):
    """(segment index, cut) pairs: right after a marker (size code lost), one byte into the
    payload, in the middle of it, and one byte short of its end, for every segment with a payload."""
    points = []
    for i, seg in enumerate(full.node.children):
        if seg.name in ("SOC", "EOC"):
            continue
        start, end = seg.byte_offset, seg.byte_end
        payload = seg.child("substream_size").byte_end
        for cut in sorted({start + 2, payload + 1, (payload + end) // 2, end - 1} - {end}):
            points.append((i, cut))
    return points


DATA = SAMPLE.read_bytes()
FULL = parse_codestream(DATA)


@pytest.mark.parametrize("index, cut", cut_points(FULL))
def test_cut_segment_is_an_error_node_and_earlier_segments_stay_whole(index, cut):
    with pytest.raises(TruncatedError) as e:
        parse_codestream(DATA[:cut])
    assert e.value.rule == "SEG-003"

    tree = parse_codestream(DATA[:cut], tolerant=True).node
    whole = FULL.node.children[index]
    *kept, broken = tree.children
    marker = whole.name.split("[")[0]  # 'SORP[0]' is plain 'SORP' when the cut drops 'SORP[1]'
    assert broken.kind == "error" and broken.name in (whole.name, marker)
    assert (broken.bit_offset, broken.byte_end) == (whole.bit_offset, cut)  # the bytes there are
    assert [f.rule for f in broken.findings] == ["SEG-003"]
    assert broken.value == broken.findings[0].message
    assert broken.findings[0].path.split("/")[0] == marker
    assert broken.child("marker").value == whole.child("marker").value
    assert [c.to_dict() for c in kept] == [c.to_dict() for c in FULL.node.children[:index]]


def test_cut_inside_the_picture_header_keeps_soc_and_reports_only_the_cut():
    tree = parse_codestream(DATA[:10], tolerant=True).node
    assert [(c.name, c.kind) for c in tree.children] == [("SOC", "segment"), ("PIH", "error")]
    assert [f.rule for f in tree.all_findings()] == ["SEG-003"]  # no 'first segment is not PIH'


def test_cut_payload_is_browsable_and_lenient_parse_reports_it():
    soz = FULL.node.get("SOZ")
    cut = soz.byte_end - 5
    root = parse(DATA[:cut], lenient=True)
    broken = root.get("SOZ")
    assert broken.kind == "error"
    assert broken.child("substream_size").value == soz.child("substream_size").value  # as announced
    payload = broken.child("payload")
    assert payload.byte_offset == soz.child("substream_size").byte_end and payload.byte_end == cut
    assert root.child("trailing_bytes") is None
    assert "SEG-003" in [f.rule for f in root.all_findings()]
