"""Encode pictures into JPEG AI codestreams and decode them, with our model set.

The split follows the standard: everything that decides which bits belong to which symbol (z, the
integer hyper-scale decoder, gains, BDL, skip) is integer arithmetic shared by encoder and decoder
(`residual_rows`); the float networks only shape the picture (analysis, mu, synthesis).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from jpegai_fmt.codestream import build_codestream, parse_codestream
from jpegai_fmt.errors import BuildError, DecodeError, ModelMismatchError, ParseError
from jpegai_fmt.geometry import regions as region_grid
from jpegai_fmt.layout import build_dependent_residual, build_independent_residual, build_memory
from jpegai_fmt.limits import Limits, check_decode
from jpegai_fmt.markers import Marker
from jpegai_fmt.pih import default_component, default_fields

from . import blas, efe, entropy
from .design import C_MAX, LAMBDAS, LOG_K, Z_MAX
from .entropy.hsd import hyper_scale_decode
from .entropy.sigma import coding_order, residual_rows as rows_from_sigma, sigma_skip_index
from .weights import IntegerModel, integer_model

MAX_REFINE_STEPS = 1000                  # a bound, so a typo cannot run for hours
INDEX_STEP = 8                           # channel-index granularity (the reference suggests multiples of 16)
BDL_RANGE = (-1069, 702)                 # what the reference encoder produces (PIH-008)
LEVEL_MAX_SAMPLES = (6_220_800, 24_883_200, 99_532_800, 149_817_600, 398_131_200)
LEVEL_MODELS_IS = ({2}, {2, 3}, {0, 1, 2, 3})
# the picture goes in and comes out as 4:4:4 RGB and is coded 4:2:0 inside, which is also what gives the EFE
# linear post-filter its four up-sampling phases (codestream.md §6)
SOURCE_444_CODED_420 = {"s_ver_minus1": 0, "s_hor_minus1": 0, "c_ver_minus1": 1, "c_hor_minus1": 1}
# sRGB output: the decoder converts to RGB (colour_transform_idx 1), so matrix = identity
SRGB_RDI = {"cicp_info_present_flag": 1, "mdcv_info_present_flag": 0, "clli_info_present_flag": 0,
            "dm_present_flag": 0, "ri_reserved_zero_4bits": 0, "colour_primaries": 1,
            "transfer_characteristics": 13, "matrix_coefficients": 0, "image_full_range_flag": 1,
            "chroma420_sample_loc_type": 0, "cicp_reserved_zero_4bits": 0}


@dataclass
class EncodeSettings:
    model_id: int = 2
    bdl: tuple[int, int] = (0, 0)
    threads: int = 1                      # residual threads per component (and SOZ)
    num_chs: tuple[int, int] = C_MAX
    regions: tuple[int, int] = (1, 1)     # rows, columns
    independent_regions: bool = False
    channel_index: bool = True            # write the extraction index into the UDI record
    container: bool = False               # `encode` wraps the codestream in a .jai file (a rate target still
                                          # counts codestream bits, the standard's rate, as bench/rd.py does)
    refine: int | str = 0                 # encoder-side latent refinement steps (codec/refine.py); 0 = off,
                                          # "auto" = refine.auto_steps for the picture (the user-facing default)
    post_filter: bool = True              # fit the EFE linear chroma filter (codec/efe.py) where it pays
    rdoq: bool = True                     # rate-distortion optimised quantisation (codec/rdoq.py)

    def __post_init__(self):
        """What the syntax or the coder cannot hold is refused here. Settings the syntax holds but the rules
        flag (BDL outside the reference range, too many regions) stay possible, since the conformance samples
        are made of them; `encode`, the entry point for pictures, refuses those too (`check_for_picture`)."""
        if self.model_id not in range(len(LAMBDAS)):
            raise BuildError(f"model_id {self.model_id} outside 0..{len(LAMBDAS) - 1}")
        for value in self.bdl:
            if not -2048 <= value <= 2047:
                raise BuildError(f"BDL {value} outside -2048..2047, what beta_displacement_log can hold")
        if self.threads not in (1, 2, 4, 8, 16):
            raise BuildError(f"threads {self.threads}: 1, 2, 4, 8 or 16 per substream")
        for c, (n, name) in enumerate(zip(self.num_chs, ("luma", "chroma"))):
            if not 1 <= n <= C_MAX[c]:
                raise BuildError(f"{name} channels {n} outside 1..{C_MAX[c]}")
        if min(self.regions) < 1:
            raise BuildError(f"regions {self.regions[0]}x{self.regions[1]}: at least 1x1")
        if self.refine != "auto" and not (isinstance(self.refine, int) and 0 <= self.refine <= MAX_REFINE_STEPS):
            raise BuildError(f"refinement takes 'auto' or 0..{MAX_REFINE_STEPS} steps, got {self.refine!r} (gains "
                             f"level off after about 100)")


@dataclass
class Hyper:
    """The hyper-latent side of one picture at one rate regime."""
    z: list[np.ndarray]                   # per component (C, h_z, w_z) int in -31..31
    mu: list[np.ndarray]
    hsd: list[np.ndarray]                 # integer HSD output per component


@dataclass
class Analysis:
    """Encoder-side latents of one picture (computed once, reused while searching for a rate)."""
    width: int
    height: int
    coded: tuple[int, int]
    y: list[np.ndarray]                   # per component (C, h_lat, w_lat) float32
    derive: Callable[[int], Hyper] = field(repr=False, compare=False)   # the hyper side at a regime
    ton: dict | None = None               # TON fields fitted for this picture (post-filter), over all-off
    plain_rounding: bool = False          # y was refined at length for plain rounding (codec/refine.py): no RDOQ
    cache: dict = field(default_factory=dict, repr=False, compare=False)   # shared by `replace` copies: z does
                                                                           # not depend on y

    def hyper(self, model_id: int) -> Hyper:
        """z, mu and HSD output at a regime: its z tables may fix channels (`fixed_z`). Computed when first
        asked for (a rate search visits every regime, a fixed-rate encode one)."""
        if model_id not in self.cache:
            self.cache[model_id] = self.derive(model_id)
        return self.cache[model_id]


@dataclass
class Decoded:
    rgb: np.ndarray
    timings: dict = field(default_factory=dict)
    symbols_sha256: str = ""


def _threads_field(n: int) -> tuple[int, int | None]:
    """(multi_threading flag, log2 of the thread count - 1) for a count EncodeSettings already checked."""
    return (0, None) if n == 1 else (1, n.bit_length() - 2)


def gain_step(gain_log: np.ndarray, bdl: int) -> np.ndarray:
    """Quantisation gain per channel from Q7 log units, rounded to 10 fractional bits (entropy.md 5.3)."""
    g = np.exp((np.asarray(gain_log, np.float64) + bdl) * LOG_K / 128.0)
    return np.round(g * 1024.0) / 1024.0 + 1e-9


def dequantise(mu, r: np.ndarray, gain_log: np.ndarray, bdl: int):
    """Decoded latent mu + r / gain (torch, float32), the same arithmetic in encoder and decoder."""
    import torch
    m = torch.from_numpy(gain_step(gain_log, bdl)).float().view(-1, 1, 1)
    return mu + torch.from_numpy(r).float() / m


def operating_lambda(model_id: int, bdl: int) -> float:
    """The regime's training lambda moved by BDL: distortion scales with the step squared, and so does the
    rate-distortion slope at high rate."""
    return LAMBDAS[model_id] * math.exp(2 * bdl * LOG_K / 128.0)


def level_for(width: int, height: int, model_id: int) -> int:
    l0 = next((i + 1 for i, m in enumerate(LEVEL_MAX_SAMPLES) if width * height <= m), None)
    if l0 is None:
        raise BuildError(f"picture {width}x{height} exceeds every level")
    l1 = next(i for i, s in enumerate(LEVEL_MODELS_IS) if model_id in s)
    return 10 * l0 + l1


def hsd_outputs(im: IntegerModel, z: list[np.ndarray], h_lat: int, w_lat: int) -> list[np.ndarray]:
    return [hyper_scale_decode(z[c], im.hsd[c], h_lat, w_lat, blas.matmul) for c in (0, 1)]


def component_rows(im: IntegerModel, hsd: np.ndarray, c: int, model_id: int, bdl: int) -> np.ndarray:
    """Row per latent element (C, h, w), 255 where skipped: the parsing-critical integer path."""
    return rows_from_sigma(sigma_skip_index(hsd, im.gains[c][model_id], bdl))


def _region_list(w: int, h: int, regions: tuple[int, int]):
    return region_grid(w, h, regions[0], regions[1])


def coded_size(width: int, height: int) -> tuple[int, int]:
    """The coded picture size: the display size rounded up to multiples of 64."""
    return max(64, -(-width // 64) * 64), max(64, -(-height // 64) * 64)


def check_for_picture(s: EncodeSettings, width: int, height: int) -> None:
    """Refuse, before any work, settings that would make a stream the validator flags: BDL outside the
    reference encoder's range (PIH-008) and more regions than the picture allows (PIH-009: at most one row
    per 256 coded rows and one column per 512 coded columns)."""
    for value in s.bdl:
        if not BDL_RANGE[0] <= value <= BDL_RANGE[1]:
            raise BuildError(f"BDL {value} outside {BDL_RANGE[0]}..{BDL_RANGE[1]}, the range the reference "
                             "encoder produces (PIH-008)")
    w, h = coded_size(width, height)
    for count, extent, unit, axis, size in ((s.regions[0], h, 256, "rows", "high"),
                                            (s.regions[1], w, 512, "columns", "wide")):
        if count > -(-extent // unit):
            raise BuildError(f"{count} region {axis}: a picture coded {extent} samples {size} allows at most "
                             f"{-(-extent // unit)} (PIH-009)")


# ------------------------------------------------------------------------------------------- encoder

def _to_tensor(rgb: np.ndarray, coded: tuple[int, int]):
    import torch
    import torch.nn.functional as F
    h, w = rgb.shape[:2]
    x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    return F.pad(x, (0, coded[0] - w, 0, coded[1] - h), mode="replicate")


def analyse(model, rgb: np.ndarray, model_id: int = 2, bdl: tuple[int, int] = (0, 0)) -> Analysis:
    """Run the analysis and hyper networks once, for the operating point (model_id, BDL) the latents will be
    coded at (the analysis is rate-conditioned: latents placed for one rate code worse at another, so an
    encoder that moves far in rate analyses again; points beyond those training sampled are conditioned as
    the nearest sampled one, `model.trained_condition`); coded size = display size rounded up to 64."""
    import torch

    from .colour import rgb_to_ycbcr
    from .model import rate_condition, trained_condition
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise BuildError("encode expects an 8-bit RGB picture (H, W, 3)")
    h, w = rgb.shape[:2]
    coded = coded_size(w, h)
    if coded[0] - w > 63 or coded[1] - h > 63:
        raise BuildError(f"picture {w}x{h} too small to code (display differences are at most 63)")
    im = integer_model()
    with torch.no_grad():
        # channels_last: the analysis runs about 30 % faster on CPU (768x512); the encoder alone runs it
        ycc = rgb_to_ycbcr(_to_tensor(rgb, coded)).contiguous(memory_format=torch.channels_last)
        t = trained_condition(rate_condition(torch.tensor([model_id]), torch.tensor([sum(bdl) / 2])))
        lat = [part.contiguous() for part in model.analyse(ycc, t)]
        ents = (model.ent_y, model.ent_uv)
        free = [ents[c].hyper_enc(lat[c]).round().clamp(-Z_MAX, Z_MAX)[0].numpy().astype(np.int64) for c in (0, 1)]
    h_lat, w_lat = lat[0].shape[2:]

    def derive(m: int) -> Hyper:
        fixes = [fixed_z(im, c, m)[:, None, None] for c in (0, 1)]
        z = [np.where(fixes[c] == FREE_Z, free[c], fixes[c]) for c in (0, 1)]
        with torch.no_grad():
            mu = [ents[c].hmd(torch.from_numpy(z[c]).float()[None], h_lat, w_lat)[0].numpy() for c in (0, 1)]
        return Hyper(z, mu, hsd_outputs(im, z, h_lat, w_lat))
    return Analysis(w, h, coded, [l[0].numpy() for l in lat], derive)


FREE_Z = 99                              # `fixed_z`'s mark of a channel its regime leaves free


def fixed_z(im: IntegerModel, c: int, model_id: int) -> np.ndarray:
    """Per channel, the value a regime's z table fixes it to, or FREE_Z where the channel is free: a table whose
    one value takes all 255 of the coder's 8-bit masses (entropy.md 6.4) codes any other only by escape,
    so the encoder sets the channel to that value (about 0.006 bits a position). The training forward
    applies the same rule (`model.fixed_z_values`)."""
    masses = entropy.z_masses(im.z_freqs[c][model_id])[:, :2 * Z_MAX + 1]
    return np.where(masses.max(1) == 255, masses.argmax(1) - Z_MAX, FREE_Z)


def decoded_latents(an: Analysis, s: EncodeSettings) -> list:
    """The latents (1, C, h, w) per component that a decoder of the stream at the settings' point synthesises
    from: mu plus the coded residual over the gain, with the decoder's arithmetic."""
    import torch
    im = integer_model()
    return [dequantise(torch.from_numpy(an.hyper(s.model_id).mu[c]), coded_residual(an, c, s, im)[1],
                       im.gains[c][s.model_id], s.bdl[c]).unsqueeze(0) for c in (0, 1)]


