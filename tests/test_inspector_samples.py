"""Sample files for the inspector tests and bench: built with the project's own writer,
so they are valid (or damaged on purpose) and cost nothing to make."""
from jpegai_fmt.codestream import build_codestream, parse_codestream
from jpegai_fmt.container import wrap
from jpegai_fmt.layout import build_dependent_residual, build_memory
from jpegai_fmt.pih import default_component, default_fields


def small_codestream() -> bytes:
    """640×480, one thread everywhere, with a UDI segment."""
    return build_codestream(default_fields(640, 480), soz=b"\x05" * 6, sorp=[b"\x01" * 10],
                            sors=[b"\x02" * 8], udi=b"user")


def small_container() -> bytes:
    return wrap(small_codestream())


def truncated_codestream() -> bytes:
    """The small codestream cut inside its last payload: SOZ and EOC are lost."""
    return small_codestream()[:-12]


def invalid_codestream() -> bytes:
    """SOZ announces two threads but its size prefix is unreadable: an error node in SOZ."""
    fields = default_fields(640, 480, multi_threading_z=1, log2_num_threads_z_minus1=0)
    return build_codestream(fields, soz=b"\x00", sorp=[b"\x01"], sors=[b"\x01"])


def _memory(size: int, threads: int = 16) -> bytes:
    return build_memory([bytes([1 + t % 250]) * size for t in range(threads)])


def big_codestream() -> bytes:
    """4096×4096, 16 threads in every payload, 16×8 = 128 dependent regions per component:
    just over 5 MB and 4 000+ tree nodes (the speed target of the inspector)."""
    comp = [default_component(c, multi_threading_r=1, log2_num_threads_r_minus1=3) for c in (0, 1)]
    fields = default_fields(4096, 4096, region_partitioning_flag=1, num_ver_splits_minus1=15,
                            num_hor_splits_minus1=7, region_residual_in_its_own_substream_flag=0,
                            hyper_decoder_overlap_in_latent_samples=0, mcm_overlap_in_latent_samples=0,
                            multi_threading_z=1, log2_num_threads_z_minus1=3, component=comp)
    sorp = build_dependent_residual([_memory(1600) for _ in range(128)])
    sors = build_dependent_residual([_memory(900) for _ in range(128)])
    return build_codestream(fields, soz=_memory(2000), sorp=[sorp], sors=[sors])


def test_big_sample_has_the_shape_the_speed_target_names():
    data = big_codestream()
    assert len(data) >= 5_000_000
    tree = parse_codestream(data).node
    assert len(tree.get("SORS").children) == 4 + 128
    assert tree.get("SORP/region[127]/thread[15]").bit_length == 8 * 1600
    assert tree.get("SOZ/thread[15]") is not None


def test_truncated_sample_is_damaged():
    cs = parse_codestream(truncated_codestream(), tolerant=True)
    assert "SEG-003" in [f.rule for f in cs.findings()]
    cs = parse_codestream(invalid_codestream(), tolerant=True)
    assert [n.kind for n in cs.node.get("SOZ").children][-1] == "error"
