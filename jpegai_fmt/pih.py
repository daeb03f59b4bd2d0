"""PIH, the picture header (codestream.md §5): schema, parse, build and derived variables.

Two syntaxes differ only in the leading `stream_profile_idc` (IS has it, DIS does not,
§5.6); `syntax="auto"` tries IS first and falls back to DIS when only DIS reads the
payload cleanly [PROJECT DECISION, docs/codestream-syntax.md].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from construct import Array, BitsInteger, Struct, this

from .bitschema import Traced, b, build_header, opt, parse_header, u
from .errors import BuildError, JpegAiError, ParseError
from .geometry import ceil_div, cube_flag_count, hyper_size, latent_size
from .tables import CONSTANTS
from .tree import Node

SYNTAXES = ("is", "dis")
BIT_DEPTHS = tuple(CONSTANTS["bit_depths"])  # bit_depth_idc 0..4
MAX_CHANNELS = tuple(CONSTANTS["max_channels"])  # latent channels of the primary / secondary component


def _picture_size(ctx) -> tuple[int, int]:
    root = ctx._root
    return root.img_width_minus64 + 64, root.img_height_minus64 + 64


def _cube_flags_in_group(ctx) -> int:
    """8 flags per group, the last group holds the remainder."""
    count = cube_flag_count(*_picture_size(ctx))
    return min(8, count - 8 * ctx._index)


_cube_group = Struct(
    u("cube_group_flag", 1),
    opt(this.cube_group_flag == 1, "cube_flag" / Traced("cube_flag", Array(_cube_flags_in_group,
                                                                                BitsInteger(1)))),
)

_component = Struct(
    u("multi_threading_r", 1),
    opt(this.multi_threading_r == 1, u("log2_num_threads_r_minus1", 2)),
    u("num_chs", 8),
    u("use_cube_flags", 1),
    opt(this.use_cube_flags == 1, "cube_groups" / Array(
        lambda ctx: ceil_div(cube_flag_count(*_picture_size(ctx)), 8),
        Traced("cube_group", _cube_group, kind="group", element=True))),
    u("rvs_enable_flag", 1),
    u("grfs_enable_flag", 1),
    opt(this.grfs_enable_flag == 1, "grfs_channel_flag" / Traced(
        "grfs_channel_flag", Array(this.num_chs, BitsInteger(1)))),
    u("synthesis_tile_enable", 1),
    opt(this.synthesis_tile_enable == 1, u("synthesis_tile_size", 8)),
    opt(this.synthesis_tile_enable == 1, u("synthesis_tile_overlap", 5)),
)

_regions_on = this.region_partitioning_flag == 1


def _schema(syntax: str):
    return Struct(
        *([u("stream_profile_idc", 4)] if syntax == "is" else []),
        u("decoder_profile_id", 4),
        u("num_synthesis_transforms_minus1", 4),
        "synthesis_transform_id" / Traced("synthesis_transform_id", Array(
            this.num_synthesis_transforms_minus1 + 1, BitsInteger(4))),
        u("level_idc", 8),
        b("img_width_minus64", 65535),
        b("img_height_minus64", 65535),
        u("diff_display_img_width", 6),
        u("diff_display_img_height", 6),
        b("bit_depth_idc", 4),
        u("s_ver_minus1", 1),
        u("s_hor_minus1", 1),
        opt(this.s_ver_minus1 == 0, u("c_ver_minus1", 1)),
        opt(this.s_hor_minus1 == 0, u("c_hor_minus1", 1)),
        b("colour_transform_idx", 2),
        opt(this.colour_transform_idx == 2, "colour_transform_matrix" / Traced(
            "colour_transform_matrix", Array(9, BitsInteger(8)))),
        opt(this.colour_transform_idx == 2, "colour_transform_offset" / Traced(
            "colour_transform_offset", Array(3, BitsInteger(8)))),
        b("model_id", 15),
        u("multi_threading_z", 1),
        opt(this.multi_threading_z == 1, u("log2_num_threads_z_minus1", 2)),
        u("beta_displacement_log_plus_2048_0", 12),
        u("region_partitioning_flag", 1),
        opt(_regions_on, u("num_ver_splits_minus1", 7)),
        opt(_regions_on, u("num_hor_splits_minus1", 7)),
        opt(_regions_on, u("region_residual_in_its_own_substream_flag", 1)),
        opt(lambda ctx: ctx.region_partitioning_flag == 1
            and ctx.region_residual_in_its_own_substream_flag == 0,
            u("hyper_decoder_overlap_in_latent_samples", 2)),
        opt(lambda ctx: ctx.region_partitioning_flag == 1
            and ctx.region_residual_in_its_own_substream_flag == 0,
            u("mcm_overlap_in_latent_samples", 4)),
        u("independent_beta_uv", 1),
        opt(this.independent_beta_uv == 1, u("beta_displacement_log_plus_2048_1", 12)),
        "component" / Array(2, Traced("component", _component, kind="group", element=True)),
        u("gain_3D_enable_flag", 1),
        opt(this.gain_3D_enable_flag == 1, u("multi_threading_q", 1)),
        opt(lambda ctx: ctx.gain_3D_enable_flag == 1 and ctx.multi_threading_q == 1,
            u("log2_num_threads_q_minus1", 2)),
        opt(this.gain_3D_enable_flag == 1, b("quality_map_entropy_index", 7)),
    )


SCHEMAS = {s: _schema(s) for s in SYNTAXES}


def _threads(flag: int | None, log2_minus1: int | None) -> int:
    return 1 << (log2_minus1 + 1) if flag else 1


@dataclass
class PictureHeader:
    """Parsed PIH: raw field values (`fields`), the syntax used, and its tree node.

    Properties give the derived variables of §5.3.
    """

    fields: dict[str, Any]
    syntax: str = "is"
    node: Node | None = None

    def __getitem__(self, name: str) -> Any:
        return self.fields.get(name)

    @property
    def width(self) -> int:
        return self.fields["img_width_minus64"] + 64

    @property
    def height(self) -> int:
        return self.fields["img_height_minus64"] + 64

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after cropping the display differences."""
        return (self.width - self.fields["diff_display_img_width"],
                self.height - self.fields["diff_display_img_height"])

    @property
    def bit_depth(self) -> int | None:
        idc = self.fields["bit_depth_idc"]
        return BIT_DEPTHS[idc] if idc < len(BIT_DEPTHS) else None

    @property
    def source_subsampling(self) -> tuple[int, int]:
        """(vertical, horizontal) source/output chroma subsampling factors."""
        return self.fields["s_ver_minus1"] + 1, self.fields["s_hor_minus1"] + 1

    @property
    def coded_subsampling(self) -> tuple[int, int]:
        """(vertical, horizontal) internal chroma subsampling; 2 where the field is absent."""
        f = self.fields
        return (f["c_ver_minus1"] + 1 if f.get("c_ver_minus1") is not None else 2,
                f["c_hor_minus1"] + 1 if f.get("c_hor_minus1") is not None else 2)

    @property
    def latent_size(self) -> tuple[int, int]:
        return latent_size(self.width, self.height)

    @property
    def hyper_size(self) -> tuple[int, int]:
        return hyper_size(self.width, self.height)

    @property
    def n_z(self) -> int:
        return _threads(self.fields["multi_threading_z"], self.fields.get("log2_num_threads_z_minus1"))

    @property
    def n_r(self) -> tuple[int, int]:
        return tuple(_threads(c["multi_threading_r"], c.get("log2_num_threads_r_minus1"))
                     for c in self.fields["component"])

    @property
    def n_q(self) -> int:
        return _threads(self.fields.get("multi_threading_q"), self.fields.get("log2_num_threads_q_minus1"))

    @property
    def bdl(self) -> tuple[int, int]:
        """Beta displacement logs (luma, chroma)."""
        b0 = self.fields["beta_displacement_log_plus_2048_0"] - 2048
        b1 = self.fields.get("beta_displacement_log_plus_2048_1")
        return b0, (b1 - 2048 if self.fields["independent_beta_uv"] else b0)

    @property
    def region_grid(self) -> tuple[int, int]:
        """(num_ver, num_hor): region rows and columns, (1, 1) without regions."""
        if not self.fields["region_partitioning_flag"]:
            return 1, 1
        return self.fields["num_ver_splits_minus1"] + 1, self.fields["num_hor_splits_minus1"] + 1

    @property
    def num_regions(self) -> int:
        v, h = self.region_grid
        return v * h

    @property
    def independent_regions(self) -> bool:
        return bool(self.fields.get("region_residual_in_its_own_substream_flag"))

    @property
    def num_chs(self) -> tuple[int, int]:
        return tuple(c["num_chs"] for c in self.fields["component"])

    @property
    def quality_map(self) -> bool:
        return bool(self.fields["gain_3D_enable_flag"])

    def cube_flags(self, c: int) -> list[int] | None:
        """Component c's F cube flags in [phase][cube_y][cube_x] order, or None when not sent
        (a group flag of 0 means all eight flags of the group are 1)."""
        comp = self.fields["component"][c]
        if not comp["use_cube_flags"]:
            return None
        count = cube_flag_count(self.width, self.height)
        flags: list[int] = []
        for g, group_ in enumerate(comp["cube_groups"]):
            flags += group_["cube_flag"] if group_["cube_group_flag"] else [1] * min(8, count - 8 * g)
        return flags

    def to_bytes(self) -> bytes:
        return build_pih(self.fields, self.syntax)


