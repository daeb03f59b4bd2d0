"""PIH value rules and profile/level conformance (PIH-001..015 but the parser's
PIH-011, PRF-001..004), on the first PIH."""
from __future__ import annotations

from ..geometry import ceil_div, latent_size, region_bounds, scale_bounds
from ..markers import Marker
from ..pih import BIT_DEPTHS, MAX_CHANNELS, PictureHeader
from ..tables import CONSTANTS, PROFILES
from ..tree import Node
from . import Context, register, report

FORMATS = {tuple(int(v) for v in k.split(",")) for k in CONSTANTS["subsampling_formats"]}
REFERENCE_MAX_DEPTH_IDC = CONSTANTS["reference_decoder_max_bit_depth_idc"]
BDL_LOW, BDL_HIGH = CONSTANTS["bdl_encoder_range"]
TILE_UNIT = CONSTANTS["synthesis_tile_unit"]
DECODER_PROFILES = PROFILES["decoder_profiles"]
LEVELS = PROFILES["levels"]
MODELS = PROFILES["models"]


def _pih(ctx: Context) -> tuple[PictureHeader, Node] | None:
    node = ctx.first(Marker.PIH)
    return (ctx.cs.pih, node) if ctx.cs.pih is not None and node is not None else None


def _field(node: Node, path: str) -> Node:
    return node.get(path) or node


@register
def profiles(ctx: Context) -> None:
    """PIH-001..004, PRF-001: stream and decoder profile, synthesis list."""
    got = _pih(ctx)
    if got is None:
        return
    pih, node = got
    if pih.syntax == "is" and pih["stream_profile_idc"] != 0:
        report(node, "PIH-001", "value", at=_field(node, "stream_profile_idc"), value=pih["stream_profile_idc"])
    ids = pih["synthesis_transform_id"]
    at = _field(node, "synthesis_transform_id")
    for i, v in enumerate(ids):
        if v > 2:
            report(node, "PIH-003", "value", at=at, index=i, value=v)
    for v in sorted({v for v in ids if ids.count(v) > 1}):
        report(node, "PIH-003", "repeat", at=at, value=v)
    profile = DECODER_PROFILES.get(str(pih["decoder_profile_id"]))
    if profile is None:
        report(node, "PIH-002", "value", at=_field(node, "decoder_profile_id"), value=pih["decoder_profile_id"])
        return
    canonical = profile["canonical"][pih.syntax]
    if ids != canonical:
        report(node, "PIH-004", "list", at=at, value=ids, profile=profile["name"], syntax=pih.syntax.upper(),
               canonical=canonical)
    allowed = profile["allowed_synthesis"]
    if ids and ids[0] not in allowed:
        report(node, "PRF-001", "default", at=at, value=ids[0], profile=profile["name"], allowed=allowed)
    for i, v in enumerate(ids[1:], 1):
        if v not in allowed and v <= 2:
            report(node, "PRF-001", "later", at=at, index=i, value=v, profile=profile["name"], allowed=allowed)


@register
def level(ctx: Context) -> None:
    """PRF-002..004: level_idc, picture size and model set."""
    got = _pih(ctx)
    if got is None:
        return
    pih, node = got
    idc, model = pih["level_idc"], pih["model_id"]
    l0, l1 = divmod(idc, 10)
    max_samples = LEVELS["L0_max_samples"].get(str(l0))
    models = LEVELS["L1_models"][pih.syntax].get(str(l1))
    if max_samples is None or models is None:
        report(node, "PRF-002", "value", at=_field(node, "level_idc"), value=idc)
    elif pih.width * pih.height > max_samples:
        report(node, "PRF-003", "size", at=_field(node, "img_width_minus64"), width=pih.width, height=pih.height,
               samples=pih.width * pih.height, level=idc, limit=max_samples)
    if str(model) not in MODELS:
        report(node, "PRF-004", "none", at=_field(node, "model_id"), value=model)
    elif models is not None and model not in models:
        report(node, "PRF-004", "level", at=_field(node, "model_id"), value=model, level=idc, allowed=models,
               syntax=pih.syntax.upper())


