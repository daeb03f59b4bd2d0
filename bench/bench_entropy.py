"""Throughput of the me-tANS residual coder against constriction's ANS coder, same symbols, same process.

    python bench/bench_entropy.py [--symbols 1000000] [--repeat 5]

Symbols: 1 M residuals with realistic σ rows (mostly small: rows ~ gamma(3, 2.5), many elements in rows
0..8), values drawn from the row's Gaussian, plus 0.3 % heavy-tailed outliers (escapes, both widths).
constriction (stack.AnsCoder) gets the same 8-bit probabilities as categorical models; it codes the symbol
indices only (escape payload bits left out) and, to use its fast i.i.d. path, one batch per row, i.e. the
most favourable setup for it. Targets (issue 4): single-thread decode >= 20 M symbols/s and >= constriction.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from codec.entropy import decode_residual, encode_residual
from codec.entropy import tables as tb


def make_symbols(n_pos: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = np.clip(np.round(rng.gamma(3.0, 2.5, n_pos)), 0, 31).astype(np.uint8)
    sigma = 0.11 * np.exp(math.log(54.82 / 0.11) / 31 * rows)
    vals = np.round(rng.normal(0, sigma))
    out = rng.random(n_pos) < 0.003
    vals[out] = np.round(rng.laplace(0, 40 * sigma[out] + 20))
    return vals.astype(np.int32), rows


def best_time(fn, repeat: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def ideal_bits(vals: np.ndarray, rows: np.ndarray) -> tuple[float, np.ndarray]:
    b = np.array(tb.residual_bounds())[rows]
    a = np.abs(vals.astype(np.int64))
    sym = np.where(a >= b, 2 * b - 1, np.where(vals < 0, 2 * a - 1, 2 * a))
    masses = tb.residual_tables().masses
    escape_bits = np.where(a >= b, np.where(a - b < 4, 4, 17), 0)
    return float(-np.log2(masses[rows, sym] / 256).sum() + escape_bits.sum()), sym


def bench_constriction(sym: np.ndarray, rows: np.ndarray, repeat: int):
    import constriction

    masses = tb.residual_tables().masses
    groups = []
    for r in range(tb.NUM_ROWS):
        sel = sym[rows == r].astype(np.int32)
        if sel.size:
            nsym = 2 * tb.residual_bounds()[r]
            model = constriction.stream.model.Categorical(masses[r, :nsym] / 256.0, perfect=False)
            groups.append((sel, model))

    def enc():
        coder = constriction.stream.stack.AnsCoder()
        for sel, model in reversed(groups):
            coder.encode_reverse(sel, model)
        return coder.get_compressed()

    t_enc, compressed = best_time(enc, repeat)

    def dec():
        coder = constriction.stream.stack.AnsCoder(compressed)
        return [coder.decode(model, sel.size) for sel, model in groups]

    t_dec, decoded = best_time(dec, repeat)
    assert all((d == sel).all() for d, (sel, _) in zip(decoded, groups))
    return t_enc, t_dec, compressed.size * 32


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    vals, rows = make_symbols(args.symbols)
    n_pos = vals.size
    ideal, sym = ideal_bits(vals, rows)
    escapes = int((sym == 2 * np.array(tb.residual_bounds())[rows] - 1).sum())
    print(f"{n_pos} symbols, mean row {rows.mean():.2f}, {escapes} escapes, ideal {ideal / n_pos:.4f} bit/symbol")
    print(f"{'coder':<26}{'encode Msym/s':>15}{'decode Msym/s':>15}{'size vs ideal':>15}")
    results = {}
    for n in (1, 8):
        t_enc, ranges = best_time(lambda n=n: encode_residual(vals, rows, n), args.repeat)
        t_dec, (dec, _) = best_time(lambda n=n, ranges=ranges: decode_residual(ranges, rows, n), args.repeat)
        assert (dec == vals).all()
        bits = 8 * sum(map(len, ranges))
        results[n] = (t_enc, t_dec)
        print(f"{f'me-tANS, {n} thread(s)':<26}{n_pos / t_enc / 1e6:>15.1f}{n_pos / t_dec / 1e6:>15.1f}"
              f"{(bits / ideal - 1) * 100:>+14.2f}%")
    try:
        c_enc, c_dec, c_bits = bench_constriction(sym, rows, args.repeat)
    except ImportError:
        print("constriction not installed: no baseline")
        return 0
    print(f"{'constriction AnsCoder':<26}{n_pos / c_enc / 1e6:>15.1f}{n_pos / c_dec / 1e6:>15.1f}"
          f"{'(no escape bits)':>15}")
    t_enc, t_dec = results[1]
    print(f"ratio me-tANS(1 thread) / constriction: encode {c_enc / t_enc:.2f}x, decode {c_dec / t_dec:.2f}x")
    print(f"target single-thread decode >= 20 Msym/s: {'met' if n_pos / t_dec >= 20e6 else 'MISSED'}; "
          f">= constriction: {'met' if t_dec <= c_dec else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
