"""Codec speed and memory: encode/decode of a 768x512 picture (targets: decode <= 1.0 s, encode <= 2.0 s on
the 2-core development machine), decoder complexity in kMAC per pixel, and the peak memory of a 4K decode
(target <= 2 GB). Pillow's JPEG at quality 90 on the same picture is the baseline measured alongside.
The `jpegai-fmt encode`/`decode` commands are also timed as a user runs them, each in a fresh process
(imports and loading the weights included), against the same work done in this warm process.

    python bench/speed.py [--repeat 5] [--skip-4k]
"""
from __future__ import annotations

import argparse
import glob
import io
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
VAL = os.path.join(ROOT, "..", "shared", "data", "val")


def picture(w, h):
    paths = sorted(glob.glob(os.path.join(VAL, "*.png")))
    if paths:
        with Image.open(paths[0]) as im:
            return np.asarray(im.convert("RGB").resize((w, h), Image.LANCZOS))
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def timed(fn, repeat):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def cold_cli(pic, repeat: int) -> dict:
    """Wall time of `jpegai-fmt encode` and `decode` of `pic`, each in a fresh process (median of `repeat`)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        src, jai, png = (os.path.join(tmp, n) for n in ("in.png", "out.jai", "back.png"))
        Image.fromarray(pic).save(src)
        out = {}
        for name, args in (("encode", [src, jai]), ("decode", [jai, png])):
            cmd = [sys.executable, "-m", "jpegai_fmt", name, *args, "--torch-threads", str(os.cpu_count() or 1)]
            out[f"cli_{name}_768x512_s"], _ = timed(
                lambda cmd=cmd: subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True), repeat)
    return out


def decoder_kmac_per_pixel(model, width, height) -> dict:
    """Multiply-accumulates of every convolution the decoder runs (hyper-mean, synthesis; integer HSD)."""
    import torch
    macs = {"hyper_mean": 0, "synthesis": 0, "hyper_scale": 0}
    hooks = []

    def hook(part):
        def f(mod, inp, out):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            macs[part] += out.numel() * mod.in_channels // mod.groups * k
        return f
    for part, mods in (("hyper_mean", [model.ent_y.hmd, model.ent_uv.hmd]),
                       ("synthesis", [model.syn_y, model.syn_uv]),
                       ("hyper_scale", [model.ent_y.hsd, model.ent_uv.hsd])):
        for m in mods:
            for sub in m.modules():
                if isinstance(sub, torch.nn.Conv2d):
                    hooks.append(sub.register_forward_hook(hook(part)))
    with torch.no_grad():
        hz, wz, hl, wl = height // 64, width // 64, height // 16, width // 16
        for ent, c in ((model.ent_y, 160), (model.ent_uv, 96)):
            z = torch.zeros(1, c, hz, wz)
            ent.hmd(z, hl, wl)
            ent.hsd.l3(ent.hsd.l2(ent.hsd.l1(z)))
        yl, uvl = torch.zeros(1, 160, hl, wl), torch.zeros(1, 96, hl, wl)
        model.syn_y(yl)
        model.syn_uv(uvl, yl)
    for h in hooks:
        h.remove()
    px = width * height
    return {k: v / px / 1000 for k, v in macs.items()} | {"total": sum(macs.values()) / px / 1000}


PEAK_SCRIPT = """
import resource, sys, time, torch
torch.set_num_threads(2)
from codec.pipeline import decode
data = open(sys.argv[1], 'rb').read()
t = time.perf_counter(); decode(data); dt = time.perf_counter() - t
try:   # VmHWM is this process's own peak; ru_maxrss on Linux also counts the parent's RSS copied at fork
    peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(dt, peak / 1024)
