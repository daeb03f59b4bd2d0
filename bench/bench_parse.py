"""Parse + validate speed of a ~1 MB codestream: 16 threads in every ANS memory and
4x4 dependent regions (target: median <= 20 ms), printed beside the time to read the
same file from disk, as a ratio measured in the same process.

Run: python bench/bench_parse.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time

from jpegai_fmt import validate
from jpegai_fmt.api import read_codestream
from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.layout import build_dependent_residual, build_memory
from jpegai_fmt.pih import default_component, default_fields

THREADS = 16
GRID = 4


def make_stream(target: int = 1 << 20, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    per_thread = target // (2 * GRID * GRID * THREADS + THREADS)

    def memory() -> bytes:
        return build_memory([rng.randbytes(per_thread + rng.randrange(-50, 50)) for _ in range(THREADS)])

    comp = dict(multi_threading_r=1, log2_num_threads_r_minus1=3)
    pih = default_fields(3840, 2160, multi_threading_z=1, log2_num_threads_z_minus1=3,
                         region_partitioning_flag=1, num_ver_splits_minus1=GRID - 1, num_hor_splits_minus1=GRID - 1,
                         region_residual_in_its_own_substream_flag=0, hyper_decoder_overlap_in_latent_samples=1,
                         mcm_overlap_in_latent_samples=1,
                         component=[default_component(0, **comp), default_component(1, **comp)])
    residual = [build_dependent_residual([memory() for _ in range(GRID * GRID)]) for _ in range(2)]
    return build_codestream(pih, soz=memory(), sorp=[residual[0]], sors=[residual[1]])


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    data = make_stream()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.jaic")
        with open(path, "wb") as fh:
            fh.write(data)

        def read() -> bytes:
            with open(path, "rb") as fh:
                return fh.read()
        cs = read_codestream(data)
        threads = sum(1 for n in cs.node.walk() if n.name.startswith("thread["))
        assert not [f for f in validate(path) if f.severity != "I"], "the benchmark stream must be valid"
        read_ms = median_ms(read, args.runs)
        parse_ms = median_ms(lambda: read_codestream(read()), args.runs)
        validate_ms = median_ms(lambda: validate(path), args.runs)
    print(f"stream: {len(data):,} bytes, {threads} thread ranges, {GRID}x{GRID} dependent regions, "
          f"{THREADS} threads per memory")
    print(f"read file from disk        median {read_ms:8.3f} ms")
    print(f"parse + validate (tree)    median {parse_ms:8.3f} ms  ({parse_ms / read_ms:6.1f} x read)")
    print(f"validate(path) -> findings median {validate_ms:8.3f} ms  ({validate_ms / read_ms:6.1f} x read)")
    print(f"target <= 20 ms: {'met' if max(parse_ms, validate_ms) <= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
