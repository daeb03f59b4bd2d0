"""Every codestream rule id (codestream.md §15) triggered on a builder-made stream.

Each case builds a default stream with one thing changed (header fields through the
builders; where a builder refuses a value, the built bits are patched) and checks that
exactly that rule fires (information findings of other rules are ignored).
"""
import pytest

from jpegai_fmt import validate
from jpegai_fmt.layout import build_dependent_residual, build_independent_residual, build_memory
from jpegai_fmt.markers import Marker
from jpegai_fmt.pih import build_pih, default_component, default_fields, parse_pih
from jpegai_fmt.rdi import build_rdi
from jpegai_fmt.rules import ENTROPY_CHECKS, flag, register
from jpegai_fmt.segments import frame_segment, join_segments
from jpegai_fmt.tables import RULES
from jpegai_fmt.ton import build_ton, default_ton

SOZ, SORP, SORS = b"\x05" * 6, b"\x01" * 10, b"\x02" * 8
EMPTY_RDI = build_rdi({"cicp_info_present_flag": 0, "mdcv_info_present_flag": 0, "clli_info_present_flag": 0,
                       "dm_present_flag": 0, "ri_reserved_zero_4bits": 0})


def fields(w=640, h=480, **kw):
    return default_fields(w, h, **kw)


def stream(pih=None, *, ton=None, rdi=EMPTY_RDI, udi=None, sorp=(SORP,), sors=(SORS,), soz=SOZ, soq=None,
           pih_payload=None, order=None, tail=b""):
    """SOC PIH TON [UDI] RDI SORP.. SORS.. SOZ [SOQ] (or `order`) + tail + EOC; payloads as given."""
    pih = pih or fields()
    payload = pih_payload or build_pih(pih)
    header = parse_pih(payload)
    ton = build_ton(default_ton(header), header) if ton is None else ton
    parts = [(Marker.PIH, payload), (Marker.TON, ton)] + ([(Marker.UDI, udi)] if udi is not None else [])
    parts += [(Marker.RDI, rdi)] + [(Marker.SORP, p) for p in sorp] + [(Marker.SORS, p) for p in sors]
    parts += [(Marker.SOZ, soz)] + ([(Marker.SOQ, soq)] if soq is not None else [])
    if order:
        parts = [p for m in order for p in parts if p[0] == m]
    data = join_segments(parts)
    return data[:-2] + tail + data[-2:]


def set_bits(payload: bytes, bit: int, width: int, value: int) -> bytes:
    n = int.from_bytes(payload, "big")
    total = 8 * len(payload)
    shift = total - bit - width
    n = n & ~(((1 << width) - 1) << shift) | (value << shift)
    return n.to_bytes(len(payload), "big")


def ton_for(pih_fields, ton_fields):
    return build_ton(ton_fields, parse_pih(build_pih(pih_fields)))


def rules(data, rule=None, **kw):
    return {f.rule for f in validate(data, **kw) if f.severity != "I" or f.rule == rule}


def regions(num_ver, num_hor, independent, w=1024, h=512):
    extra = dict(region_residual_in_its_own_substream_flag=independent)
    if not independent:
        extra.update(hyper_decoder_overlap_in_latent_samples=0, mcm_overlap_in_latent_samples=0)
    return fields(w, h, region_partitioning_flag=1, num_ver_splits_minus1=num_ver - 1,
                  num_hor_splits_minus1=num_hor - 1, **extra)


def dep(n):
    return build_dependent_residual([b"\x01" * 2] * n)


def ind(*indices):
    return [build_independent_residual(i, b"\x01\x02") for i in indices]


Q = dict(gain_3D_enable_flag=1, multi_threading_q=0, quality_map_entropy_index=0)
TS = lambda size, overlap: default_component(0, synthesis_tile_enable=1, synthesis_tile_size=size,  # noqa: E731
                                             synthesis_tile_overlap=overlap)
NONLINEAR = dict(minSymbol=0, maxSymbol=7, mask1_enabled_flag=1, mask2_enabled_flag=0, bS=4, len_mask_y=1,
                 len_mask_x=1, W5=[[0, 0]], nonLinear_enabled_U_flag=0, nonLinear_enabled_V_flag=0)
TON_OFF = dict(lsbs_enable_flag=[0, 0], EFE_linear_filter_enabled_flag=0, EFE_nonlinear_filter_enabled_flag=0,
               LEF_enabled_flag=0)
EFE = dict(lsbs_enable_flag=[0, 0], EFE_linear_filter_enabled_flag=1, B1=[0, 0],
           filter_set=[dict(best_cand_idx=[1, 0], fL_0=1, minSymbol=0, maxSymbol=3, weights_u=[0] * 2),
                       dict(best_cand_idx=[0, 0], minSymbol=0, maxSymbol=3)],
           EFE_nonlinear_filter_enabled_flag=0, LEF_enabled_flag=0)
