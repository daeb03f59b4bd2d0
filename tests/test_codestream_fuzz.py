"""Damaged codestreams give project errors or findings, never other exceptions."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jpegai_fmt.codestream import build_codestream, parse_codestream
from jpegai_fmt.errors import JpegAiError, TruncatedError
from jpegai_fmt.layout import build_dependent_residual, build_memory
from jpegai_fmt.pih import build_pih, default_component, default_fields, parse_pih
from jpegai_fmt.ton import parse_ton

BASE = build_codestream(
    default_fields(700, 300, multi_threading_z=1, log2_num_threads_z_minus1=1, region_partitioning_flag=1,
                   num_ver_splits_minus1=0, num_hor_splits_minus1=1, region_residual_in_its_own_substream_flag=0,
                   hyper_decoder_overlap_in_latent_samples=1, mcm_overlap_in_latent_samples=1,
                   s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1, c_hor_minus1=1,
                   component=[default_component(0, use_cube_flags=1, cube_groups=[{"cube_group_flag": 0}] * 3,
                                                grfs_enable_flag=1, grfs_channel_flag=[1] * 160),
                              default_component(1, synthesis_tile_enable=1, synthesis_tile_size=8,
                                                synthesis_tile_overlap=2)]),
    soz=build_memory([b"\x03" * 5] * 4), sorp=[build_dependent_residual([b"\x01" * 4, b"\x02" * 6])],
    sors=[build_dependent_residual([b"\x01" * 2, b"\x02" * 3])], udi=b"xyz")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), min_size=1, max_size=4),
       st.integers(0, len(BASE)))
def test_mutated_streams(edits, cut):
    data = bytearray(BASE)
    for pos, value in edits:
        data[pos] = value
    data = bytes(data[:max(cut, 2)])
    try:
        parse_codestream(data)
    except JpegAiError:
        pass
    cs = parse_codestream(data, tolerant=True) if data[:2] == b"\xff\x80" else None
    if cs is not None:              # the one tree every view shares stays well-formed on damaged input
        for parent in cs.node.walk():
            assert parent.bit_length >= 0
            for child in parent.children:
                assert parent.bit_offset <= child.bit_offset
                assert child.bit_offset + child.bit_length <= min(parent.bit_offset + parent.bit_length, 8 * len(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_after_magic(tail):
    try:
        parse_codestream(b"\xff\x80\xff\x82" + tail)
    except JpegAiError:
        pass
    parse_codestream(b"\xff\x80\xff\x82" + tail, tolerant=True)


def test_huge_icci_tile_grid_fails_fast_on_a_short_payload():
    """65599x65599 with 16-sample eICCI tiles is ~16.8M tiles; a short TON must stop at its end."""
    pih = parse_pih(build_pih(default_fields(65599, 65599, s_ver_minus1=0, s_hor_minus1=0,
                                             c_ver_minus1=0, c_hor_minus1=0)))
    # lsbs 00, EFE 0, icci 1, tiling 1, size 00000001, overlap 00000, then 3 zero bits per tile
    payload = bytes([0b0001_1000, 0b0000_1000, 0]) + bytes(100)
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TruncatedError) as e:
        parse_ton(payload, pih)
    assert "icci_tile[" in e.value.path
    # the tiles are counted, never listed (a list of 17M tile pairs took 5 GB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200 * 1024      # kB