def with_post_filter(model, rgb: np.ndarray, an: Analysis, s: EncodeSettings) -> Analysis:
    """The analysis with TON fields fitted for the operating point of `s`: the decoder's own latents and
    planes (same arithmetic, same stripes) against the source, so the filter is fitted to what decodes."""
    import torch

    from .colour import rgb_to_ycbcr
    lat = decoded_latents(an, s)
    with torch.no_grad():
        luma, chroma = synthesise_planes(model, lat[0], lat[1])
        source = rgb_to_ycbcr(_to_tensor(rgb, an.coded))[0].numpy()
    ton = efe.fit(luma, chroma, source, (an.height, an.width), operating_lambda(s.model_id, s.bdl[0]))
    return replace(an, ton=ton)


def coded_residual(an: Analysis, c: int, s: EncodeSettings, im: IntegerModel) -> tuple[np.ndarray, np.ndarray]:
    """Rows and residual symbols of component c at the operating point of `s`: rounded, then thinned by RDOQ
    (codec/rdoq.py) unless turned off or the latents were refined at length (more than `refine.RDOQ_UP_TO`
    steps choose them for plain rounding, and RDOQ on top undid two thirds of a 50-step refinement's gain on
    validation crops); skipped positions and channels beyond num_chs hold 0."""
    from . import rdoq
    gain_log, bdl = im.gains[c][s.model_id], s.bdl[c]
    hyper = an.hyper(s.model_id)
    rows = component_rows(im, hyper.hsd[c], c, s.model_id, bdl)
    step = gain_step(gain_log, bdl)[:, None, None]
    scaled = (an.y[c] - hyper.mu[c]) * step
    if s.rdoq and not an.plain_rounding:
        gains = rdoq.synthesis_gain()[:C_MAX[0]] if c == 0 else rdoq.synthesis_gain()[C_MAX[0]:]
        r = rdoq.quantise(scaled, rows, step, gains, operating_lambda(s.model_id, bdl))
    else:
        r = np.rint(scaled).astype(np.int32)
    r[rows == entropy.SKIP_ROW] = 0
    r[s.num_chs[c]:] = 0
    return rows, r


