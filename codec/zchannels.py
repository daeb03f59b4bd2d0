"""Which hyper-latent channels each rate regime fixes: `python -m codec.zchannels` rewrites the z tables in
integer.npz (so the model-set id changes).

Training left 249 of the 256 z channels binary: the hyper-encoder's output sits near a rounding boundary and
the channel's table splits about 50/50, so each costs a bit per position at every rate, about 0.06 bpp in
all: half the stream at the lowest rate, a tenth at the highest. The bits carry information (fixing every
such channel raises the residual's bits by 18-51 % on a validation photo), but at low rates not enough to pay for themselves.
The standard keeps one z table per regime (entropy.md 6.4), so a regime's table can give a channel a single
value; the encoder then sets the channel to it (`pipeline.fixed_z`) and it costs about 0.006 bits a position.

The choice is made on training crops with the shipped networks, at the points the benchmark codes in each
regime (`POINTS`). Cost J = lambda * 255^2 * MSE(RGB) + bpp, with plain rounding, bilinear chroma, exact
residual code lengths and z at its tables' code lengths. Every free channel is fixed alone to its table's
most likely value and ranked by the change in J; channels are then fixed cumulatively in that order, 8 at a
time, and the prefix with the lowest J (mean of the relative change over the regime's points) is kept.
Channels interact (fixing all of them costs far more than the sum of their single costs), hence the second
pass. Channels a table already fixes stay fixed, so running it again only adds channels.

Then every channel a regime leaves free gets its table re-estimated from the values the encoder sends there
(`fitted_tables`): training made one table for all regimes from noisy z, while each regime rounds its own
z. The counts come from other training crops than the choice's, with the table so far as a prior.
"""
from __future__ import annotations

import argparse
import glob
import os
import random

import numpy as np

from . import blas
from .design import LAMBDAS, Z_MAX
from .entropy import tables as tb
from .entropy.coder import SKIP_ROW
from .entropy.hsd import hyper_scale_decode
from .pipeline import FREE_Z, fixed_z
from .weights import INT_FILE, Z_FREQ_TOTAL, integer_model

POINTS = {0: (-400, 0), 1: (0,), 2: (0,), 3: (0, 300)}    # (model_id: BDLs), as bench/rd.py codes them
GROUP = 8                                                   # channels added per step of the cumulative pass
FIT_SEED = 23                                               # the re-estimation's crops: not the choice's (seed 11)
FIT_PRIOR = 16                                              # the table so far counts as this many positions


def one_value_table(value: int) -> np.ndarray:
    """Frequencies (63,) whose 8-bit masses give `value` all 255 (the others 0, escape 1)."""
    f = np.ones(2 * Z_MAX + 1, np.int64)
    f[value + Z_MAX] = Z_FREQ_TOTAL - 2 * Z_MAX
    return f


def z_code_lengths(freqs: np.ndarray) -> np.ndarray:
    """Bits of each z symbol (channels, 63) under the coder's 8-bit masses; an escaped symbol (mass 0) is
    counted as its 8-bit escape plus a 16-bit value, an upper bound."""
    m = tb.z_masses(freqs)[:, :2 * Z_MAX + 1].astype(np.float64)
    return np.where(m > 0, 8 - np.log2(np.maximum(m, 1)), 24.0)


