"""The validator's entropy rules (codestream.md §15), found by decoding payloads:

- SOQ-003: decoded quality-map qp values lie in -8..8 (any encoder: the SOQ table is fixed);
- THR-004: decoding never reads before the start of a thread range. SOQ is checked for every stream;
  SOZ, SORP and SORS only for streams carrying our model-set record, since their distributions come
  from the hyper-prior networks; ENT-001 (information) says when and why they were not decoded.

Importing this module registers both checks with `jpegai_fmt.rules.register(..., entropy=True)`;
`check_codestream(..., entropy=True)` imports it. Pictures over the decoding limits
(jpegai_fmt.limits) are not decoded here.
"""
from __future__ import annotations

import numpy as np

from jpegai_fmt.errors import DecodeError, JpegAiError
from jpegai_fmt.markers import Marker
from jpegai_fmt.rules import Context, flag, register

from .coder import decode_quality_map, decode_residual, decode_z
from .sigma import coding_order

QP_RANGE = (-8, 8)  # entries of the quality-map table (quirk K8)


def _threads(seg, mem) -> list[bytes]:
    return [seg.payload[o:o + n] for o, n in mem.threads]


def soq_check(ctx: Context) -> None:
    pih = ctx.cs.pih
    if pih is None or not pih.quality_map:
        return
    for i, seg in enumerate(ctx.cs.segments):
        if seg.marker != Marker.SOQ or i not in ctx.cs.layouts:
            continue
        node = ctx.nodes[i][1]
        try:
            qp = decode_quality_map(_threads(seg, ctx.cs.layouts[i]), pih.latent_size,
                                    pih["quality_map_entropy_index"], pih.n_q)
        except DecodeError as err:
            flag(node, "THR-004", f"SOQ thread data ends before every map symbol is decoded: {err.message}")
            continue
        low, high = int(qp.min()), int(qp.max())
        if low < QP_RANGE[0] or high > QP_RANGE[1]:
            y, x = np.argwhere((qp < QP_RANGE[0]) | (qp > QP_RANGE[1]))[0]
            flag(node, "SOQ-003", f"decoded qp values span {low}..{high}, outside -8..8 (first at latent row {y}, "
                                  f"column {x})")


def payload_check(ctx: Context) -> None:
    """Decode SOZ and every residual region of a stream made with our model set."""
    from jpegai_fmt.limits import check_decode
    from jpegai_fmt.udi_record import parse_record

    from ..design import C_MAX, Z_MAX
    from ..pipeline import component_rows, hsd_outputs
    from ..weights import integer_model
    cs, pih = ctx.cs, ctx.cs.pih
    soz = [i for i, s in enumerate(cs.segments) if s.marker == Marker.SOZ and i in cs.layouts]
    if pih is None or not soz:
        return
    i = soz[0]

    def skipped(why: str) -> None:
        flag(ctx.nodes[i][1], "ENT-001", f"SOZ, SORP and SORS were not entropy-decoded: {why}")

    im = integer_model()
    try:
        record = parse_record(cs.udi)
    except JpegAiError:
        record = None
    if record is None:
        return skipped("no jpegai-fmt UDI record names the model set whose hyper-prior gives their distributions")
    if record.model_set != im.model_set:
        return skipped(f"made with model set {record.model_set}, not this installation's {im.model_set}")
    if pih["model_id"] >= len(im.gains[0]) or any(n > m for n, m in zip(pih.num_chs, C_MAX)):
        return  # PRF-004 / PIH-010 already say the model set cannot decode it
    try:
        check_decode(pih)
    except JpegAiError as err:
        return skipped(str(err))
    h_lat, w_lat = pih.latent_size
    h_z, w_z = pih.hyper_size
    try:
        zs, _ = decode_z(_threads(cs.segments[i], cs.layouts[i]),
                         [((C_MAX[c], h_z, w_z), im.z_tables(c, pih["model_id"])) for c in (0, 1)],
                         pih.n_z)
    except DecodeError as err:
        flag(ctx.nodes[i][1], "THR-004", f"SOZ thread data ends before every z symbol is decoded: {err.message}")
        return
    z = [zz.astype(np.int64) - Z_MAX for zz in zs]
    hsd = hsd_outputs(im, z, h_lat, w_lat)
    from jpegai_fmt.geometry import regions
    grid = {r.index: r for r in regions(pih.width, pih.height, *pih.region_grid)}
    for c, marker in enumerate((Marker.SORP, Marker.SORS)):
        rows = component_rows(im, hsd[c], c, pih["model_id"], pih.bdl[c])
        n = pih.num_chs[c]
        for k, seg in enumerate(cs.segments):
            if seg.marker != marker or k not in cs.layouts:
                continue
            for part in cs.layouts[k].parts:
                reg = grid.get(part.index)
                if reg is None:
                    continue
                try:
                    decode_residual(_threads(seg, part.memory), coding_order(rows, n, reg.latent), pih.n_r[c])
                except DecodeError as err:
                    flag(ctx.nodes[k][1], "THR-004", f"{marker.name} region {part.index} thread data ends before "
                                                     f"every residual symbol is decoded: {err.message}")


register(soq_check, entropy=True)
register(payload_check, entropy=True)