def encode_analysis(an: Analysis, s: EncodeSettings) -> bytes:
    """Entropy-code an analysed picture with the given rate and layout settings: a raw codestream."""
    im = integer_model()
    w, h = an.coded
    regs = _region_list(w, h, s.regions)
    payload = {0: [], 1: []}
    index_parts = []
    for c in (0, 1):
        n = s.num_chs[c]
        rows, r = coded_residual(an, c, s, im)
        memories = []
        for reg in regs:
            seq_rows = coding_order(rows, n, reg.latent)
            seq_vals = np.where(seq_rows == entropy.SKIP_ROW, 0, coding_order(r, n, reg.latent))
            threads = entropy.encode_residual(seq_vals, seq_rows, s.threads)
            memories.append(build_memory(threads))
            index_parts.append((c, reg, seq_rows, threads))
        if s.independent_regions:
            payload[c] = [build_independent_residual(reg.index, m) for reg, m in zip(regs, memories)]
        else:
            payload[c] = [build_dependent_residual(memories)]
    z_tables = [im.z_tables(c, s.model_id) for c in (0, 1)]
    z = an.hyper(s.model_id).z
    soz = build_memory(entropy.encode_z([(z[c] + Z_MAX, z_tables[c]) for c in (0, 1)], s.threads))
    fields = _pih_fields(an, s)
    udi = _udi_record(im.model_set, s, index_parts)
    return build_codestream(fields, soz=soz, sorp=payload[0], sors=payload[1], ton=an.ton, rdi=SRGB_RDI, udi=udi)


