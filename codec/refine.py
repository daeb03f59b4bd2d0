"""Encoder-side latent refinement: choose better latents for the fixed decoder.

The analysis network is an amortised guess of the latents; for one picture, gradient descent on y
against the real decoder (synthesis, with mu, sigma, gains and skip mode from the coded z) finds latents
with a lower rate-distortion cost. Only the encoder's choice of symbols changes: the stream is an
ordinary stream of this model set and decodes with the same decoder, bit-exactly.

z stays as the hyper-encoder chose it. Moving z too (straight-through through the integer hyper-scale
decoder) helped for 50 steps but made both rate and distortion worse by 100 steps on the validation
crops: its gradients are too crude once z values actually change.

The cost is the training loss at the operating point, lambda * 255^2 * MSE(RGB) + bpp, with lambda
taken from the regime (model_id) and scaled by the gain change that beta_displacement_log makes
(the quantisation step shrinks by exp(k * BDL / 128), so lambda grows by its square). Rounding is relaxed
by stochastic Gumbel annealing (Yang, Bamler and Mandt, NeurIPS 2020): each residual goes down or up at
random, with odds from its distance to either integer, as a soft sample whose temperature falls from
0.5 to 0.3 over the steps, so rate and distortion are both measured on (nearly) what will be coded. On 4
central 256² validation crops, 6 rates: -5.8 % BD-rate (PSNR-RGB) against no refinement at 16 steps, where
the previous recipe (straight-through rounding for distortion, uniform noise for rate) gave -4.7 %.

The rate is the expected code length of the two integers a residual may round to, weighted by the soft
sample, read from the real residual rows (`code_length_table`, escapes included): what the stream will
spend. A continuous Gaussian at the exact sigma, used before session 15, undercounts by 0.7-1.3 % (rounded
latents of 4 validation crops at 3 rates) and misses the rows' coarse sigma grid and 8-bit masses. On 8
central 512² validation crops, 6 rates, 10 steps: -0.65 % BD-rate against the Gaussian rate.

The step rule (session 14; `LR`, `TAU`, `ADAM_BETAS`) was re-tuned on real streams: 8 central 512² validation
crops, the benchmark's 6 operating points, RDOQ and post-filter as the default encoder runs them, BD-rate
(PSNR-RGB) against the session-9 rule (Adam 0.025 cosine-decayed to 0, beta1 0.9, temperature 0.5 -> 0.1):
3 / 6 / 16 / 100 steps -0.98 / -1.77 / -2.57 / -0.69 %. Another noise seed moves a series by 0.03 %.
Session 15 let the step grow above the middle of the rate range (`step_size`); session 16 started the
temperature hotter and took larger steps, so that 11 steps (the default then, for the 2-second budget) did what 12
had done: -0.74 % against 11 steps of the session-15 rule, -0.34 % against its 12. Session 19 made the rest of the
encoder 0.1 s faster (efe.py), which paid for a twelfth step (`AUTO_STEPS`).
"""
from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from jpegai_fmt.limits import Limits, check_refine

