"""`jpegai-fmt info FILE...`: a summary of a codestream or .jai file: picture, profile and
level (and what they allow), model, tools, threads, regions, segments, boxes, findings; for several
files, one table row each."""
from __future__ import annotations

import argparse
import sys

from ..api import load, read_codestream, sniff
from ..codestream import Codestream
from ..errors import JpegAiError, ParseError
from ..geometry import regions, tile_count
from ..markers import Marker
from ..pih import PictureHeader
from ..render import Block, print_blocks, print_findings, print_json
from ..tables import CONSTANTS, PROFILES
from ..tree import Node
from . import add_reading_options
from ._stdio import source

FORMATS = CONSTANTS["subsampling_formats"]
TRANSFORMS = CONSTANTS["colour_transforms"]
SYNTHESIS = PROFILES["synthesis_transforms"]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("info", help="summarise a codestream or .jai file",
                              description="Picture size (coded and display), bit depth, chroma formats, profile "
                                          "and level, model, BDL, tools, threads, regions, segments and boxes. "
                                          "Several files: one row each (size, bytes, bpp, model_id, BDL, level, "
                                          "findings); exit 2 when one cannot be read, else 1 when one is invalid.",
                              epilog="examples:\n  jpegai-fmt info photo.jai\n  jpegai-fmt info encoded/*.jai\n"
                                     "  jpegai-fmt info stream.jaic --syntax dis\n"
                                     "  jpegai-fmt info damaged.jai --lenient --json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help=".jai files or codestreams (- for standard input)")
    add_reading_options(p, "summarise what can be read of a damaged file")
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    p.set_defaults(run=run)


def _format(pair: tuple[int, int]) -> str:
    return FORMATS.get(f"{pair[0]},{pair[1]}", f"invalid (ver {pair[0]}, hor {pair[1]})")


def _onoff(flag) -> str:
    return "on" if flag else "off"


def picture_block(pih: PictureHeader) -> Block:
    dw, dh = pih.display_size
    idx = pih["colour_transform_idx"]
    return Block("Picture", [
        ("PIH syntax", pih.syntax.upper()),
        ("coded size", f"{pih.width} x {pih.height}"),
        ("display size", f"{dw} x {dh}"),
        ("bit depth", f"{pih.bit_depth} bits" if pih.bit_depth else f"invalid idc {pih['bit_depth_idc']}"),
        ("source chroma", _format(pih.source_subsampling)),
        ("coded chroma", _format(pih.coded_subsampling)),
        ("colour transform", f"{idx}: {TRANSFORMS.get(str(idx), 'invalid')}"),
        ("latent / hyper grid", f"{pih.latent_size[1]} x {pih.latent_size[0]} / {pih.hyper_size[1]} x "
                                f"{pih.hyper_size[0]}"),
    ])


def profile_block(pih: PictureHeader) -> Block:
    prof = PROFILES["decoder_profiles"].get(str(pih["decoder_profile_id"]))
    ids = pih["synthesis_transform_id"]
    l0, l1 = divmod(pih["level_idc"], 10)
    max_samples = PROFILES["levels"]["L0_max_samples"].get(str(l0))
    models = PROFILES["levels"]["L1_models"][pih.syntax].get(str(l1))
    model = pih["model_id"]
    beta = PROFILES["models"].get(str(model))
    rows = []
    if pih.syntax == "is":
        rows.append(("stream profile", f"{pih['stream_profile_idc']} "
                     f"({PROFILES['stream_profiles'].get(str(pih['stream_profile_idc']), 'undefined')})"))
    rows += [
        ("decoder profile", f"{pih['decoder_profile_id']} (" + (
            f"{prof['name']}: synthesis {', '.join(SYNTHESIS[str(i)] for i in prof['allowed_synthesis'])})"
            if prof else "undefined)")),
        ("synthesis list", ", ".join(SYNTHESIS.get(str(i), f"undefined {i}") for i in ids) + " (first = default)"),
        ("level", f"{pih['level_idc']} (" + (f"L0 {l0}: up to {max_samples:,} samples; L1 {l1}: models "
                                             f"{models})" if max_samples and models else "invalid)")),
        ("model_id", f"{model} (" + (f"beta {beta}" if beta is not None else "no model") + ")"),
        ("BDL (luma, chroma)", f"{pih.bdl[0]}, {pih.bdl[1]}" + (" (separate chroma)" if pih["independent_beta_uv"]
                                                               else "")),
        ("coded channels", f"luma {pih.num_chs[0]}, chroma {pih.num_chs[1]}"),
    ]
    return Block("Profile and level", rows)


def tools_block(pih: PictureHeader, ton: dict | None) -> Block:
    ton = ton or {}
    comps = pih["component"]
    rows = []
    for c, name in enumerate(("luma", "chroma")):
        comp = comps[c]
        tiles = "off"
        if comp["synthesis_tile_enable"]:
            size, overlap = 16 * comp["synthesis_tile_size"], 16 * comp["synthesis_tile_overlap"]
            try:
                n = tile_count(pih.width, pih.height, size, overlap)
                count = f", {n} tile{'s' if n != 1 else ''}"
            except ParseError:
                count = ", invalid"
            tiles = f"T {size}, O {overlap}{count}"
        rows.append((f"{name}", f"RVS {_onoff(comp['rvs_enable_flag'])}, GRFS {_onoff(comp['grfs_enable_flag'])}, "
                                f"cube flags {_onoff(comp['use_cube_flags'])}, synthesis tiling {tiles}"))
    lsbs = ton.get("lsbs_enable_flag", [0, 0])
    rows += [
        ("LSBS (luma, chroma)", f"{_onoff(lsbs[0])}, {_onoff(lsbs[1])}"),
        ("EFE linear", _onoff(ton.get("EFE_linear_filter_enabled_flag"))),
        ("eICCI", _onoff(ton.get("icci_enable_flag"))),
        ("EFE nonlinear", _onoff(ton.get("EFE_nonlinear_filter_enabled_flag"))),
        ("LEF", f"on, channel {ton['LEF_chIdx']}" if ton.get("LEF_enabled_flag") else "off"),
        ("quality map", f"on, sigma index {pih['quality_map_entropy_index']}" if pih.quality_map else "off"),
    ]
    return Block("Tools", rows)


def threads_regions_block(pih: PictureHeader) -> Block:
    rows = [("threads", f"SOZ {pih.n_z}, SORP {pih.n_r[0]}, SORS {pih.n_r[1]}"
                        + (f", SOQ {pih.n_q}" if pih.quality_map else ""))]
    if pih["region_partitioning_flag"]:
        v, h = pih.region_grid
        mode = "independent (one segment per region)" if pih.independent_regions else \
            (f"dependent, overlaps: hyper decoder {2 * pih['hyper_decoder_overlap_in_latent_samples']}, "
             f"context model {4 * pih['mcm_overlap_in_latent_samples']} latent samples")
        rows.append(("regions", f"{v} rows x {h} columns = {v * h}, {mode}"))
        if v * h <= 64:
            for r in regions(pih.width, pih.height, v, h):
                y0, y1, x0, x1 = r.picture
                rows.append((f"  region {r.index}", f"x {x0}..{x1 - 1}, y {y0}..{y1 - 1} ({x1 - x0} x {y1 - y0})"))
    else:
        rows.append(("regions", "off"))
    return Block("Threads and regions", rows)


def segments_block(cs: Codestream, base: int) -> Block:
    rows = []
    nodes = [c for c in cs.node.children if c.kind == "segment"]
    for seg, node in zip(cs.segments, nodes):
        content = ""
        if seg.marker not in (Marker.SOC, Marker.EOC):
            threads = [n for n in node.walk() if n.name.startswith("thread[")]
            regions_ = [n for n in node.children if n.name.startswith("region[")]
            if regions_:
                content = (f"{len(regions_)} region{'s' if len(regions_) > 1 else ''}, "
                           f"{len(threads)} thread{'s' if len(threads) != 1 else ''}")
            elif threads:
                content = f"{len(threads)} thread{'s' if len(threads) > 1 else ''}"
        rows.append((node.name, base + seg.offset, seg.size if seg.marker not in (Marker.SOC, Marker.EOC) else 0,
                     content))
    return Block("Segments", rows, ("segment", "offset", "bytes", "content"))


def boxes_block(root: Node) -> Block:
    """Every box, indented by depth, with its path (the nesting, for --json), offset and size (header included)."""
    rows = [(f"{'  ' * (n.path.count('/'))}{n.name}", n.path, n.byte_offset, n.bit_length // 8)
            for n in root.walk() if n.kind == "box"]
    return Block("Boxes", rows, ("box", "path", "offset", "size"))


def _metadata(data: bytes) -> dict[str, bytes]:
    """The Exif, XMP and ICC profile a .jai file carries; none where the boxes cannot say."""
    from ..container.reader import read_metadata
    try:
        return read_metadata(data)
    except JpegAiError:
        return {}


def _codestream_offset(root: Node) -> int:
    for n in root.walk():
        if n.kind == "segment":
            return n.byte_offset
    return 0


def run(args) -> int:
    if len(args.files) == 1:
        blocks, findings, header = summary(args.files[0], args.syntax, args.lenient)
        counts = {s: sum(f.severity == s for f in findings) for s in "EWI"}
        if args.json:
            print_json(_json(blocks, findings, header))
        else:
            print_blocks(blocks)
            print_findings([f for f in findings if f.severity != "I"])
        return 1 if counts["E"] else 0
    results, errors = [], {}
    for path in args.files:
        try:
            results.append((path, *summary(path, args.syntax, args.lenient)))
        except (JpegAiError, OSError) as err:
            errors[path] = str(err)
            print(f"jpegai-fmt info: {path}: {err}", file=sys.stderr)
            results.append((path, None, None, None))
    if args.json:
        print_json([{"file": path, "error": errors[path]} if blocks is None else _json(blocks, findings, header)
                    for path, blocks, findings, header in results])
    else:
        rows = [_row(path, findings, header) for path, _, findings, header in results if findings is not None]
        print_blocks([Block(f"info: {len(rows)} of {len(results)} files", rows,
                            ("file", "kind", "size", "bytes", "bpp", "model_id", "BDL", "level", "E", "W"))])
    if any(blocks is None for _, blocks, _, _ in results):
        return 2
    return 1 if any(f.severity == "E" for _, _, findings, _ in results for f in findings) else 0


def json_summary(path: str, syntax: str = "auto", lenient: bool = False) -> dict:
    """What `jpegai-fmt info --json PATH` prints, as a dict."""
    return _json(*summary(path, syntax, lenient))


def _json(blocks: list[Block], findings, header: dict) -> dict:
    return ({b.title: ([dict(zip(b.headers, r)) for r in b.rows] if b.headers else dict(b.rows)) for b in blocks}
            | {"header": header, "findings": [f.to_dict() for f in findings]})


def _row(path: str, findings, header: dict) -> tuple:
    """One file's table row: what tells streams in a folder apart."""
    counts = [sum(f.severity == s for f in findings) for s in "EW"]
    if not header:
        return (path, "?", "", "", "", "", "", "", *counts)
    bdl = header["bdl"]
    return (path, header["kind"], f"{header['width']}x{header['height']}", header["file_size"],
            f"{header['bpp']:.4f}", header["model_id"], bdl[0] if bdl[0] == bdl[1] else f"{bdl[0]}/{bdl[1]}",
            header["level_idc"], *counts)


def summary(path: str, syntax: str = "auto", lenient: bool = False) -> tuple[list[Block], list, dict]:
    """(blocks for people, findings, typed header values) of one file."""
    data, _ = load(source(path))
    kind = sniff(data)
    blocks = [Block("File", [("file", path), ("bytes", len(data)),
                             ("kind", {"codestream": "raw codestream", "container": "HEIF-based .jai file"}
                              .get(kind, "unknown"))])]
    base, cs, cs_bytes, found = 0, None, data, {}
    if kind == "container":
        from .. import parse
        from ..container import unwrap
        root = parse(data, syntax=syntax, lenient=lenient)
        blocks.append(boxes_block(root))
        found = _metadata(data)
        if found:
            from ..picture_metadata import describe
            blocks.append(Block("Metadata", describe(found)))
        findings = root.all_findings()
        base = _codestream_offset(root)
        try:                                # as strict or lenient as a raw codestream would be read
            cs_bytes = unwrap(data)
            cs = read_codestream(cs_bytes, syntax=syntax, lenient=lenient)
        except JpegAiError:
            if not lenient:
                raise                       # lenient: the boxes and their findings are what can be read
    elif kind == "codestream":
        cs = read_codestream(data, syntax=syntax, lenient=lenient)
        findings = cs.findings()
    else:
        from .. import parse
        parse(data)  # raises the one-line "not a JPEG AI file" error
    if cs is not None and cs.pih is not None:
        blocks += [picture_block(cs.pih), profile_block(cs.pih), tools_block(cs.pih, cs.ton),
                   threads_regions_block(cs.pih)]
    if cs is not None:
        blocks.append(segments_block(cs, base))
    counts = {s: sum(f.severity == s for f in findings) for s in "EWI"}
    blocks.append(Block("Findings", [("errors", counts["E"]), ("warnings", counts["W"]), ("info", counts["I"])]))
    header = {}
    if cs is not None and cs.pih is not None:   # typed values; the blocks above are worded for people
        from ..picture import image_info
        header = image_info(cs, kind=kind, file_size=len(data), codestream=cs_bytes, metadata=found).to_dict()
    return blocks, findings, header
