"""`jpegai-fmt extract IN OUT --luma-channels N [--chroma-channels M] [--drop-ton] [--drop-udi]
[--drop-regions I,J] [--raw] [--json]`: write a sub-bitstream and report what was kept (docs/extraction.md)."""
from __future__ import annotations

import argparse
import json
import sys

from ..container import sniff
from ..container.writer import unwrap
from ..errors import JpegAiError
from ..extract import extract
from ._stdio import read_input, write_output


def _indices(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--drop-regions takes comma-separated region indices, got {text!r}") from None


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="cut a stream to fewer latent channels, drop TON/UDI/independent regions",
        description="Write a conforming sub-bitstream: PIH num_chs rewritten, every SORP/SORS thread range cut "
                    "at its channel-prefix cut point, sizes recomputed; a .jai file is rewritten around the new "
                    "codestream (Exif, XMP and ICC kept). Channel counts above what the stream holds keep it.",
        epilog="examples:\n  jpegai-fmt extract photo.jai preview.jai --luma-channels 64 --chroma-channels 32\n"
               "  jpegai-fmt extract photo.jai photo.jaic --drop-ton --drop-udi --raw\n"
               "  jpegai-fmt extract tiled.jaic part.jaic --drop-regions 1,3 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="codestream or .jai file (- for standard input)")
    p.add_argument("output", help="file to write (- for standard output)")
    p.add_argument("--luma-channels", type=int, metavar="N", help="luma channels to keep (0..160)")
    p.add_argument("--chroma-channels", type=int, metavar="M", help="chroma channels to keep (0..96)")
    p.add_argument("--drop-ton", action="store_true", help="remove the TON segment (every tool flag reads 0)")
    p.add_argument("--drop-udi", action="store_true",
                   help="remove the UDI segment (with it our model-set record: jpegai-fmt decode then refuses "
                        "the cut stream; parse, validate and inspect still work)")
    p.add_argument("--drop-regions", type=_indices, default=[], metavar="I,J",
                   help="independent regions to remove")
    p.add_argument("--raw", action="store_true", help="write the bare codestream even for a .jai input")
    p.add_argument("--json", action="store_true", help="print the size report as JSON")
    p.set_defaults(run=run)


def format_report(report: dict) -> str:
    """The size report as a small table: segments, components, totals, bpp."""
    lines = [f"{'segment':<12}{'component':<10}{'in':>10}{'out':>10}{'dropped':>10}"]
    for r in report["segments"]:
        lines.append(f"{r['segment']:<12}{r.get('component', ''):<10}{r['in']:>10}{r['out']:>10}"
                     f"{r['in'] - r['out']:>10}")
    lines.append("")
    for name, t in report["components"].items():
        lines.append(f"{name:<22}{t['in']:>10}{t['out']:>10}{t['in'] - t['out']:>10}")
    chs = report["num_chs"]
    lines.append("")
    lines.append(f"channels  luma {chs['luma'][0]} -> {chs['luma'][1]} ({report['method']['luma']}), "
                 f"chroma {chs['chroma'][0]} -> {chs['chroma'][1]} ({report['method']['chroma']})")
    if report["container"]:
        lines.append(f"file bytes        {report['input_bytes']} -> {report['output_bytes']} "
                     f"({100 * report['output_bytes'] / report['input_bytes']:.1f} %)")
    (cin, cout) = report["codestream_bytes"]
    lines.append(f"codestream bytes  {cin} -> {cout} ({100 * cout / cin:.1f} %)")
    lines.append(f"bpp (codestream)  {report['bpp'][0]:.4f} -> {report['bpp'][1]:.4f} "
                 f"({report['display_size'][0]}x{report['display_size'][1]})")
    lines += [f"note      {n}" for n in report["notes"]]
    return "\n".join(lines)


def run(args) -> int:
    try:
        data = read_input(args.input)
        unwrapped = args.raw and sniff(data) == "container"
        if unwrapped:                       # the file's other items are not wanted: never rebuild them
            data = unwrap(data)
        out, report = extract(data, luma_channels=args.luma_channels, chroma_channels=args.chroma_channels,
                              drop_ton=args.drop_ton, drop_udi=args.drop_udi, drop_regions=args.drop_regions)
        if unwrapped:
            report["notes"].append("--raw: the codestream was taken out of its .jai file; sizes compare "
                                   "codestreams")
        write_output(args.output, out)
    except (JpegAiError, OSError) as err:
        print(f"jpegai-fmt extract: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
