"""The learned codec's networks, laid out like the standard's: two pipelines (luma 160, chroma 96 latent
channels at 1/16), a hyper-prior per component with z at 1/64, an integer-friendly hyper-scale decoder
giving sigma indices in Q7 log units, a float hyper-mean decoder giving mu, and gain units for variable
rate (model_id selects a gain vector, beta_displacement_log shifts it).

Only the residual r = (y - mu) * gain is entropy coded; parsing depends on z alone, never on mu.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .colour import downsample_420
from .design import C_CHROMA, C_LUMA, LAMBDAS, LOG_K, NUM_MODELS, SIGMA0, Z_MAX
from .entropy.hsd import HSD_MAX
from .entropy.sigma import SKIP_THRESHOLD

# parameters only the encoder runs: they choose the symbols, never decide how a stream decodes
ENCODER_PARTS = ("ana_y.", "ana_uv.", "ent_y.hyper_enc.", "ent_uv.hyper_enc.")


def conv(cin, cout, k=3, s=1):
    return nn.Conv2d(cin, cout, k, s, k // 2)


class Up(nn.Module):
    """Sub-pixel up-sampling by 2: one 3x3 conv to 4x channels, then pixel shuffle (cheap on CPU)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = conv(cin, cout * 4)

    def forward(self, x):
        return F.pixel_shuffle(self.conv(x), 2)


class RateFiLM(nn.Module):
    """Per-channel scale and shift of one analysis layer as a function of the operating point (encoder only).
    One analysis serves every rate, and latents refined for one rate code worse than plain ones at another
    (model card): the conditioning lets the analysis place its latents for the rate it is asked for. The last
    layer starts at zero, so a new FiLM leaves the analysis exactly as it was."""

    def __init__(self, c, hidden=32):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 2 * c))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x, t):
        scale, shift = self.mlp(t.view(-1, 1).float()).to(x.dtype).chunk(2, 1)
        return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]

    def folded(self, layer: nn.Conv2d, x, t):
        """`self(layer(x), t)` for one operating point, with the scale and shift folded into the convolution's
        weights and bias: the encoder then skips two passes over each full-size feature map."""
        scale, shift = self.mlp(t.view(1, 1).float()).view(2, -1)
        weight = layer.weight * (1 + scale).view(-1, 1, 1, 1)
        return F.conv2d(x, weight, layer.bias * (1 + scale) + shift, layer.stride, layer.padding)


def rate_condition(model_id: torch.Tensor, bdl: torch.Tensor | None = None) -> torch.Tensor:
    """The operating point as one number per sample: log3 of its lambda (the rate regime's, moved by BDL as
    the gains are) relative to the middle of the four regimes, so model_id 0..3 at BDL 0 give -1.5..1.5."""
    lam = torch.log(torch.tensor(LAMBDAS, device=model_id.device))[model_id]
    if bdl is not None:
        lam = lam + 2 * LOG_K * bdl.float() / 128.0
    return (lam - 0.5 * (math.log(LAMBDAS[0]) + math.log(LAMBDAS[-1]))) / math.log(3.0)


TRAINED_BDL_SPREAD = 400     # `codec.train --bdl-spread` of the shipped model set: it sampled operating points
                             # from model_id 0 at BDL -400 to model_id 3 at BDL +400


def trained_condition(t: torch.Tensor) -> torch.Tensor:
    """`rate_condition` kept inside the operating points training sampled. Beyond them the analysis
    extrapolates badly: latents analysed for model_id 3 at BDL +702 decoded 0.34 dB worse, with 10 % more bits,
    than latents analysed for BDL +400 and coded at +702 (8 central 512² validation crops, no refinement;
    session 26); at the low end the clamp is neutral to slightly better. The encoder conditions on the clamped
    point and codes at the requested one; training never leaves the range."""
    lo = rate_condition(torch.tensor([0]), torch.tensor([-TRAINED_BDL_SPREAD]))
    hi = rate_condition(torch.tensor([NUM_MODELS - 1]), torch.tensor([TRAINED_BDL_SPREAD]))
    return t.clamp(float(lo[0]), float(hi[0]))


def highest_trained_bdl(model_id: int) -> int:
    """The highest BDL of a regime whose operating point training sampled (model_id 3: +400; the lower
    regimes reach past the syntax's range). Above it the model set adds bits without adding quality: quality
    peaks there and the rate searches stop there."""
    per_log_lambda = 128 / (2 * LOG_K)
    return math.floor(TRAINED_BDL_SPREAD + (math.log(LAMBDAS[-1]) - math.log(LAMBDAS[model_id])) * per_log_lambda)


