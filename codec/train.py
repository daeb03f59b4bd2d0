"""Train the codec: `python -m codec.train --minutes 30 --out runs/main`.

Rate-distortion loss over the four rate regimes (model_id 0..3, one lambda each), nested channel dropout
so that channel prefixes decode well, a distortion-first start, a time-based learning-rate schedule, and
quantisation-aware fine-tuning of the integer hyper-scale decoder in the last part of the run.
Resumable: `--resume CKPT` (or `shipped`) starts from a checkpoint's weights, optimiser state and history; the
run then follows its own schedule (warm-up, decay over its `--minutes`), so a resumed run is a new run that
starts where the last one's weights are, the way the model card's GPU runs chain.
`--part synthesis|encoder` fine-tunes one half with the rest frozen (an encoder-only run never changes how
a stream decodes).
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .colour import rgb_to_ycbcr, ycbcr420_to_rgb
from .design import C_CHROMA, C_LUMA, LAMBDAS, LOG_K, NUM_MODELS
from .model import ENCODER_PARTS, Codec, load_state
from .refine import native_bf16

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TRAIN = os.path.join(HERE, "..", "..", "shared", "data", "train")
DEFAULT_VAL = os.path.join(HERE, "..", "..", "shared", "data", "val")


def load_images(folder: str, device, what: str = "training", min_side: int = 64) -> list[torch.Tensor]:
    """The folder's PNG/JPEG pictures; those smaller than `min_side` (the crop) are left out, with a note."""
    if not os.path.isdir(folder):
        raise SystemExit(f"{what} folder {folder} does not exist")
    paths = sorted(glob.glob(os.path.join(folder, "*.png")) + glob.glob(os.path.join(folder, "*.jpg")))
    images = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).contiguous().to(device)
              for p in paths]
    kept = [im for im in images if min(im.shape[1:]) >= min_side]
    if len(kept) < len(images):
        print(f"{len(images) - len(kept)} {what} pictures smaller than {min_side}x{min_side} left out", flush=True)
    if not kept:
        raise SystemExit(f"no {what} pictures of at least {min_side}x{min_side} in {folder}")
    return kept


def random_batch(images, batch, crop, gen: np.random.Generator):
    out = []
    while len(out) < batch:
        im = images[gen.integers(len(images))]
        _, h, w = im.shape
        y, x = gen.integers(h - crop + 1), gen.integers(w - crop + 1)
        c = im[:, y:y + crop, x:x + crop]
        if gen.random() < 0.5:
            c = c.flip(2)
        out.append(c)
    return torch.stack(out).float() / 255.0


