"""Integer hyper-scale decoder against a plain int64 loop with explicit 32-bit wrapping at every addition."""
import numpy as np
import pytest

from codec import blas
from codec.entropy.hsd import HSD_MAX, HsdLayer, HsdWeights, conv_int, hyper_scale_decode

# numpy's BLAS (the entropy layer's default) and torch's (what the codec passes, codec/blas.py)
MATMULS = pytest.mark.parametrize("matmul", [np.matmul, blas.matmul], ids=["numpy", "torch"])


def wrap(v):
    return ((v + 2**31) % 2**32) - 2**31


def loop_conv(x, w, b, s):
    cout, cin, k, _ = w.shape
    _, h, wd = x.shape
    x = np.clip(x, -128, 127)
    r = k // 2
    out = np.zeros((cout, h, wd), dtype=np.int64)
    for o in range(cout):
        for y in range(h):
            for xx in range(wd):
                acc = int(b[o])
                for i in range(cin):
                    for dy in range(k):
                        for dx in range(k):
                            yy, xs = y + dy - r, xx + dx - r
                            if 0 <= yy < h and 0 <= xs < wd:
                                acc = wrap(acc + int(w[o, i, dy, dx]) * int(x[i, yy, xs]))
                out[o, y, xx] = acc >> int(s[o])
    return out


def loop_hsd(z, layers, h_lat, w_lat):
    x = np.maximum(loop_conv(z, *layers[0]), 0)
    x = np.maximum(loop_conv(x, *layers[1]), 0)
    x = loop_conv(x, *layers[2])
    c = z.shape[0]
    out = np.zeros((c, 4 * z.shape[1], 4 * z.shape[2]), dtype=np.int64)
    for ch in range(c):
        for i in range(4):
            for j in range(4):
                out[ch, i::4, j::4] = x[16 * ch + 4 * i + j]
    return np.clip(np.abs(out[:, :h_lat, :w_lat]), 0, HSD_MAX)


def random_layers(rng, c, m1, m2, big_bias=False):
    spec = [(m1, c, 1), (m2, m1, 3), (16 * c, m2, 1)]
    layers = []
    for cout, cin, k in spec:
        w = rng.integers(-128, 128, (cout, cin, k, k))
        lim = 2**31 if big_bias else 2**14
        b = rng.integers(-lim, lim, cout)
        s = rng.integers(0, 12, cout)
        layers.append((w, b, s))
    return layers


@pytest.mark.parametrize("seed,c,m1,m2,hz,wz,big", [(0, 2, 3, 4, 2, 3, False), (1, 3, 5, 2, 3, 2, True),
                                                     (2, 1, 2, 2, 1, 1, True)])
@MATMULS
def test_matches_int64_loop(seed, c, m1, m2, hz, wz, big, matmul):
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, c, m1, m2, big)
    z = rng.integers(-200, 200, (c, hz, wz))          # out-of-int8 inputs exercise the clamp
    weights = HsdWeights(*(HsdLayer(*l) for l in layers))
    for h_lat, w_lat in [(4 * hz, 4 * wz), (4 * hz - 3, 4 * wz - 1)]:
        got = hyper_scale_decode(z, weights, h_lat, w_lat, matmul)
        assert got.dtype == np.int32 and got.shape == (c, h_lat, w_lat)
        assert (got == loop_hsd(z, layers, h_lat, w_lat)).all()


def test_wrapping_accumulation_and_shift():
    # 1x1 conv, 4 inputs of 127 × weight 127 plus bias near INT32_MAX wraps negative; shift is arithmetic
    layer = HsdLayer(np.full((1, 4, 1, 1), 127), np.array([2**31 - 1000]), np.array([3]))
    x = np.full((4, 1, 1), 127)
    expect = wrap(2**31 - 1000 + 4 * 127 * 127) >> 3
    assert expect < 0 and conv_int(x, layer)[0, 0, 0] == expect


@MATMULS
def test_wide_layer_exact_in_float_path(matmul):
    """Wide 3x3 layer with extreme operands: the float64 product path stays exact."""
    rng = np.random.default_rng(9)
    w = rng.choice([-128, 127], (2, 64, 3, 3))
    layer = HsdLayer(w, np.array([0, -5]), np.array([0, 1]))
    x = rng.choice([-128, 127], (64, 3, 3))
    assert (conv_int(x, layer, matmul) == loop_conv(x, w, layer.bias, layer.shift)).all()


def test_rejects_bad_weights():
    with pytest.raises(ValueError):
        HsdLayer(np.full((1, 1, 1, 1), 200), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError):
        HsdLayer(np.zeros((1, 1, 1, 1)), np.zeros(1), np.array([32]))
    l1 = HsdLayer(np.zeros((2, 1, 1, 1)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError):
        HsdWeights(l1, l1, l1)


_PROBE = """
import hashlib, numpy as np
from codec.entropy.hsd import HsdLayer, HsdWeights, hyper_scale_decode
rng = np.random.default_rng(4)
c, m = 16, 48
layers = [HsdLayer(rng.integers(-128, 128, (co, ci, k, k)), rng.integers(-2**20, 2**20, co), rng.integers(0, 9, co))
          for co, ci, k in [(m, c, 1), (m, m, 3), (16 * c, m, 1)]]
out = hyper_scale_decode(rng.integers(-31, 32, (c, 9, 11)), HsdWeights(*layers), 33, 41)
print(hashlib.sha256(out.tobytes()).hexdigest())
"""


def test_same_result_in_another_process_with_one_blas_thread():
    import os
    import subprocess
    import sys

    here = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    single = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
                            env=env).stdout
    ns = {}
    exec(_PROBE.replace("print(", "result = ("), ns)
    assert here == single == ns["result"] + "\n"
