"""`jpegai-fmt encode IN OUT | IN... --out-dir D [--bpp X | --psnr DB | --model-id K --bdl B] [--raw]`: pictures ->
JPEG AI."""
from __future__ import annotations

import argparse
import math
import sys
import time

from ..errors import JpegAiError
from ._batch import pairs, report, run_all
from ._codec import int_in, metadata_option, networks, open_picture, progress
from ._stdio import write_output


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "encode", help="encode pictures (PNG/JPEG/PPM/TIFF) with our learned codec",
        description="Encode pictures into JPEG AI with this project's own model set. The rate is set by --bpp "
                    "(searches model_id and beta_displacement_log), by --psnr (the lowest rate found whose "
                    "decoded picture reaches that PSNR-RGB) or directly by --model-id/--bdl. With "
                    "--out-dir, every positional is an input and outputs are named INPUT-STEM.jai (.jaic with "
                    "--raw); one progress bar covers all files. A picture stored sideways (Exif orientation) is "
                    "turned upright before coding; its Exif, XMP and ICC profile go into the .jai file. Exit code "
                    "0 when every file was written, 2 when any failed (the others are still written).",
        epilog="examples:\n  jpegai-fmt encode photo.png photo.jai --bpp 0.5\n"
               "  jpegai-fmt encode photo.png photo.jaic --raw --model-id 2 --bdl 100 --threads 8\n"
               "  jpegai-fmt encode shots/*.png --out-dir encoded --bpp 0.25 --json\n"
               "  jpegai-fmt encode photo.png photo.jai --psnr 32 --json\n"
               "  jpegai-fmt encode photo.png photo.jai --bpp 0.3 --refine 100   # slower, fewer bits",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="INPUT OUTPUT, or inputs with --out-dir (- is standard input / output)")
    p.add_argument("--out-dir", metavar="D", help="write one output per input into D")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--bpp", type=_rate, help="target codestream bits per pixel (within about 3 %% where the "
                                                "model set reaches it; the .jai container adds about 300 bytes)")
    rate.add_argument("--psnr", type=_quality, metavar="DB",
                      help="target quality: the lowest rate found whose decoded PSNR-RGB reaches DB (a warning "
                           "where the model set cannot reach it; the highest point found is written then)")
    rate.add_argument("--model-id", type=int, choices=range(4), help="rate regime 0..3 (default 2)")
    p.add_argument("--bdl", type=int_in(-1069, 702), default=0, metavar="B",
                   help="beta_displacement_log with --model-id (-1069..702; above +400, model_id 3 adds bits "
                        "without adding quality)")
    p.add_argument("--refine", type=_steps, default="auto", metavar="STEPS",
                   help="encoder-side latent refinement: gradient steps per picture. auto (the default): 12 up to "
                        "1.36 MP, fewer up to 5 MP, none above (about 1.2 s per 0.4 MP on 2 cores); 0 = off, the "
                        "fastest encoder; 20 / 40 save about 2.6 / 5.3 %% of the bits at equal PSNR against auto on "
                        "crops of the validation photos, 100 about 8 %% on the photos; a step costs about 0.1 s "
                        "per 0.4 MP on 2 cores")
    p.add_argument("--no-post-filter", dest="post_filter", action="store_false",
                   help="leave chroma to bilinear up-sampling instead of fitting the EFE linear filter (TON) "
                        "where it pays for its bits")
    p.add_argument("--threads", type=int, default=1, choices=(1, 2, 4, 8, 16), help="ANS threads per substream")
    p.add_argument("--regions", default="1x1", metavar="RxC", help="spatial regions, rows x columns")
    p.add_argument("--independent-regions", action="store_true", help="one segment per region")
    p.add_argument("--luma-channels", type=int_in(1, 160), default=160, metavar="N",
                   help="code only this luma channel prefix (1..160)")
    p.add_argument("--chroma-channels", type=int_in(1, 96), default=96, metavar="M",
                   help="code only this chroma channel prefix (1..96)")
    p.add_argument("--raw", action="store_true", help="write raw codestreams instead of .jai files (no metadata)")
    p.add_argument("--metadata", type=metadata_option, default=metadata_option("all"), metavar="LIST",
                   help="what to carry from the picture into the .jai file: all (the default), none, or a comma "
                        "list of exif, xmp, icc. A grey or CMYK picture's profile converts it to sRGB instead")
    p.add_argument("--no-auto-orient", dest="auto_orient", action="store_false",
                   help="code the samples as stored, keeping the Exif orientation tag, instead of turning the "
                        "picture upright")
    p.add_argument("--torch-threads", type=int_in(1, 1024), metavar="N",
                   help="torch CPU threads (the stream does not depend on it)")
    p.add_argument("--json", action="store_true", help="print bytes, bpp, model_id, BDL, refinement steps, "
                                                       "quality (PSNR-RGB, PSNR-Y/Cb/Cr and YUV 6:1:1, MS-SSIM) "
                                                       "and time as JSON (a list for several files)")
    p.set_defaults(run=run)