class Analysis(nn.Module):
    """Picture -> latent at 1/16 (luma from full resolution, chroma from the half-size planes), every layer
    modulated by the operating point (`RateFiLM`)."""

    def __init__(self, cin, cout, stages):
        super().__init__()
        widths = {4: [64, 96, 128], 3: [96, 128]}[stages]
        layers, c = [], cin
        for i, w in enumerate(widths):
            layers += [conv(c, w, 5 if i == 0 else 3, 2), nn.ReLU(inplace=True)]
            if i > 0:
                layers += [conv(w, w), nn.ReLU(inplace=True)]
            c = w
        layers += [conv(c, cout, 3, 2)]
        self.net = nn.Sequential(*layers)
        self.film = nn.ModuleList(RateFiLM(m.out_channels) for m in self.net if isinstance(m, nn.Conv2d))

    def forward(self, x, t):
        fold = t.numel() == 1 and not torch.is_grad_enabled()     # encoding one picture: fold the FiLM
        films = iter(self.film)
        for layer in self.net:
            if not isinstance(layer, nn.Conv2d):
                x = layer(x)
            elif fold:
                x = next(films).folded(layer, x, t)
            else:
                x = next(films)(layer(x), t)
        return x


class HyperEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.net = nn.Sequential(conv(c, 128), nn.ReLU(inplace=True), conv(128, 128, 3, 2),
                                 nn.ReLU(inplace=True), conv(128, c, 3, 2))

    def forward(self, y):
        return self.net(y)


