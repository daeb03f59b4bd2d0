"""How long `jpegai-inspect` takes to open a 5 MB codestream with 16 threads per payload and
128 regions per component (target: ≤ 1 s), as ratios to parsing the same file and to opening a
73-byte file, both in the same process. Run: python bench/bench_inspector_open.py"""
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import jpegai_fmt  # noqa: E402
from inspector.app import InspectorApp  # noqa: E402
from inspector.document import Document  # noqa: E402
from test_inspector_samples import big_codestream, small_codestream  # noqa: E402

RUNS = 5


def parse_once(data: bytes) -> float:
    start = time.perf_counter()
    jpegai_fmt.parse(data, lenient=True)
    return time.perf_counter() - start


def open_once(data: bytes) -> float:
    """From the bytes to the first painted screen (tree, hex rows, details), validator included."""
    async def go() -> float:
        start = time.perf_counter()
        app = InspectorApp(Document.from_bytes(data, "big.jaic"))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            return time.perf_counter() - start
    return asyncio.run(go())


def main() -> None:
    data = big_codestream()
    parse = statistics.median(parse_once(data) for _ in range(RUNS))
    opened = statistics.median(open_once(data) for _ in range(RUNS))
    small = statistics.median(open_once(small_codestream()) for _ in range(RUNS))
    print(f"file: {len(data)} bytes, {sum(1 for _ in jpegai_fmt.parse(data, lenient=True).walk())} tree nodes")
    print(f"parse (baseline): {parse * 1000:.1f} ms   open to first screen: {opened * 1000:.1f} ms   "
          f"ratio open/parse: {opened / parse:.1f}x   target 1000 ms: {'met' if opened <= 1.0 else 'MISSED'}")
    print(f"open of a 73-byte file: {small * 1000:.1f} ms   ratio 5 MB / 73 B: {opened / small:.2f}x")


if __name__ == "__main__":
    main()