class Crops:
    """Training crops analysed once per operating point, and the RD cost of a choice of fixed z channels."""

    def __init__(self, model, pictures: list[np.ndarray]):
        self.model, self.pictures = model, pictures
        self.im = integer_model()

    def at(self, model_id: int, bdl: int) -> dict:
        import torch

        from . import pipeline as P
        ans = [P.analyse(self.model, rgb, model_id, (bdl, bdl)) for rgb in self.pictures]
        y = [torch.from_numpy(np.stack([an.y[c] for an in ans])) for c in (0, 1)]
        # the regime's z: channels it leaves free hold the hyper-encoder's values, the rest `cost` overrides
        z = [np.stack([an.hyper(model_id).z[c] for an in ans]) for c in (0, 1)]
        src = torch.from_numpy(np.stack(self.pictures)).permute(0, 3, 1, 2).float() / 255
        return {"model_id": model_id, "bdl": bdl, "y": y, "z": z, "src": src}

    def cost(self, point: dict, fixed: list[np.ndarray], freqs: list[np.ndarray]) -> tuple[float, float, float]:
        """(J, bpp, MSE) over the crops with channels fixed per `fixed` (value, or FREE_Z) and z tables `freqs`."""
        import torch
        import torch.nn.functional as F

        from . import pipeline as P
        from .colour import ycbcr_to_rgb
        from .rdoq import code_lengths
        m, bdl = point["model_id"], point["bdl"]
        ents = (self.model.ent_y, self.model.ent_uv)
        bits, y_hat = 0.0, []
        for c in (0, 1):
            z = np.where(fixed[c][None, :, None, None] == FREE_Z, point["z"][c], fixed[c][None, :, None, None])
            lengths = z_code_lengths(freqs[c])
            bits += np.take_along_axis(lengths, (z + Z_MAX).transpose(1, 0, 2, 3).reshape(z.shape[1], -1), 1).sum()
            y = point["y"][c]
            h_lat, w_lat = y.shape[2:]
            with torch.no_grad():
                mu = ents[c].hmd(torch.from_numpy(z).float(), h_lat, w_lat)
            rows = np.stack([P.component_rows(self.im, hyper_scale_decode(zz, self.im.hsd[c], h_lat, w_lat, blas.matmul),
                                                 c, m, bdl)
                             for zz in z])
            step = torch.from_numpy(P.gain_step(self.im.gains[c][m], bdl)).float().view(1, -1, 1, 1)
            r = torch.where(torch.from_numpy(rows != SKIP_ROW), torch.round((y - mu) * step), torch.zeros(()))
            bits += float(code_lengths(rows, r.numpy().astype(np.int64)).sum())
            y_hat.append(mu + r / step)
        with torch.no_grad():
            luma = self.model.syn_y(y_hat[0]) + 0.5
            chroma = F.interpolate(self.model.syn_uv(y_hat[1], y_hat[0]) + 0.5, scale_factor=2, mode="bilinear",
                                   align_corners=False)
            mse = float(((ycbcr_to_rgb(torch.cat([luma, chroma], 1)).clamp(0, 1) - point["src"]) ** 2).mean())
        bpp = bits / point["src"][:, 0].numel()
        return P.operating_lambda(m, bdl) * 255 ** 2 * mse + bpp, bpp, mse


def choose(crops: Crops, model_id: int, log=print) -> tuple[list[np.ndarray], list[dict]]:
    """Per component, the value each channel is fixed to in this regime (or FREE_Z), and what each point's
    cost was before and after."""
    im = crops.im
    base_fixed = [fixed_z(im, c, model_id) for c in (0, 1)]
    base_freqs = [np.array(im.z_freqs[c][model_id]) for c in (0, 1)]
    modes = [base_freqs[c].argmax(1) - Z_MAX for c in (0, 1)]
    points = [crops.at(model_id, bdl) for bdl in POINTS[model_id]]

    def with_fixed(channels):
        fixed, freqs = [f.copy() for f in base_fixed], [f.copy() for f in base_freqs]
        for c, ch in channels:
            fixed[c][ch] = modes[c][ch]
            freqs[c][ch] = one_value_table(int(modes[c][ch]))
        return fixed, freqs

    def relative(channels):
        fixed, freqs = with_fixed(channels)
        return float(np.mean([crops.cost(p, fixed, freqs)[0] / b[0] - 1 for p, b in zip(points, base)]))

    base = [crops.cost(p, base_fixed, base_freqs) for p in points]
    free = [(c, ch) for c in (0, 1) for ch in np.nonzero(base_fixed[c] == FREE_Z)[0]]
    single = {k: relative([k]) for k in free}
    order = sorted(free, key=single.get)
    best, best_n = 0.0, 0
    for n in range(GROUP, len(order) + GROUP, GROUP):
        change = relative(order[:n])
        log(f"model_id {model_id}: {min(n, len(order))} more channels fixed, J {100 * change:+.2f} %")
        if change < best:
            best, best_n = change, n
    fixed, freqs = with_fixed(order[:best_n])
    after = [crops.cost(p, fixed, freqs) for p in points]
    report = [{"bdl": p["bdl"], "bpp": (b[1], a[1]), "psnr": tuple(10 * np.log10(1 / x[2]) for x in (b, a)),
               "J": a[0] / b[0] - 1} for p, b, a in zip(points, base, after)]
    return fixed, report


def training_crops(folder: str, count: int, size: int, seed: int = 11) -> list[np.ndarray]:
    """`count` random size x size crops of as many training photos (seeded: the same crops every run)."""
    from PIL import Image
    paths = sorted(glob.glob(os.path.join(folder, "*.png")))
    rng = random.Random(seed)
    crops = []
    for p in rng.sample(paths, min(count, len(paths))):
        with Image.open(p) as pic:
            rgb = np.asarray(pic.convert("RGB"))
        h, w = rgb.shape[:2]
        y0, x0 = rng.randrange(0, h - size + 1), rng.randrange(0, w - size + 1)
        crops.append(np.ascontiguousarray(rgb[y0:y0 + size, x0:x0 + size]))
    return crops


