"""Bit-exact entropy layer: me-tANS coding of residual, SOQ and z symbols, and the integer σ pipeline.

Everything here must give identical results on every machine (entropy.md); see docs/entropy-decisions.md.
"""
from .coder import (SKIP_ROW, decode_quality_map, decode_residual, decode_z, drop_below, encode_quality_map,
                    encode_residual, encode_z, group_aligned, qmap_deltas, qmap_from_deltas)
from .cuts import aligned_counts, channel_cut_points, channel_index_for
from .tables import TansTables, residual_rows, residual_tables, z_masses, z_tables

__all__ = ["SKIP_ROW", "TansTables", "aligned_counts", "channel_cut_points", "channel_index_for",
           "decode_quality_map", "decode_residual", "decode_z", "drop_below", "encode_quality_map", "encode_residual", "encode_z", "group_aligned", "qmap_deltas",
           "qmap_from_deltas", "residual_rows", "residual_tables", "z_masses", "z_tables"]