S444 = fields(s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1, c_hor_minus1=1)
RDI_CICP = dict(cicp_info_present_flag=1, mdcv_info_present_flag=0, clli_info_present_flag=0, dm_present_flag=0,
                ri_reserved_zero_4bits=0, colour_primaries=1, transfer_characteristics=13, matrix_coefficients=1,
                image_full_range_flag=1, chroma420_sample_loc_type=0, cicp_reserved_zero_4bits=0)


def _ton_patched(pih_fields, ton_fields, bit, width, value):
    return set_bits(ton_for(pih_fields, ton_fields), bit, width, value)


def _tile_ton():
    ton = dict(TON_OFF, icci_enable_flag=1, icci_tiling_enable=1, icci_tile_size=2, icci_tile_overlap=1,
               icci_tile=[dict(icci_use=[0, 0, 0])] * 600)
    pih = parse_pih(build_pih(S444))
    from jpegai_fmt.geometry import tiles_1d
    ton["icci_tile"] = [dict(icci_use=[0, 0, 0])] * (len(tiles_1d(480, 32, 16)) * len(tiles_1d(640, 32, 16)))
    return set_bits(build_ton(ton, pih), 5, 8, 1)  # icci_tile_size 2 -> 1: T 16 = O 16


def _thr_prefix(delta, data):
    from jpegai_fmt.bits import BitWriter
    w = BitWriter()
    w.write_se(delta)
    return w.to_bytes() + data


Z2 = dict(multi_threading_z=1, log2_num_threads_z_minus1=0)