def _pih_fields(an: Analysis, s: EncodeSettings) -> dict:
    w, h = an.coded
    mt, lg = _threads_field(s.threads)
    comps = []
    for c in (0, 1):
        comp = default_component(c, num_chs=s.num_chs[c], multi_threading_r=mt)
        if mt:
            comp["log2_num_threads_r_minus1"] = lg
        comps.append(comp)
    fields = default_fields(w, h, decoder_profile_id=0, num_synthesis_transforms_minus1=0,
                            synthesis_transform_id=[0], level_idc=level_for(w, h, s.model_id),
                            diff_display_img_width=w - an.width, diff_display_img_height=h - an.height,
                            model_id=s.model_id, multi_threading_z=mt, **SOURCE_444_CODED_420,
                            beta_displacement_log_plus_2048_0=s.bdl[0] + 2048, component=comps)
    if mt:
        fields["log2_num_threads_z_minus1"] = lg
    if s.bdl[1] != s.bdl[0]:
        fields["independent_beta_uv"] = 1
        fields["beta_displacement_log_plus_2048_1"] = s.bdl[1] + 2048
    if s.regions != (1, 1):
        fields.update(region_partitioning_flag=1, num_ver_splits_minus1=s.regions[0] - 1,
                      num_hor_splits_minus1=s.regions[1] - 1,
                      region_residual_in_its_own_substream_flag=int(s.independent_regions))
        if not s.independent_regions:
            fields.update(hyper_decoder_overlap_in_latent_samples=0, mcm_overlap_in_latent_samples=0)
    return fields


def _udi_record(model_set: bytes, s: EncodeSettings, index_parts) -> bytes:
    """Model-set id plus, unless disabled, the channel index for extraction: for every (component,
    region) the byte cuts of the group-aligned channel prefixes that are multiples of INDEX_STEP."""
    from jpegai_fmt.udi_record import ChannelIndex, RegionIndex, build_record

    from .entropy.cuts import aligned_counts, channel_index_for
    index = ChannelIndex(tuple(s.num_chs))
    if s.channel_index:
        for c, reg, seq_rows, threads in index_parts:
            y0, y1, x0, x1 = reg.latent
            rh, rw = y1 - y0, x1 - x0
            counts = [m for m in aligned_counts(rh, rw, s.num_chs[c], s.threads) if m and m % INDEX_STEP == 0]
            cuts = channel_index_for(threads, seq_rows, s.threads, counts, rh * rw) if counts else []
            index.regions.append(RegionIndex(c, reg.index, [len(t) for t in threads], cuts))
    return build_record(model_set, index)


# ------------------------------------------------------------------------------------------- decoder

def _codestream_bytes(data: bytes) -> bytes:
    if data[4:8] == b"ftyp":
        from jpegai_fmt.container import unwrap
        return unwrap(data)
    return data


def _our_model(cs) -> IntegerModel:
    from jpegai_fmt.udi_record import parse_record
    im = integer_model()
    try:
        rec = parse_record(cs.udi)
    except ParseError as err:
        raise ModelMismatchError(f"the stream's jpegai-fmt UDI record is damaged ({err.describe()}): which model "
                                 "set made it cannot be told, so it is not decoded") from None
    if rec is None:
        raise ModelMismatchError("this stream carries no jpegai-fmt model-set record (UDI): it was made by "
                                 "another encoder whose networks we do not have, or its UDI was removed (extract "
                                 "--drop-udi); parse/validate/inspect work, decode does not")
    if rec.model_set != im.model_set:
        raise ModelMismatchError(f"stream made with model set {rec.model_set.hex()}, ours is "
                                 f"{im.model_set.hex()}: decode needs the same weights")
    return im


def _thread_bytes(payload: bytes, mem) -> list[bytes]:
    return [payload[o:o + n] for o, n in mem.threads]


def _payloads(cs, marker: Marker) -> dict[int, list[bytes]]:
    """Thread ranges per region index present in the SORP or SORS segments."""
    segs = [(i, s) for i, s in enumerate(cs.segments) if s.marker == marker]
    if not segs:
        raise DecodeError(f"no {marker.name} segment")
    return {part.index: _thread_bytes(seg.payload, part.memory)
            for i, seg in segs for part in cs.layouts[i].parts}


@dataclass
class StreamState:
    """What parsing needs, decoded from the integer path only (no float network)."""
    cs: object
    im: IntegerModel
    rows: list[np.ndarray]                # per component (C, h, w)
    z: list[np.ndarray]
    regions: list