@register
def picture(ctx: Context) -> None:
    """PIH-005..008, PIH-010, PIH-014, PIH-015."""
    got = _pih(ctx)
    if got is None:
        return
    pih, node = got
    idc = pih["bit_depth_idc"]
    if REFERENCE_MAX_DEPTH_IDC < idc < len(BIT_DEPTHS):
        report(node, "PIH-005", "reference", at=_field(node, "bit_depth_idc"), value=idc, bits=BIT_DEPTHS[idc])
    # a coded field is absent where the source side implies it (c = 2): point at the first field present
    for which, pair, names in (("source", pih.source_subsampling, ("s_ver_minus1",)),
                               ("coded", pih.coded_subsampling, ("c_ver_minus1", "c_hor_minus1", "s_ver_minus1"))):
        if pair not in FORMATS:
            at = next((n for n in map(node.get, names) if n is not None), node)
            report(node, "PIH-006", "pair", at=at, which=which, ver=pair[0], hor=pair[1])
    if pih["colour_transform_idx"] == 2:
        report(node, "PIH-007", "user", at=_field(node, "colour_transform_idx"))
    for c, value in enumerate(pih.bdl):
        if c == 1 and not pih["independent_beta_uv"]:
            break
        if not BDL_LOW <= value <= BDL_HIGH:
            report(node, "PIH-008", "range", at=_field(node, f"beta_displacement_log_plus_2048_{c}"), c=c,
                   value=value, low=BDL_LOW, high=BDL_HIGH)
    for c, n in enumerate(pih.num_chs):
        if n > MAX_CHANNELS[c]:
            report(node, "PIH-010", "value", at=_field(node, f"component[{c}]/num_chs"), c=c, value=n,
                   limit=MAX_CHANNELS[c])
    if pih.quality_map:
        at = _field(node, "gain_3D_enable_flag")
        report(node, "PIH-014", "gain", at=at)
        if pih["multi_threading_q"]:
            report(node, "PIH-014", "width", at=_field(node, "multi_threading_q"))
    if pih["region_partitioning_flag"]:
        report(node, "PIH-015", "regions", at=_field(node, "region_partitioning_flag"), count=pih.num_regions,
               mode="independent" if pih.independent_regions else "dependent")


@register
def regions(ctx: Context) -> None:
    """PIH-009: region count limits (IS) and no empty region (any syntax)."""
    got = _pih(ctx)
    if got is None or not got[0]["region_partitioning_flag"]:
        return
    pih, node = got
    num_ver, num_hor = pih.region_grid
    h_lat, w_lat = latent_size(pih.width, pih.height)
    for axis, count, extent, unit, lat, name in (
            ("rows", num_ver, pih.height, 256, h_lat, "num_ver_splits_minus1"),
            ("columns", num_hor, pih.width, 512, w_lat, "num_hor_splits_minus1")):
        at = _field(node, name)
        limit = ceil_div(extent, unit)
        if pih.syntax == "is" and count > limit:
            report(node, "PIH-009", "count", at=at, count=count, axis=axis, limit=limit, extent=extent,
                   size="high" if axis == "rows" else "wide")
        bounds = scale_bounds(region_bounds(extent, count), 16, lat)
        for i in range(count):
            span = bounds[i + 1] - bounds[i]
            if span < 1:
                report(node, "PIH-009", "empty", at=at, axis=axis[:-1], index=i, span=span)
                break


@register
def synthesis_tiles(ctx: Context) -> None:
    """PIH-012 (tile size and overlap), PIH-013 (overlap not below the picture size)."""
    got = _pih(ctx)
    if got is None:
        return
    pih, node = got
    for c, comp in enumerate(pih["component"]):
        if not comp["synthesis_tile_enable"]:
            continue
        size, overlap = TILE_UNIT * comp["synthesis_tile_size"], TILE_UNIT * comp["synthesis_tile_overlap"]
        at = _field(node, f"component[{c}]/synthesis_tile_size")
        if size < TILE_UNIT or size <= overlap:
            report(node, "PIH-012", "tile", at=at, size=size, overlap=overlap)
        elif overlap >= pih.width or overlap >= pih.height:
            report(node, "PIH-013", "overlap", at=_field(node, f"component[{c}]/synthesis_tile_overlap"),
                   overlap=overlap, width=pih.width, height=pih.height)
