"""The shipped model set: the decoder's float networks (synthesis, hyper-mean; torch, fp16 on disk), the
integer data that parsing needs (HSD int8 layers, integer gain vectors, z frequencies) in a numpy file that
loads without torch, and apart from both the encoder's networks (analysis, hyper-encoder).

The model-set id (first 16 bytes of SHA-256 over the decoder file, then the integer file) goes into every
stream's UDI record, so a decoder can tell our streams from streams made with other weights before it
decodes anything. The encoder's file is left out: a better encoder writes streams the same decoder reads,
so improving it must not orphan the streams already written.

Export: `python -m codec.weights CHECKPOINT [--out DIR]` (writes codec/weights/, or DIR, from a training
checkpoint).
"""
from __future__ import annotations

import functools
import hashlib
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from codec.entropy.hsd import HsdLayer, HsdWeights
from codec.entropy.tables import TansTables, z_tables

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
DECODER_FILE = os.path.join(HERE, "decoder.pt")
ENCODER_FILE = os.path.join(HERE, "encoder.pt")
INT_FILE = os.path.join(HERE, "integer.npz")
COMPONENTS = ("y", "uv")
Z_FREQ_TOTAL = 1 << 16


@dataclass(frozen=True)
class IntegerModel:
    """Everything parsing depends on, per component c: HSD, gains[model_id][channel] (Q7), z frequencies
    [model_id][channel][63]."""
    hsd: tuple[HsdWeights, HsdWeights]
    gains: tuple[np.ndarray, np.ndarray]
    z_freqs: tuple[np.ndarray, np.ndarray]
    model_set: bytes
    _z_tables: dict = field(default_factory=dict, repr=False, compare=False)

    def z_tables(self, c: int, model_id: int) -> TansTables:
        """The tANS tables of a regime's z channels, built once: a rate search codes one regime a dozen times,
        and building both components' tables took 14 ms of each 33 ms coding at 768x512 (session 26)."""
        if (c, model_id) not in self._z_tables:
            self._z_tables[c, model_id] = z_tables(self.z_freqs[c][model_id])
        return self._z_tables[c, model_id]


def model_set_id(paths=(DECODER_FILE, INT_FILE)) -> bytes:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.digest()[:16]


@functools.lru_cache(maxsize=1)
def integer_model() -> IntegerModel:
    if not os.path.exists(INT_FILE):
        raise FileNotFoundError(f"model data missing: {INT_FILE}")
    d = np.load(INT_FILE)
    hsd = tuple(HsdWeights(*(HsdLayer(d[f"{c}.l{i}.w"], d[f"{c}.l{i}.b"], d[f"{c}.l{i}.s"]) for i in (1, 2, 3)))
                for c in COMPONENTS)
    return IntegerModel(hsd=hsd, gains=tuple(d[f"{c}.gain"] for c in COMPONENTS),
                        z_freqs=tuple(d[f"{c}.zfreq"] for c in COMPONENTS), model_set=model_set_id())


def load_networks():
    """The complete float model (torch imported here, never by syntax-only code), with no part left at its
    random initialisation: the hyper-scale decoder is rebuilt from its integer form and runs fake-quantised,
    so its float forward matches the integer runtime. Decoding itself uses the integer path."""
    from .model import Codec, load_state
    model = Codec()
    load_state(model, training_state())
    for ent in (model.ent_y, model.ent_uv):
        ent.hsd.quantised = True
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def training_state() -> dict:
    """A full float state dict rebuilt from the shipped files, so training can resume from what the repo
    holds (`python -m codec.train --resume shipped`): the HSD takes its integer weights back to float
    (exactly the fake-quantised values it was trained with), gains and z tables their integer values."""
    import torch

    from .model import HyperScaleDecoder
    state = {k: v.float() for path in (ENCODER_FILE, DECODER_FILE)
             for k, v in torch.load(path, map_location="cpu").items()}
    d = np.load(INT_FILE)
    for c, prefix in zip(COMPONENTS, ("ent_y", "ent_uv")):
        for i in (1, 2, 3):
            gain = HyperScaleDecoder.OUT_GAIN if i == 3 else 1.0     # folded into l3's integers on export
            scale = 2.0 ** d[f"{c}.l{i}.s"].astype(np.float64) * gain
            w = d[f"{c}.l{i}.w"].astype(np.float64) / scale[:, None, None, None]
            b = d[f"{c}.l{i}.b"].astype(np.float64) / scale
            state[f"{prefix}.hsd.l{i}.weight"] = torch.from_numpy(w).float()
            state[f"{prefix}.hsd.l{i}.bias"] = torch.from_numpy(b).float()
        state[f"{prefix}.gain_log"] = torch.from_numpy(d[f"{c}.gain"].astype(np.float32))
        state[f"{prefix}.z_logits"] = torch.from_numpy(np.log(d[f"{c}.zfreq"].astype(np.float64))).float()
    return state