def parse_state(data: bytes, limits: Limits | None = None) -> StreamState:
    cs = parse_codestream(_codestream_bytes(data), syntax="auto")   # IS, or DIS where only DIS reads
    check_decode(cs.pih, limits)          # a decompression bomb stops here, before any picture-size buffer
    im = _our_model(cs)
    p = cs.pih
    for c in (0, 1):
        if p.num_chs[c] > C_MAX[c]:
            raise DecodeError(f"num_chs[{c}] = {p.num_chs[c]} exceeds the {C_MAX[c]} latent channels (PIH-010)",
                              path=f"PIH/component[{c}]/num_chs")
    if (p.bit_depth, p.coded_subsampling, p["colour_transform_idx"]) != (8, (2, 2), 1):
        from jpegai_fmt.tables import CONSTANTS
        fmt = CONSTANTS["subsampling_formats"].get(",".join(map(str, p.coded_subsampling)), "an unknown format")
        differs = ([f"{p.bit_depth}-bit samples"] if p.bit_depth != 8 else []) + \
            ([f"chroma coded as {fmt}"] if p.coded_subsampling != (2, 2) else []) + \
            ([f"colour_transform_idx {p['colour_transform_idx']}"] if p["colour_transform_idx"] != 1 else [])
        raise DecodeError(f"this model set decodes only 8-bit streams with 4:2:0 chroma and colour_transform_idx 1 "
                          f"(BT.709 YCbCr); this one has {', '.join(differs)} (it still parses, validates and "
                          "extracts)", path="PIH")
    if p["model_id"] >= len(im.gains[0]):
        raise DecodeError(f"model_id {p['model_id']} names no model of the set (PRF-004)", path="PIH/model_id")
    w, h = p.width, p.height
    h_lat, w_lat = p.latent_size
    h_z, w_z = p.hyper_size
    soz_idx = next((i for i, s in enumerate(cs.segments) if s.marker == Marker.SOZ), None)
    if soz_idx is None:
        raise DecodeError("no SOZ segment: the hyper-latent z is mandatory (STR-005)", path="SOZ")
    z_tables = [im.z_tables(c, p["model_id"]) for c in (0, 1)]
    zs, _ = entropy.decode_z(_thread_bytes(cs.segments[soz_idx].payload, cs.layouts[soz_idx]),
                             [((C_MAX[c], h_z, w_z), z_tables[c]) for c in (0, 1)], p.n_z)
    z = [zz.astype(np.int64) - Z_MAX for zz in zs]
    hsd = hsd_outputs(im, z, h_lat, w_lat)
    rows = [component_rows(im, hsd[c], c, p["model_id"], p.bdl[c]) for c in (0, 1)]
    return StreamState(cs, im, rows, z, _region_list(w, h, p.region_grid))


def residual_rows(data: bytes) -> dict:
    """Rows in coding order per (component, region index): what extraction needs to find cut points."""
    st = parse_state(data)
    out = {}
    for c in (0, 1):
        n = st.cs.pih.num_chs[c]
        for reg in st.regions:
            out[(c, reg.index)] = coding_order(st.rows[c], n, reg.latent).copy()
    return out


def decode(data: bytes, luma_channels: int | None = None, chroma_channels: int | None = None,
           model=None, limits: Limits | None = None) -> Decoded:
    """Decode a codestream of this model set; a channel count decodes only that prefix (the rest as mu)."""
    import hashlib

    import torch

    from .weights import load_networks
    for c, (n, name) in enumerate(zip((luma_channels, chroma_channels), ("luma", "chroma"))):
        if n is not None and not 0 <= n <= C_MAX[c]:
            raise DecodeError(f"{name} channels {n} outside 0..{C_MAX[c]}")
    t0 = time.perf_counter()
    st = parse_state(data, limits)
    p = st.cs.pih
    efe.check_supported(st.cs.ton)
    keep = [min(x if x is not None else C_MAX[c], p.num_chs[c]) for c, x in enumerate((luma_channels,
                                                                                       chroma_channels))]
    h_lat, w_lat = p.latent_size
    markers = (Marker.SORP, Marker.SORS)
    r = [np.zeros((C_MAX[c], h_lat, w_lat), np.int32) for c in (0, 1)]
    sha = hashlib.sha256()
    for c in (0, 1):
        mems = _payloads(st.cs, markers[c])
        n = p.num_chs[c]
        nthr = p.n_r[c]
        for reg in st.regions:
            if reg.index not in mems:
                continue                      # an absent independent region decodes as zero residual
            y0, y1, x0, x1 = reg.latent
            seq_rows = coding_order(st.rows[c], n, reg.latent)
            vals, _ = entropy.decode_residual(mems[reg.index], seq_rows, nthr,
                                              count=keep[c] * (y1 - y0) * (x1 - x0))
            r[c][:n, y0:y1, x0:x1] = vals.reshape(n, y1 - y0, x1 - x0)
    for c in (0, 1):
        sha.update(r[c].tobytes())          # the decoded residual, independent of the stream layout
    t1 = time.perf_counter()
    model = model or load_networks()
    with torch.no_grad():
        lat = []
        ents = (model.ent_y, model.ent_uv)
        for c in (0, 1):
            z = torch.from_numpy(st.z[c]).float().unsqueeze(0)
            mu = ents[c].hmd(z, h_lat, w_lat)[0]
            lat.append(dequantise(mu, r[c], st.im.gains[c][p["model_id"]], p.bdl[c]).unsqueeze(0))
        out = synthesise(model, lat[0], lat[1], st.cs.ton)
    dw, dh = p.display_size
    out = out[:dh, :dw].copy()
    t2 = time.perf_counter()
    return Decoded(out, {"parse_entropy_s": t1 - t0, "synthesis_s": t2 - t1}, sha.hexdigest())


STRIPE_ROWS = 48          # latent rows synthesised at once (768 picture rows)
STRIPE_HALO = 4           # latent rows of context each side: the synthesis reaches 3.6 (luma), 2.9 (chroma)


