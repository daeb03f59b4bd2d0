"""Public API: parse (sniffing), build (byte-exact, recomputes sizes after an edit), validate."""
import sys
import subprocess

import pytest

import jpegai_fmt
from jpegai_fmt import ParseError, build, parse, validate
from jpegai_fmt.container import wrap
from jpegai_fmt.layout import build_dependent_residual, build_independent_residual, build_memory
from jpegai_fmt.pih import default_component, default_fields

RDI_ALL = dict(cicp_info_present_flag=1, mdcv_info_present_flag=1, clli_info_present_flag=1, dm_present_flag=1,
               ri_reserved_zero_4bits=0, colour_primaries=9, transfer_characteristics=16, matrix_coefficients=9,
               image_full_range_flag=0, chroma420_sample_loc_type=2, cicp_reserved_zero_4bits=0,
               mastering_display_colour_primaries=[dict(x=1, y=2)] * 3, white_point_chromaticity_x=3,
               white_point_chromaticity_y=4, max_display_mastering_luminance=5, min_display_mastering_luminance=6,
               maximum_content_light_level=7, maximum_frame_average_light_level=8, dm_type=1, dm_size=3,
               dm_data=b"abc")


def rich_stream() -> bytes:
    comp = default_component(0, multi_threading_r=1, log2_num_threads_r_minus1=1, use_cube_flags=1,
                             cube_groups=[dict(cube_group_flag=0)] * 5 + [dict(cube_group_flag=1, cube_flag=[0, 1] * 4)],
                             grfs_enable_flag=1, grfs_channel_flag=[1, 0] * 80, synthesis_tile_enable=1,
                             synthesis_tile_size=16, synthesis_tile_overlap=2)
    f = default_fields(1000, 520, region_partitioning_flag=1, num_ver_splits_minus1=1, num_hor_splits_minus1=1,
                       region_residual_in_its_own_substream_flag=0, hyper_decoder_overlap_in_latent_samples=1,
                       mcm_overlap_in_latent_samples=3, multi_threading_z=1, log2_num_threads_z_minus1=0,
                       independent_beta_uv=1, beta_displacement_log_plus_2048_1=2000,
                       component=[comp, default_component(1)])
    res0 = build_dependent_residual([build_memory([b"\x01" * (3 + i), b"\x02" * 5, b"\x03", b"\x04" * 2])
                                     for i in range(4)])
    res1 = build_dependent_residual([b"\x07" * (i + 1) for i in range(4)])
    return jpegai_fmt.write_codestream(f, soz=build_memory([b"\x09" * 4, b"\x08" * 7]), sorp=[res0], sors=[res1],
                                       rdi=RDI_ALL, udi=b"opaque")


def test_build_parse_is_byte_exact():
    data = rich_stream()
    tree = parse(data)
    assert tree.get("PIH").value == "IS" and tree.source == data
    assert build(tree) == data
    assert validate(tree) == validate(data)


def test_independent_regions_round_trip():
    f = default_fields(1024, 512, region_partitioning_flag=1, num_ver_splits_minus1=0, num_hor_splits_minus1=1,
                       region_residual_in_its_own_substream_flag=1)
    data = jpegai_fmt.write_codestream(f, soz=b"\x01", sorp=[build_independent_residual(i, b"\x05\x06")
                                                             for i in (0, 1)],
                                       sors=[build_independent_residual(1, b"\x07")])
    assert build(parse(data)) == data


def test_edit_recomputes_sizes_and_prefixes():
    data = rich_stream()
    tree = parse(data)
    tree.get("PIH/component[0]/grfs_enable_flag").value = 0
    tree.get("PIH/component[0]").children.remove(tree.get("PIH/component[0]/grfs_channel_flag"))
    thread = tree.get("SORP/region[2]/thread[0]")
    thread.bit_length -= 8  # drop a byte from one thread range
    out = build(tree)
    again = parse(out)
    assert again.get("PIH/substream_size").value == tree.get("PIH/substream_size").value - 20
    assert again.get("SORP/substream_size").value == tree.get("SORP/substream_size").value - 1
    assert again.get("SORP/region[2]/thread[0]").bit_length == thread.bit_length
    assert [f.rule for f in validate(again) if f.severity != "I"] == []


def test_container_parse_and_validate():
    data = rich_stream()
    tree = parse(wrap(data))
    assert tree.value == "HEIF" and tree.get("mdat/item[1]/PIH/img_width_minus64").value == 936
    assert build(tree.get("mdat/item[1]")) == data
    with pytest.raises(jpegai_fmt.BuildError):
        build(tree)
    assert not [f for f in validate(wrap(data)) if f.severity == "E"]


def test_not_jpegai_and_strict_vs_lenient():
    with pytest.raises(ParseError, match="not a JPEG AI file"):
        parse(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(jpegai_fmt.JpegAiError, match="cannot read"):
        parse("/nonexistent/file.jaic")
    cut = rich_stream()[:-10]
    with pytest.raises(jpegai_fmt.TruncatedError):
        parse(cut)
    assert "SEG-003" in [f.rule for f in parse(cut, lenient=True).all_findings()]
    assert "SEG-003" in [f.rule for f in validate(cut)]


def test_import_loads_neither_torch_nor_textual():
    code = "import jpegai_fmt, sys; print('torch' in sys.modules, 'textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


SAMPLE_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize("name, field", [("valid/enc-threads-2.jaic", "PIH/model_id"),
                                         ("valid/enc-threads-2.jai", "mdat/item[1]/PIH/model_id")])
def test_validate_sees_the_edits_of_a_tree(name, field):
    """Raw or .jai: an edit that builds is judged as written; one that cannot be written is an error there."""
    tree = jpegai_fmt.parse(SAMPLE_DIR / name)
    assert not [f for f in jpegai_fmt.validate(tree) if f.severity != "I"]
    tree.get(field).value = 5                      # a model_id no profile allows
    assert [(f.rule, f.path) for f in jpegai_fmt.validate(tree) if f.severity == "E"] == [("PRF-004", field)]
    tree.get(field).value = 16                     # does not fit the field
    errors = [f for f in jpegai_fmt.validate(tree) if f.severity == "E"]
    assert len(errors) == 1 and errors[0].path == field and "cannot be written" in errors[0].message
    assert errors[0].bit_offset == tree.get(field).bit_offset


def test_entropy_rules_run_for_a_jai_file_too():
    pytest.importorskip("torch")
    from jpegai_fmt.container import wrap
    raw = (SAMPLE_DIR / "rules" / "thr-004-underrun.jaic").read_bytes()
    for data in (raw, wrap(raw)):
        assert "THR-004" in {f.rule for f in jpegai_fmt.validate(data, entropy=True)}
        assert "THR-004" not in {f.rule for f in jpegai_fmt.validate(data)}


def test_sources_are_bytes_paths_or_binary_files_and_nothing_else(tmp_path):
    path = SAMPLE_DIR / "valid" / "enc-threads-2.jai"
    with open(path, "rb") as fh:
        assert jpegai_fmt.build(jpegai_fmt.parse(fh).get("mdat/item[1]")) == \
            jpegai_fmt.build(jpegai_fmt.parse(path).get("mdat/item[1]"))
    assert jpegai_fmt.extract(str(path), luma_channels=32)[1]["num_chs"]["luma"] == [160, 32]
    with open(path) as text, pytest.raises(jpegai_fmt.JpegAiError, match="binary mode"):
        jpegai_fmt.validate(text)
    with pytest.raises(jpegai_fmt.JpegAiError, match="got int"):
        jpegai_fmt.parse(3)
