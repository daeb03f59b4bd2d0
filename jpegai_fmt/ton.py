"""TON, the tool header (codestream.md §6): latent scaling flags and post-filter parameters.

Its layout depends on PIH (source/coded subsampling, picture size for eICCI tiles), so
parsing and building take the parsed `PictureHeader`. Filter weights are kept as flat
lists per plane in coding order (sub-region, then phase, then row-major taps).
"""
from __future__ import annotations

from typing import Any

from construct import Array, BitsInteger, Struct, Subconstruct, this

from .bitschema import Bounded, BoundedArray, Traced, b, build_header, group, opt, parse_header, u
from .errors import BuildError, ParseError
from .geometry import tile_count
from .pih import PictureHeader
from .tables import CONSTANTS
from .tree import Node

# Sub-regions P of the EFE linear partition candidates 1..8 (§6, best_cand_idx).
PARTITION_REGIONS = tuple(CONSTANTS["efe_partition_regions"])


def _pih(ctx) -> PictureHeader:
    return ctx._params.pih


class _Candidates(Subconstruct):
    """The best_cand_idx pair, checked as soon as it is read: above 8 it names no partition, so the weights
    that follow cannot be counted and parsing stops here, at the field that is wrong (TON-001)."""

    @staticmethod
    def _check(idx, error):
        for plane, value in enumerate(idx):
            if value > len(PARTITION_REGIONS):
                raise error(f"best_cand_idx[{plane}] = {value} names no partition candidate "
                            f"(0 = plane off, 1..{len(PARTITION_REGIONS)})", rule="TON-001")
        return idx

    def _parse(self, stream, context, path):
        return self._check(self.subcon._parsereport(stream, context, path), ParseError)

    def _build(self, obj, stream, context, path):
        return self.subcon._build(self._check(obj, BuildError), stream, context, path)


def _plane_weights(plane: int):
    """Weight count of an enabled EFE linear plane: P x (phases x L x L + L x L)."""
    def count(ctx) -> int:
        idx = ctx.best_cand_idx[plane]
        pih = _pih(ctx)
        phases = 1 if pih.coded_subsampling == pih.source_subsampling else 4
        taps = ctx[f"fL_{plane}"] ** 2
        return PARTITION_REGIONS[idx - 1] * (phases * taps + taps)
    return count


def _weights(name: str, count, maximum=this.maxSymbol):
    """Weight codes, each b(maxSymbol)."""
    return name / Traced(name, BoundedArray(count, maximum))


_filter_set = Struct(
    "best_cand_idx" / Traced("best_cand_idx", _Candidates(Array(2, Bounded(15)))),
    opt(this.best_cand_idx[0] != 0, b("fL_0", 9)),
    opt(this.best_cand_idx[1] != 0, b("fL_1", 9)),
    u("minSymbol", 16),
    u("maxSymbol", 16),
    opt(this.best_cand_idx[0] != 0, _weights("weights_u", _plane_weights(0))),
    opt(this.best_cand_idx[1] != 0, _weights("weights_v", _plane_weights(1))),
)


def _icci_tile_count(ctx) -> int:
    if not ctx.icci_tiling_enable:
        return 1
    pih = _pih(ctx)
    size, overlap = 16 * ctx.icci_tile_size, 16 * ctx.icci_tile_overlap
    if size <= overlap:
        raise ParseError(f"eICCI tile size {size} must exceed overlap {overlap}", rule="TON-005")
    return tile_count(pih.width, pih.height, size, overlap)


def _model_max(ctx) -> int:
    return 2 if ctx.icci_use_shortList else 10


_icci_tile = Struct(
    "icci_use" / Traced("icci_use", Array(3, BitsInteger(1))),
    opt(lambda ctx: any(ctx.icci_use), u("icci_use_shortList", 1)),
    opt(this.icci_use[0] == 1, b("icci_model_idx_Y", _model_max)),
    opt(lambda ctx: ctx.icci_use[1] or ctx.icci_use[2], b("icci_model_idx_UV", _model_max)),
)

