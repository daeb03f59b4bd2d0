"""EFE linear, the TON tool that turns the decoded 4:2:0 chroma into full-resolution chroma with weights the
encoder fits for each picture (codestream.md §6).

The syntax sends, per chroma plane, four polyphase L x L filters on the decoded chroma and one L x L filter
on the decoded luma; how the reference applies them is not public. Our reading (PROJECT DECISION, recorded in
docs/codestream-syntax.md), for output sample (2i+a, 2j+b) of a plane whose filter set 0 entry is on:

    C(2i+a, 2j+b) = m + sum w[2a+b][u][v] * (C'(i+u, j+v) - m) + sum k[u][v] * Y'(2i+a+u, 2j+b+v)

with C', Y' the decoded planes in [0, 1], u and v over O(L) = -floor((L-1)/2) .. floor(L/2), edge samples
repeated, m = B1 / 100 / 255, weight = (code - 32767) / 2^11, codes = value + minSymbol. Only partition
candidate 1 (one region, the whole picture) is defined; filter set 1 stays empty. A plane without a filter is
up-sampled bilinearly, exactly as when the tool is off.

The encoder fits the weights by least squares. The target is not the source chroma but the chroma that
minimises the RGB error given the luma error the decoder will make (RGB mixes both, so chroma can cancel part
of the luma error); a plane keeps its filter only where the distortion saved is worth the bits at the
operating point's lambda.
"""
from __future__ import annotations

import numpy as np

from jpegai_fmt.errors import DecodeError

from . import blas
from .colour import KB, KG, KR

CODE_ZERO = 32767
FRAC_BITS = 11
MAX_LENGTH = 4                    # the longest filter the port accepts (TON-002 warns above)
PHASES = 4
# d(R, G, B) / d(Cb, Cr) of the BT.709 inverse transform (codec.colour)
_RGB_FROM_CHROMA = np.array([[0.0, 2 * (1 - KR)],
                             [-KB * 2 * (1 - KB) / KG, -KR * 2 * (1 - KR) / KG],
                             [2 * (1 - KB), 0.0]])
# RGB squared error per unit of Cb, Cr error, and the chroma error that best cancels a unit luma error
_Q = _RGB_FROM_CHROMA.T @ _RGB_FROM_CHROMA
RGB_WEIGHT = np.diag(_Q).copy()
LUMA_CANCEL = -np.linalg.solve(_Q, _RGB_FROM_CHROMA.sum(0))