# ---- export --------------------------------------------------------------------------------------------

def _int_layer(conv, gain: float) -> dict:
    """Integer form of one HSD layer, exactly as the fake-quantised training forward computes it."""
    import torch
    w = conv.weight.detach().double() * gain
    b = conv.bias.detach().double() * gain
    amax = w.abs().flatten(1).amax(1).clamp_min(1e-8)
    shift = torch.floor(torch.log2(127.0 / amax)).clamp(0, 30)
    scale = 2.0 ** shift
    wi = (w * scale.view(-1, 1, 1, 1)).round().clamp(-128, 127).to(torch.int8)
    bi = (b * scale).round().to(torch.int64)
    return {"w": wi.numpy(), "b": bi.numpy(), "s": shift.to(torch.int64).numpy()}


def _integer_arrays(model) -> dict:
    """integer.npz's arrays: the HSD layers in integer form, integer gains, z frequencies."""
    import torch
    arrays = {}
    for c, ent in zip(COMPONENTS, (model.ent_y, model.ent_uv)):
        for i, (layer, gain) in enumerate(((ent.hsd.l1, 1.0), (ent.hsd.l2, 1.0),
                                           (ent.hsd.l3, ent.hsd.OUT_GAIN)), start=1):
            for k, v in _int_layer(layer, gain).items():
                arrays[f"{c}.l{i}.{k}"] = v
        arrays[f"{c}.gain"] = ent.gain_log.detach().round().to(torch.int64).numpy()
        p = torch.softmax(ent.z_logits.detach().double(), -1)
        arrays[f"{c}.zfreq"] = np.maximum((p * Z_FREQ_TOTAL).round().numpy().astype(np.int64), 1)
    return arrays


def export(checkpoint: str, out_dir: str = HERE, encoder_only: bool = False) -> bytes:
    """Write the three files of a model set from a checkpoint or weights file; returns the model-set id.
    `encoder_only` writes encoder.pt alone (after `codec.train --part encoder`): the decoder's files, and so
    the id and every stream already written, stay as they are."""
    import torch

    from .model import ENCODER_PARTS, Codec, load_state
    state = torch.load(checkpoint, map_location="cpu")
    state = state.get("model", state)
    model = Codec()
    load_state(model, {k: v.float() for k, v in state.items()})
    floats = {k: (v.half() if v.numel() > 10000 else v.float()) for k, v in model.state_dict().items()
              if ".hsd." not in k and not k.endswith(("gain_log", "z_logits"))}
    files = {"encoder.pt": {k: v for k, v in floats.items() if k.startswith(ENCODER_PARTS)}}
    if not encoder_only:
        files["decoder.pt"] = {k: v for k, v in floats.items() if not k.startswith(ENCODER_PARTS)}
    os.makedirs(out_dir, exist_ok=True)
    for name, part in files.items():
        torch.save(part, os.path.join(out_dir, name + ".tmp"))
    if not encoder_only:
        np.savez_compressed(os.path.join(out_dir, "integer.tmp.npz"), **_integer_arrays(model))
        os.replace(os.path.join(out_dir, "integer.tmp.npz"), os.path.join(out_dir, "integer.npz"))
    for name in files:
        os.replace(os.path.join(out_dir, name + ".tmp"), os.path.join(out_dir, name))
    integer_model.cache_clear()
    return model_set_id((os.path.join(out_dir, "decoder.pt"), os.path.join(out_dir, "integer.npz")))


def main(argv=None) -> None:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m codec.weights",
                                 description="Export a training checkpoint (last.pt or last-weights.pt) as the "
                                             "shipped model set: decoder.pt, encoder.pt, integer.npz.")
    ap.add_argument("checkpoint")
    ap.add_argument("--out", default=HERE, help="folder to write (default: codec/weights, the shipped set)")
    ap.add_argument("--encoder-only", action="store_true",
                    help="write encoder.pt alone, from a `codec.train --part encoder` run: the decoder, the model-set "
                         "id and the streams already written stay valid")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        sys.exit(f"{args.checkpoint}: no such checkpoint")
    os.makedirs(args.out, exist_ok=True)
    print("model set", export(args.checkpoint, args.out, args.encoder_only).hex())


if __name__ == "__main__":
    main()
