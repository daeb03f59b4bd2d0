"""Residual rows, tANS tables and quality-map table: pinned data and the §6.3 / §7.6 constructions."""
import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from codec.entropy import tables as tb

SPEC = Path(__file__).resolve().parent.parent / "spec_tables"
PINS = {
    "residual_pmf.json": "cf49f1e4a880d6f1af33bce750d0f47328d622c459baa06efd1a58d474b78dba",
    "tans_residual.json": "b34e35af53705c0419e14df9d832d7bbb10ed56d8499454cd59ceb714f75c5b4",
    "residual_quality_map.json": "4142e7a98b34e94a5f0d68cedfefa48ab6514a8dd98f822ff79da09801ca052b",
}
BOUNDS = [1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 11, 13, 16, 18, 22, 26, 32, 38, 46, 55, 65, 77, 92,
          106, 128]


def test_stored_tables_match_pins():
    for name, digest in PINS.items():
        assert hashlib.sha256((SPEC / name).read_bytes()).hexdigest() == digest, name


def test_generator_reproduces_stored_tables(tmp_path):
    script = (SPEC / "generate_residual_tables.py").read_text()
    copy = tmp_path / "gen.py"
    copy.write_text(script)
    subprocess.run([sys.executable, str(copy)], check=True, cwd=tmp_path)
    for name, digest in PINS.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name


def test_rows_follow_layout():
    rows = tb.residual_rows()
    assert list(tb.residual_bounds()) == BOUNDS
    for k, row in enumerate(rows):
        b = BOUNDS[k]
        assert len(row) == 2 * b and sum(row) == 256 and min(row) >= 1 and row[-1] == 1
        assert all(row[2 * m - 1] == row[2 * m] for m in range(1, b))      # symmetric pairs
    assert rows[0] == (255, 1) and rows[31] == (1,) * 256


def test_rows_close_to_gaussian():
    """Excess of the stored row's cross-entropy over the entropy of the discretised Gaussian (escape mass
    included): small where 8-bit masses can follow the Gaussian (rows <= 22), bounded everywhere (row 31,
    σ = 54.8, is nearly uniform over 255 values by construction)."""
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))
    for k, row in enumerate(tb.residual_rows()):
        sigma = 0.11 * math.exp(math.log(54.82 / 0.11) / 31 * k)
        b = BOUNDS[k]
        p = [phi((m + .5) / sigma) - phi((m - .5) / sigma) for m in range(b)]
        probs = [p[0]] + [p[(i + 1) // 2] for i in range(1, 2 * b - 1)]
        esc = max(0.0, 1 - sum(probs))
        h = -sum(q * math.log2(q) for q in probs + [esc] if q > 0)
        ce = -sum(q * math.log2(row[i] / 256) for i, q in enumerate(probs)) + esc * 8
        assert ce - h <= (0.035 if k <= 22 else 0.31), (k, h, ce)


def test_decode_entries_match_stored_and_spread():
    stored = json.loads((SPEC / "tans_residual.json").read_text())["rows"]
    t = tb.residual_tables()
    for k, row in enumerate(tb.residual_rows()):
        e = t.dtab[k]
        assert ((e & 511).tolist(), ((e >> 9) & 15).tolist()) == (stored[k]["base"], stored[k]["nbits"])
        sym = tb.decode_entries(np.array(row))[0]
        assert sym.tolist() == stored[k]["symbol"]
        assert np.bincount(sym, minlength=len(row)).tolist() == list(row)   # each symbol owns f_s slots
        assert ((e & 511) >= 256).all() and ((e & 511) + (1 << ((e >> 9) & 15)) <= 512).all()
    # slot bitrev8(p) holds the owner of position p: row 3 = (249, 3, 3, 1), position 255 is the escape
    assert stored[3]["symbol"][255] == 3 and stored[3]["symbol"][127] == 2


def test_z_masses_rounding_rule():
    f = np.zeros((2, 63), dtype=np.int64)
    f[0, :] = 1                      # T = 63: cdf_i = floor((255 i + 31) / 63)
    f[1, 0], f[1, 62] = 1000, 1      # symbol 62 gets an empty interval
    m = tb.z_masses(f)
    cdf = [(255 * i + 31) // 63 for i in range(64)]
    assert m[0, :63].tolist() == [cdf[i + 1] - cdf[i] for i in range(63)]
    assert m[1, 0] == 255 and m[1, 62] == 0 and m[1, 63] == 1 and (m.sum(axis=1) == 256).all()


def test_quality_map_table():
    q = tb.quality_map_table()
    assert q["sigma_offset"][0] == -886 and q["sigma_offset"][-1] == 886 and q["sigma_offset"][8] == 0
    assert q["step_x16"] == [math.ceil(16 * 2 ** (qp / 4)) for qp in range(-8, 9)]