_uv_on = lambda ctx: ctx.nonLinear_enabled_U_flag or ctx.nonLinear_enabled_V_flag  # noqa: E731
_masks_on = lambda ctx: ctx.mask1_enabled_flag or ctx.mask2_enabled_flag  # noqa: E731

_candidates = Struct(u("candNum", 16), _weights("A1", this.candNum, this._.maxSymbol))

_nonlinear = Struct(
    u("minSymbol", 16),
    u("maxSymbol", 16),
    u("mask1_enabled_flag", 1),
    u("mask2_enabled_flag", 1),
    opt(_masks_on, b("bS", 1023)),
    opt(_masks_on, b("len_mask_y", 1023)),
    opt(_masks_on, b("len_mask_x", 1023)),
    opt(_masks_on, "W5" / Traced("W5", Array(this.len_mask_y * this.len_mask_x, Array(2, Bounded(2))))),
    u("nonLinear_enabled_U_flag", 1),
    u("nonLinear_enabled_V_flag", 1),
    opt(_uv_on, u("nonlinearW", 16)),
    opt(_uv_on, u("nonlinearH", 16)),
    opt(_uv_on, u("numTiles", 16)),
    opt(_uv_on, "minLuma" / Traced("minLuma", Array(this.numTiles, BitsInteger(16)))),
    opt(_uv_on, "maxLuma" / Traced("maxLuma", Array(this.numTiles, BitsInteger(16)))),
    opt(this.nonLinear_enabled_U_flag == 1, group("candidates_u", _candidates)),
    opt(this.nonLinear_enabled_V_flag == 1, group("candidates_v", _candidates)),
)


def _icci_present(ctx) -> bool:
    """eICCI flag present iff the source is not 4:2:0 (quirk K7, project reading)."""
    return 1 in _pih(ctx).source_subsampling


SCHEMA = Struct(
    "lsbs_enable_flag" / Traced("lsbs_enable_flag", Array(2, BitsInteger(1))),
    u("EFE_linear_filter_enabled_flag", 1),
    opt(this.EFE_linear_filter_enabled_flag == 1, "B1" / Traced("B1", Array(2, Bounded(32767)))),
    opt(this.EFE_linear_filter_enabled_flag == 1, "filter_set" / Array(
        2, Traced("filter_set", _filter_set, kind="group", element=True))),
    opt(_icci_present, u("icci_enable_flag", 1)),
    opt(this.icci_enable_flag == 1, u("icci_tiling_enable", 1)),
    opt(this.icci_tiling_enable == 1, u("icci_tile_size", 8)),
    opt(this.icci_tiling_enable == 1, u("icci_tile_overlap", 5)),
    opt(this.icci_enable_flag == 1, "icci_tile" / Array(
        _icci_tile_count, Traced("icci_tile", _icci_tile, kind="group", element=True))),
    u("EFE_nonlinear_filter_enabled_flag", 1),
    opt(this.EFE_nonlinear_filter_enabled_flag == 1, group("nonlinear", _nonlinear)),
    u("LEF_enabled_flag", 1),
    opt(this.LEF_enabled_flag == 1, b("LEF_chIdx", 255)),
)


def parse_ton(payload: bytes, pih: PictureHeader, *, base_bit: int = 0) -> tuple[dict[str, Any], Node]:
    """TON field values and tree; bounded values above their maximum are TON-003 findings."""
    return parse_header(SCHEMA, payload, name="TON", base_bit=base_bit, range_rule="TON-003", pih=pih)


def build_ton(fields: dict[str, Any], pih: PictureHeader) -> bytes:
    return build_header(SCHEMA, fields, name="TON", pih=pih)


def default_ton(pih: PictureHeader) -> dict[str, Any]:
    """Every tool off, as written when no post-filter is used (icci flag only where present)."""
    fields: dict[str, Any] = {"lsbs_enable_flag": [0, 0], "EFE_linear_filter_enabled_flag": 0,
                              "EFE_nonlinear_filter_enabled_flag": 0, "LEF_enabled_flag": 0}
    if 1 in pih.source_subsampling:
        fields["icci_enable_flag"] = 0
    return fields
