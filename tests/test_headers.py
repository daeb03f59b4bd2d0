"""TON (codestream.md §6) and RDI (§7) schemas."""
import pytest

from jpegai_fmt.errors import BuildError, ParseError
from jpegai_fmt.pih import build_pih, default_fields, parse_pih
from jpegai_fmt.rdi import build_rdi, expected_length, parse_rdi
from jpegai_fmt.ton import build_ton, default_ton, parse_ton

from fieldtools import present

PIH_444 = parse_pih(build_pih(default_fields(2096, 1400, s_ver_minus1=0, s_hor_minus1=0,
                                             c_ver_minus1=1, c_hor_minus1=1)))
PIH_420 = parse_pih(build_pih(default_fields(2096, 1400)))

FULL_TON = dict(
    lsbs_enable_flag=[1, 0], EFE_linear_filter_enabled_flag=1, B1=[100, 32767],
    filter_set=[dict(best_cand_idx=[1, 0], fL_0=2, minSymbol=5, maxSymbol=100, weights_u=list(range(20))),
                dict(best_cand_idx=[8, 2], fL_0=1, fL_1=1, minSymbol=5, maxSymbol=0, weights_u=[0] * 30,
                     weights_v=[0] * 10)],
    icci_enable_flag=1, icci_tiling_enable=1, icci_tile_size=64, icci_tile_overlap=4,
    icci_tile=[dict(icci_use=[1, 0, 1], icci_use_shortList=0, icci_model_idx_Y=10, icci_model_idx_UV=3)]
    + [dict(icci_use=[0, 0, 0])] * 4 + [dict(icci_use=[0, 1, 0], icci_use_shortList=1, icci_model_idx_UV=2)],
    EFE_nonlinear_filter_enabled_flag=1,
    nonlinear=dict(minSymbol=0, maxSymbol=7, mask1_enabled_flag=1, mask2_enabled_flag=0, bS=4, len_mask_y=2,
                   len_mask_x=3, W5=[[0, 2]] * 6, nonLinear_enabled_U_flag=1, nonLinear_enabled_V_flag=0,
                   nonlinearW=10, nonlinearH=11, numTiles=2, minLuma=[1, 2], maxLuma=[3, 4],
                   candidates_u=dict(candNum=3, A1=[7, 6, 5])),
    LEF_enabled_flag=1, LEF_chIdx=159)


def test_ton_every_tool_round_trip():
    payload = build_ton(FULL_TON, PIH_444)
    values, node = parse_ton(payload, PIH_444, base_bit=64)
    assert present(values) == FULL_TON and build_ton(values, PIH_444) == payload
    assert not node.all_findings()
    # 2 lsbs + 1 + 30 (B1) + set0: 8 + 4 + 32 + 20*7 weights, set1: 8 + 8 + 32 + 0 weights
    assert node.get("filter_set[1]").bit_offset == 64 + 3 + 30 + 8 + 4 + 32 + 140
    assert len([c for c in node.children if c.name.startswith("icci_tile[")]) == 6  # §11 example grid
    assert node.get("icci_tile[5]/icci_model_idx_UV").bit_length == 2
    assert node.get("icci_tile[0]/icci_model_idx_Y").bit_length == 4


def test_ton_icci_absent_for_420_sources():
    assert build_ton(default_ton(PIH_420), PIH_420) == b"\x00"  # 2 + 1 + 1 + 1 bits
    assert parse_ton(b"\x00", PIH_420)[0]["icci_enable_flag"] is None
    assert parse_ton(b"\x00", PIH_444)[0]["icci_enable_flag"] == 0


def test_ton_weight_phases_follow_subsampling():
    """One phase when coded subsampling equals source subsampling, else four."""
    ton = dict(default_ton(PIH_420), EFE_linear_filter_enabled_flag=1, B1=[0, 0],
               filter_set=[dict(best_cand_idx=[1, 0], fL_0=1, minSymbol=0, maxSymbol=1, weights_u=[1, 0])] * 2)
    assert parse_ton(build_ton(ton, PIH_420), PIH_420)[0]["filter_set"][0]["weights_u"] == [1, 0]
    with pytest.raises(BuildError, match="expected 5 values, found 2"):
        build_ton(ton, PIH_444)  # 4:4:4 source coded 4:2:0 needs 4 phases + 1 luma weight
    four = dict(default_ton(PIH_444), EFE_linear_filter_enabled_flag=1, B1=[0, 0],
                filter_set=[dict(ton["filter_set"][0], weights_u=[1, 0, 1, 0, 1])] * 2)
    assert parse_ton(build_ton(four, PIH_444), PIH_444)[0]["filter_set"][0]["weights_u"] == [1, 0, 1, 0, 1]


def test_ton_invalid_partition_candidate():
    ton = dict(default_ton(PIH_420), EFE_linear_filter_enabled_flag=1, B1=[0, 0],
               filter_set=[dict(best_cand_idx=[1, 0], fL_0=1, minSymbol=0, maxSymbol=1, weights_u=[1, 0])] * 2)
    payload = bytearray(build_ton(ton, PIH_420))
    payload[4] |= 0b0100_0000  # best_cand_idx[0] of set 0 (bits 33..36): 1 -> 9
    with pytest.raises(ParseError) as e:
        parse_ton(bytes(payload), PIH_420, base_bit=8)
    assert e.value.rule == "TON-001" and e.value.path == "TON/filter_set[0]/best_cand_idx"
    assert e.value.bit_offset == 8 + 33 and "0 = plane off" in e.value.message   # the field, not the weights
    bad = dict(ton, filter_set=[dict(ton["filter_set"][0], best_cand_idx=[9, 0])] * 2)
    with pytest.raises(BuildError, match="names no partition"):
        build_ton(bad, PIH_420)


def test_rdi_round_trip_and_length():
    full = dict(cicp_info_present_flag=1, mdcv_info_present_flag=1, clli_info_present_flag=1, dm_present_flag=1,
                ri_reserved_zero_4bits=0, colour_primaries=9, transfer_characteristics=16, matrix_coefficients=9,
                image_full_range_flag=0, chroma420_sample_loc_type=2, cicp_reserved_zero_4bits=0,
                mastering_display_colour_primaries=[dict(x=34000, y=16000), dict(x=13250, y=34500),
                                                    dict(x=7500, y=3000)],
                white_point_chromaticity_x=15635, white_point_chromaticity_y=16450,
                max_display_mastering_luminance=10_000_000, min_display_mastering_luminance=50,
                maximum_content_light_level=1000, maximum_frame_average_light_level=400,
                dm_type=4, dm_size=5, dm_data=b"\x00\x01\x02\x03\x04")
    payload = build_rdi(full)
    assert len(payload) == expected_length(full) == 1 + 4 + 24 + 4 + 3 + 5
    values, node = parse_rdi(payload)
    assert present(values) == full and not node.all_findings()
    assert node.get("mastering_display_colour_primaries[2]/y").value == 3000
    assert node.get("dm_data").to_dict()["value"] == "0001020304"
    values, node = parse_rdi(payload + b"\x00")
    assert [f.rule for f in node.findings] == ["SEG-004"]
