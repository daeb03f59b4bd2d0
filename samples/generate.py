"""Rebuild the conformance samples and `manifest.json` from scratch: `python samples/generate.py`.

Every stream starts as a real encode by our codec of a small crop (64..576 px) of the validation
pictures. Header variants the codec does not produce (cube flags, GRFS, synthesis tiling, TON
filters, RDI parts, chroma formats, profiles, levels...) re-serialise that encode with the syntax
builders, keeping its entropy payloads byte for byte. Invalid streams change one thing of a valid
one (a field's bits in place, a segment added, dropped or reframed, a box patched), so each breaks
exactly the rule it is listed with. The manifest's `info` is computed here from the values written,
not by parsing the result, so the suite checks the parser against an independent account.
Output is deterministic: same code, weights and pictures give the same bytes.
"""
from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from jpegai_fmt.bits import BitWriter  # noqa: E402
from jpegai_fmt.codestream import EMPTY_RDI, build_codestream, parse_codestream  # noqa: E402
from jpegai_fmt.container import schemas as S  # noqa: E402
from jpegai_fmt.container.writer import box, wrap  # noqa: E402
from jpegai_fmt.geometry import ceil_div, cube_flag_count, tiles_1d  # noqa: E402
from jpegai_fmt.layout import build_independent_residual, build_memory  # noqa: E402
from jpegai_fmt.markers import Marker  # noqa: E402
from jpegai_fmt.pih import parse_pih  # noqa: E402
from jpegai_fmt.segments import split_segments  # noqa: E402

VAL = Path(os.environ.get("JPEGAI_VAL", "/work/shared/data/val"))
MAX_BYTES = 50_000
# Crops (file, y, x, height, width): small windows, never a whole picture.
CROPS = {
    "small": ("wiki-042.png", 200, 300, 128, 192),
    "tiny": ("wiki-043.png", 100, 100, 64, 64),
    "odd": ("wiki-044.png", 50, 420, 70, 100),
    "tall": ("wiki-045.png", 120, 600, 320, 128),
    "wide": ("wiki-046.png", 300, 100, 320, 576),
}
SRGB_CICP = {"colour_primaries": 1, "transfer_characteristics": 13, "matrix_coefficients": 0,
             "image_full_range_flag": 1, "chroma420_sample_loc_type": 0, "cicp_reserved_zero_4bits": 0}


# ------------------------------------------------------------------------------------------ encoding

def _picture(name: str) -> np.ndarray:
    from PIL import Image
    file, y, x, h, w = CROPS[name]
    with Image.open(VAL / file) as im:
        return np.asarray(im.convert("RGB"))[y:y + h, x:x + w].copy()


class Encoder:
    """Our codec, one picture read and one analysis per crop (the networks run once per picture)."""

    def __init__(self):
        import torch

        from codec.weights import load_networks
        torch.set_num_threads(1)
        self.model = load_networks()
        self.analyses = {}

    def __call__(self, crop: str, **settings) -> bytes:
        from codec import pipeline as P
        s = P.EncodeSettings(**settings)
        key = crop, s.model_id, s.bdl                # the analysis is rate-conditioned
        if key not in self.analyses:
            rgb = _picture(crop)
            self.analyses[key] = rgb, P.analyse(self.model, rgb, s.model_id, s.bdl)
        rgb, an = self.analyses[key]
        if s.post_filter:                 # as `encode` does: the filter where it pays (small crops: off)
            an = P.with_post_filter(self.model, rgb, an, s)
        data = P.encode_analysis(an, s)
        udi = next(seg.payload for seg in split_segments(data) if seg.marker == Marker.UDI)
        INFO[data] = info_of(P._pih_fields(an, s), an.ton, P.SRGB_RDI, udi)
        return data


# ------------------------------------------------------------------------------------------ editing