def prefix_masks(batch, prob, gen, device):
    """Nested channel dropout: some samples keep only a random prefix of channels (multiples of 8).
    Built as one comparison per component, not a write per sample (each write is a GPU launch)."""
    drop = gen.random(batch) < prob
    ny = np.where(drop, 8 * gen.integers(1, C_LUMA // 8 + 1, batch), C_LUMA)
    nuv = np.where(drop, 8 * gen.integers(1, C_CHROMA // 8 + 1, batch), C_CHROMA)
    ky = torch.arange(C_LUMA)[None] < torch.from_numpy(ny)[:, None]
    kuv = torch.arange(C_CHROMA)[None] < torch.from_numpy(nuv)[:, None]
    return (ky.float()[:, :, None, None].to(device, non_blocking=True),
            kuv.float()[:, :, None, None].to(device, non_blocking=True))


@torch.no_grad()
def evaluate(model: Codec, images, device, points=None) -> list[dict]:
    """Estimated rate (ideal code length) and PSNR-RGB on whole images cropped to 64, per operating point
    (model_id, BDL); by default each model_id at BDL 0."""
    model.eval()
    rows = []
    for mid, bdl in points or [(m, 0) for m in range(NUM_MODELS)]:
        bpp, psnr = [], []
        for im in images:
            _, h, w = im.shape
            x = im[:, : h // 64 * 64, : w // 64 * 64].unsqueeze(0).float().to(device) / 255.0
            y_rec, uv_rec, bits, _ = model(rgb_to_ycbcr(x), torch.tensor([mid], device=device), train=False,
                                           bdl=torch.tensor([bdl], device=device) if bdl else None)
            rec = ycbcr420_to_rgb(y_rec, uv_rec).clamp(0, 1)
            mse = F.mse_loss((rec * 255).round(), x * 255).item()
            bpp.append(bits.item() / (x.shape[2] * x.shape[3]))
            psnr.append(10 * math.log10(255 ** 2 / mse))
        rows.append({"model_id": mid, **({"bdl": bdl} if bdl else {}), "bpp": float(np.mean(bpp)),
                     "psnr": float(np.mean(psnr))})
    model.train()
    return rows


def train_step(model: Codec, opt, x, mid, ky, kuv, lambdas, rate_w: float, amp: bool, skip: bool,
               channels_last: bool = False, bdl=None):
    """One optimiser step on the loss lambda * 255^2 * MSE(RGB) + rate_w * bpp, lambda being the sample's
    regime's, moved by its BDL (if any) as the gains are. Skip mode (a hard mask, no gradient) is used once
    the model has settled, with QAT. Returns loss, bpp and per-sample MSE, still on the device (reading them
    would wait for the GPU)."""
    ycc = rgb_to_ycbcr(x)
    if channels_last:
        ycc = ycc.contiguous(memory_format=torch.channels_last)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        y_rec, uv_rec, bits, _ = model(ycc, mid, ky, kuv, skip=skip, bdl=bdl)
    rec = ycbcr420_to_rgb(y_rec.float(), uv_rec.float())
    mse = ((rec - x) ** 2).flatten(1).mean(1)
    bpp = bits / (x.shape[0] * x.shape[2] * x.shape[3])
    lam = lambdas[mid] if bdl is None else lambdas[mid] * torch.exp(2 * LOG_K * bdl.float() / 128.0)
    loss = (lam * 255 ** 2 * mse).mean() + rate_w * bpp
    _optimise(opt, loss)
    return loss.detach(), bpp.detach(), mse.detach()


def _optimise(opt, loss):
    """Backward, clip the gradient norm to 1, step; a rare non-finite step is dropped, not applied."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
    if torch.isfinite(gnorm):
        opt.step()


def decoder_step(model: Codec, opt, x, mid, ky, kuv, lambdas, amp: bool):
    """One optimiser step of synthesis-only fine-tuning. Analysis, hyper-prior and gains are frozen, so every
    stream keeps its rate and the RD loss reduces to its distortion term, lambda[model_id] * 255^2 * MSE: the
    same balance between regimes as joint training. The frozen part runs in float32, as the encoder does.
    Returns loss and per-sample MSE."""
    ycc = rgb_to_ycbcr(x)
    yy_hat, yuv_hat = model.decoded_latents(ycc, mid, ky, kuv)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        y_rec = model.syn_y(yy_hat) + 0.5
        uv_rec = model.syn_uv(yuv_hat, yy_hat) + 0.5
    rec = ycbcr420_to_rgb(y_rec.float(), uv_rec.float())
    mse = ((rec - x) ** 2).flatten(1).mean(1)
    loss = (lambdas[mid] * 255 ** 2 * mse).mean()
    _optimise(opt, loss)
    return loss.detach(), mse.detach()


PARTS = {   # what `--part` trains; the rest is frozen
    "synthesis": ("syn_y.", "syn_uv."),
    "encoder": ENCODER_PARTS,
}


def freeze_all_but(model: Codec, part: str, film_scale: float = 1.0) -> list[dict]:
    """Parameter groups holding `part`'s networks (see PARTS; FiLM layers at `film_scale` times the learning
    rate); everything else stops learning.
    Freezing the synthesis and the entropy model keeps the decoder as it is: an encoder-only run changes
    which streams the encoder writes, never how a stream decodes."""
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(PARTS[part]))
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [{"params": [p for n, p in trained if ".film." not in n], "scale": 1.0},
            {"params": [p for n, p in trained if ".film." in n], "scale": film_scale}]


def param_groups(model: Codec, lr, film_scale: float = 1.0):
    gains = [p for n, p in model.named_parameters() if n.endswith("gain_log")]
    tables = [p for n, p in model.named_parameters() if n.endswith("z_logits")]
    films = [p for n, p in model.named_parameters() if ".film." in n]
    rest = [p for n, p in model.named_parameters()
            if not (n.endswith("gain_log") or n.endswith("z_logits") or ".film." in n)]
    return [{"params": rest, "lr": lr, "scale": 1.0},
            {"params": films, "lr": lr * film_scale, "scale": film_scale},
            {"params": tables, "lr": lr * 10, "scale": 10.0},
            {"params": gains, "lr": lr * 200, "scale": 200.0}]


def random_bdl(batch, spread: float, gen: np.random.Generator, device):
    """Half the samples at BDL 0 (each regime's own rate), half anywhere within +-spread, where `encode`
    also works (--bpp searches BDL; the benchmark's end points sit at -400 and +300)."""
    bdl = np.where(gen.random(batch) < 0.5, 0, gen.integers(-spread, spread + 1, batch))
    return torch.from_numpy(bdl).to(device)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=DEFAULT_TRAIN)
    ap.add_argument("--val", default=DEFAULT_VAL, help="validation pictures ('' for none)")
    ap.add_argument("--out", default="runs/main")
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of this run")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--qat-from", type=float, default=0.8, help="fraction of the run after which the HSD is fake-quantised")
    ap.add_argument("--regime-weights", default=None, metavar="W0,W1,W2,W3",
                    help="relative sampling weights of model_id 0..3 (default: uniform); e.g. 1,1,2,3 spends more "
                         "steps on the high-rate regimes, where quality saturates")
    ap.add_argument("--rate-ramp", type=float, default=0.15,
                    help="fraction of the run over which the rate weight ramps 0.1 -> 1 (distortion-first start); "
                         "0 when fine-tuning a trained model")
    ap.add_argument("--bdl-spread", type=int, default=400,
                    help="half the samples train at a random BDL within +-this (0: every sample at BDL 0)")
    ap.add_argument("--film-lr-scale", type=float, default=1.0,
                    help="learning-rate factor of the analysis's rate conditioning (FiLM): session 12 trained it "
                         "from zero at 10; trained, it needs no head start (model card, probe of session 13)")
    ap.add_argument("--dropout", type=float, default=0.25, help="probability of a channel-prefix sample")
    ap.add_argument("--resume", default=None,
                    help="checkpoint or weights file to continue from; 'shipped' = the model set in codec/weights")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast for the transforms (default: on with CUDA, and on CPUs that compute bf16 "
                         "natively, where a step takes about half the float32 time)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=False,
                    help="NHWC memory layout for the convolutions (1.25x on this project's 2-core CPU, 1.16x on top of "
                         "bf16; measure with bench/train_step.py first)")
    ap.add_argument("--part", choices=("all", *PARTS), default="all",
                    help="train only part of the model: 'synthesis' (analysis, hyper-prior, gains frozen, so "
                         "rates stay; 1.4x the full bf16 step's speed on this project's CPU) or 'encoder' "
                         "(analysis and hyper-encoder; the decoder stays as it is)")
    ap.add_argument("--hard-rate", action="store_true",
                    help="rate of the rounded residual (straight-through gradient) instead of the noise proxy (z keeps "
                         "its noise): the rate the coder pays, for fine-tuning the encoder against a frozen decoder")
    ap.add_argument("--eval-every", type=float, default=5.0, help="minutes between validations")
    args = ap.parse_args(argv)

    regime_p = None
    if args.regime_weights:
        w = np.array([float(v) for v in args.regime_weights.split(",")])
        if w.shape != (NUM_MODELS,) or (w < 0).any() or w.sum() <= 0:
            ap.error(f"--regime-weights needs {NUM_MODELS} non-negative numbers, not all zero")
        regime_p = w / w.sum()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    os.makedirs(args.out, exist_ok=True)
    gen = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    train_imgs = load_images(args.train, device, "training", args.crop)
    quiet_default = args.val == DEFAULT_VAL and not os.path.isdir(DEFAULT_VAL)   # a clone without ../shared
    val_imgs = load_images(args.val, "cpu", "validation") if args.val and not quiet_default else []
    model = Codec().to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.hard_rate = args.hard_rate
    groups = (param_groups(model, args.lr, args.film_lr_scale) if args.part == "all"
              else freeze_all_but(model, args.part, args.film_lr_scale))
    groups = [g for g in groups if g["params"]]
    opt = torch.optim.Adam(groups, lr=args.lr, fused=device.type == "cuda")
    step, history = 0, []
    if args.resume:
        if args.resume == "shipped":
            from .weights import training_state
            ck = training_state()
        elif not os.path.isfile(args.resume):
            raise SystemExit(f"--resume {args.resume}: no such checkpoint (or 'shipped' for the repository's weights)")
        else:
            ck = torch.load(args.resume, map_location=device)
        if "model" not in ck:                  # a weights-only file (fp16 tensors are widened on copy)
            ck = {"model": ck}
        load_state(model, ck["model"])
        if "opt" in ck:
            try:
                opt.load_state_dict(ck["opt"])
            except ValueError:                 # saved by a run that trained other parameters (--part)
                print("optimiser state not reused: the checkpoint trained another --part; Adam starts afresh",
                      flush=True)
        history = ck.get("history", [])
        print(f"resumed from {args.resume} (previous run: {ck.get('step')} steps, {ck.get('elapsed_s', 0):.0f} s); "
              f"new schedule over {args.minutes} min")
    lambdas = torch.tensor(LAMBDAS, device=device)
    budget = args.minutes * 60
    t0, last_ck, last_eval, log_t, px = time.time(), time.time(), time.time(), time.time(), 0
    acc = {"loss": 0.0, "bpp": 0.0, "mse": 0.0, "n": 0}
    amp = (device.type == "cuda" or native_bf16()) if args.amp is None else args.amp

    def save(tag="last"):
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
              "elapsed_s": time.time() - t0, "history": history, "args": vars(args)}
        for name, obj in ((f"{tag}.pt", ck),
                          (f"{tag}-weights.pt", {k: v.half() if v.is_floating_point() and v.numel() > 10000 else v
                                                 for k, v in model.state_dict().items()})):
            tmp = os.path.join(args.out, name + ".tmp")
            torch.save(obj, tmp)
            os.replace(tmp, os.path.join(args.out, name))

    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1.0:
            break
        warm = min(1.0, step / 300)
        lr_scale = warm * (0.5 * (1 + math.cos(math.pi * min(frac, 1.0))) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = args.lr * g["scale"] * lr_scale
        quant = args.part != "all" or frac >= args.qat_from
        model.ent_y.hsd.quantised = model.ent_uv.hsd.quantised = quant
        rate_w = 0.1 + 0.9 * min(1.0, frac / args.rate_ramp) if args.rate_ramp > 0 else 1.0

        x = random_batch(train_imgs, args.batch, args.crop, gen)
        mid = torch.from_numpy(gen.choice(NUM_MODELS, args.batch, p=regime_p)).to(device)
        ky, kuv = prefix_masks(args.batch, args.dropout, gen, device)
        bdl = random_bdl(args.batch, args.bdl_spread, gen, device) if args.bdl_spread else None
        if args.part == "synthesis":
            loss, mse = decoder_step(model, opt, x, mid, ky, kuv, lambdas, amp)
            bpp = torch.zeros(())                  # unchanged by construction; the validation reports it
        else:
            loss, bpp, mse = train_step(model, opt, x, mid, ky, kuv, lambdas, rate_w, amp, skip=quant,
                                        channels_last=args.channels_last, bdl=bdl)
        step += 1
        px += x.numel() // 3
        acc["loss"] += loss; acc["bpp"] += bpp; acc["mse"] += mse.mean(); acc["n"] += 1
        now = time.time()
        if now - log_t > 30:
            n = acc["n"]
            rec_line = {"step": step, "min": round((now - t0) / 60, 2), "loss": float(acc["loss"]) / n,
                        "bpp": float(acc["bpp"]) / n, "psnr": 10 * math.log10(1 / max(float(acc["mse"]) / n, 1e-10)),
                        "px_per_s": px / (now - log_t), "qat": quant}
            if args.part == "synthesis":
                del rec_line["bpp"]
            print(json.dumps(rec_line), flush=True)
            history.append(rec_line)
            acc = {"loss": 0.0, "bpp": 0.0, "mse": 0.0, "n": 0}
            log_t, px = now, 0
        if now - last_ck > 60:
            save()
            last_ck = now
        if val_imgs and now - last_eval > args.eval_every * 60:
            ev = evaluate(model, val_imgs, device)
            print(json.dumps({"step": step, "val": ev}), flush=True)
            history.append({"step": step, "val": ev})
            last_eval = time.time()
    model.ent_y.hsd.quantised = model.ent_uv.hsd.quantised = True
    if val_imgs:
        ev = evaluate(model, val_imgs, device)
        print(json.dumps({"step": step, "final_val": ev}), flush=True)
        history.append({"step": step, "final_val": ev})
    save()
    print(f"done: {step} steps in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