def _target(ok, must: str):
    """An argparse type: a finite number for which `ok` holds (a rate or quality target)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"{text}: the target must be {must}")
        return value
    return parse


_rate = _target(lambda v: v > 0, "a positive number of bits per pixel")
_quality = _target(lambda v: 0 < v < 100, "a PSNR in dB, above 0 and below 100")


def _steps(text: str) -> int | str:
    """An argparse type: 'auto' or a step count 0..1000."""
    return "auto" if text == "auto" else int_in(0, 1000)(text)


def _settings(args):
    from codec.pipeline import EncodeSettings
    if (args.bpp is not None or args.psnr is not None) and args.bdl:
        raise ValueError(f"--bdl goes with --model-id: --{'bpp' if args.bpp is not None else 'psnr'} searches "
                         "model_id and BDL itself")
    try:
        rows, cols = (int(v) for v in args.regions.lower().split("x"))
    except ValueError:
        raise ValueError(f"--regions {args.regions!r}: expected ROWSxCOLUMNS, e.g. 2x3") from None
    return EncodeSettings(model_id=2 if args.model_id is None else args.model_id, bdl=(args.bdl, args.bdl),
                          threads=args.threads, num_chs=(args.luma_channels, args.chroma_channels),
                          regions=(rows, cols), independent_regions=args.independent_regions,
                          refine=args.refine, post_filter=args.post_filter)


def _operating_point(codestream: bytes, refine) -> dict:
    """model_id and BDL (luma, chroma) as the stream signals them, which `--bpp` chose by search, and the
    refinement steps the encoder took ("auto" resolved for the coded size)."""
    from codec.refine import auto_steps

    from ..codestream import parse_codestream
    f = parse_codestream(codestream).pih.fields
    luma = f["beta_displacement_log_plus_2048_0"] - 2048
    chroma = f["beta_displacement_log_plus_2048_1"] - 2048 if f["independent_beta_uv"] else luma
    steps = auto_steps(f["img_width_minus64"] + 64, f["img_height_minus64"] + 64) if refine == "auto" else refine
    return {"model_id": f["model_id"], "bdl": [luma, chroma], "refine_steps": steps}


def run(args) -> int:
    try:
        settings = _settings(args)
        jobs = pairs(args.paths, args.out_dir, ".jaic" if args.raw else ".jai", "encode")
    except (ValueError, JpegAiError) as err:
        print(f"jpegai-fmt encode: {err}", file=sys.stderr)
        return 2
    from codec.metrics import psnr_rgb, quality
    from codec.pipeline import decode, encode

    from ..container import wrap
    from ..picture_metadata import kind_names
    model = networks(args.torch_threads)
    single = len(jobs) == 1

    def work(src: str, dst: str) -> dict:
        pic = open_picture(src, args.metadata, args.auto_orient)
        rgb, notes = pic.rgb, list(pic.notes)
        t0 = time.perf_counter()
        with progress("encoding", enabled=single and not args.json) as tick:
            codestream = encode(rgb, bpp=args.bpp, psnr=args.psnr, settings=settings, model=model, progress=tick)
        t1 = time.perf_counter()
        if args.raw:
            if pic.metadata:
                notes.append(f"{_kinds(pic.metadata)} not kept: a raw codestream has no place for metadata "
                             "(write a .jai file instead)")
            data = codestream
        else:
            data = wrap(codestream, exif=pic.metadata.get("exif"), xmp=pic.metadata.get("xmp"),
                        icc=pic.metadata.get("icc_profile"))
        write_output(dst, data)
        bpp = len(codestream) * 8 / (rgb.shape[0] * rgb.shape[1])
        info = {"input": src, "output": dst, "bytes": len(data), "bpp": bpp, "encode_s": round(t1 - t0, 3),
                "orientation": pic.orientation, "metadata": [] if args.raw else kind_names(pic.metadata)}
        info.update(_operating_point(codestream, settings.refine))
        for note in notes:
            print(f"jpegai-fmt encode: {src}: {note}", file=sys.stderr)
        if notes:
            info["notes"] = notes
        if args.bpp is not None and abs(bpp / args.bpp - 1) > 0.03:
            end = ("the top of the model set's range: beyond it, quality no longer rises with the rate"
                   if bpp < args.bpp else "the bottom of the model set's rate range")
            info["warning"] = f"target {args.bpp} bpp out of reach for this picture: nearest {bpp:.4f} bpp ({end})"
            print(f"jpegai-fmt encode: {src}: {info['warning']}", file=sys.stderr)
        if args.json or args.psnr is not None:          # --json: every metric; --psnr: the one it targets
            decoded = decode(codestream, model=model).rgb
            info.update(quality(rgb, decoded) if args.json else {"psnr_rgb": psnr_rgb(rgb, decoded)})
        if args.psnr is not None and info["psnr_rgb"] < args.psnr:
            info["warning"] = (f"target {args.psnr} dB out of reach for this picture: the best point found gives "
                               f"{info['psnr_rgb']:.2f} dB (the model set's quality ends there)")
            print(f"jpegai-fmt encode: {src}: {info['warning']}", file=sys.stderr)
        return info

    results = run_all(jobs, work, "encoding", args.json)
    return report(results, "encode", args.json,
                  [("input", "{}"), ("output", "{}"), ("bytes", "{}"), ("bpp", "{:.4f}"), ("model_id", "{}"),
                   ("bdl", "{}"), ("refine_steps", "{}"), ("encode_s", "{}")]
                  + ([("psnr_rgb", "{:.2f}")] if args.psnr is not None else []),
                  lambda r: f"{r['output']}: {r['bytes']} bytes, {r['bpp']:.4f} bpp (codestream), model_id "
                            f"{r['model_id']}, BDL {r['bdl'][0]:+d}{_chroma_bdl(r['bdl'])}, {r['refine_steps']} "
                            f"refinement steps, {r['encode_s']} s"
                            + (f", {r['psnr_rgb']:.2f} dB PSNR-RGB" if "psnr_rgb" in r else "")
                            + (f", turned upright (Exif orientation {r['orientation']})" if r["orientation"] != 1
                               else "")
                            + (f", carries {', '.join(r['metadata'])}" if r["metadata"] else ""))


def _kinds(meta: dict) -> str:
    from ..picture_metadata import kind_names
    return ", ".join({"exif": "Exif", "xmp": "XMP", "icc": "the ICC profile"}[n] for n in kind_names(meta))


def _chroma_bdl(bdl: list[int]) -> str:
    return "" if bdl[0] == bdl[1] else f" (chroma {bdl[1]:+d})"
