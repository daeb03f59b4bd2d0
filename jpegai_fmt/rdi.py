"""RDI, rendering information (codestream.md §7): colour description, mastering display,
content light level and opaque display-mapping data, all byte-aligned by construction."""
from __future__ import annotations

from typing import Any

from construct import Array, BitsInteger, ExprAdapter, Struct, this

from .bitschema import Traced, build_header, opt, parse_header, u
from .tree import Node

_primary = Struct(u("x", 16), u("y", 16))

SCHEMA = Struct(
    u("cicp_info_present_flag", 1),
    u("mdcv_info_present_flag", 1),
    u("clli_info_present_flag", 1),
    u("dm_present_flag", 1),
    u("ri_reserved_zero_4bits", 4),
    opt(this.cicp_info_present_flag == 1, u("colour_primaries", 8)),
    opt(this.cicp_info_present_flag == 1, u("transfer_characteristics", 8)),
    opt(this.cicp_info_present_flag == 1, u("matrix_coefficients", 8)),
    opt(this.cicp_info_present_flag == 1, u("image_full_range_flag", 1)),
    opt(this.cicp_info_present_flag == 1, u("chroma420_sample_loc_type", 3)),
    opt(this.cicp_info_present_flag == 1, u("cicp_reserved_zero_4bits", 4)),
    opt(this.mdcv_info_present_flag == 1, "mastering_display_colour_primaries" / Array(
        3, Traced("mastering_display_colour_primaries", _primary, kind="group", element=True))),
    opt(this.mdcv_info_present_flag == 1, u("white_point_chromaticity_x", 16)),
    opt(this.mdcv_info_present_flag == 1, u("white_point_chromaticity_y", 16)),
    opt(this.mdcv_info_present_flag == 1, u("max_display_mastering_luminance", 32)),
    opt(this.mdcv_info_present_flag == 1, u("min_display_mastering_luminance", 32)),
    opt(this.clli_info_present_flag == 1, u("maximum_content_light_level", 16)),
    opt(this.clli_info_present_flag == 1, u("maximum_frame_average_light_level", 16)),
    opt(this.dm_present_flag == 1, u("dm_type", 8)),
    opt(this.dm_present_flag == 1, u("dm_size", 16)),
    opt(this.dm_present_flag == 1, "dm_data" / Traced("dm_data", ExprAdapter(
        Array(this.dm_size, BitsInteger(8)), lambda obj, ctx: bytes(obj), lambda obj, ctx: list(obj)))),
)


def parse_rdi(payload: bytes, *, base_bit: int = 0) -> tuple[dict[str, Any], Node]:
    """RDI field values and tree; `dm_data` is bytes."""
    return parse_header(SCHEMA, payload, name="RDI", base_bit=base_bit)


def build_rdi(fields: dict[str, Any]) -> bytes:
    """Serialise RDI values; `dm_size` must equal len(dm_data)."""
    return build_header(SCHEMA, fields, name="RDI")


def expected_length(fields: dict[str, Any]) -> int:
    """RDI payload bytes implied by the presence flags (§7): 1 + 4 + 24 + 4 + 3 + dm_size."""
    return (1 + 4 * fields["cicp_info_present_flag"] + 24 * fields["mdcv_info_present_flag"]
            + 4 * fields["clli_info_present_flag"]
            + (3 + fields["dm_size"] if fields["dm_present_flag"] else 0))