def parse_pih(payload: bytes, *, syntax: str = "is", base_bit: int = 0) -> PictureHeader:
    """Parse a PIH payload. `syntax` is 'is', 'dis' or 'auto'; `base_bit` is the payload's
    bit offset in the file (for the tree and error offsets)."""
    if syntax == "auto":
        return _parse_auto(payload, base_bit)
    if syntax not in SCHEMAS:
        raise ParseError(f"unknown PIH syntax {syntax!r}; expected one of {SYNTAXES} or 'auto'")
    fields, node = parse_header(SCHEMAS[syntax], payload, name="PIH", base_bit=base_bit,
                                range_rule="PIH-011")
    node.value = syntax.upper()
    return PictureHeader(fields, syntax, node)


def _clean(pih: PictureHeader) -> bool:
    return not pih.node.all_findings()


def _parse_auto(payload: bytes, base_bit: int) -> PictureHeader:
    """IS unless IS fails or leaves findings and DIS reads the payload cleanly."""
    try:
        first = parse_pih(payload, syntax="is", base_bit=base_bit)
    except JpegAiError as err:
        first, first_err = None, err
    if first is not None and _clean(first):
        return first
    try:
        second = parse_pih(payload, syntax="dis", base_bit=base_bit)
    except JpegAiError:
        second = None
    if second is not None and (_clean(second) or first is None):
        return second
    if first is None:
        raise first_err
    return first


