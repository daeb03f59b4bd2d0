"""Decompression bombs are refused from the header, before any picture-size buffer exists;
the limits follow the level and can be overridden."""
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.limits import LimitError, Limits, check_decode, decode_memory, level_max_samples
from jpegai_fmt.pih import default_fields, parse_pih, build_pih

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def pih(width, height, **kw):
    return parse_pih(build_pih(default_fields(width, height, **kw)))


def bomb(width=65599, height=65599, level=52) -> bytes:
    """A valid-looking ~70-byte stream claiming a huge picture, with our model-set record in UDI."""
    real = (SAMPLES / "valid" / "enc-threads-1.jaic").read_bytes()
    from jpegai_fmt.codestream import parse_codestream
    udi = parse_codestream(real).udi
    return build_codestream(default_fields(width, height, level_idc=level, model_id=2), soz=b"\x80",
                            sorp=[b"\x80"], sors=[b"\x80"], udi=udi)


def test_level_gives_the_default_picture_limit():
    assert level_max_samples(10) == 6_220_800 and level_max_samples(52) == 398_131_200
    assert level_max_samples(99) == 398_131_200              # undefined level: the largest maximum
    check_decode(pih(2560, 2048, level_idc=10))           # 5.2 M samples fit level 1
    with pytest.raises(LimitError, match=r"4096x2048 = 8,388,608 samples exceeds the level 10 maximum of 6,220,800"):
        check_decode(pih(4096, 2048, level_idc=10))
    check_decode(pih(4096, 2048, level_idc=20))


def test_limits_can_be_overridden_per_call_and_per_process(monkeypatch):
    check_decode(pih(4096, 2048, level_idc=10), Limits(max_samples=10_000_000))
    with pytest.raises(LimitError, match="exceeds the limit given of 1,000"):
        check_decode(pih(192, 128), Limits(max_samples=1000))
    with pytest.raises(LimitError, match=r"needs about 0\.2 GiB, above the memory budget of 0\.1 GiB"):
        check_decode(pih(1024, 1024), Limits(memory_bytes=100 << 20))
    monkeypatch.setenv("JPEGAI_FMT_MAX_SAMPLES", "20000")
    with pytest.raises(LimitError, match="limit given of 20,000"):
        check_decode(pih(192, 128))
    monkeypatch.setenv("JPEGAI_FMT_MAX_SAMPLES", "")
    monkeypatch.setenv("JPEGAI_FMT_MEMORY_BUDGET", "10M")
    with pytest.raises(LimitError, match="memory budget of 0.0 GiB"):
        check_decode(pih(192, 128))
    monkeypatch.setenv("JPEGAI_FMT_MEMORY_BUDGET", "lots")
    with pytest.raises(LimitError, match="JPEGAI_FMT_MEMORY_BUDGET='lots' is not a size"):
        check_decode(pih(192, 128))


def test_memory_estimate_grows_with_the_picture():
    assert decode_memory(64, 64) < decode_memory(1024, 1024) < decode_memory(4096, 4096)
    # the default 4 GiB budget covers every level-1 picture
    assert decode_memory(2880, 2160) < Limits().memory_bytes


@pytest.mark.parametrize("size, level, why", [((65599, 65599), 52, "exceeds the level 52 maximum"),
                                              ((16000, 16000), 52, "above the memory budget")])
def test_decode_refuses_a_bomb_without_allocating(size, level, why):
    pytest.importorskip("torch")
    from codec.pipeline import decode, residual_rows
    data = bomb(*size, level=level)
    assert len(data) < 200
    tracemalloc.start()
    t0 = time.perf_counter()
    for fn in (decode, residual_rows):
        with pytest.raises(LimitError, match=why):
            fn(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - t0 < 5 and peak < 20 << 20


def test_extract_and_decode_command_refuse_a_bomb(tmp_path):
    pytest.importorskip("torch")
    from jpegai_fmt.extract import extract
    data = bomb()
    with pytest.raises(LimitError, match="exceeds the level 52 maximum"):
        extract(data, luma_channels=8)
    src, out = tmp_path / "bomb.jaic", tmp_path / "out.png"
    src.write_bytes(data)
    run = subprocess.run([sys.executable, "-m", "jpegai_fmt", "decode", str(src), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "exceeds the level 52 maximum" in run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
    assert src.read_bytes() == data