def _fake_quant_weight(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel power-of-two scale so that int8 weights use the full range; STE rounding."""
    amax = w.detach().abs().flatten(1).amax(1).clamp_min(1e-8)
    shift = torch.floor(torch.log2(127.0 / amax)).clamp(0, 30)
    scale = (2.0 ** shift).view(-1, *([1] * (w.dim() - 1)))
    wq = w * scale
    wq = wq + (wq.round().clamp(-128, 127) - wq).detach()
    return wq / scale, shift


def _ste_floor(x):
    return x + (torch.floor(x) - x).detach()


class HyperScaleDecoder(nn.Module):
    """z -> sigma index (Q7) with the integer contract of entropy.md 5.2.

    Float training keeps activations in the int8 range (clamp 0..127); with `quantised` set, weights,
    biases and activations are fake-quantised (STE) exactly as the integer runtime computes them.
    """

    def __init__(self, c, m1=96, m2=96):
        super().__init__()
        self.c = c
        self.l1 = nn.Conv2d(c, m1, 1)
        self.l2 = nn.Conv2d(m1, m2, 3, 1, 1)
        self.l3 = nn.Conv2d(m2, 16 * c, 1)
        self.quantised = False
        with torch.no_grad():
            self.l3.bias.fill_(60.0)   # start near row 7.5 so nothing is skipped early

    # the last layer's float output is multiplied by OUT_GAIN (folded into its integer weights on export)
    OUT_GAIN = 16.0

    def _layer(self, layer, x, gain=1.0):
        w, b = layer.weight * gain, layer.bias * gain
        if not self.quantised:
            return F.conv2d(x, w, b, padding=layer.padding)
        wq, shift = _fake_quant_weight(w)
        scale = 2.0 ** shift
        bq = b * scale
        bq = bq + (bq.round() - bq).detach()
        acc = F.conv2d(x, wq * scale.view(-1, 1, 1, 1), bq, padding=layer.padding)
        return _ste_floor(acc / scale.view(1, -1, 1, 1))

    def _act(self, x):
        x = x.clamp(0, 127)
        if self.quantised:
            x = x + (x.round() - x).detach()
        return x

    def forward(self, z_hat, h_lat, w_lat):
        x = self._act(self._layer(self.l1, z_hat))
        x = self._act(self._layer(self.l2, x))
        # last layer outputs sigma indices in units of 1/8 row so small weights reach the whole range
        x = self._layer(self.l3, x, self.OUT_GAIN)
        x = F.pixel_shuffle(x, 4)[:, :, :h_lat, :w_lat]
        return x.abs().clamp(0, HSD_MAX)


class HyperMeanDecoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.net = nn.Sequential(conv(c, 128), nn.ReLU(inplace=True), Up(128, 128), nn.ReLU(inplace=True),
                                 Up(128, 128), nn.ReLU(inplace=True), conv(128, c))

    def forward(self, z_hat, h_lat, w_lat):
        return self.net(z_hat)[:, :, :h_lat, :w_lat]


class LumaSynthesis(nn.Module):
    """160 x H/16 -> Y; about 14 kMAC per output pixel."""

    def __init__(self):
        super().__init__()
        r = nn.ReLU(inplace=True)
        self.net = nn.Sequential(conv(C_LUMA, 128), r, Up(128, 96), r, conv(96, 96), r, Up(96, 64), r,
                                 conv(64, 48), r, Up(48, 32), r, Up(32, 1))

    def forward(self, y):
        return self.net(y)


class ChromaSynthesis(nn.Module):
    """96 chroma + 160 luma latent channels x H/16 -> Cb, Cr at H/2 (conditioned on the decoded luma latent)."""

    def __init__(self):
        super().__init__()
        r = nn.ReLU(inplace=True)
        self.net = nn.Sequential(conv(C_CHROMA + C_LUMA, 96), r, Up(96, 64), r, Up(64, 48), r, Up(48, 2))

    def forward(self, y_uv, y_y):
        return self.net(torch.cat([y_uv, y_y], 1))


class Component(nn.Module):
    """One pipeline's entropy model: hyper-encoder, z tables, hyper-scale and hyper-mean decoders, gains."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.hyper_enc = HyperEncoder(c)
        self.hsd = HyperScaleDecoder(c)
        self.hmd = HyperMeanDecoder(c)
        # one z table per rate regime and channel, as the standard keeps them (entropy.md 6.4)
        self.z_logits = nn.Parameter(-0.5 * (torch.arange(-Z_MAX, Z_MAX + 1).float().abs()).repeat(NUM_MODELS, c, 1))
        # gain_vector_log per model_id and channel, Q7 log units (one sigma row = 128)
        self.gain_log = nn.Parameter(torch.linspace(-128, 256, NUM_MODELS).view(-1, 1).repeat(1, c))

    def fixed_z(self, model_id):
        """(value, mask) per sample and channel: channels whose regime's table is one value (`fixed_z_values`)
        take that value, as the encoder sets them."""
        value, fixed = fixed_z_values(torch.softmax(self.z_logits.detach(), -1))
        return value[model_id].view(-1, self.c, 1, 1), fixed[model_id].view(-1, self.c, 1, 1)

    def z_bits(self, z_noisy, model_id):
        """-log2 p(z) under each sample's regime tables, interpolated between bins for a gradient."""
        logp = F.log_softmax(self.z_logits, -1)[model_id]    # (B, C, 63)
        pos = (z_noisy.float() + Z_MAX).clamp(0, 2 * Z_MAX)
        lo = pos.floor().clamp(max=2 * Z_MAX - 1)
        t = pos - lo
        b, c, h, w = pos.shape
        idx = lo.long().reshape(b, c, -1)
        lp_lo = torch.gather(logp, 2, idx)
        lp_hi = torch.gather(logp, 2, idx + 1)
        tt = t.reshape(b, c, -1)
        lp = lp_lo * (1 - tt) + lp_hi * tt
        return -lp.sum() / math.log(2)


def fixed_z_values(p):
    """Channels a z table fixes, from its probabilities p (..., 63): where one value would take all 255 of
    the coder's 8-bit masses (entropy.md 6.4), no other value is codable but by escape, so the encoder sets
    the channel to it and spends about 0.006 bits per position. Returns (value in -31..31, mask)."""
    top, arg = p.max(-1)
    return arg - Z_MAX, top * 255 >= 254.5


def gaussian_bits(r, sigma):
    """-log2 of the discretised zero-mean Gaussian mass of integer-valued r (element-wise)."""
    r, s = r.float(), sigma.float().clamp_min(0.05)
    upper = 0.5 * torch.erfc(-(r.abs() + 0.5) / (s * math.sqrt(2)))
    lower = 0.5 * torch.erfc(-(r.abs() - 0.5) / (s * math.sqrt(2)))
    p = (upper - lower).clamp_min(2 ** -17)
    return -torch.log2(p)


def sigma_from_index(i_sigma):
    return SIGMA0 * torch.exp(LOG_K * i_sigma / 128.0)


def gain_from_log(g_log):
    return torch.exp(LOG_K * g_log / 128.0)


class Codec(nn.Module):
    def __init__(self):
        super().__init__()
        self.ana_y = Analysis(1, C_LUMA, 4)
        self.ana_uv = Analysis(2, C_CHROMA, 3)
        self.ent_y = Component(C_LUMA)
        self.ent_uv = Component(C_CHROMA)
        self.syn_y = LumaSynthesis()
        self.syn_uv = ChromaSynthesis()
        self.hard_rate = False   # training rate of the rounded residual (straight-through), not the noisy one

    # ---- training-time forward (noise / straight-through) ---------------------------------------
    def _code_component(self, ent: Component, y, model_id, keep, train=True, skip=True, bdl=None):
        b, c, h_lat, w_lat = y.shape
        z = ent.hyper_enc(y)
        z = z.clamp(-Z_MAX, Z_MAX)
        value, fixed = ent.fixed_z(model_id)
        z = torch.where(fixed, value.to(z.dtype), z)
        z_hat = z + (z.round() - z).detach()
        z_bits = ent.z_bits(torch.where(fixed, z, z + torch.empty_like(z).uniform_(-0.5, 0.5)) if train else z_hat,
                            model_id)
        i_hsd = ent.hsd(z_hat, h_lat, w_lat)
        mu = ent.hmd(z_hat, h_lat, w_lat)
        g_log = ent.gain_log[model_id].view(b, c, 1, 1)
        if bdl is not None:
            g_log = g_log + bdl.float().view(b, 1, 1, 1)
        i_sigma = i_hsd + g_log
        coded = (i_sigma > SKIP_THRESHOLD).float() * keep if skip else keep
        m = gain_from_log(g_log)
        r = (y - mu) * m
        r_hat = r + (r.round() - r).detach()
        r_noisy = r + torch.empty_like(r).uniform_(-0.5, 0.5) if train and not self.hard_rate else r_hat
        bits = (gaussian_bits(r_noisy, sigma_from_index(i_sigma)) * coded).sum()
        y_hat = mu + r_hat * coded / m
        return y_hat, bits + z_bits, z_bits

    def analyse(self, ycc, t):
        """Luma latent from Y, chroma latent from the 4:2:0 (box-filtered) Cb, Cr planes, for the operating
        point t (`rate_condition`, one per sample)."""
        return self.ana_y(ycc[:, :1] - 0.5, t), self.ana_uv(downsample_420(ycc[:, 1:]) - 0.5, t)

    def decoded_latents(self, ycc, model_id, keep_y, keep_uv):
        """The latents a decoder receives (rounded residuals, skip applied), without gradients: what the
        synthesis is fine-tuned on when everything before it is frozen."""
        with torch.no_grad():
            yy, yuv = self.analyse(ycc, rate_condition(model_id))
            return (self._code_component(self.ent_y, yy, model_id, keep_y, train=False)[0],
                    self._code_component(self.ent_uv, yuv, model_id, keep_uv, train=False)[0])

    def forward(self, ycc, model_id, keep_y=None, keep_uv=None, train=True, skip=True, bdl=None):
        """ycc: (B,3,H,W) YCbCr in [0,1], H and W multiples of 64; model_id and bdl (optional) one per sample.
        Returns reconstruction and bits."""
        b = ycc.shape[0]
        ones_y = torch.ones(b, C_LUMA, 1, 1, device=ycc.device)
        ones_uv = torch.ones(b, C_CHROMA, 1, 1, device=ycc.device)
        yy, yuv = self.analyse(ycc, rate_condition(model_id, bdl))
        yy_hat, bits_y, zb_y = self._code_component(self.ent_y, yy, model_id,
                                                     ones_y if keep_y is None else keep_y, train, skip, bdl)
        yuv_hat, bits_uv, zb_uv = self._code_component(self.ent_uv, yuv, model_id,
                                                        ones_uv if keep_uv is None else keep_uv, train, skip, bdl)
        y_rec = self.syn_y(yy_hat) + 0.5
        uv_rec = self.syn_uv(yuv_hat, yy_hat) + 0.5
        return y_rec, uv_rec, bits_y + bits_uv, zb_y + zb_uv


def load_state(model: Codec, state: dict) -> None:
    """Load a state dict; an encoder saved before the analysis had its FiLM layers loads with them at
    their initial (identity) state, and runs exactly as it was trained."""
    state = dict(state)
    for key in [k for k in state if k.endswith("z_logits") and state[k].dim() == 2]:
        state[key] = state[key].unsqueeze(0).repeat(NUM_MODELS, 1, 1)   # one table for all regimes (until session 17)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if ".film." not in k]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit the networks: missing {missing[:4]}, unexpected {unexpected[:4]}")
