"""PIH schema (codestream.md §5): bit budget, round trips over every optional branch, errors."""
import pytest
from hypothesis import given, settings, strategies as st

from jpegai_fmt.errors import BuildError, TruncatedError
from jpegai_fmt.geometry import cube_flag_count
from jpegai_fmt.pih import build_pih, default_component, default_fields, parse_pih

from fieldtools import present


def test_illustrative_bit_budget():
    """§5.5: 1920x1080, all tools off -> 129 bits, 17 bytes with 7 padding bits."""
    payload = build_pih(default_fields(1920, 1080))
    assert len(payload) == 17 and payload[-1] & 0x7F == 0
    pih = parse_pih(payload)
    assert pih.node.get("gain_3D_enable_flag").bit_offset == 128
    assert pih.node.get("component[1]/num_chs").bit_offset == 116
    assert pih.node.get("component[1]/num_chs").path == "component[1]/num_chs"
    assert (pih.width, pih.height, pih.n_z, pih.n_r, pih.num_regions) == (1920, 1080, 1, (1, 1), 1)
    assert pih.coded_subsampling == (2, 2) and not pih.node.all_findings()


def test_cube_flags_1920x1080():
    """§5.2 example: F = 160 flags in 20 groups; group flag 0 means eight ones."""
    assert cube_flag_count(1920, 1080) == 160
    groups = [{"cube_group_flag": 0}] * 19 + [{"cube_group_flag": 1, "cube_flag": [0, 1] * 4}]
    f = default_fields(1920, 1080, component=[
        default_component(0, use_cube_flags=1, cube_groups=groups), default_component(1)])
    pih = parse_pih(build_pih(f))
    assert pih.cube_flags(0) == [1] * 152 + [0, 1] * 4 and pih.cube_flags(1) is None
    assert len(build_pih(f)) * 8 - len(build_pih(default_fields(1920, 1080))) * 8 == 8 * 3