def _stripes(model, lat_y, lat_uv):
    """(r0, r1, a, Y, CbCr) per horizontal stripe: latent rows r0..r1 synthesised from rows a..b around them.
    Stripes bound peak memory for large pictures. The halo covers the networks' reach (and the post-filter's
    two samples), so each stripe's rows are computed from the same latent values as a whole-picture pass
    (float summation order aside, which may move a rare pixel by one code value); pictures up to STRIPE_ROWS
    latent rows are one pass."""
    h = lat_y.shape[2]
    for r0 in range(0, h, STRIPE_ROWS):
        r1 = min(h, r0 + STRIPE_ROWS)
        a, b = max(0, r0 - STRIPE_HALO), min(h, r1 + STRIPE_HALO)
        yield (r0, r1, a, model.syn_y(lat_y[:, :, a:b]) + 0.5,
               model.syn_uv(lat_uv[:, :, a:b], lat_y[:, :, a:b]) + 0.5)


def synthesise(model, lat_y, lat_uv, ton: dict | None = None) -> np.ndarray:
    """Decoded latents (1, C, h, w) -> RGB uint8 (16h, 16w, 3); chroma up-sampled by the TON post-filter
    where it is on (codec/efe.py), bilinearly elsewhere."""
    import torch

    from .colour import ycbcr_to_rgb
    out = np.empty((lat_y.shape[2] * 16, lat_y.shape[3] * 16, 3), np.uint8)
    for r0, r1, a, y_rec, uv_rec in _stripes(model, lat_y, lat_uv):
        ycc = torch.cat([y_rec, efe.upsample(ton, y_rec, uv_rec)], 1)
        rgb = ycbcr_to_rgb(ycc)[0, :, (r0 - a) * 16:(r1 - a) * 16]
        out[r0 * 16:r1 * 16] = (rgb.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return out


def synthesise_planes(model, lat_y, lat_uv) -> tuple[np.ndarray, np.ndarray]:
    """Decoded Y (16h, 16w) and Cb, Cr (2, 8h, 8w) before up-sampling, float32, stripe by stripe as decoded."""
    ys, uvs = [], []
    for r0, r1, a, y_rec, uv_rec in _stripes(model, lat_y, lat_uv):
        ys.append(y_rec[0, 0, (r0 - a) * 16:(r1 - a) * 16].numpy())
        uvs.append(uv_rec[0, :, (r0 - a) * 8:(r1 - a) * 8].numpy())
    return np.concatenate(ys), np.concatenate(uvs, 1)


def decode_array(data: bytes, luma_channels: int | None = None, chroma_channels: int | None = None) -> np.ndarray:
    return decode(data, luma_channels, chroma_channels).rgb


# ------------------------------------------------------------------------------------------- rate search

def encode(rgb: np.ndarray, *, bpp: float | None = None, psnr: float | None = None,
           settings: EncodeSettings | None = None, model=None, progress=None) -> bytes:
    """Encode with fixed settings, or search model_id and BDL so the stream lands near `bpp`, or at the
    lowest rate whose decoded picture reaches `psnr` (PSNR-RGB, dB; `_encode_at_quality`).

    The rate search runs first on latents analysed for the settings' operating point; the picture is
    analysed again for the point it picks and BDL searched again inside that regime. With refinement,
    the latents are then refined for it, and BDL is searched again (inside the chosen regime) on the refined
    latents, since refinement moves the rate a little. The post-filter is fitted at the chosen point and
    BDL searched once more with its bytes counted. The rate counts codestream bits; with `settings.container`
    the chosen codestream is then wrapped in a .jai file."""
    from .refine import auto_steps, refine
    from .weights import load_networks
    s = settings or EncodeSettings()
    if bpp is not None and psnr is not None:
        raise BuildError("give a rate target (bpp) or a quality target (psnr), not both")
    if bpp is not None and not (math.isfinite(bpp) and bpp > 0):
        raise BuildError(f"target rate {bpp} bpp must be a positive number")
    if psnr is not None and not (math.isfinite(psnr) and 0 < psnr < 100):
        raise BuildError(f"target quality {psnr} dB must be a PSNR between 0 and 100")
    check_for_picture(s, np.shape(rgb)[1], np.shape(rgb)[0])
    model = model or load_networks()
    an = analyse(model, rgb, s.model_id, s.bdl)
    if s.refine == "auto":
        s = replace(s, refine=auto_steps(*an.coded))
    if bpp is not None:
        data = _encode_at_rate(model, rgb, an, bpp, s, progress)
    elif psnr is not None:
        data = _encode_at_quality(model, rgb, an, psnr, s, progress)
    else:
        an = refine(model, rgb, an, s.model_id, s.bdl, s.refine, progress=progress, num_chs=s.num_chs)
        data = encode_analysis(with_post_filter(model, rgb, an, s) if s.post_filter else an, s)
    if s.container:
        from jpegai_fmt.container import wrap
        data = wrap(data)
    return data


def _encode_at_rate(model, rgb, an: Analysis, bpp: float, s: EncodeSettings, progress) -> bytes:
    """The codestream nearest `bpp`, through the searches `encode` describes."""
    from .refine import refine
    data, chosen = search_rate(an, bpp, s, progress)
    if (chosen.model_id, chosen.bdl) != (s.model_id, s.bdl):      # analyse again for the point found
        an = analyse(model, rgb, chosen.model_id, chosen.bdl)
        data, chosen = search_rate(an, bpp, chosen, progress, models=(chosen.model_id,))
    if s.refine:
        an = refine(model, rgb, an, chosen.model_id, chosen.bdl, s.refine, progress=progress, num_chs=s.num_chs)
        data, chosen = search_rate(an, bpp, chosen, progress, models=(chosen.model_id,))
    if s.post_filter:
        an = with_post_filter(model, rgb, an, chosen)
        data, chosen = search_rate(an, bpp, chosen, progress, models=(chosen.model_id,))
    return data


def _encode_at_quality(model, rgb, an: Analysis, target_db: float, s: EncodeSettings, progress) -> bytes:
    """The lowest-rate stream found whose decoded picture reaches `target_db` PSNR-RGB: the point is searched
    on the plain analysis, the latents refined there, and BDL searched again on the refined latents (which
    reach the target at a lower BDL). The post-filter fitted last only lowers the distortion, so the target
    still holds. Where even the highest point falls short, that point is coded (the caller reports it)."""
    from .refine import refine
    chosen = search_quality(model, rgb, an, target_db, s, progress)
    if (chosen.model_id, chosen.bdl) != (s.model_id, s.bdl):
        an = analyse(model, rgb, chosen.model_id, chosen.bdl)
        chosen = search_quality(model, rgb, an, target_db, chosen, progress, models=(chosen.model_id,))
    if s.refine:
        an = refine(model, rgb, an, chosen.model_id, chosen.bdl, s.refine, progress=progress, num_chs=s.num_chs)
        chosen = search_quality(model, rgb, an, target_db, chosen, progress, models=(chosen.model_id,))
    if s.post_filter:
        an = with_post_filter(model, rgb, an, chosen)
    return encode_analysis(an, chosen)


def decoded_psnr(model, rgb: np.ndarray, an: Analysis, s: EncodeSettings) -> float:
    """PSNR-RGB of the picture a stream of `an` at the settings' point decodes to (TON as `an` carries it),
    computed from the latents the stream would carry, without writing it."""
    import torch

    from .metrics import psnr_rgb
    lat = decoded_latents(an, s)
    with torch.no_grad():
        out = synthesise(model, lat[0], lat[1], an.ton)
    return psnr_rgb(rgb, out[:an.height, :an.width])


def search_quality(model, rgb: np.ndarray, an: Analysis, target_db: float, base: EncodeSettings, progress=None,
                   models=range(4)) -> EncodeSettings:
    """The lowest BDL (to `QUALITY_BDL_STEP`), inside the regime whose quality is nearest the target (each
    regime's gains were trained for its own rate, as `search_rate` assumes), at which the decoded PSNR reaches
    the target; quality rises with BDL up to `top_bdl`. The next-nearest regime is tried only when the target
    lies beyond a regime's range. Regimes start at BDL 0, the base settings' regime at their BDL (a later
    search starts where the last ended). When none reaches it, returns the top of the highest regime: the model
    set's best quality once refined, though on plain latents model_id 2 at +702 may measure as high (model_id 3
    at +400 refined: 31.82 dB, model_id 2 at +702: 31.73 dB on 8 central 512² validation crops; session 26).
    Refinement then searches that regime again, so a target the plain latents miss may still be met."""
    measured: dict[tuple[int, int], tuple[float, EncodeSettings]] = {}

    def quality(model_id: int, bdl: int) -> tuple[float, EncodeSettings]:
        if (model_id, bdl) not in measured:
            s = EncodeSettings(**{**base.__dict__, "model_id": model_id, "bdl": (bdl, bdl)})
            if progress:
                progress()
            measured[model_id, bdl] = decoded_psnr(model, rgb, an, s), s
        return measured[model_id, bdl]

    tried = {m: quality(m, base.bdl[0] if m == base.model_id else 0) for m in models}
    hopeless: set[int] = set()
    for mid in sorted(tried, key=lambda m: abs(tried[m][0] - target_db)):
        if mid in hopeless:
            continue
        _, above = bdl_bracket(lambda b: quality(mid, b)[0], target_db, tried[mid][1].bdl[0],
                               (BDL_RANGE[0], top_bdl(mid)), PSNR_PER_BDL, QUALITY_BDL_STEP)
        if above is not None:
            return quality(mid, above)[1]
        hopeless |= beyond_reach(mid, models, above=True)
    return quality(max(models), top_bdl(max(models)))[1]


def top_bdl(model_id: int) -> int:
    """The highest BDL the rate and quality searches try in a regime: the syntax's limit, or the highest
    operating point training sampled where that is lower (model_id 3: +400). Beyond it quality falls while
    the rate keeps rising (8 central 512² validation crops, default encoder: BDL +400 0.855 bpp 31.82 dB,
    +702 1.42 bpp 31.59 dB as trained, 1.19 bpp 31.80 dB with the analysis and the refinement held at +400 as
    `model.trained_condition` and `refine.refine` now hold them; session 26), so a higher target is reported
    out of reach instead of being met with wasted bits. `--model-id 3 --bdl 702` still writes such a point."""
    from .model import highest_trained_bdl
    return min(BDL_RANGE[1], highest_trained_bdl(model_id))


QUALITY_BDL_STEP = 8      # BDL resolution of the quality search: 8 Q7 log units change the rate by about 1 %
PSNR_PER_BDL = 0.004      # first guess of d PSNR / d BDL in dB (0.0015 at model_id 3 to 0.006 at 0)


def search_rate(an: Analysis, target_bpp: float, base: EncodeSettings, progress=None,
                models=range(4)) -> tuple[bytes, EncodeSettings]:
    """Start from the regime (model_id) whose rate is nearest the target, since each regime's gain vector was
    trained for its own rate, then solve for BDL inside it (`bdl_bracket` on ln bpp, which is close to linear
    in BDL: the gains scale the residual's step); move to the next-nearest regime only when the target lies
    beyond the regime's BDL range. Regimes start at BDL 0, the base settings' regime at their BDL: a later
    search (after analysing again, refining, fitting the post-filter) starts where the last one ended and
    usually needs one or two codings. Returns the stream nearest the target and the settings that made it."""
    pixels = an.width * an.height
    if target_bpp <= 0:
        raise BuildError(f"target rate {target_bpp} bpp must be positive")
    coded: dict[tuple[int, int], tuple[float, bytes, EncodeSettings]] = {}

    def rate(model_id: int, bdl: int) -> tuple[float, bytes, EncodeSettings]:
        if (model_id, bdl) not in coded:
            s = EncodeSettings(**{**base.__dict__, "model_id": model_id, "bdl": (bdl, bdl)})
            data = encode_analysis(an, s)
            if progress:
                progress()
            coded[model_id, bdl] = len(data) * 8 / pixels, data, s
        return coded[model_id, bdl]

    def near(rd) -> bool:
        return abs(rd[0] / target_bpp - 1) <= RATE_TOLERANCE

    tried = {m: rate(m, base.bdl[0] if m == base.model_id else 0) for m in models}
    hopeless: set[int] = set()
    for mid in sorted(tried, key=lambda m: abs(math.log(tried[m][0] / target_bpp))):
        if mid in hopeless:
            continue
        below, above = bdl_bracket(lambda b: math.log(rate(mid, b)[0]), math.log(target_bpp),
                                   tried[mid][2].bdl[0], (BDL_RANGE[0], top_bdl(mid)), LOG_RATE_PER_BDL, 1,
                                   done=lambda b: near(rate(mid, b)))
        if below is not None and above is not None or any(near(rd) for rd in coded.values()):
            break
        hopeless |= beyond_reach(mid, models, above=above is None)
    best = min(coded.values(), key=lambda rd: abs(rd[0] - target_bpp))
    return best[1], best[2]


def beyond_reach(model_id: int, models, above: bool) -> set[int]:
    """The regimes that cannot reach a target this one could not: rate and quality rise with model_id at equal
    BDL, so a target above this regime's top is above every lower regime whose top is no higher, and one below
    its bottom (the same for all) is below every higher regime. Spares a search for a target outside the model
    set's range two regimes' hyper side and codings."""
    if above:
        return {m for m in models if m < model_id and top_bdl(m) <= top_bdl(model_id)}
    return {m for m in models if m > model_id}


RATE_TOLERANCE = 0.005          # `search_rate` stops within 0.5 % of the target rate
LOG_RATE_PER_BDL = 0.0012       # first guess of d ln(bpp) / d BDL (0.0010-0.0016 over the regimes)


def bdl_bracket(f: Callable[[int], float], goal: float, start: int, limits: tuple[int, int], slope: float,
                width: int, done: Callable[[int], bool] | None = None, max_steps: int = 16
                ) -> tuple[int | None, int | None]:
    """For f rising with BDL: (the highest BDL seen with f < goal, the lowest with f >= goal), narrowed until
    they are at most `width` apart, or `done` holds for a BDL seen; None on a side the limits do not reach.
    From `start` it steps along a secant (`slope`, a first guess of df/dBDL, until two points give one), aiming
    `width` past the goal, until the goal is bracketed; then it interpolates inside the bracket (regula falsi,
    kept `width` from the ends so that the bracket can close in one step, with the Illinois rule: an end kept
    while two points in a row fall on the other side counts half as far; a third in a row halves the bracket),
    which keeps a curved or stepped f from creeping. Where bisection from the range's ends took 8-12
    evaluations a search, this takes 2-5 (session 26).
    """
    seen = {start: f(start)}
    last, side, run = start, None, 0             # run: interpolated points in a row on one side of the goal

    def bracket() -> tuple[int | None, int | None]:
        return (max((b for b in seen if seen[b] < goal), default=None),
                min((b for b in seen if seen[b] >= goal), default=None))

    for _ in range(max_steps):
        below, above = bracket()
        if done is not None and done(last):
            break
        if below is not None and above is not None:
            if above - below <= width:
                break
            if above - below <= 2 * width or run >= 3:
                nxt = (below + above) // 2         # (three in a row: f is far from straight here)
            else:                                # Illinois: the end kept `run` times counts 2^-(run-1) as far
                low, high = goal - seen[below], seen[above] - goal
                low, high = (low, high * 0.5 ** (run - 1)) if side else (low * 0.5 ** (run - 1), high)
                nxt = below + round((above - below) * low / (low + high))
                nxt = min(max(nxt, below + width), above - width)    # so that the bracket can close at once
            nxt = min(max(nxt, below + 1), above - 1)
            interpolated = True
        else:
            past = width if goal > seen[last] else -width       # aim just past the goal to bracket it
            nxt = min(max(last + round((goal - seen[last]) / slope) + past, limits[0]), limits[1])
            if nxt in seen:                      # at the end of the range, and the goal lies beyond it
                break
            interpolated = False                 # stepping towards the goal: no side to count yet
        seen[nxt] = f(nxt)
        if interpolated:
            run = run + 1 if (seen[nxt] < goal) == side else 1
            side = seen[nxt] < goal
        if seen[nxt] > seen[last] and nxt > last or seen[nxt] < seen[last] and nxt < last:
            slope = (seen[nxt] - seen[last]) / (nxt - last)
        last = nxt
    return bracket()
