"""Index-guided extraction of a ~1 MB stream versus a plain file copy, measured in the same process.

Target (issue 6): median extraction time <= 20 ms. The stream is synthetic (random σ rows and residuals
coded with the project's me-tANS coder, plus the project's UDI channel index): extraction is pure byte
work, so only the stream's layout and size matter, not the picture.

    python bench/bench_extract.py [--runs 30] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from test_extract_core import make_stream  # noqa: E402

from jpegai_fmt.extract import extract  # noqa: E402


def median_ms(work, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1, help="residual threads per component (1..16)")
    args = ap.parse_args()
    data, _ = make_stream(1920, 1080, num_chs=(160, 96), threads=(args.threads, args.threads), skip=0.2,
                          scale=1.2, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.jaic"), os.path.join(tmp, "out.jaic")
        with open(src, "wb") as fh:
            fh.write(data)
        copy = median_ms(lambda: shutil.copyfile(src, dst), args.runs)

        def read_extract_write():
            with open(src, "rb") as fh:
                out, _ = extract(fh.read(), luma_channels=80, chroma_channels=48)
            with open(dst, "wb") as fh:
                fh.write(out)
        in_memory = median_ms(lambda: extract(data, luma_channels=80, chroma_channels=48), args.runs)
        with_io = median_ms(read_extract_write, args.runs)
    out, report = extract(data, luma_channels=80, chroma_channels=48)
    print(f"stream: 1920x1080, {len(data)} bytes, {args.threads} thread(s) per component, "
          f"luma 160 -> 80, chroma 96 -> 48: {len(out)} bytes ({report['method']})")
    print(f"plain file copy          {copy:8.2f} ms (median of {args.runs})")
    print(f"extract, in memory       {in_memory:8.2f} ms   {in_memory / copy:6.1f} x copy")
    print(f"extract, read + write    {with_io:8.2f} ms   {with_io / copy:6.1f} x copy")
    print(f"target <= 20 ms median:  {'met' if in_memory <= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