def parts_of(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment between SOC and EOC."""
    return [(int(s.marker), s.payload) for s in split_segments(data)[1:-1]]


def frame(marker: int, payload: bytes = b"", *, align: int = 0) -> bytes:
    """A segment with any marker value (known or not); `align` sets the alignment bits."""
    w = BitWriter()
    w.write(marker, 16)
    w.write_ue(len(payload), "substream_size")
    pad = (-w.bit_length) % 8
    if pad:
        w.write(align & ((1 << pad) - 1), pad)
    return w.to_bytes() + payload


def join(parts, *, soc: bytes = b"\xff\x80", eoc: bytes = b"\xff\x81") -> bytes:
    return soc + b"".join(frame(m, p) for m, p in parts) + eoc


def restream(data: bytes, *, pih=None, ton=None, rdi=None, udi="keep", soq="keep", syntax="is") -> bytes:
    """Re-serialise `data` with edited headers and the same entropy payloads.

    `pih` and `ton` are functions editing a deep copy of the parsed fields (`ton` receives the
    new PictureHeader too); `rdi` replaces the RDI fields; `udi`/`soq` replace those payloads
    (None drops them); `syntax` is the PIH syntax written ('is' or 'dis').
    """
    cs = parse_codestream(data)
    fields = copy.deepcopy(cs.pih.fields)
    if pih:
        pih(fields)
    header = parse_pih(_pih_bytes(fields, syntax), syntax=syntax)
    ton_fields = copy.deepcopy(cs.ton) if cs.ton else None
    if ton_fields is not None and 1 in header.source_subsampling and ton_fields.get("icci_enable_flag") is None:
        ton_fields["icci_enable_flag"] = 0
    if ton_fields is not None and 1 not in header.source_subsampling:
        ton_fields["icci_enable_flag"] = None
    if ton:
        ton(ton_fields, header)
    payload = {m: [s.payload for s in cs.of(m)] for m in Marker}
    rdi = cs.rdi if rdi is None else rdi
    udi = cs.udi if udi == "keep" else udi
    data = build_codestream(fields, soz=payload[Marker.SOZ][0], sorp=payload[Marker.SORP],
                            sors=payload[Marker.SORS], ton=ton_fields, rdi=rdi, udi=udi,
                            soq=(payload[Marker.SOQ] or [None])[0] if soq == "keep" else soq, syntax=syntax)
    INFO[data] = info_of(fields, ton_fields, rdi, udi, syntax)
    return data


def _pih_bytes(fields: dict, syntax: str = "is") -> bytes:
    from jpegai_fmt.pih import build_pih
    return build_pih(fields, syntax)


def set_bits(data: bytes, path: str, value: int) -> bytes:
    """Overwrite the field at `path` in place (same width), so nothing else moves."""
    node = parse_codestream(data, tolerant=True).node.get(path)
    if node is None:
        raise KeyError(path)
    out = bytearray(data)
    for i in range(node.bit_length):
        bit = (value >> (node.bit_length - 1 - i)) & 1
        pos = node.bit_offset + i
        mask = 0x80 >> (pos % 8)
        out[pos // 8] = (out[pos // 8] | mask) if bit else (out[pos // 8] & ~mask)
    return bytes(out)


def replace_parts(data: bytes, edit) -> bytes:
    """Rebuild with `edit(parts)` returning the new (marker, payload) list."""
    return join(edit(parts_of(data)))


def marker_index(parts, marker: Marker, k: int = 0) -> int:
    return [i for i, (m, _) in enumerate(parts) if m == marker][k]


# ------------------------------------------------------------------------------------------ expectations

def tools_of(fields: dict, ton: dict | None) -> list[str]:
    """The tool names the suite compares (docs/conformance.md): PIH tools per component, TON filters."""
    out = set()
    for comp in fields["component"]:
        for key, name in (("use_cube_flags", "cube_flags"), ("rvs_enable_flag", "rvs"),
                          ("grfs_enable_flag", "grfs"), ("synthesis_tile_enable", "synthesis_tiling")):
            if comp.get(key):
                out.add(name)
    if fields.get("gain_3D_enable_flag"):
        out.add("quality_map")
    if ton:
        if any(ton.get("lsbs_enable_flag") or []):
            out.add("lsbs")
        for key, name in (("EFE_linear_filter_enabled_flag", "efe_linear"), ("icci_enable_flag", "icci"),
                          ("EFE_nonlinear_filter_enabled_flag", "efe_nonlinear"), ("LEF_enabled_flag", "lef")):
            if ton.get(key):
                out.add(name)
    return sorted(out)


def _threads(flag, log2) -> int:
    return 1 << (log2 + 1) if flag else 1


def info_of(fields: dict, ton: dict | None, rdi: dict | None, udi: bytes | None, syntax: str = "is") -> dict:
    """What `info --json` must report, from the values written."""
    w, h = fields["img_width_minus64"] + 64, fields["img_height_minus64"] + 64
    regions = [1, 1]
    if fields.get("region_partitioning_flag"):
        regions = [fields["num_ver_splits_minus1"] + 1, fields["num_hor_splits_minus1"] + 1]
    sv, sh = fields["s_ver_minus1"] + 1, fields["s_hor_minus1"] + 1
    cv = fields["c_ver_minus1"] + 1 if sv == 1 else 2
    ch = fields["c_hor_minus1"] + 1 if sh == 1 else 2
    fmt = {(1, 1): "4:4:4", (1, 2): "4:2:2", (2, 2): "4:2:0"}
    comps = fields["component"]
    q = None
    if fields.get("gain_3D_enable_flag"):
        q = _threads(fields.get("multi_threading_q"), fields.get("log2_num_threads_q_minus1"))
    return {
        "syntax": syntax.upper(),
        "size": [w, h],
        "display_size": [w - fields["diff_display_img_width"], h - fields["diff_display_img_height"]],
        "profile": fields["decoder_profile_id"],
        "synthesis": list(fields["synthesis_transform_id"]),
        "level": fields["level_idc"],
        "model_id": fields["model_id"],
        "bit_depth": (8, 10, 12, 14, 16)[fields["bit_depth_idc"]],
        "chroma": fmt.get((sv, sh), f"{sv}x{sh}"),
        "coded_chroma": fmt.get((cv, ch), f"{cv}x{ch}"),
        "threads": {"z": _threads(fields["multi_threading_z"], fields.get("log2_num_threads_z_minus1")),
                    "r": [_threads(c["multi_threading_r"], c.get("log2_num_threads_r_minus1")) for c in comps],
                    "q": q},
        "regions": {"grid": regions,
                    "independent": bool(fields.get("region_residual_in_its_own_substream_flag") or 0)},
        "num_chs": [c["num_chs"] for c in comps],
        "tools": tools_of(fields, ton),
        "rdi": [k for k in ("cicp", "mdcv", "clli", "dm") if rdi and rdi.get(f"{k}_info_present_flag"
                                                                             if k != "dm" else "dm_present_flag")],
        "udi_bytes": None if udi is None else len(udi),
    }


# info of every stream built here, keyed by its bytes, from the values given to the writer
INFO: dict[bytes, dict] = {}


def expected_info(data: bytes, **changes) -> dict:
    info = copy.deepcopy(INFO[data])
    info.update(changes)
    return info


# ------------------------------------------------------------------------------------------ catalogue

class Catalogue:
    def __init__(self):
        self.entries: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}

    def add(self, name: str, data: bytes, *, what: str, rules=(), allow=(), info=None, kind="codestream",
            ext=None, mode="syntax", valid=False):
        ext = ext or (".jai" if kind == "container" else ".jaic")
        rel = f"{'valid' if valid else 'rules'}/{name}{ext}"
        if len(data) > MAX_BYTES:
            raise SystemExit(f"{rel}: {len(data)} bytes exceeds {MAX_BYTES}")
        entry = {"file": rel, "kind": kind, "what": what, "rules": sorted(rules), "allow": sorted(allow),
                 "mode": mode}
        if info is not None:
            entry["info"] = info
        self.entries[rel] = entry
        self.files[rel] = data


def valid_streams(cat: Catalogue, enc: Encoder) -> dict[str, bytes]:
    """Encoder streams and header variants; returns the bases the invalid streams start from."""
    base = enc("small", model_id=2)
    wide = enc("wide", model_id=0, bdl=(-400, -400))
    bases = {"base": base, "wide": wide}

    def add(name, data, what, allow=(), rules=(), info=None):
        info = info or expected_info(data)
        cat.add(name, data, what=what, allow=allow, rules=rules, info=info, valid=True)
        cat.add(name, wrap(data, syntax=info.get("syntax", "IS")), what=what + " (in the container)", allow=allow,
                rules=rules, info=info, kind="container", valid=True)

    add("enc-threads-1", base, "encoder: 192x128, one thread everywhere, model 2, simple profile, level 10")
    for n in (2, 8, 16):
        add(f"enc-threads-{n}", enc("small", model_id=2, threads=n), f"encoder: {n} threads in SOZ, SORP, SORS")
    add("enc-tiny-64", enc("tiny", model_id=3), "encoder: minimum picture 64x64, model 3 (level 11)")
    add("enc-display-crop", enc("odd", model_id=1), "encoder: 100x70 shown of 128x128 coded, model 1 (level 12)")
    add("enc-model-0", enc("small", model_id=0, bdl=(-300, -300)), "encoder: model 0 at BDL -300 (level 12)")
    add("enc-post-filter", enc("wide", model_id=0),
        "encoder: EFE linear chroma post-filter fitted for the picture (TON), model 0")
    add("enc-beta-uv", enc("small", model_id=2, bdl=(0, 150)), "encoder: independent chroma BDL")
    add("enc-channel-prefix", enc("small", model_id=2, num_chs=(32, 16)), "encoder: 32 luma / 16 chroma channels")
    add("enc-no-index", enc("small", model_id=2, channel_index=False), "encoder: UDI record without channel index")
    dep = enc("tall", model_id=2, regions=(2, 1))
    bases["dependent"] = dep
    add("enc-regions-dependent", dep, "encoder: 2x1 dependent regions, 128x320", rules=("PIH-015", "UDI-001"))
    ind = enc("wide", model_id=0, bdl=(-400, -400), regions=(2, 2), independent_regions=True, threads=2)
    bases["independent"] = ind
    add("enc-regions-independent", ind, "encoder: 2x2 independent regions, 2 threads, 576x320", allow=("PIH-015",))
    add("enc-regions-independent-t8", enc("tall", model_id=2, regions=(2, 1), independent_regions=True, threads=8),
        "encoder: 2x1 independent regions, 8 threads", allow=("PIH-015",))
    bases["t2"] = enc("small", model_id=2, threads=2)
    bases["pih009"] = enc("small", model_id=2, regions=(1, 2))
    bases["bdl900"] = enc("small", model_id=2, bdl=(900, 900))

    # ---- PIH variants (re-serialised)
    def pv(name, what, edit, src=base, allow=(), **kw):
        add(name, restream(src, pih=edit, **kw), what, allow=allow)

    def comp(c, **values):
        def edit(f):
            f["component"][c].update(values)
        return edit

    def both(*edits):
        def edit(f):
            for e in edits:
                e(f)
        return edit

    f_count = cube_flag_count(576, 320)
    groups = []
    for g in range(ceil_div(f_count, 8)):
        n = min(8, f_count - 8 * g)
        groups.append({"cube_group_flag": 0} if g % 2 else
                      {"cube_group_flag": 1, "cube_flag": [(g + i) % 2 for i in range(n)]})
    pv("hdr-cube-flags", f"cube flags: {f_count} flags in {len(groups)} groups, luma and chroma", both(
        comp(0, use_cube_flags=1, cube_groups=groups),
        comp(1, use_cube_flags=1, cube_groups=[{"cube_group_flag": 1, "cube_flag": [0] * min(8, f_count - 8 * g)}
                                               for g in range(len(groups))])), src=wide)
    pv("hdr-grfs", "RVS and GRFS on, per-channel GRFS flags in both components", both(
        comp(0, rvs_enable_flag=1, grfs_enable_flag=1, grfs_channel_flag=[(k * 7) % 3 % 2 for k in range(160)]),
        comp(1, rvs_enable_flag=1, grfs_enable_flag=1, grfs_channel_flag=[k % 2 for k in range(96)])))
    pv("hdr-rvs-only", "RVS on without GRFS (luma)", comp(0, rvs_enable_flag=1))
    pv("hdr-synthesis-tiling", "synthesis tiling: luma T=64 O=16, chroma T=128 O=32", both(
        comp(0, synthesis_tile_enable=1, synthesis_tile_size=4, synthesis_tile_overlap=1),
        comp(1, synthesis_tile_enable=1, synthesis_tile_size=8, synthesis_tile_overlap=2)), src=wide)
    pv("hdr-synthesis-tiling-degenerate", "synthesis tiling with O >= H (one tile on that axis)",
       comp(0, synthesis_tile_enable=1, synthesis_tile_size=20, synthesis_tile_overlap=10), allow=("PIH-013",))
    pv("hdr-10bit", "10-bit header (bit_depth_idc 1)", lambda f: f.update(bit_depth_idc=1))
    pv("hdr-dis", "PIH in the DIS syntax, level 11 (DIS allows model 2 from L1 = 1); read by auto-detection",
       lambda f: f.update(level_idc=11), syntax="dis")
    pv("hdr-12bit", "12-bit header: valid, not decodable by the reference decoder", lambda f: f.update(bit_depth_idc=2),
       allow=("PIH-005",))
    pv("hdr-444", "4:4:4 source coded 4:4:4", lambda f: f.update(s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=0,
                                                                  c_hor_minus1=0))
    pv("hdr-444-coded-420", "4:4:4 source coded 4:2:0", lambda f: f.update(s_ver_minus1=0, s_hor_minus1=0,
                                                                            c_ver_minus1=1, c_hor_minus1=1))
    pv("hdr-420", "4:2:0 source (no coded-subsampling fields, no eICCI flag)",
       lambda f: f.update(s_ver_minus1=1, s_hor_minus1=1, c_ver_minus1=None, c_hor_minus1=None))
    pv("hdr-422", "4:2:2 source coded 4:2:2 (eICCI flag present: quirk K7)",
       lambda f: f.update(s_ver_minus1=0, s_hor_minus1=1, c_ver_minus1=0), allow=("TON-004",))
    pv("hdr-colour-none", "colour_transform_idx 0", lambda f: f.update(colour_transform_idx=0))
    pv("hdr-colour-user", "user-defined colour matrix and offsets", lambda f: f.update(
        colour_transform_idx=2, colour_transform_matrix=[255, 0, 0, 0, 255, 0, 0, 0, 255],
        colour_transform_offset=[0, 128, 128]), allow=("PIH-007",))
    pv("hdr-profile-main", "main profile, list [1, 0], level 52", lambda f: f.update(
        decoder_profile_id=1, num_synthesis_transforms_minus1=1, synthesis_transform_id=[1, 0], level_idc=52))
    pv("hdr-profile-high", "high profile, list [2, 1, 0], level 32", lambda f: f.update(
        decoder_profile_id=2, num_synthesis_transforms_minus1=2, synthesis_transform_id=[2, 1, 0], level_idc=32))
    pv("hdr-profile-high-short", "high profile with list [2, 0] (not canonical)", lambda f: f.update(
        decoder_profile_id=2, num_synthesis_transforms_minus1=1, synthesis_transform_id=[2, 0], level_idc=42))
    for level in (20, 21, 31, 40, 50, 51):
        pv(f"hdr-level-{level}", f"level {level}", lambda f, level=level: f.update(level_idc=level))
    add("enc-bdl-edges", enc("small", model_id=2, bdl=(-1069, 702)), "encoder: BDL at the reference encoder's "
        "limits, -1069 luma / 702 chroma")
    pv("hdr-overlaps", "dependent regions with hyper-decoder and MCM overlaps", lambda f: f.update(
        hyper_decoder_overlap_in_latent_samples=3, mcm_overlap_in_latent_samples=15), src=dep, allow=("PIH-015",))

    # ---- quality map with a real SOQ payload
    from codec.entropy import encode_quality_map
    h_lat, w_lat = 8, 12
    qp = (np.add.outer(np.arange(h_lat), np.arange(w_lat)) % 17 - 8).astype(np.int32)
    for n, idx in ((1, 3), (4, 7)):
        soq = build_memory(encode_quality_map(qp, idx, n))

        def qm(f, n=n, idx=idx):
            f.update(gain_3D_enable_flag=1, multi_threading_q=int(n > 1), quality_map_entropy_index=idx)
            if n > 1:
                f["log2_num_threads_q_minus1"] = n.bit_length() - 2
        add(f"hdr-quality-map-t{n}", restream(base, pih=qm, soq=soq),
            f"quality map (entropy index {idx}, {n} SOQ thread(s), qp -8..8)", allow=("PIH-014",))

    # ---- RDI parts
    mdcv = {"mastering_display_colour_primaries": [{"x": 34000, "y": 16000}, {"x": 13250, "y": 34500},
                                                   {"x": 7500, "y": 3000}],
            "white_point_chromaticity_x": 15635, "white_point_chromaticity_y": 16450,
            "max_display_mastering_luminance": 10_000_000, "min_display_mastering_luminance": 50}
    clli = {"maximum_content_light_level": 1000, "maximum_frame_average_light_level": 400}
    dm = {"dm_type": 7, "dm_size": 5, "dm_data": b"\x01\x02\x03\x04\x05"}

    def rdi(cicp=0, m=0, c=0, d=0):
        r = dict(EMPTY_RDI, cicp_info_present_flag=cicp, mdcv_info_present_flag=m, clli_info_present_flag=c,
                 dm_present_flag=d)
        for on, part in ((cicp, SRGB_CICP), (m, mdcv), (c, clli), (d, dm)):
            if on:
                r.update(part)
        return r
    add("rdi-empty", restream(base, rdi=rdi()), "RDI with no optional part (1 byte)")
    add("rdi-mdcv", restream(base, rdi=rdi(m=1)), "RDI mastering display colour volume only")
    add("rdi-clli", restream(base, rdi=rdi(c=1)), "RDI content light level only")
    add("rdi-dm", restream(base, rdi=rdi(d=1)), "RDI display-mapping data only (5 bytes)")
    add("rdi-all", restream(base, rdi=rdi(1, 1, 1, 1)), "RDI with CICP, MDCV, CLLI and DM")
    add("rdi-absent", replace_parts(base, lambda p: [x for x in p if x[0] != Marker.RDI]), "no RDI segment",
        info=expected_info(base, rdi=[]))

    # ---- UDI
    add("udi-absent", restream(base, udi=None), "no UDI segment (parse/validate only: no model-set record)")
    add("udi-opaque", restream(base, udi=bytes(range(256)) * 2), "UDI of 512 opaque user bytes")

    # ---- TON, every filter with its full parameter syntax
    from jpegai_fmt.ton import PARTITION_REGIONS

    def efe_set(h, cands, lengths, lo=100, hi=900, seed=0):
        """One EFE linear filter set; 4 phases unless coded equals source subsampling."""
        phases = 1 if h.coded_subsampling == h.source_subsampling else 4
        s = {"best_cand_idx": list(cands), "minSymbol": lo, "maxSymbol": hi}
        for plane in (0, 1):
            if cands[plane]:
                s[f"fL_{plane}"] = lengths[plane]
                taps = lengths[plane] ** 2
                count = PARTITION_REGIONS[cands[plane] - 1] * (phases * taps + taps)
                s["weights_" + "uv"[plane]] = [(seed + 37 * k) % (hi + 1) for k in range(count)]
        return s

    def ton_efe(t, h):
        t.update(lsbs_enable_flag=[1, 0], EFE_linear_filter_enabled_flag=1, B1=[12800, 32767],
                 filter_set=[efe_set(h, (8, 3), (3, 2)), efe_set(h, (0, 5), (0, 4), lo=0, hi=0, seed=5)])
    add("ton-efe-linear", restream(base, ton=ton_efe),
        "TON: LSBS luma, EFE linear with two filter sets (P=6 L=3 and P=3 L=2; V-only P=3 L=4 with maxSymbol 0), "
        "one phase (coded = source subsampling)")

    def ton_efe_phases(t, h):
        t.update(EFE_linear_filter_enabled_flag=1, B1=[1, 2], filter_set=[efe_set(h, (1, 1), (1, 1)),
                                                                          efe_set(h, (2, 0), (2, 0), seed=3)])
    add("ton-efe-linear-4-phases", restream(base, pih=lambda f: f.update(
        s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1, c_hor_minus1=1), ton=ton_efe_phases),
        "TON: EFE linear with four phases per filter (4:4:4 source coded 4:2:0)")

    def ton_icci(t, h):
        tiles = []
        count = len(tiles_1d(h.height, 128, 32)) * len(tiles_1d(h.width, 128, 32))
        for k in range(count):
            use = [(k >> b) & 1 for b in range(3)]
            tile = {"icci_use": use}
            if any(use):
                tile["icci_use_shortList"] = k % 2
                top = 2 if k % 2 else 10
                if use[0]:
                    tile["icci_model_idx_Y"] = k % (top + 1)
                if use[1] or use[2]:
                    tile["icci_model_idx_UV"] = (k * 3) % (top + 1)
            tiles.append(tile)
        t.update(icci_enable_flag=1, icci_tiling_enable=1, icci_tile_size=8, icci_tile_overlap=2, icci_tile=tiles)
    add("ton-icci-tiled", restream(wide, pih=lambda f: f.update(s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1,
                                                                c_hor_minus1=1), ton=ton_icci),
        "TON: eICCI with its own tiling (T=128 O=32 on 576x320), short and long model lists")

    def ton_icci_one(t, h):
        t.update(icci_enable_flag=1, icci_tiling_enable=0,
                 icci_tile=[{"icci_use": [1, 1, 1], "icci_use_shortList": 0, "icci_model_idx_Y": 10,
                             "icci_model_idx_UV": 7}])
    add("ton-icci-single", restream(base, pih=lambda f: f.update(s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=0,
                                                                 c_hor_minus1=0), ton=ton_icci_one),
        "TON: eICCI untiled, long list, model indices 10 / 7")

    def ton_nonlinear(t, h):
        t.update(EFE_nonlinear_filter_enabled_flag=1, nonlinear={
            "minSymbol": 3, "maxSymbol": 4000, "mask1_enabled_flag": 1, "mask2_enabled_flag": 0,
            "bS": 1023, "len_mask_y": 3, "len_mask_x": 2, "W5": [[k % 3, (k + 1) % 3] for k in range(6)],
            "nonLinear_enabled_U_flag": 1, "nonLinear_enabled_V_flag": 1, "nonlinearW": 64, "nonlinearH": 32,
            "numTiles": 3, "minLuma": [0, 100, 200], "maxLuma": [99, 199, 65535],
            "candidates_u": {"candNum": 4, "A1": [0, 1, 2000, 4000]},
            "candidates_v": {"candNum": 2, "A1": [17, 3999]}})
    add("ton-efe-nonlinear", restream(base, ton=ton_nonlinear), "TON: EFE nonlinear with mask 1, U and V candidates")

    def ton_nonlinear_min(t, h):
        t.update(EFE_nonlinear_filter_enabled_flag=1, nonlinear={
            "minSymbol": 0, "maxSymbol": 0, "mask1_enabled_flag": 0, "mask2_enabled_flag": 1,
            "bS": 8, "len_mask_y": 1, "len_mask_x": 1, "W5": [[2, 2]],
            "nonLinear_enabled_U_flag": 0, "nonLinear_enabled_V_flag": 1, "nonlinearW": 1, "nonlinearH": 1,
            "numTiles": 1, "minLuma": [0], "maxLuma": [1023], "candidates_v": {"candNum": 3, "A1": [0, 0, 0]}})
    add("ton-efe-nonlinear-v", restream(base, ton=ton_nonlinear_min),
        "TON: EFE nonlinear with mask 2, V only, maxSymbol 0 (0-bit weights)")

    def ton_lef(t, h):
        t.update(lsbs_enable_flag=[1, 1], LEF_enabled_flag=1, LEF_chIdx=159)
    add("ton-lef", restream(base, ton=ton_lef), "TON: LSBS both components, LEF on channel 159")

    def ton_all(t, h):
        ton_efe(t, h)
        ton_icci_one(t, h)
        ton_nonlinear(t, h)
        t.update(LEF_enabled_flag=1, LEF_chIdx=0)
    add("ton-all-filters", restream(base, pih=lambda f: f.update(s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1,
                                                                 c_hor_minus1=1), ton=ton_all),
        "TON: every filter on (EFE linear, eICCI, EFE nonlinear, LEF), 4:4:4 source coded 4:2:0")
    add("hdr-order-reference", replace_parts(base, _reorder),
        "segments in the reference encoder's order (SORS before SOZ before SORP): information only",
        rules=("STR-008",), info=expected_info(base))
    return bases


def _reorder(parts):
    order = [Marker.TON, Marker.UDI, Marker.RDI, Marker.SORS, Marker.SOZ, Marker.SORP, Marker.SOQ]
    return [parts[0]] + sorted(parts[1:], key=lambda p: order.index(p[0]))


# ------------------------------------------------------------------------------------------ invalid streams

def _se_bits(values: list[int]) -> int:
    w = BitWriter()
    for v in values:
        w.write_se(v, "d")
    return w.bit_length


def _se_prefix(values: list[int]) -> bytes:
    w = BitWriter()
    for v in values:
        w.write_se(v, "d")
    pad = (-w.bit_length) % 8
    if pad:
        w.write(0, pad)
    return w.to_bytes()


def invalid_streams(cat: Catalogue, bases: dict[str, bytes]) -> None:
    """One stream per codestream rule, each changing one thing of a valid stream."""
    base, t2, dep, ind = bases["base"], bases["t2"], bases["dependent"], bases["independent"]

    def bad(name, data, what, rule, allow=(), mode="syntax"):
        cat.add(name, data, what=what, rules=[rule], allow=allow, mode=mode)

    def edit(name, what, rule, pih=None, ton=None, rdi=None, src=base, allow=()):
        bad(name, restream(src, pih=pih, ton=ton, rdi=rdi), what, rule, allow)

    with_parts = replace_parts

    def insert(parts, at_marker, new, after=True):
        i = marker_index(parts, at_marker) + int(after)
        return parts[:i] + [new] + parts[i:]

    # STR
    bad("str-001-ton-first", with_parts(base, lambda p: [p[1], p[0]] + p[2:]), "TON before PIH", "STR-001")
    bad("str-002-after-eoc", base + b"\x00", "a byte after EOC", "STR-002")
    bad("str-003-unknown-marker", with_parts(base, lambda p: p + [(0xFF85, b"\x00\x01")]),
        "a segment with the unassigned marker 0xFF85 before EOC", "STR-003")
    raw = bytearray(base)
    rdi_seg = next(s for s in split_segments(base) if s.marker == Marker.RDI)
    bad("str-004-second-soc", bytes(raw[:rdi_seg.offset]) + b"\xff\x80" + bytes(raw[rdi_seg.offset:]),
        "a second SOC between segments", "STR-004")
    bad("str-005-two-rdi", with_parts(base, lambda p: insert(p, Marker.RDI, p[marker_index(p, Marker.RDI)])),
        "RDI twice", "STR-005")
    bad("str-005-no-soz", with_parts(base, lambda p: [x for x in p if x[0] != Marker.SOZ]), "SOZ missing",
        "STR-005")
    bad("str-006-no-sors", with_parts(base, lambda p: [x for x in p if x[0] != Marker.SORS]), "SORS missing",
        "STR-006")
    soz_seg = next(s for s in split_segments(base) if s.marker == Marker.SOZ)
    bad("str-007-stray-byte", base[:-2] + b"\x00" + base[-2:], "a stray byte between SOZ and EOC", "STR-007")
    # SEG
    no_udi = join([x for x in parts_of(base) if x[0] != Marker.UDI])[:-2]
    bad("seg-001-long-ue", no_udi + b"\xff\x8c" + bytes(5) + b"\x01\x00\xff\x81",
        "last segment (UDI) with a substream_size of 40 leading zero bits", "SEG-001", allow=("STR-002",))
    ton_seg = next(s for s in split_segments(base) if s.marker == Marker.TON)
    bad("seg-002-alignment", base[:ton_seg.offset] + frame(Marker.TON, ton_seg.payload, align=1)
        + base[ton_seg.end:], "TON size alignment bits not zero", "SEG-002")
    udi_last = join([x for x in parts_of(base) if x[0] != Marker.UDI] + [(Marker.UDI, bytes(range(40)))])
    bad("seg-003-truncated", udi_last[:-22] + b"\xff\x81", "last segment (UDI) cut short, EOC right after", "SEG-003",
        allow=("STR-002",))
    bad("seg-004-long-header", with_parts(base, lambda p: [(m, d + b"\x00" if m == Marker.TON else d)
                                                           for m, d in p]), "TON with one byte too many", "SEG-004")
    padded_src = next(b for b in bases.values() if _header_bits(parse_pih(split_segments(b)[1].payload).node) % 8)
    padded = bytearray(split_segments(padded_src)[1].payload)
    padded[-1] |= 1
    bad("seg-005-padding", with_parts(padded_src, lambda p: [(Marker.PIH, bytes(padded))] + p[1:]),
        "PIH padding bit set", "SEG-005", allow=("PIH-015",))
    bad("seg-006-short-header", with_parts(base, lambda p: [(Marker.PIH, p[0][1][:-2])] + p[1:]),
        "PIH two bytes short", "SEG-006")
    # PIH
    edit("pih-001-stream-profile", "stream_profile_idc 1", "PIH-001", pih=lambda f: f.update(stream_profile_idc=1))
    edit("pih-002-profile-3", "decoder_profile_id 3", "PIH-002", pih=lambda f: f.update(decoder_profile_id=3),
         allow=("PRF-001",))
    edit("pih-003-synthesis-id", "synthesis_transform_id 5 after the default", "PIH-003", pih=lambda f: f.update(
        num_synthesis_transforms_minus1=1, synthesis_transform_id=[0, 5]), allow=("PRF-001", "PIH-004"))
    edit("pih-003-repeat", "synthesis list [0, 0] (warning)", "PIH-003", pih=lambda f: f.update(
        num_synthesis_transforms_minus1=1, synthesis_transform_id=[0, 0]), allow=("PIH-004",))
    edit("pih-004-list", "simple profile with list [0, 1]: information", "PIH-004", pih=lambda f: f.update(
        num_synthesis_transforms_minus1=1, synthesis_transform_id=[0, 1]), allow=("PRF-001",))
    edit("pih-005-16bit", "bit_depth_idc 4 (16 bits): warning", "PIH-005", pih=lambda f: f.update(bit_depth_idc=4))
    edit("pih-006-subsampling", "source subsampling (2,1): no chroma format", "PIH-006",
         pih=lambda f: f.update(s_ver_minus1=1, s_hor_minus1=0, c_hor_minus1=0))
    edit("pih-007-user-matrix", "colour_transform_idx 2: warning", "PIH-007", pih=lambda f: f.update(
        colour_transform_idx=2, colour_transform_matrix=[1] * 9, colour_transform_offset=[0] * 3))
    bad("pih-008-bdl", bases["bdl900"], "encoded with BDL 900, above what the reference encoder writes: warning",
        "PIH-008")
    bad("pih-009-regions", bases["pih009"], "2 region columns in a 192-wide picture", "PIH-009",
        allow=("PIH-015",))
    edit("pih-010-num-chs", "num_chs[0] 161", "PIH-010", pih=lambda f: f["component"][0].update(num_chs=161))
    bad("pih-011-bit-depth", set_bits(base, "PIH/bit_depth_idc", 6), "bit_depth_idc 6 (b(4) holds 0..4)", "PIH-011")
    edit("pih-012-tile", "synthesis tile size 1 (16) with overlap 1 (16)", "PIH-012", pih=lambda f: f["component"][0]
         .update(synthesis_tile_enable=1, synthesis_tile_size=1, synthesis_tile_overlap=1))
    edit("pih-013-overlap", "synthesis tile overlap 256 >= W, H: warning", "PIH-013", pih=lambda f: f["component"][1]
         .update(synthesis_tile_enable=1, synthesis_tile_size=32, synthesis_tile_overlap=16))
    from codec.entropy import encode_quality_map
    bad("pih-014-quality-map", restream(base, pih=lambda f: f.update(
        gain_3D_enable_flag=1, multi_threading_q=0, quality_map_entropy_index=0),
        soq=build_memory(encode_quality_map(np.zeros((8, 12), np.int32), 0, 1))),
        "gain_3D_enable_flag 1 with a neutral SOQ: warning", "PIH-014")
    # PRF
    edit("prf-001-profile-set", "simple profile with default synthesis id 1", "PRF-001", pih=lambda f: f.update(
        synthesis_transform_id=[1]), allow=("PIH-004",))
    edit("prf-002-level", "level_idc 53", "PRF-002", pih=lambda f: f.update(level_idc=53))
    edit("prf-003-size", "4096x2048 at level 10 (limit 6,220,800 samples)", "PRF-003", pih=lambda f: f.update(
        img_width_minus64=4096 - 64, img_height_minus64=2048 - 64))
    edit("prf-004-model-level", "model_id 0 at level 10 (allows {2})", "PRF-004", pih=lambda f: f.update(model_id=0))
    edit("prf-004-model-none", "model_id 7 names no model", "PRF-004", pih=lambda f: f.update(model_id=7))
    # TON
    def ton_set(**s):
        def fn(t, h):
            phases = 1 if h.coded_subsampling == h.source_subsampling else 4
            length = s.get("fL_0", 1)
            fs = {"best_cand_idx": [1, 0], "fL_0": 1, "minSymbol": 0, "maxSymbol": 3,
                  "weights_u": [1] * (phases + 1) * length * length}
            fs.update(s)
            t.update(EFE_linear_filter_enabled_flag=1, B1=[0, 0], filter_set=[fs, copy.deepcopy(fs)])
        return fn
    good_ton = restream(base, ton=ton_set())
    bad("ton-001-candidate", set_bits(good_ton, "TON/filter_set[1]/best_cand_idx", 9 << 4),
        "EFE linear best_cand_idx 9", "TON-001")
    edit("ton-002-fl-zero", "EFE linear fL 0 for an enabled plane", "TON-002", ton=ton_set(fL_0=0))
    edit("ton-002-fl-long", "EFE linear fL 5: warning", "TON-002", ton=ton_set(fL_0=5))
    edit_nl = restream(base, ton=lambda t, h: t.update(EFE_nonlinear_filter_enabled_flag=1, nonlinear={
        "minSymbol": 0, "maxSymbol": 1, "mask1_enabled_flag": 1, "mask2_enabled_flag": 0, "bS": 1,
        "len_mask_y": 1, "len_mask_x": 1, "W5": [[2, 1]], "nonLinear_enabled_U_flag": 0,
        "nonLinear_enabled_V_flag": 0}))
    bad("ton-003-mask", set_bits(edit_nl, "TON/nonlinear/W5", 0b1101), "EFE nonlinear W5 value 3 (b(2) holds 0..2)",
        "TON-003")
    bad("ton-004-422", restream(base, pih=lambda f: f.update(s_ver_minus1=0, s_hor_minus1=1, c_ver_minus1=0)),
        "4:2:2 source with the eICCI flag: warning", "TON-004")
    def icci_bad(t, h):
        t.update(icci_enable_flag=1, icci_tiling_enable=1, icci_tile_size=3, icci_tile_overlap=1,
                 icci_tile=[{"icci_use": [0, 0, 0]}] * len(tiles_1d(h.height, 48, 16)) * len(tiles_1d(h.width, 48, 16)))
    good_icci = restream(base, pih=lambda f: f.update(s_ver_minus1=0, s_hor_minus1=0, c_ver_minus1=1,
                                                      c_hor_minus1=1), ton=icci_bad)
    bad("ton-005-icci-tile", set_bits(good_icci, "TON/icci_tile_overlap", 3), "eICCI tile size 48 with overlap 48",
        "TON-005")
    edit("ton-006-tiles", "EFE nonlinear U on with numTiles 0: warning", "TON-006", ton=lambda t, h: t.update(
        EFE_nonlinear_filter_enabled_flag=1, nonlinear={
            "minSymbol": 0, "maxSymbol": 1, "mask1_enabled_flag": 0, "mask2_enabled_flag": 0,
            "nonLinear_enabled_U_flag": 1, "nonLinear_enabled_V_flag": 0, "nonlinearW": 8, "nonlinearH": 8,
            "numTiles": 0, "minLuma": [], "maxLuma": [], "candidates_u": {"candNum": 1, "A1": [1]}}))
    edit("ton-007-lef", "LEF_chIdx 200", "TON-007", ton=lambda t, h: t.update(LEF_enabled_flag=1, LEF_chIdx=200))
    # RDI
    edit("rdi-001-reserved", "ri_reserved_zero_4bits 5", "RDI-001", rdi=dict(EMPTY_RDI, ri_reserved_zero_4bits=5))
    edit("rdi-001-cicp-reserved", "CICP reserved bits 1", "RDI-001", rdi=dict(
        EMPTY_RDI, cicp_info_present_flag=1, **dict(SRGB_CICP, cicp_reserved_zero_4bits=1)))
    edit("rdi-002-cicp", "colour_primaries 3 (reserved in H.273): warning", "RDI-002", rdi=dict(
        EMPTY_RDI, cicp_info_present_flag=1, **dict(SRGB_CICP, colour_primaries=3)))
    bad("rdi-003-long", with_parts(base, lambda p: [(m, d + b"\x00" if m == Marker.RDI else d) for m, d in p]),
        "RDI one byte longer than its flags imply", "RDI-003")
    # THR (SOZ of the 2-thread stream)
    soz = next(s for s in split_segments(t2) if s.marker == Marker.SOZ)
    mem = parse_codestream(t2).layouts[[s.marker for s in split_segments(t2)].index(Marker.SOZ)]
    body = soz.payload[mem.prefix_bits // 8:]
    prefix = bytearray(soz.payload[:mem.prefix_bits // 8])
    if mem.prefix_bits == 8 * len(prefix) and _se_bits(mem.deltas) % 8:
        prefix[-1] |= 1
    else:
        raise SystemExit("SOZ prefix has no alignment bits; pick another stream for THR-001")
    bad("thr-001-alignment", _swap_payload(t2, Marker.SOZ, bytes(prefix) + body),
        "SOZ thread prefix alignment bit set", "THR-001")
    bad("thr-002-size", _swap_payload(t2, Marker.SOZ, _se_prefix([len(body) // 2]) + body),
        "SOZ thread 0 size 0", "THR-002")
    bad("thr-003-zero-thread", _swap_payload(base, Marker.SOZ, bytes(len(soz_seg.payload))),
        "SOZ thread range of zero bytes only (no end marker; so it cannot be decoded either)", "THR-003",
        allow=("THR-004",))
    bad("thr-004-underrun", _swap_payload(base, Marker.SOZ, b"\x80"),
        "SOZ of one byte holding only the end marker: the decoder runs out of bits", "THR-004", mode="entropy")
    bad("ent-001-no-record", with_parts(base, lambda p: [x for x in p if x[0] != Marker.UDI]),
        "a valid stream without our UDI record, as another encoder writes it: the payloads cannot be decoded",
        "ENT-001", mode="entropy")
    # REG
    def dup_region(p):
        i = marker_index(p, Marker.SORP)
        return p[:i + 1] + [p[i]] + p[i + 1:]
    bad("reg-001-repeat", with_parts(ind, dup_region), "independent SORP region 0 twice", "REG-001",
        allow=("PIH-015",))
    bad("reg-001-index", with_parts(ind, lambda p: p[:marker_index(p, Marker.SORP, 3)] + [
        (Marker.SORP, bytes([9]) + p[marker_index(p, Marker.SORP, 3)][1][1:])] + p[marker_index(p, Marker.SORP, 3):]),
        "independent SORP region_index 9 of 4 (plus all 4 regions)", "REG-001", allow=("PIH-015",))
    bad("reg-002-missing", with_parts(ind, lambda p: [x for k, x in enumerate(p)
                                                     if k != marker_index(p, Marker.SORS, 2)]),
        "independent SORS region 2 absent: warning", "REG-002", allow=("PIH-015",))
    sorp_dep = next(s for s in split_segments(dep) if s.marker == Marker.SORP)
    lay = parse_codestream(dep).layouts[[s.marker for s in split_segments(dep)].index(Marker.SORP)]
    memories = sorp_dep.payload[lay.table_bits // 8:]
    w = BitWriter()
    w.write_ue(len(memories), "region_size")
    bad("reg-003-sizes", _swap_payload(dep, Marker.SORP, w.to_bytes() + memories),
        "dependent region 0 size takes the whole payload, leaving none for region 1", "REG-003",
        allow=("PIH-015",))
    bad("reg-004-two-sorp", with_parts(dep, lambda p: insert(p, Marker.SORP, p[marker_index(p, Marker.SORP)])),
        "SORP twice with dependent regions", "REG-004", allow=("PIH-015",))
    def swap_regions(p):
        i = marker_index(p, Marker.SORP)
        return p[:i] + [p[i + 1], p[i]] + p[i + 2:]
    bad("reg-005-order", with_parts(ind, swap_regions), "independent regions 1 before 0: information", "REG-005",
        allow=("PIH-015",))
    bad("reg-006-many", many_regions(), "17x16 independent regions (R = 272 > 256)", "REG-006",
        allow=("PIH-015", "REG-002"))
    udi = parse_codestream(base).udi
    bad("udi-002-record", restream(base, udi=udi[:len(udi) // 2]), "our model-set record cut in half: warning",
        "UDI-002")
    # SOQ
    bad("soq-001-unused", with_parts(base, lambda p: p + [(Marker.SOQ, b"\x80")]), "SOQ without gain_3D: warning",
        "SOQ-001")
    bad("soq-002-absent", restream(base, pih=lambda f: f.update(gain_3D_enable_flag=1, multi_threading_q=0,
                                                                 quality_map_entropy_index=0)),
        "gain_3D on, SOQ absent: warning", "SOQ-002", allow=("PIH-014",))
    from codec.entropy import encode_quality_map
    qp = np.full((8, 12), 9, np.int32)
    bad("soq-003-qp", restream(base, pih=lambda f: f.update(gain_3D_enable_flag=1, multi_threading_q=0,
                                                             quality_map_entropy_index=7),
                               soq=build_memory(encode_quality_map(qp, 7, 1))),
        "quality map qp 9 (outside -8..8)", "SOQ-003", allow=("PIH-014",), mode="entropy")


def _header_bits(node) -> int:
    """Bits a header's fields use (its node also spans the padding)."""
    return max(c.bit_offset + c.bit_length for c in node.children) - node.bit_offset


def _swap_payload(data: bytes, marker: Marker, payload: bytes) -> bytes:
    return replace_parts(data, lambda p: [(m, payload if m == marker else d) for m, d in p])


def many_regions() -> bytes:
    """R = 17 x 16 independent regions on 8192x4352 (IS count limits hold), 256 addressable ones present."""
    from jpegai_fmt.pih import default_fields
    f = default_fields(8192, 4352, decoder_profile_id=0, num_synthesis_transforms_minus1=0,
                       synthesis_transform_id=[0], level_idc=30, model_id=2, region_partitioning_flag=1,
                       num_ver_splits_minus1=16, num_hor_splits_minus1=15,
                       region_residual_in_its_own_substream_flag=1)
    regions = [build_independent_residual(k, b"\x80") for k in range(256)]
    return build_codestream(f, soz=b"\x80", sorp=regions, sors=regions)


# ------------------------------------------------------------------------------------------ containers

def _full(schema, version=0, flags=0, **fields) -> bytes:
    return schema.build({"version": version, "flags": flags, **fields})


def container(cs: bytes, *, items=None, extra_props=(), assoc=None, order=("ftyp", "meta", "mdat"),
              extra_top=(), refs=(), data_at=None) -> bytes:
    """A file laid out like the writer's, with items, properties, associations and box order replaceable.

    items: (item_ID, item_type, flags, content_type, payload); assoc: (item_ID, [(essential, index)]);
    `data_at` moves item 1's extent to that absolute offset (the data must be there).
    """
    items = items or [(1, "jai0", 0, None, cs)]
    pih = split_segments(cs)[1].payload
    facts = parse_pih(pih)
    dw, dh = facts.display_size
    props = [box("jaih", _full(S.jaih, pih_payload=pih)),
                      box("ispe", _full(S.ispe, image_width=dw, image_height=dh)),
                      box("colr", S.colr.build({"colour_type": "nclx", "icc_profile": None, "nclx": {
                          "colour_primaries": 1, "transfer_characteristics": 13, "matrix_coefficients": 0,
                          "range": {"full_range_flag": True, "reserved": 0}}})),
                      box("pixi", _full(S.pixi, num_channels=3, bits_per_channel=[facts.bit_depth] * 3)),
                      *extra_props]
    assoc = assoc or [(1, [(True, 1), (False, 2), (False, 3), (False, 4)])]
    ftyp = box("ftyp", S.ftyp.build({"major_brand": "jaii", "minor_version": 0,
                                     "compatible_brands": ["jaii", "mif1"]}))

    def meta(base: int) -> bytes:
        pos, extents = base, []
        for i, *_, data in items:
            where = data_at if i == 1 and data_at is not None else pos
            extents.append({"item_ID": i, "method": None, "data_reference_index": 0, "base_offset": 0,
                            "extent_count": 1, "extents": [{"extent_index": None, "extent_offset": where,
                                                            "extent_length": len(data)}]})
            pos += len(data)
        infe = b"".join(box("infe", _full(S.infe, 2, f, item_ID=i, item_protection_index=0, item_type=t,
                                          item_name="", content_type=c, content_encoding=None,
                                          item_uri_type=None)) for i, t, f, c, _ in items)
        children = [box("hdlr", _full(S.hdlr, pre_defined=0, handler_type="pict", reserved=[0, 0, 0],
                                      name=b"\x00")),
                    box("pitm", _full(S.pitm, item_ID=1)),
                    box("iinf", _full(S.iinf, entry_count=len(items)) + infe)]
        if refs:
            children.append(box("iref", _full(S.iref) + b"".join(
                box("cdsc", S.reference16.build({"from_item_ID": a, "reference_count": 1, "to_item_ID": [b]}))
                for a, b in refs)))
        sizes = {"offset_size": 4, "length_size": 4, "base_offset_size": 0, "index_size": 0}
        children.append(box("iloc", _full(S.iloc, sizes=sizes, item_count=len(extents), items=extents)))
        ipma = _full(S.ipma, entry_count=len(assoc), entries=[
            {"item_ID": i, "association_count": len(a),
             "associations": [{"essential": e, "property_index": p} for e, p in a]} for i, a in assoc])
        children.append(box("iprp", box("ipco", b"".join(props)) + box("ipma", ipma)))
        return box("meta", _full(S.meta) + b"".join(children))

    parts = {"ftyp": ftyp, "meta": meta(0), "mdat": box("mdat", b"".join(d for *_, d in items))}
    start = sum(len(parts[n]) for n in order[:order.index("mdat")]) + 8
    parts["meta"] = meta(start)
    return b"".join(parts[n] for n in order) + b"".join(extra_top)


def patch(data: bytes, old: bytes, new: bytes) -> bytes:
    if data.count(old) != 1 or len(old) != len(new):
        raise SystemExit(f"patch target {old!r} is not unique or the lengths differ")
    return data.replace(old, new)


def _box_at(data: bytes, box_type: bytes) -> int:
    """Offset of the body of the unique box `box_type`."""
    return data.index(box_type) + 4


EXIF = b"MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')


def invalid_containers(cat: Catalogue, bases: dict[str, bytes], rule_streams: dict[str, bytes]) -> None:
    base = bases["base"]
    good = wrap(base)

    def bad(name, data, what, rule, allow=(), ext=".jai"):
        cat.add(name, data, what=what, rules=[rule], allow=allow, kind="container", ext=ext)

    def at(data, box_type, offset, new: bytes) -> bytes:
        i = _box_at(data, box_type) + offset
        return data[:i] + new + data[i + len(new):]

    bad("box-001-short-header", good + b"abc", "3 bytes after the last box", "BOX-001")
    bad("box-002-no-mif1", patch(good, b"mif1", b"mif2"), "compatible brands without mif1", "BOX-002")
    bad("box-003-handler", patch(good, b"pict", b"vide"), "hdlr handler_type 'vide'", "BOX-003")
    bad("box-004-pitm", at(good, b"pitm", 4, b"\x00\x07"), "pitm names item 7 (not declared)", "BOX-004")
    bad("box-005-count", at(good, b"iinf", 4, b"\x00\x02"), "iinf entry_count 2 with one infe", "BOX-005")
    outside = container(base, order=("ftyp", "meta", "mdat"), extra_top=[box("free", base)], data_at=0)
    bad("box-006-outside-mdat", container(base, extra_top=[box("free", base)], data_at=len(outside) - len(base)),
        "primary item extent inside a free box after mdat, not inside mdat: warning", "BOX-006")
    bad("box-007-codestream", wrap(rule_streams["rules/str-005-two-rdi.jaic"]),
        "primary item codestream with two RDI segments", "BOX-007", allow=("STR-005",))
    bad("box-008-index", container(base, assoc=[(1, [(True, 1), (False, 2), (False, 3), (False, 4), (False, 9)])]),
        "ipma associates property 9 of 4", "BOX-008")
    bad("box-009-not-essential", patch(good, b"\x04\x81\x02\x03\x04", b"\x04\x01\x02\x03\x04"),
        "jaih not marked essential", "BOX-009")
    body = _box_at(good, b"jaih")
    last = body - 8 + int.from_bytes(good[body - 8:body - 4], "big") - 1  # last byte of the PIH copy
    bad("box-010-mismatch", good[:last] + bytes([good[last] ^ 1]) + good[last + 1:],
        "jaih body differs from the PIH in its last bit", "BOX-010")
    w = int.from_bytes(good[_box_at(good, b"ispe") + 4:_box_at(good, b"ispe") + 8], "big")
    bad("box-011-ispe", at(good, b"ispe", 4, (w + 1).to_bytes(4, "big")), "ispe width one more than the display width",
        "BOX-011")
    bad("box-012-pixi", at(good, b"pixi", 5, b"\x0a\x0a\x0a"), "pixi says 10 bits for an 8-bit stream", "BOX-012")
    colr = _box_at(good, b"colr")
    bad("box-013-reserved", good[:colr + 10] + bytes([good[colr + 10] | 0x05]) + good[colr + 11:],
        "nclx reserved bits set", "BOX-013")
    bad("box-014-essential-unknown", container(base, extra_props=[box("abcd", b"")], assoc=[
        (1, [(True, 1), (False, 2), (False, 3), (False, 4), (True, 5)])]), "an unknown property marked essential",
        "BOX-014")
    with_exif = wrap(base, exif=EXIF)
    bad("box-015-exif", patch(with_exif, EXIF[:4], b"XX\x00*"), "Exif item without a TIFF header: warning",
        "BOX-015")
    with_xmp = wrap(base, xmp=XMP)
    bad("box-016-xmp", patch(with_xmp, b"</x:xmpmeta>", b"</x:xmpmetX>"), "XMP that is not well-formed: warning",
        "BOX-016")
    bad("box-017-unknown", good + box("abcd", b"12"), "unknown top-level box at the end: warning", "BOX-017")
    bad("box-017-free", good + box("free", b"12"), "free box at the end: information", "BOX-017")
    bad("box-018-two-items", container(base, items=[(1, "jai0", 0, None, base), (2, "jai0", 0, None, base)]),
        "two jai0 items: warning", "BOX-018")
    stsd = _full(S.stsd, entry_count=1) + box("jaim", bytes(8))
    moov = box("moov", box("trak", box("mdia", box("minf", box("stbl", box("stsd", stsd))))))
    bad("box-019-moov", good + moov, "a moov with a jaim sample entry: information", "BOX-019")
    bad("box-020-extension", good, "a container named .jaic: warning", "BOX-020", ext=".jaic")
    bad("box-021-order", container(base, order=("ftyp", "mdat", "meta")), "mdat before meta: warning", "BOX-021")


# ------------------------------------------------------------------------------------------ main

def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="Rebuild the conformance samples and manifest.")
    ap.add_argument("--out", default=str(HERE), help="folder to write (default: this folder)")
    out = Path(ap.parse_args(argv).out)
    cat = Catalogue()
    enc = Encoder()
    bases = valid_streams(cat, enc)
    invalid_streams(cat, bases)
    invalid_containers(cat, bases, cat.files)
    for folder in ("valid", "rules"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).iterdir():
            if f"{folder}/{old.name}" not in cat.files:
                old.unlink()
    for rel, data in sorted(cat.files.items()):
        path = out / rel
        if not path.exists() or path.read_bytes() != data:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    manifest = {"_about": "Conformance samples of jpegai-fmt, rebuilt by samples/generate.py; checked by "
                          "`jpegai-fmt validate --suite samples` (docs/conformance.md).",
                "samples": [cat.entries[k] for k in sorted(cat.entries)]}
    text = json.dumps(manifest, indent=1, sort_keys=False) + "\n"
    tmp = out / "manifest.json.tmp"
    tmp.write_text(text)
    os.replace(tmp, out / "manifest.json")
    total = sum(len(d) for d in cat.files.values())
    print(f"{len(cat.files)} samples, {total} bytes, largest {max(len(d) for d in cat.files.values())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