def offsets(length: int) -> range:
    return range(-((length - 1) // 2), length // 2 + 1)


def check_supported(ton: dict | None) -> None:
    """Refuse (DecodeError at TON) tools whose decoding this model set does not define, instead of silently
    ignoring them."""
    if not ton:
        return
    names = [n for n, on in (("LSBS", any(ton.get("lsbs_enable_flag", (0, 0)))),
                             ("eICCI", ton.get("icci_enable_flag")),
                             ("nonlinear EFE", ton.get("EFE_nonlinear_filter_enabled_flag")),
                             ("LEF", ton.get("LEF_enabled_flag"))) if on]
    if ton.get("EFE_linear_filter_enabled_flag"):
        sets = ton["filter_set"]
        if any(sets[1]["best_cand_idx"]):
            names.append("EFE linear filter set 1")
        for plane, idx in enumerate(sets[0]["best_cand_idx"]):
            if idx not in (0, 1):
                names.append(f"EFE linear partition candidate {idx} (plane {'UV'[plane]})")
            elif idx and not 1 <= sets[0][f"fL_{plane}"] <= MAX_LENGTH:
                names.append(f"EFE linear filter length {sets[0][f'fL_{plane}']} (plane {'UV'[plane]})")
    if names:
        raise DecodeError(f"TON enables {', '.join(names)}, which this model set does not decode", path="TON")


def plane_weights(ton: dict, plane: int) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(m, chroma weights (4, L, L), luma weights (L, L)) of a plane's filter, or None where it is off."""
    if not ton or not ton.get("EFE_linear_filter_enabled_flag"):
        return None
    fs = ton["filter_set"][0]
    if fs["best_cand_idx"][plane] != 1:
        return None
    length = fs[f"fL_{plane}"]
    codes = np.asarray(fs["weights_" + "uv"[plane]], np.int64) + fs["minSymbol"]
    w = (codes - CODE_ZERO) / float(1 << FRAC_BITS)
    taps = length * length
    return (ton["B1"][plane] / 100.0 / 255.0, w[:PHASES * taps].reshape(PHASES, length, length),
            w[PHASES * taps:].reshape(length, length))


def upsample(ton: dict | None, luma, chroma):
    """Decoded Y (B,1,H,W) and Cb, Cr (B,2,H/2,W/2) -> full-resolution Cb, Cr (B,2,H,W)."""
    import torch
    import torch.nn.functional as F

    from .colour import upsample_420
    planes = []
    for c in (0, 1):
        pw = plane_weights(ton, c)
        if pw is None:
            planes.append(upsample_420(chroma[:, c:c + 1]))
            continue
        m, wc, wy = pw
        length = wy.shape[0]
        pad = ((length - 1) // 2, length // 2) * 2
        kc = torch.from_numpy(wc).to(chroma.dtype).unsqueeze(1)
        ky = torch.from_numpy(wy).to(luma.dtype).view(1, 1, length, length)
        up = F.pixel_shuffle(F.conv2d(F.pad(chroma[:, c:c + 1] - m, pad, mode="replicate"), kc), 2)
        planes.append(m + up + F.conv2d(F.pad(luma, pad, mode="replicate"), ky))
    return torch.cat(planes, 1)


# ------------------------------------------------------------------------------------------- encoder

def _normal_equations(luma, chroma, targets, means, size, rows=16):
    """Per plane, per phase, the Gram matrix, right-hand side and target energy of the longest filter's
    features (the plane's chroma taps, then luma taps, over O(MAX_LENGTH)), over the display area; float64, in
    row chunks. Both planes are gathered in one pass, since their luma taps are the same samples: each chunk's
    features (Cb taps, Cr taps, luma taps) and the two targets are the rows of one preallocated matrix whose own
    Gram matrix holds every product either plane needs (about 30 % faster than stacking the features as
    columns, and half the work of one pass per plane)."""
    h, w = size
    off = offsets(MAX_LENGTH)
    lo, hi = -off[0], off[-1]
    taps = len(off) ** 2
    cps = [np.pad(chroma[c] - means[c], ((lo, hi), (lo, hi)), mode="edge") for c in (0, 1)]
    yp = np.pad(luma, ((lo, hi), (lo, hi)), mode="edge")
    n_rows = 3 * taps + 2
    plane_rows = [np.r_[c * taps:(c + 1) * taps, 2 * taps:3 * taps] for c in (0, 1)]
    gram = np.zeros((2, PHASES, 2 * taps, 2 * taps))
    rhs = np.zeros((2, PHASES, 2 * taps))
    energy = np.zeros((2, PHASES))
    buf = np.empty(n_rows * rows * ((w + 1) // 2))
    for a in (0, 1):
        for b in (0, 1):
            p = 2 * a + b
            ni, nj = (h - a + 1) // 2, (w - b + 1) // 2      # half-res positions whose sample is displayed
            for i0 in range(0, ni, rows):
                i1 = min(ni, i0 + rows)
                x = buf[:n_rows * (i1 - i0) * nj].reshape(n_rows, i1 - i0, nj)
                features = [cp[lo + i0 + u:lo + i1 + u, lo + v:lo + nj + v] for cp in cps for u in off for v in off]
                features += [yp[lo + 2 * i0 + a + u:lo + 2 * i1 + a + u:2, lo + b + v:lo + 2 * nj + b + v:2]
                             for u in off for v in off]
                features += [targets[c][2 * i0 + a:2 * i1 + a:2, b:2 * nj + b:2] - means[c] for c in (0, 1)]
                for k, feature in enumerate(features):
                    x[k] = feature
                x = x.reshape(n_rows, -1)
                full = blas.matmul(x, x.T)
                for c in (0, 1):
                    t = 3 * taps + c
                    gram[c, p] += full[np.ix_(plane_rows[c], plane_rows[c])]
                    rhs[c, p] += full[plane_rows[c], t]
                    energy[c, p] += full[t, t]
    return [(gram[c], rhs[c], energy[c]) for c in (0, 1)]


def _select(length: int) -> np.ndarray:
    """Indices of O(length)'s chroma and luma taps among the longest filter's features."""
    off = list(offsets(MAX_LENGTH))
    keep = [off.index(u) * len(off) + off.index(v) for u in offsets(length) for v in offsets(length)]
    return np.array(keep + [len(off) ** 2 + k for k in keep])


def _fit_plane(gram, rhs, energy, length):
    """Least-squares weights for one filter length: (codes in coding order, squared error with them)."""
    sel = _select(length)
    taps = length * length
    n = PHASES * taps + taps
    a = np.zeros((n, n))
    r = np.zeros(n)
    for p in range(PHASES):
        idx = np.r_[p * taps:(p + 1) * taps, PHASES * taps:n]
        a[np.ix_(idx, idx)] += gram[p][np.ix_(sel, sel)]
        r[idx] += rhs[p][sel]
    w = np.linalg.solve(a + 1e-9 * np.trace(a) / n * np.eye(n), r)
    codes = np.clip(np.rint(w * (1 << FRAC_BITS)) + CODE_ZERO, 0, 65535).astype(np.int64)
    wq = (codes - CODE_ZERO) / float(1 << FRAC_BITS)
    return codes, float(energy.sum() - 2 * wq @ r + wq @ a @ wq)


def _bilinear_error(chroma, target, size) -> float:
    import torch

    from .colour import upsample_420
    h, w = size
    up = upsample_420(torch.from_numpy(np.ascontiguousarray(chroma, np.float32))[None, None])[0, 0].numpy()
    return float(((up[:h, :w].astype(np.float64) - target[:h, :w]) ** 2).sum())


def _set_bits(codes: dict[int, np.ndarray]) -> int:
    """Bits of filter set 0 holding these planes' codes (fL, minSymbol, maxSymbol, b(maxSymbol) weights)."""
    bits = 8 + 4 * len(codes) + 32
    if codes:
        allc = np.concatenate(list(codes.values()))
        bits += len(allc) * int(allc.max() - allc.min()).bit_length()
    return bits


def _fields(choice: tuple[int, int], options, means) -> dict:
    """TON fields for filter lengths (U, V) taken from `options` (0 = plane off)."""
    fields = {"EFE_linear_filter_enabled_flag": int(any(choice))}
    if not any(choice):
        return fields
    codes = {c: options[c][ln][0] for c, ln in enumerate(choice) if ln}
    lo = int(min(x.min() for x in codes.values()))
    hi = int(max(x.max() for x in codes.values()))
    set0 = {"best_cand_idx": [int(bool(ln)) for ln in choice], "minSymbol": lo, "maxSymbol": hi - lo}
    for c, ln in enumerate(choice):
        if ln:
            set0[f"fL_{c}"] = ln
            set0["weights_" + "uv"[c]] = [int(v) - lo for v in codes[c]]
    fields["B1"] = means
    fields["filter_set"] = [set0, {"best_cand_idx": [0, 0], "minSymbol": 0, "maxSymbol": 0}]
    return fields


def _bits(choice: tuple[int, int], options) -> int:
    """TON bits the choice adds to the all-off header: B1, filter set 0, the empty filter set 1."""
    on = {c: options[c][ln][0] for c, ln in enumerate(choice) if ln}
    return 30 + _set_bits(on) + 40 if on else 0


def _rgb8(ycc):
    """(B, 3, H, W) YCbCr in [0, 1] -> 8-bit RGB, as the decoder writes it."""
    import torch

    from .colour import ycbcr_to_rgb
    return (ycbcr_to_rgb(ycc).clamp(0, 1) * 255).round().to(torch.uint8)


def _decoded_rgb_error(fields: dict, luma: np.ndarray, chroma: np.ndarray, source_rgb8, rows: int = 256) -> float:
    """Squared error (samples in [0, 1]) of the 8-bit RGB the decoder outputs with these TON fields against
    the source's 8-bit RGB (3, h, w) of the displayed area, in stripes of `rows` picture rows with a halo wider
    than the filter's reach, so memory stays small."""
    import torch
    h, w = source_rgb8.shape[1:]
    halo = 2 * MAX_LENGTH                 # picture rows; the filter reaches 2 chroma rows = 4 picture rows
    total = 0
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        a, b = max(0, r0 - halo), min(luma.shape[0], (r1 + halo + 1) // 2 * 2)     # even: whole chroma rows
        y = torch.from_numpy(np.ascontiguousarray(luma[a:b]))[None, None]
        uv = torch.from_numpy(np.ascontiguousarray(chroma[:, a // 2:b // 2]))[None]
        out = _rgb8(torch.cat([y, upsample(fields, y, uv)], 1))[0, :, r0 - a:r1 - a, :w]
        total += int(((out.int() - source_rgb8[:, r0:r1].int()) ** 2).sum())
    return total / 255.0 ** 2


def fit(luma: np.ndarray, chroma: np.ndarray, source_ycc: np.ndarray, size: tuple[int, int], lam: float) -> dict:
    """TON fields for this picture (over the all-off default): EFE linear with the filters that pay for
    themselves, or the tool off.

    luma (H, W) and chroma (2, H/2, W/2) are the decoded planes, source_ycc (3, H, W) the source in YCbCr,
    size the displayed (height, width), lam the operating point's lambda in lambda * 255^2 * MSE(RGB) + bpp;
    costs are compared in bits for the whole picture. The filter lengths are chosen on the least-squares
    error; whether each plane's filter is sent is then decided on the decoder's real 8-bit RGB output, since
    clipping hides part of the chroma error (by a third on a bright validation crop)."""
    import torch
    h, w = size
    luma_err = luma[:h, :w].astype(np.float64) - source_ycc[0, :h, :w]
    scale = lam * 255.0 ** 2 / 3.0            # RGB squared error (summed) -> bits
    targets = [source_ycc[1 + c, :h, :w] + LUMA_CANCEL[c] * luma_err for c in (0, 1)]
    means = [round(float(source_ycc[1 + c, :h, :w].mean()) * 255.0 * 100.0) for c in (0, 1)]
    systems = _normal_equations(luma, chroma, targets, [m / 100.0 / 255.0 for m in means], size)
    options = []
    for c, (gram, rhs, energy) in enumerate(systems):
        opts = {0: (None, scale * RGB_WEIGHT[c] * _bilinear_error(chroma[c], targets[c], size))}
        for length in range(1, MAX_LENGTH + 1):
            codes, sse = _fit_plane(gram, rhs, energy, length)
            opts[length] = (codes, scale * RGB_WEIGHT[c] * sse)
        options.append(opts)
    best = min(((lu, lv) for lu in options[0] for lv in options[1]),
               key=lambda ch: options[0][ch[0]][1] + options[1][ch[1]][1] + _bits(ch, options))
    if not any(best):
        return _fields(best, options, means)
    source_rgb8 = _rgb8(torch.from_numpy(np.ascontiguousarray(source_ycc[None, :, :h, :w])))[0]
    real = {ch: scale * _decoded_rgb_error(_fields(ch, options, means), luma, chroma, source_rgb8)
            + _bits(ch, options) for ch in {(0, 0), (best[0], 0), (0, best[1]), best}}
    return _fields(min(real, key=real.get), options, means)