CASES = {
    "STR-001": lambda: stream(order=[Marker.TON, Marker.PIH, Marker.RDI, Marker.SORP, Marker.SORS, Marker.SOZ]),
    "STR-002": lambda: stream() + b"\x00",
    "STR-003": lambda: stream(tail=b"\xff\x85"),
    "STR-004": lambda: stream(tail=b"\xff\x80"),
    "STR-005": lambda: stream(tail=frame_segment(Marker.RDI, EMPTY_RDI)),
    "STR-006": lambda: stream(sors=()),
    "STR-007": lambda: stream(tail=b"\x00"),
    "STR-008": lambda: stream(udi=b"u", order=[Marker.PIH, Marker.TON, Marker.RDI, Marker.UDI, Marker.SORP,
                                              Marker.SORS, Marker.SOZ]),
    "SEG-001": lambda: stream(tail=b"\xff\x8c" + bytes(5)),
    "SEG-002": lambda: stream(tail=b"\xff\x8c\x41\x00"),  # UDI, ue(1) = 010, alignment 00001
    "SEG-003": lambda: stream(udi=b"user", order=[Marker.PIH, Marker.TON, Marker.RDI, Marker.SORP, Marker.SORS,
                                                  Marker.SOZ, Marker.UDI])[:-4],
    "SEG-004": lambda: stream(ton=ton_for(fields(), TON_OFF) + b"\x00"),
    "SEG-005": lambda: stream(ton=b"\x01"),
    "SEG-006": lambda: stream(ton=b""),
    "PIH-001": lambda: stream(fields(stream_profile_idc=1)),
    "PIH-002": lambda: stream(fields(decoder_profile_id=3)),
    "PIH-003": lambda: stream(fields(num_synthesis_transforms_minus1=3, synthesis_transform_id=[2, 1, 0, 5])),
    "PIH-004": lambda: stream(fields(synthesis_transform_id=[2, 0, 1])),
    "PIH-005": lambda: stream(fields(bit_depth_idc=2)),
    "PIH-006": lambda: stream(fields(s_ver_minus1=1, s_hor_minus1=0, c_hor_minus1=1)),
    "PIH-007": lambda: stream(fields(colour_transform_idx=2, colour_transform_matrix=[1] * 9,
                                     colour_transform_offset=[0] * 3)),
    "PIH-008": lambda: stream(fields(beta_displacement_log_plus_2048_0=2048 + 703)),
    "PIH-009": lambda: stream(regions(1, 3, 0), sorp=[dep(3)], sors=[dep(3)]),
    "PIH-010": lambda: stream(fields(component=[default_component(0, num_chs=161), default_component(1)])),
    "PIH-011": lambda: stream(pih_payload=set_bits(build_pih(fields()), 76, 3, 5)),  # bit_depth_idc = 5
    "PIH-012": lambda: stream(fields(component=[TS(2, 2), default_component(1)])),
    "PIH-013": lambda: stream(fields(component=[TS(40, 31), default_component(1)])),
    "PIH-014": lambda: stream(fields(**Q), soq=b"\x07"),
    "PIH-015": lambda: stream(regions(1, 2, 0), sorp=[dep(2)], sors=[dep(2)]),
    "PRF-001": lambda: stream(fields(decoder_profile_id=0, num_synthesis_transforms_minus1=0,
                                     synthesis_transform_id=[1])),
    "PRF-002": lambda: stream(fields(level_idc=53)),
    "PRF-003": lambda: stream(fields(4096, 2048, level_idc=12)),
    "PRF-004": lambda: stream(fields(level_idc=50, model_id=0)),
    "TON-001": lambda: stream(ton=_ton_patched(fields(), EFE, 33, 4, 9)),
    "TON-002": lambda: stream(ton=ton_for(fields(), dict(EFE, filter_set=[
        dict(best_cand_idx=[1, 0], fL_0=0, minSymbol=0, maxSymbol=3, weights_u=[]),
        dict(best_cand_idx=[0, 0], minSymbol=0, maxSymbol=3)]))),
    "TON-003": lambda: stream(ton=_ton_patched(fields(), dict(TON_OFF, EFE_nonlinear_filter_enabled_flag=1,
                                                              nonlinear=NONLINEAR), 68, 2, 3)),
    "TON-004": lambda: stream(fields(s_ver_minus1=0, s_hor_minus1=1, c_ver_minus1=0)),
    "TON-005": lambda: stream(S444, ton=_tile_ton()),
    "TON-006": lambda: stream(ton=ton_for(fields(), dict(TON_OFF, EFE_nonlinear_filter_enabled_flag=1, nonlinear=dict(
        NONLINEAR, nonLinear_enabled_U_flag=1, nonlinearW=1, nonlinearH=1, numTiles=0, minLuma=[], maxLuma=[],
        candidates_u=dict(candNum=0, A1=[]))))),
    "TON-007": lambda: stream(ton=ton_for(fields(), dict(TON_OFF, LEF_enabled_flag=1, LEF_chIdx=200))),
    "RDI-001": lambda: stream(rdi=b"\x01"),
    "RDI-002": lambda: stream(rdi=build_rdi(dict(RDI_CICP, colour_primaries=3))),
    "RDI-003": lambda: stream(rdi=EMPTY_RDI + b"\x00"),
    "THR-001": lambda: stream(fields(**Z2), soz=set_bits(build_memory([b"\x01" * 4] * 2), 7, 1, 1)),
    "THR-002": lambda: stream(fields(**Z2), soz=_thr_prefix(4, b"\x01" * 8)),
    "THR-003": lambda: stream(soz=b"\x00\x00"),
    "REG-001": lambda: stream(regions(1, 2, 1), sorp=ind(0, 1, 0), sors=ind(0, 1)),
    "REG-002": lambda: stream(regions(1, 2, 1), sorp=ind(0), sors=ind(0, 1)),
    "REG-003": lambda: stream(regions(1, 2, 0), sorp=[b"\x00\x21" + b"\x01" * 4], sors=[dep(2)]),
    "REG-004": lambda: stream(sorp=[SORP, SORP]),
    "REG-005": lambda: stream(regions(1, 2, 1), sorp=ind(1, 0), sors=ind(0, 1)),
    "REG-006": lambda: stream(regions(17, 16, 1, w=8192, h=4352), sorp=ind(0), sors=ind(0)),
    "SOQ-001": lambda: stream(soq=b"\x07"),
    "SOQ-002": lambda: stream(fields(**Q)),
    "UDI-001": lambda: stream(udi=b"user data"),
    "UDI-002": lambda: stream(udi=b"jpegai-fmt\x01\x10"),
}
# Rules that necessarily come with another one.
COMPANIONS = {"SOQ-002": {"PIH-014"}}
ENTROPY_ONLY = {"THR-004", "SOQ-003", "ENT-001"}


def test_default_stream_has_no_findings():
    assert validate(stream()) == []
    assert validate(stream(), lenient=True) == []