def write_tables(fixed: dict[int, list[np.ndarray]], path: str = INT_FILE) -> None:
    """integer.npz with one z table per regime, one-value tables where a regime fixes a channel."""
    im = integer_model()
    freqs = [np.array(im.z_freqs[c]) for c in (0, 1)]
    for m, per_component in fixed.items():
        for c in (0, 1):
            for ch in np.nonzero(per_component[c] != FREE_Z)[0]:
                freqs[c][m, ch] = one_value_table(int(per_component[c][ch]))
    save_tables(freqs, path)


def fitted_tables(model, pictures: list[np.ndarray], prior: float = FIT_PRIOR) -> list[np.ndarray]:
    """Per component, the z tables (regimes, C, 63) with every free channel's table re-estimated from the z the
    encoder sends on `pictures` at the regime's points, the current table counting as `prior` positions (it
    keeps rare values codable). Fixed channels keep their one-value tables."""
    from . import pipeline as P
    im = integer_model()
    freqs = [np.array(im.z_freqs[c]) for c in (0, 1)]
    for m in range(len(LAMBDAS)):
        counts = [np.zeros(freqs[c].shape[1:]) for c in (0, 1)]
        for bdl in POINTS[m]:
            for rgb in pictures:
                z = P.analyse(model, rgb, m, (bdl, bdl)).hyper(m).z
                for c in (0, 1):
                    flat = z[c].reshape(z[c].shape[0], -1) + Z_MAX
                    np.add.at(counts[c], (np.arange(flat.shape[0])[:, None], flat), 1)
        for c in (0, 1):
            table = freqs[c][m] / freqs[c][m].sum(1, keepdims=True)
            p = (counts[c] + prior * table) / (counts[c].sum(1, keepdims=True) + prior)
            free = fixed_z(im, c, m) == FREE_Z
            freqs[c][m][free] = np.maximum(np.round(p * Z_FREQ_TOTAL), 1).astype(np.int64)[free]
    return freqs


def save_tables(freqs: list[np.ndarray], path: str = INT_FILE) -> None:
    """Replace the z tables of integer.npz (per component, (regimes, C, 63)), atomically."""
    d = dict(np.load(path))
    for c, name in enumerate(("y", "uv")):
        d[f"{name}.zfreq"] = freqs[c]
    tmp = path[:-len(".npz")] + ".tmp.npz"
    np.savez_compressed(tmp, **d)
    os.replace(tmp, path)
    integer_model.cache_clear()


def main(argv=None) -> None:
    from .weights import load_networks, model_set_id
    ap = argparse.ArgumentParser(prog="python -m codec.zchannels", description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "train"))
    ap.add_argument("--crops", type=int, default=16, help="training photos, one random crop each")
    ap.add_argument("--size", type=int, default=256, help="crop side (a multiple of 64)")
    ap.add_argument("--fit-crops", type=int, default=64,
                    help="training photos (one random crop each) to re-estimate the free channels' tables on; 0: keep them")
    ap.add_argument("--dry-run", action="store_true", help="report the choice, write nothing")
    args = ap.parse_args(argv)
    if args.size % 64:
        ap.error("--size must be a multiple of 64")
    crops = Crops(load_networks(), training_crops(args.train, args.crops, args.size))
    chosen = {}
    for m in range(len(LAMBDAS)):
        chosen[m], report = choose(crops, m)
        n = sum(int((f != FREE_Z).sum()) for f in chosen[m])
        for r in report:
            print(f"model_id {m}, BDL {r['bdl']:+d}: {n} channels fixed; {r['bpp'][0]:.4f} -> {r['bpp'][1]:.4f} bpp, "
                  f"{r['psnr'][0]:.3f} -> {r['psnr'][1]:.3f} dB, J {100 * r['J']:+.2f} %", flush=True)
    if args.dry_run:
        return
    write_tables(chosen)
    if args.fit_crops:
        save_tables(fitted_tables(crops.model, training_crops(args.train, args.fit_crops, args.size, FIT_SEED)))
        print(f"free channels' tables re-estimated on {args.fit_crops} other training crops")
    print(f"{INT_FILE}: model set {model_set_id().hex()}")


if __name__ == "__main__":
    main()