def build_pih(fields: dict[str, Any], syntax: str = "is") -> bytes:
    """Serialise PIH field values (absent optional fields may be missing or None)."""
    if syntax not in SCHEMAS:
        raise BuildError(f"unknown PIH syntax {syntax!r}; expected one of {SYNTAXES}")
    return build_header(SCHEMAS[syntax], fields, name="PIH")


def default_component(c: int, **overrides: Any) -> dict[str, Any]:
    """A component block with one thread, all channels, and every optional tool off."""
    comp = {"multi_threading_r": 0, "num_chs": MAX_CHANNELS[c], "use_cube_flags": 0,
            "rvs_enable_flag": 0, "grfs_enable_flag": 0, "synthesis_tile_enable": 0}
    comp.update(overrides)
    return comp


def default_fields(width: int, height: int, **overrides: Any) -> dict[str, Any]:
    """PIH fields for a plain stream: IS, High profile [2, 1, 0], level 52, 8 bits, 4:2:0,
    BT.709 output transform, model 0, one thread everywhere, no regions or quality map."""
    if not 64 <= width <= 65599 or not 64 <= height <= 65599:
        raise BuildError(f"picture size {width}x{height} outside 64..65599")
    fields = {
        "stream_profile_idc": 0, "decoder_profile_id": 2, "num_synthesis_transforms_minus1": 2,
        "synthesis_transform_id": [2, 1, 0], "level_idc": 52,
        "img_width_minus64": width - 64, "img_height_minus64": height - 64,
        "diff_display_img_width": 0, "diff_display_img_height": 0, "bit_depth_idc": 0,
        "s_ver_minus1": 1, "s_hor_minus1": 1, "colour_transform_idx": 1, "model_id": 0,
        "multi_threading_z": 0, "beta_displacement_log_plus_2048_0": 2048,
        "region_partitioning_flag": 0, "independent_beta_uv": 0,
        "component": [default_component(0), default_component(1)], "gain_3D_enable_flag": 0,
    }
    fields.update(overrides)
    return fields