"""


RATE_TARGET = 0.5          # `encode --bpp`: the default encoder plus the rate search


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-4k", action="store_true")
    ap.add_argument("--refine", type=int, default=100, metavar="N",
                    help="also time one encode with N latent-refinement steps (0 = skip)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from codec.pipeline import EncodeSettings, decode, encode
    from codec.refine import auto_steps
    from codec.weights import load_networks
    torch.set_num_threads(os.cpu_count() or 1)
    model = load_networks()
    pic = picture(768, 512)
    default = EncodeSettings(refine="auto")         # what `jpegai-fmt encode` and jpegai_fmt.encode do
    fast = EncodeSettings(refine=0)
    encode(pic, settings=fast, model=model)         # warm-up
    t_enc, data = timed(lambda: encode(pic, settings=default, model=model), args.repeat)
    t_fast, _ = timed(lambda: encode(pic, settings=fast, model=model), args.repeat)
    t_dec, _ = timed(lambda: decode(data, model=model), args.repeat)
    t_bpp, _ = timed(lambda: encode(pic, bpp=RATE_TARGET, settings=default, model=model), min(args.repeat, 3))

    def jpeg_round():
        buf = io.BytesIO()
        Image.fromarray(pic).save(buf, "JPEG", quality=90)
        return buf
    t_jenc, buf = timed(jpeg_round, args.repeat)
    t_jdec, _ = timed(lambda: np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), args.repeat)
    res = {"threads": torch.get_num_threads(), "encode_768x512_s": t_enc, "encode_fast_768x512_s": t_fast,
           "encode_bpp_768x512_s": t_bpp, "rate_target_bpp": RATE_TARGET,
           "default_refine_steps": auto_steps(768, 512),
           "decode_768x512_s": t_dec,
           "jpeg_encode_s": t_jenc, "jpeg_decode_s": t_jdec, "bpp": len(data) * 8 / (768 * 512),
           "kmac_per_px": decoder_kmac_per_pixel(model, 768, 512)}
    res.update(cold_cli(pic, min(args.repeat, 3)))
    if args.refine:
        res["refine_steps"] = args.refine
        res["encode_refine_768x512_s"], _ = timed(
            lambda: encode(pic, settings=EncodeSettings(refine=args.refine), model=model), 1)
    if not args.skip_4k:
        big = encode(picture(3840, 2160), settings=fast, model=model)
        path = os.path.join(ROOT, "bench", "results", "speed-4k.jaic")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(big)
        out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, path], capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout.split()
        os.unlink(path)
        res["decode_4k_s"], res["decode_4k_peak_mb"] = float(out[0]), float(out[1])
    if args.json:
        print(json.dumps(res))
        return
    print(f"torch threads {res['threads']}")
    print(f"encode 768x512: {t_enc:.3f} s (target 2.0; the default encoder, "
          f"{res['default_refine_steps']} refinement steps)   Pillow JPEG "
          f"q90: {t_jenc * 1000:.1f} ms  ratio {t_enc / t_jenc:.0f}x")
    print(f"encode 768x512 with --refine 0: {t_fast:.3f} s")
    print(f"encode 768x512 with --bpp {RATE_TARGET} (searches model_id and BDL): {t_bpp:.3f} s")
    print(f"decode 768x512: {t_dec:.3f} s (target 1.0)   Pillow JPEG q90: {t_jdec * 1000:.1f} ms  "
          f"ratio {t_dec / t_jdec:.0f}x")
    print(f"jpegai-fmt encode / decode 768x512, fresh process: {res['cli_encode_768x512_s']:.2f} s / "
          f"{res['cli_decode_768x512_s']:.2f} s (start-up: torch import and weights, "
          f"{res['cli_encode_768x512_s'] - t_enc:.2f} / {res['cli_decode_768x512_s'] - t_dec:.2f} s over the warm process)")
    if args.refine:
        print(f"encode 768x512 with {args.refine} refinement steps: {res['encode_refine_768x512_s']:.2f} s "
              f"({res['encode_refine_768x512_s'] / t_fast:.0f}x the encode without refinement)")
    k = res["kmac_per_px"]
    print(f"decoder complexity: {k['total']:.1f} kMAC/px (synthesis {k['synthesis']:.1f}, hyper-mean "
          f"{k['hyper_mean']:.2f}, hyper-scale {k['hyper_scale']:.2f}); target <= 20")
    if "decode_4k_s" in res:
        print(f"decode 3840x2160: {res['decode_4k_s']:.2f} s, peak RSS {res['decode_4k_peak_mb']:.0f} MB "
              f"(target <= 2048)")


if __name__ == "__main__":
    main()
