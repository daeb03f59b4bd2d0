"""`jpegai-fmt decode IN OUT.png | IN... --out-dir D [--luma-channels N] [--chroma-channels M]`: JPEG AI -> PNG."""
from __future__ import annotations

import argparse
import io
import sys
import time

from ._batch import pairs, report, run_all
from ._codec import int_in, metadata_option, networks, open_picture, progress
from ._stdio import read_input, write_output


PNG_LEVEL = 3     # writing the PNG took longer than decoding a 4K picture at zlib's default 6 (session 26)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "decode", help="decode streams made with our model set to PNG",
        description="Decode JPEG AI files or codestreams written by this project's encoder. Streams from other "
                    "encoders (other networks) are refused with a clear message; parse/validate still work. "
                    "With --out-dir, every positional is an input and outputs are named INPUT-STEM.png; one "
                    "progress bar covers all files. A .jai file's Exif, XMP and ICC profile go into the PNG. Exit "
                    "code 0 when every file was decoded, 2 when any failed.",
        epilog="examples:\n  jpegai-fmt decode photo.jai photo.png\n"
               "  jpegai-fmt decode photo.jai preview.png --luma-channels 16 --chroma-channels 8\n"
               "  jpegai-fmt decode encoded/*.jai --out-dir decoded --json\n"
               "  curl -s https://example.org/photo.jai | jpegai-fmt decode - - | display",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="INPUT OUTPUT.png, or inputs with --out-dir (- is standard input / output)")
    p.add_argument("--out-dir", metavar="D", help="write one PNG per input into D")
    p.add_argument("--luma-channels", type=int_in(0, 160), metavar="N",
                   help="decode only this luma channel prefix, 0..160 (progressive)")
    p.add_argument("--chroma-channels", type=int_in(0, 96), metavar="M",
                   help="decode only this chroma channel prefix, 0..96")
    p.add_argument("--metadata", type=metadata_option, default=metadata_option("all"), metavar="LIST",
                   help="what to carry from a .jai file into the PNG: all (the default), none, or a comma list "
                        "of exif, xmp, icc")
    p.add_argument("--reference", help="original picture, to report PSNR-RGB, PSNR-Y/Cb/Cr and YUV 6:1:1, MS-SSIM "
                                       "(single input only); turned upright by its Exif orientation, as encode "
                                       "does")
    p.add_argument("--no-auto-orient", dest="auto_orient", action="store_false",
                   help="compare with the reference's samples as stored (for streams encoded with "
                        "--no-auto-orient)")
    p.add_argument("--png-level", type=int_in(0, 9), default=PNG_LEVEL, metavar="L",
                   help=f"PNG (zlib) compression level 0..9 (default {PNG_LEVEL}: at 3840x2160, 0.8 s to write "
                        "against 2.5 s at zlib's usual 6, for a file 10 %% larger; the pixels are the same)")
    p.add_argument("--torch-threads", type=int_in(1, 1024), metavar="N",
                   help="torch CPU threads (the output does not depend on it)")
    p.add_argument("--json", action="store_true", help="print size, PSNR and timings as JSON (a list for "
                                                       "several files)")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        jobs = pairs(args.paths, args.out_dir, ".png", "decode")
        if args.reference and len(jobs) > 1:
            raise ValueError("--reference needs a single input")
        reference = open_picture(args.reference, auto_orient=args.auto_orient).rgb if args.reference else None
    except (ValueError, OSError) as err:
        print(f"jpegai-fmt decode: {err}", file=sys.stderr)
        return 2
    from PIL import Image

    from codec.metrics import quality
    from codec.pipeline import decode

    from ..container.reader import read_metadata
    from ..picture import codestream_of
    from ..picture_metadata import KINDS, kind_names, png_options
    model = networks(args.torch_threads)
    single = len(jobs) == 1

    def work(src: str, dst: str) -> dict:
        data = read_input(src)
        with progress("decoding", enabled=single and not args.json, counted=False):
            kind, codestream = codestream_of(data)
            dec = decode(codestream, args.luma_channels, args.chroma_channels, model=model)
        h, w = dec.rgb.shape[:2]
        info = {"input": src, "output": dst, "width": w, "height": h, "bpp": len(codestream) * 8 / (w * h),
                "symbols_sha256": dec.symbols_sha256, **{k: round(v, 4) for k, v in dec.timings.items()}}
        if reference is not None:
            try:
                info.update(quality(reference, dec.rgb))
            except ValueError as err:          # checked before anything is written
                raise ValueError(f"--reference {args.reference}: {err}") from None
        keep = {KINDS[name] for name in args.metadata}
        meta = {k: v for k, v in read_metadata(data).items() if k in keep} if kind == "container" else {}
        info["metadata"] = kind_names(meta)
        buf, t0 = io.BytesIO(), time.perf_counter()
        Image.fromarray(dec.rgb).save(buf, "PNG", compress_level=args.png_level, **png_options(meta))
        info["png_s"] = round(time.perf_counter() - t0, 4)
        write_output(dst, buf.getvalue())
        return info

    results = run_all(jobs, work, "decoding", args.json)
    return report(results, "decode", args.json,
                  [("input", "{}"), ("output", "{}"), ("width", "{}"), ("height", "{}"), ("bpp", "{:.4f}")],
                  lambda r: f"{r['output']}: {r['width']}x{r['height']}"
                            + (_quality_text(r) if "psnr_rgb" in r else ""))


def _quality_text(r: dict) -> str:
    """The reference comparison for people: PSNR-RGB, the 6:1:1 YUV mean, MS-SSIM where measured."""
    return (f", PSNR {r['psnr_rgb']:.2f} dB RGB, {r['psnr_yuv611']:.2f} dB YUV 6:1:1 (Y {r['psnr_y']:.2f})"
            + (f", MS-SSIM {r['ms_ssim']:.4f}" if "ms_ssim" in r else ""))