def test_every_rule_has_a_case():
    assert set(RULES) - ENTROPY_ONLY == set(CASES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_triggers_alone(rule):
    assert rules(CASES[rule](), rule) == {rule} | COMPANIONS.get(rule, set())


@pytest.mark.parametrize("rule", sorted(CASES))
def test_findings_carry_position_path_and_table_severity(rule):
    found = [f for f in validate(CASES[rule]()) if f.rule == rule]
    assert found and all(f.byte_offset is not None and f.message for f in found)
    assert all(f.severity in RULES[rule]["severity"].split("/") for f in found)


def test_warning_cases_of_two_severity_rules():
    def sev(data, rule):
        return {f.severity for f in validate(data) if f.rule == rule}
    assert sev(stream(fields(num_synthesis_transforms_minus1=3, synthesis_transform_id=[2, 1, 0, 0])),
               "PIH-003") == {"W"}
    assert sev(stream(fields(decoder_profile_id=0, num_synthesis_transforms_minus1=1,
                             synthesis_transform_id=[0, 1])), "PRF-001") == {"W"}
    assert sev(stream(ton=ton_for(fields(), dict(EFE, filter_set=[
        dict(best_cand_idx=[1, 0], fL_0=5, minSymbol=0, maxSymbol=3, weights_u=[0] * 50),
        dict(best_cand_idx=[0, 0], minSymbol=0, maxSymbol=3)]))), "TON-002") == {"W"}


def test_pih014_reports_the_thread_field_quirk():
    data = stream(fields(gain_3D_enable_flag=1, multi_threading_q=1, log2_num_threads_q_minus1=0,
                         quality_map_entropy_index=0), soq=build_memory([b"\x01"] * 2))
    assert [f.rule for f in validate(data)].count("PIH-014") == 2


TOLERATED = ["STR-002", "SEG-002", "SEG-004", "SEG-005", "RDI-001", "RDI-003", "THR-001"]


@pytest.mark.parametrize("rule", TOLERATED)
def test_lenient_turns_tolerated_errors_into_warnings(rule):
    strict = [f for f in validate(CASES[rule]()) if f.rule == rule]
    lenient = [f for f in validate(CASES[rule](), lenient=True) if f.rule == rule]
    assert {f.severity for f in strict} == {"E"} and {f.severity for f in lenient} == {"W"}


def test_lenient_keeps_errors_the_reference_does_not_tolerate():
    assert {f.severity for f in validate(CASES["THR-002"](), lenient=True) if f.rule == "THR-002"} == {"E"}
    # REG-003: only the alignment case is tolerated
    aligned = stream(regions(1, 2, 0), sorp=[b"\x21" + b"\x01" * 4], sors=[dep(2)])
    assert {f.severity for f in validate(aligned, lenient=True) if f.rule == "REG-003"} == {"W"}
    assert {f.severity for f in validate(CASES["REG-003"](), lenient=True) if f.rule == "REG-003"} == {"E"}


def test_entropy_hook_runs_only_on_request():
    def qp_check(ctx):
        soq = ctx.first(Marker.SOQ)
        if soq is not None:
            flag(soq.child("thread[0]"), "SOQ-003", "decoded qp 9 outside -8..8")
    register(qp_check, entropy=True)
    try:
        data = CASES["PIH-014"]()
        assert "SOQ-003" not in rules(data)
        found = [f for f in validate(data, entropy=True) if f.rule == "SOQ-003"]
        assert len(found) == 1 and found[0].severity == "E" and found[0].path == "SOQ/thread[0]"
    finally:
        ENTROPY_CHECKS.remove(qp_check)


def test_our_udi_record_is_recognised():
    from jpegai_fmt.udi_record import ChannelIndex, build_record
    findings = validate(stream(udi=build_record(b"\x5a" * 16, ChannelIndex((160, 96)))))
    assert [(f.rule, f.severity) for f in findings] == [("UDI-001", "I")]
    assert "model set " + "5a" * 16 in findings[0].message


@pytest.mark.parametrize("field,value,reserved", [
    ("matrix_coefficients", 15, False), ("matrix_coefficients", 17, False), ("matrix_coefficients", 3, True),
    ("matrix_coefficients", 18, True), ("colour_primaries", 22, False), ("colour_primaries", 13, True),
    ("transfer_characteristics", 18, False), ("transfer_characteristics", 19, True)])
def test_rdi002_follows_h273_v3(field, value, reserved):
    rules = [f.rule for f in validate(stream(rdi=build_rdi(dict(RDI_CICP, **{field: value}))))]
    assert rules == (["RDI-002"] if reserved else [])


def test_every_rule_is_documented_with_its_severity():
    """docs/validation.md's rule table is what users read: it must list every rule id with the table's severity."""
    import pathlib
    import re
    doc = (pathlib.Path(__file__).parent.parent / "docs" / "validation.md").read_text()
    rows = dict(re.findall(r"^\| ([A-Z]{3}-\d{3}) \| ([EWI](?:/[EWI])?) \|", doc, re.M))
    assert {rid: rule["severity"] for rid, rule in RULES.items()} == rows


def test_too_many_independent_regions_is_one_finding_at_the_header():
    """REG-006 is the region grid's fault: one finding on the PIH, however many residual segments follow."""
    data = stream(regions(17, 16, 1, w=8192, h=4352), sorp=ind(0) * 3, sors=ind(0) * 3)
    found = [f for f in validate(data) if f.rule == "REG-006"]
    assert len(found) == 1 and found[0].path == "PIH/num_ver_splits_minus1"
    from jpegai_fmt.codestream import parse_codestream
    from jpegai_fmt.errors import ParseError
    with pytest.raises(ParseError) as err:                  # a strict reader (decode) stops there
        parse_codestream(data)
    assert err.value.rule == "REG-006"