from .entropy.coder import SKIP_ROW
from .entropy.tables import NUM_ROWS
from .model import highest_trained_bdl, rate_condition
from .pipeline import Analysis, component_rows, gain_step, operating_lambda
from .weights import integer_model


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 convolutions natively (AVX-512 BF16 or AMX). There, refinement runs
    the synthesis in bf16: about 1.5x faster for the same RD (+0.04 % BD-rate over 4 crops × 4 rates,
    100 steps). Elsewhere bf16 is emulated and slower, so refinement stays in float32. Only the encoder's
    search differs: decoding never depends on it."""
    import torch
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


AUTO_STEPS = 12                  # the default encoder's refinement, on pictures up to AUTO_PIXEL_STEPS / 12 pixels
AUTO_PIXEL_STEPS = 16_300_000    # above 1.36 MP, fewer steps, so the refinement time stays that of 1.36 MP ...
AUTO_MIN_STEPS = 3               # ... and none below 3 steps, which gain too little for their time


def auto_steps(width: int, height: int, limits: Limits | None = None) -> int:
    """Refinement steps of the default encoder (`refine="auto"`) for a coded W x H picture: 12 up to 1.36 MP,
    fewer up to 5 MP (1080p: 7, 1440p: 4), none above or where refinement would not fit the memory budget
    (4K needs about 6.3 GiB, over the default 4 GiB). A step costs about 0.1 s per 0.4 MP on 2 cores. Session 19,
    768x512, medians of 5 in one process: --refine 0 / 11 / 12 / 13 steps 0.40 / 1.52 / 1.61 / 1.71 s, so 12 steps
    keep the encode under the 2 s target with a margin for this shared machine's run-to-run spread (session 15
    measured 12 steps at 1.76-2.14 s before the post-filter fit got 0.1 s faster). On 8 central 512² validation
    crops (6 rates, PSNR-RGB, real streams): 10 steps of the session-14 rule -3.5 % BD-rate against the 6 steps
    of the session-9 rule that were the default before; 12 steps -0.78 % against 10, 11 steps +0.41 % against
    12 (session 16), and 11 steps of the session-16 rule -0.74 % against 11 of the session-15 rule; on the same
    crops, session 19, 13 / 15 steps -0.89 / -1.60 % against 11: about -0.4 % a step."""
    from jpegai_fmt.limits import refine_memory
    limits = limits or Limits.from_env()
    if refine_memory(width, height) > limits.memory_bytes:
        return 0
    steps = min(AUTO_STEPS, AUTO_PIXEL_STEPS // (width * height))
    return steps if steps >= AUTO_MIN_STEPS else 0


TAU = (0.8, 0.3)     # soft-rounding temperature, first and last step (geometric in between). Ending at 0.3
                     # rather than 0.1 (6 steps, with the constant step and beta1 below: 0.1 -1.19 %, 0.2 -1.62 %,
                     # 0.3 -1.73 % against the session-9 rule). Starting at 0.8 rather than 0.5 (session 16, 11
                     # steps, with LR): 0.6 -0.39 %, 0.7 -0.49 %, 0.8 -0.60 %, with the step 0.03 also 0.7 -0.64 %,
                     # 0.8 -0.74 %, 1.0 -0.70 %; alone, at the old step, 0.6 -0.18 %, 0.4 +0.16 %; with the start
                     # at 0.8, ending at 0.25 or 0.35 instead of 0.3 +0.09 % each


def soft_round(r, tau: float, generator):
    """A relaxed random rounding of r: (floor(r), weight of rounding up), the relaxed value being their sum.
    The odds favour the nearer integer, more sharply as tau falls; gradients reach r through the weight. With
    two outcomes the softmax over (logit + Gumbel sample) / tau is a sigmoid of the logit difference plus one
    logistic sample (the difference of two Gumbel samples), which is how it is computed: one uniform per
    element."""
    import torch
    low = r.detach().floor()
    frac = (r - low).clamp(1e-4, 1 - 1e-4)
    u = torch.rand(r.shape, generator=generator).clamp(1e-9, 1 - 1e-9)
    logistic = torch.log(u) - torch.log1p(-u)
    return low, torch.sigmoid(((torch.atanh(frac) - torch.atanh(1 - frac)) / tau + logistic) / tau)


@functools.cache
def code_length_table():
    """(table, V): bits of residual value v in row k at table[k, v + V], for v in -V..V, from the residual
    rows and the escape forms (`rdoq.code_lengths`). Beyond the largest bound plus the short escape's reach
    every value takes the long escape, so a value outside -V..V costs what its end of the table says."""
    import torch

    from . import rdoq
    from .entropy import tables as tb
    v = max(tb.residual_bounds()) + rdoq.SHORT_ESCAPE + 1
    values = np.arange(-v, v + 1)
    table = np.stack([rdoq.code_lengths(np.full(values.shape, k, np.uint8), values)
                      for k in range(len(tb.residual_rows()))])
    return torch.from_numpy(table.astype(np.float32)), v


def expected_bits(low, up, rows):
    """Expected code length of residuals that round to low (weight 1 - up) or low + 1 (weight up), per
    element, in rows `rows` (int64, skipped positions excluded by the caller)."""
    table, v = code_length_table()
    flat = table.reshape(-1)
    index = low.long().clamp(-v, v - 1) + v + rows * (2 * v + 1)
    l0, l1 = flat[index], flat[index + 1]
    return l0 + (l1 - l0) * up


# RDOQ (codec/rdoq.py) still pays after a short refinement and stops paying after a long one (8 central 512²
# validation crops, 6 rates, RDOQ on top against plain rounding: 6 steps -0.93 %, 16 steps -0.02 %, and at 50
# steps it undid two thirds of the refinement's gain): latents refined for more steps than this are rounded plainly
RDOQ_UP_TO = 8

LR = 0.03    # Adam's step on y, constant, at and below the middle of the rate range (0.02 until session 15; with
             # the hotter start of TAU, 11 steps: 0.025 -0.60 %, 0.03 -0.74 %, 0.035 -0.71 % against session 15's
             # rule). Session 14's measurements, at 6 steps, with beta1 0.9
             # and temperature 0.1 still: 0.015 / 0.02 / 0.025 / 0.03 gave -0.51 / -0.58 / -0.10 / +0.69 % against
             # the session-9 rule (0.025 cosine-decayed), and with the rule's other two changes 0.015 -1.20 % to
             # 0.02's -1.62 %. At 100 steps the cosine decay loses too (+0.38 % against the session-9 rule, where
             # the constant step gains -0.69 %).
LR_SLOPE, LR_MAX = 0.005, 0.035   # above the middle, the step grows by LR_SLOPE per 3x of lambda, up to LR_MAX
                                  # (11 steps, session 16: slope 0.01 up to 0.04 -0.65 %, against 0.005's -0.64 %)


def step_size(model_id: int, bdl: tuple[int, int]) -> float:
    """Adam's step for an operating point. Per point, 10 steps on the crops of the session-14 tuning: 0.03
    loses to 0.02 at the three lower points (less rate, more distortion than the curve's slope pays for) and
    wins at the three upper ones (model_id 2, 3 and 3 at BDL +300), where the latents have further to go
    from the analysis: unquantised, its model_id-3 latents decode 2.0-3.4 dB below latents optimised for MSE
    alone (4 central 256² validation crops, 300 Adam steps). This rule: -0.39 % BD-rate at 10 steps against
    0.02 everywhere (Gaussian rate then; with the session-15 changes together -1.87 %). Session 16 raised the
    step at every point with the hotter start of the temperature (`TAU`, `LR`)."""
    import torch
    t = float(rate_condition(torch.tensor([model_id]), torch.tensor([sum(bdl) / 2]))[0])
    return min(LR_MAX, LR + LR_SLOPE * max(0.0, t))


ADAM_BETAS = (0.5, 0.999)   # a short memory for the soft rounding's noisy gradients (6 steps: beta1 0.5
                            # -1.19 %, 0 -0.97 %, 0.9 -0.58 %, each with the constant step)
ADAM_EPS = 1e-8


def adam_step(param, grad, moments, lr: float, t: int, betas: tuple[float, float] = ADAM_BETAS) -> None:
    """One Adam update (Kingma & Ba, bias-corrected), in place. Written out because `torch.optim` imports
    torch._dynamo, 1-2 s per process on this machine: more than the default refinement itself."""
    m, v = moments
    m.mul_(betas[0]).add_(grad, alpha=1 - betas[0])
    v.mul_(betas[1]).addcmul_(grad, grad, value=1 - betas[1])
    denom = (v / (1 - betas[1] ** t)).sqrt_().add_(ADAM_EPS)
    param.addcdiv_(m, denom, value=-lr / (1 - betas[0] ** t))


def search_synthesis(model):
    """The synthesis networks as refinement runs them: frozen copies in channels_last layout, about 15 % faster
    a step on CPU (768x512). Copies, because the decoder's own networks keep the layout whose arithmetic the
    post-filter fit and every decoder of the stream reproduce."""
    import copy

    import torch
    nets = tuple(copy.deepcopy(m).to(memory_format=torch.channels_last) for m in (model.syn_y, model.syn_uv))
    for net in nets:
        net.requires_grad_(False)
    return nets


def refine(model, rgb: np.ndarray, an: Analysis, model_id: int, bdl: tuple[int, int], iters: int,
           lr: float | None = None, progress=None, limits: Limits | None = None,
           num_chs: tuple[int, int] | None = None, bf16: bool | None = None) -> Analysis:
    """Return a copy of `an` whose latents minimise the RD cost at (model_id, bdl) after `iters` Adam steps
    (constant learning rate, `step_size` of the point unless given). `progress` is called once per step.
    A picture whose refinement would not fit the memory budget (`limits`, default from the environment)
    is refused before any work. `num_chs`: the coded channel prefixes (the rest decode as mu).
    `bf16`: run the synthesis in bfloat16 (default: where the CPU computes it natively, see `native_bf16`).
    A BDL above `model.highest_trained_bdl` is refined as that BDL and then coded as asked: refined at the
    requested point (the analysis clamped as `analyse` does), model_id 3 at BDL +550 / +702 decoded 31.69 /
    31.74 dB with 1.04 / 1.29 bpp, refined at +400 31.80 / 31.80 dB with 0.99 / 1.19 bpp (8 central 512²
    validation crops, 12 steps; session 26). At the low end refining at the requested point is better
    (model_id 0 at BDL -700: 7 % fewer bits for -0.14 dB)."""
    import torch
    import torch.nn.functional as F

    from .colour import ycbcr420_to_rgb
    from .pipeline import _to_tensor
    if iters <= 0:
        return an
    check_refine(*an.coded, limits)
    top = highest_trained_bdl(model_id)      # above it, refine for the highest point training sampled (below)
    bdl = (min(bdl[0], top), min(bdl[1], top))
    im = integer_model()
    x = _to_tensor(rgb, an.coded)
    w, h = an.width, an.height
    ys = [torch.from_numpy(an.y[c]).unsqueeze(0).clone().requires_grad_(True) for c in (0, 1)]
    step = [torch.from_numpy(gain_step(im.gains[c][model_id], bdl[c])).float().view(1, -1, 1, 1) for c in (0, 1)]
    fixed = []                            # everything z decides is fixed: mu, rows, skip mask
    hyper = an.hyper(model_id)
    for c in (0, 1):
        rows = torch.from_numpy(component_rows(im, hyper.hsd[c], c, model_id, bdl[c]).astype(np.int64)).unsqueeze(0)
        coded = (rows != SKIP_ROW).float()
        if num_chs is not None:
            coded[:, num_chs[c]:] = 0
        fixed.append((torch.from_numpy(hyper.mu[c]).unsqueeze(0), rows.clamp(max=NUM_ROWS - 1), coded))
    lam = operating_lambda(model_id, (bdl[0] + bdl[1]) // 2) * 255 ** 2
    lr = lr or step_size(model_id, bdl)
    if bf16 is None:
        bf16 = native_bf16()
    moments = [(torch.zeros_like(y), torch.zeros_like(y)) for y in ys]
    syn_y, syn_uv = search_synthesis(model)
    noise = torch.Generator().manual_seed(0)      # same picture and settings -> same stream
    with torch.enable_grad():
        for it in range(iters):
            tau = TAU[0] * (TAU[1] / TAU[0]) ** (it / max(1, iters - 1))
            bits = 0.0                    # z's bits are fixed: no gradient to take
            y_hat = []
            for c, (mu, rows, coded) in enumerate(fixed):
                low, up = soft_round((ys[c] - mu) * step[c], tau, noise)
                bits = bits + (expected_bits(low, up, rows) * coded).sum()
                y_hat.append(mu + (low + up) * coded / step[c])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                uv = syn_uv(y_hat[1], y_hat[0]).float() + 0.5
                luma = syn_y(y_hat[0]).float() + 0.5
            rec = ycbcr420_to_rgb(luma, uv).clamp(0, 1)    # the decoder clips too (crops, 12 steps: -0.19 %)
            mse = F.mse_loss(rec[..., :h, :w], x[..., :h, :w])
            loss = lam * mse + bits / (w * h)
            grads = torch.autograd.grad(loss, ys)
            with torch.no_grad():
                for y, g, m in zip(ys, grads, moments):
                    adam_step(y, g, m, lr, it + 1)
            if progress:
                progress()
    return replace(an, y=[y.detach()[0].numpy() for y in ys], plain_rounding=iters > RDOQ_UP_TO)
