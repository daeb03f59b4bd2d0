"""Regenerate the project's residual PMF rows and their tANS decode tables (entropy.md §6.3, §7.6).

The written JSON files are normative; this script documents how they were made and lets a reviewer
reproduce them (`python spec_tables/generate_residual_tables.py`). Tests pin both files by SHA-256.
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SIGMA0, SIGMA_MAX, ROWS = 0.11, 54.82, 32
BOUNDS = [1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 11, 13, 16, 18, 22, 26, 32, 38, 46, 55, 65,
          77, 92, 106, 128]                      # bound_table_r, entropy.md §6.2
QM_OFFSETS_QP = range(-8, 9)                     # entropy.md §5.4


def grid_sigma(k: int) -> float:
    log_k = math.log(SIGMA_MAX / SIGMA0) / 31
    return SIGMA0 * math.exp(log_k * k)


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def residual_row(sigma: float, bound: int) -> list[int]:
    """8-bit masses in symbol order 0, -1, +1, ..., -(b-1), +(b-1), escape (§6.1), by the §6.3 steps."""
    p = [phi((m + 0.5) / sigma) - phi((m - 0.5) / sigma) for m in range(bound)]
    total = p[0] + 2 * sum(p[1:])
    spare = 255 - (2 * bound - 1)
    q = [pm / total * spare for pm in p]
    f = [1 + math.floor(qm) for qm in q]
    left = 255 - (f[0] + 2 * sum(f[1:]))
    if left % 2:
        f[0] += 1
        left -= 1
    order = sorted(range(1, bound), key=lambda m: (-(q[m] - math.floor(q[m])), m))
    for m in order[: left // 2]:
        f[m] += 1
    masses = [f[0]]
    for m in range(1, bound):
        masses += [f[m], f[m]]
    masses.append(1)
    assert min(masses) >= 1 and sum(masses) == 256 and len(masses) == 2 * bound
    return masses


def bitrev8(p: int) -> int:
    return int(f"{p:08b}"[::-1], 2)


def decode_table(masses: list[int]) -> dict[str, list[int]]:
    """§7.6: slot bitrev8(p) gets the symbol owning cumulative position p; per-state (symbol, nbits, base)."""
    owner = [s for s, f in enumerate(masses) for _ in range(f)]
    assert len(owner) == 256
    slot_sym = [0] * 256
    for p, s in enumerate(owner):
        slot_sym[bitrev8(p)] = s
    seen = [0] * len(masses)
    sym, nbits, base = [], [], []
    for j in range(256):
        s = slot_sym[j]
        xs = masses[s] + seen[s]
        seen[s] += 1
        k = 8 - (xs.bit_length() - 1)
        sym.append(s)
        nbits.append(k)
        base.append(xs << k)
    return {"symbol": sym, "nbits": nbits, "base": base}


def write_json(name: str, obj) -> None:
    path = os.path.join(HERE, name)
    fd, tmp = tempfile.mkstemp(dir=HERE, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=1, separators=(",", ": "))
        fh.write("\n")
    os.replace(tmp, path)


def main() -> int:
    rows = [residual_row(grid_sigma(k), BOUNDS[k]) for k in range(ROWS)]
    write_json("residual_pmf.json", {
        "about": "Project residual PMF rows (entropy.md §6.3, PROJECT DECISION): 8-bit masses per row in symbol "
                 "order 0,-1,+1,...,-(b-1),+(b-1),escape; mass total 256; not the reference's literal rows.",
        "bounds": BOUNDS,
        "rows": rows,
    })
    write_json("tans_residual.json", {
        "about": "tANS decode entries per residual row (entropy.md §7.6, PROJECT DECISION): for state 256+j, "
                 "symbol index, number of bits to read, base (next state = base | bits).",
        "rows": [decode_table(r) for r in rows],
    })
    log_k = math.log(SIGMA_MAX / SIGMA0) / 31
    write_json("residual_quality_map.json", {
        "about": "Quality map (entropy.md §5.4): qp -8..8 -> linear step s/16 (VERIFIED) and the project's Iσ "
                 "offset round(qp*32*ln2/log_k) (PROJECT DECISION); SOQ rows per quality_map_entropy_index.",
        "qp": list(QM_OFFSETS_QP),
        "step_x16": [4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 23, 27, 32, 39, 46, 54, 64],
        "sigma_offset": [round(qp * 32 * math.log(2) / log_k) for qp in QM_OFFSETS_QP],
        "entropy_index_rows": [0, 4, 5, 6, 8, 10, 14, 18],
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