@st.composite
def pih_fields(draw):
    w, h = draw(st.integers(64, 700)), draw(st.integers(64, 700))
    def flag():
        return draw(st.integers(0, 1))
    def comp(c):
        d = default_component(c, multi_threading_r=flag(), num_chs=draw(st.integers(0, 255)),
                              use_cube_flags=flag(), rvs_enable_flag=flag(), grfs_enable_flag=flag(),
                              synthesis_tile_enable=flag())
        if d["multi_threading_r"]:
            d["log2_num_threads_r_minus1"] = draw(st.integers(0, 3))
        if d["use_cube_flags"]:
            n = cube_flag_count(w, h)
            d["cube_groups"] = []
            for g in range(-(-n // 8)):
                gf = flag()
                d["cube_groups"].append({"cube_group_flag": gf, "cube_flag":
                                         [flag() for _ in range(min(8, n - 8 * g))]} if gf else
                                        {"cube_group_flag": 0})
        if d["grfs_enable_flag"]:
            d["grfs_channel_flag"] = [flag() for _ in range(d["num_chs"])]
        if d["synthesis_tile_enable"]:
            d["synthesis_tile_size"], d["synthesis_tile_overlap"] = draw(st.integers(0, 255)), draw(st.integers(0, 31))
        return d
    n = draw(st.integers(1, 16))
    f = default_fields(w, h, decoder_profile_id=draw(st.integers(0, 15)),
                       num_synthesis_transforms_minus1=n - 1,
                       synthesis_transform_id=draw(st.lists(st.integers(0, 15), min_size=n, max_size=n)),
                       diff_display_img_width=draw(st.integers(0, 63)), bit_depth_idc=draw(st.integers(0, 4)),
                       s_ver_minus1=flag(), s_hor_minus1=flag(), colour_transform_idx=draw(st.integers(0, 2)),
                       model_id=draw(st.integers(0, 15)), multi_threading_z=flag(),
                       beta_displacement_log_plus_2048_0=draw(st.integers(0, 4095)),
                       region_partitioning_flag=flag(), independent_beta_uv=flag(),
                       component=[comp(0), comp(1)], gain_3D_enable_flag=flag())
    if f["s_ver_minus1"] == 0:
        f["c_ver_minus1"] = flag()
    if f["s_hor_minus1"] == 0:
        f["c_hor_minus1"] = flag()
    if f["colour_transform_idx"] == 2:
        f["colour_transform_matrix"] = draw(st.lists(st.integers(0, 255), min_size=9, max_size=9))
        f["colour_transform_offset"] = draw(st.lists(st.integers(0, 255), min_size=3, max_size=3))
    if f["multi_threading_z"]:
        f["log2_num_threads_z_minus1"] = draw(st.integers(0, 3))
    if f["region_partitioning_flag"]:
        f.update(num_ver_splits_minus1=draw(st.integers(0, 127)), num_hor_splits_minus1=draw(st.integers(0, 127)),
                 region_residual_in_its_own_substream_flag=flag())
        if not f["region_residual_in_its_own_substream_flag"]:
            f.update(hyper_decoder_overlap_in_latent_samples=draw(st.integers(0, 3)),
                     mcm_overlap_in_latent_samples=draw(st.integers(0, 15)))
    if f["independent_beta_uv"]:
        f["beta_displacement_log_plus_2048_1"] = draw(st.integers(0, 4095))
    if f["gain_3D_enable_flag"]:
        f.update(multi_threading_q=flag(), quality_map_entropy_index=draw(st.integers(0, 7)))
        if f["multi_threading_q"]:
            f["log2_num_threads_q_minus1"] = draw(st.integers(0, 3))
    return f


@settings(max_examples=60, deadline=None)
@given(pih_fields(), st.sampled_from(["is", "dis"]))
def test_round_trip_every_branch(fields, syntax):
    if syntax == "dis":
        del fields["stream_profile_idc"]
    payload = build_pih(fields, syntax)
    pih = parse_pih(payload, syntax=syntax, base_bit=24)
    assert present(pih.fields) == fields
    assert pih.to_bytes() == payload
    assert not pih.node.all_findings()
    assert pih.node.bit_offset == 24 and pih.node.children[0].bit_offset == 24
    leaves = [n for n in pih.node.walk() if not n.children and n is not pih.node]
    assert sum(n.bit_length for n in leaves) <= 8 * len(payload) < sum(n.bit_length for n in leaves) + 8


def test_derived_variables():
    f = default_fields(1000, 700, multi_threading_z=1, log2_num_threads_z_minus1=2,
                       beta_displacement_log_plus_2048_0=2000, independent_beta_uv=1,
                       beta_displacement_log_plus_2048_1=2100, region_partitioning_flag=1,
                       num_ver_splits_minus1=1, num_hor_splits_minus1=2,
                       region_residual_in_its_own_substream_flag=1, diff_display_img_height=5,
                       s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=0, c_hor_minus1=1,
                       gain_3D_enable_flag=1, multi_threading_q=1, log2_num_threads_q_minus1=3,
                       quality_map_entropy_index=3)
    pih = parse_pih(build_pih(f))
    assert pih.n_z == 8 and pih.n_q == 16 and pih.bdl == (-48, 52)
    assert pih.region_grid == (2, 3) and pih.num_regions == 6 and pih.independent_regions
    assert pih.display_size == (1000, 695) and pih.coded_subsampling == (1, 2)
    assert pih.source_subsampling == (1, 1) and pih.latent_size == (44, 63) and pih.hyper_size == (11, 16)


def test_dis_and_auto_detection():
    f = default_fields(640, 480)
    del f["stream_profile_idc"]
    dis = build_pih(f, "dis")
    assert parse_pih(dis, syntax="auto").syntax == "dis"
    assert parse_pih(build_pih(default_fields(640, 480)), syntax="auto").syntax == "is"
    with pytest.raises(TruncatedError):  # read as IS, the 4 missing bits shift every field
        parse_pih(dis, syntax="is")


def test_truncated_payload_names_the_field():
    payload = build_pih(default_fields(1920, 1080))
    with pytest.raises(TruncatedError) as e:
        parse_pih(payload[:12], base_bit=800)
    assert e.value.rule == "SEG-006" and e.value.path == "PIH/beta_displacement_log_plus_2048_0"
    assert e.value.bit_offset == 800 + 88


def test_padding_and_length_findings():
    payload = bytearray(build_pih(default_fields(1920, 1080)))
    payload[-1] |= 1
    assert [f.rule for f in parse_pih(bytes(payload)).node.findings] == ["SEG-005"]
    findings = parse_pih(bytes(payload[:-1]) + b"\x00\x00").node.findings
    assert [f.rule for f in findings] == ["SEG-004"] and findings[0].bit_offset == 129


def test_bounded_value_above_maximum_is_reported_not_fatal():
    payload = bytearray(build_pih(default_fields(1920, 1080)))
    payload[9] |= 0b1010_0000 >> 4  # bit_depth_idc occupies bits 76..78 -> becomes 5
    pih = parse_pih(bytes(payload))
    assert pih["bit_depth_idc"] == 5 and pih.bit_depth is None
    (finding,) = pih.node.all_findings()
    assert finding.rule == "PIH-011" and finding.path == "PIH/bit_depth_idc" and finding.bit_offset == 76


def test_build_refuses_out_of_range_values():
    with pytest.raises(BuildError) as e:
        build_pih(default_fields(1920, 1080, bit_depth_idc=5))
    assert e.value.path == "PIH/bit_depth_idc"
    with pytest.raises(BuildError):
        build_pih(default_fields(1920, 1080, level_idc=256))
    with pytest.raises(BuildError):
        build_pih({"decoder_profile_id": 1})
