"""The shipped model set: its id, and that training can resume from what the repository holds."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from codec.model import Codec, load_state  # noqa: E402
from codec.weights import INT_FILE, export, integer_model, model_set_id, training_state  # noqa: E402


def test_model_set_id_is_the_hash_of_the_shipped_files():
    """First 16 bytes of SHA-256 over decoder.pt then integer.npz, computed here independently."""
    import hashlib
    import pathlib
    folder = pathlib.Path(__file__).resolve().parent.parent / "codec" / "weights"
    expected = hashlib.sha256((folder / "decoder.pt").read_bytes() + (folder / "integer.npz").read_bytes())
    assert model_set_id() == expected.digest()[:16] == integer_model().model_set


def test_training_resumes_from_the_shipped_files(tmp_path):
    model = Codec()
    load_state(model, training_state())               # every parameter is rebuilt (an encoder.pt from before
                                                      # the rate conditioning may lack the FiLM layers alone)
    torch.save(model.state_dict(), tmp_path / "ck.pt")
    export(str(tmp_path / "ck.pt"), str(tmp_path))
    again, shipped = np.load(tmp_path / "integer.npz"), np.load(INT_FILE)
    for key in shipped.files:
        if key.endswith("zfreq"):                     # renormalised through log/softmax: off by rounding
            assert np.abs(again[key] - shipped[key]).max() <= 0.001 * 65536
        else:                                         # HSD layers and gains come back exactly
            assert np.array_equal(again[key], shipped[key]), key
    integer_model.cache_clear()


def test_the_id_names_the_decoder_not_the_encoder(tmp_path):
    """A new encoder writes streams the same decoder reads: it keeps the id. A new decoder does not."""
    from codec.model import ENCODER_PARTS
    state = training_state()
    torch.save(state, tmp_path / "ck.pt")
    first = export(str(tmp_path / "ck.pt"), str(tmp_path / "a"))
    encoder = {k: v + 0.01 if k.startswith(ENCODER_PARTS) else v for k, v in state.items()}
    torch.save(encoder, tmp_path / "enc.pt")
    assert export(str(tmp_path / "enc.pt"), str(tmp_path / "b")) == first
    assert (tmp_path / "a" / "encoder.pt").read_bytes() != (tmp_path / "b" / "encoder.pt").read_bytes()
    decoder = {k: v + 0.01 if k.startswith("syn_y.") else v for k, v in state.items()}
    torch.save(decoder, tmp_path / "dec.pt")
    assert export(str(tmp_path / "dec.pt"), str(tmp_path / "c")) != first
    integer_model.cache_clear()


def test_encoder_only_export_leaves_the_decoder_files(tmp_path):
    """After an encoder-only run, `--encoder-only` replaces encoder.pt and nothing else: a full export would
    rewrite integer.npz (its z frequencies come back off by rounding) and so change the id."""
    import shutil

    from codec.model import ENCODER_PARTS
    from codec.weights import HERE
    for name in ("decoder.pt", "encoder.pt", "integer.npz"):
        shutil.copy(f"{HERE}/{name}", tmp_path / name)
    before = {name: (tmp_path / name).read_bytes() for name in ("decoder.pt", "encoder.pt", "integer.npz")}
    state = {k: v + 0.01 if k.startswith(ENCODER_PARTS) else v for k, v in training_state().items()}
    torch.save(state, tmp_path / "enc.pt")
    assert export(str(tmp_path / "enc.pt"), str(tmp_path), encoder_only=True) == model_set_id()
    assert (tmp_path / "decoder.pt").read_bytes() == before["decoder.pt"]
    assert (tmp_path / "integer.npz").read_bytes() == before["integer.npz"]
    assert (tmp_path / "encoder.pt").read_bytes() != before["encoder.pt"]
    integer_model.cache_clear()


def test_weights_that_do_not_fit_are_refused():
    """Only the FiLM layers may be missing (an older encoder.pt, which then runs as trained)."""
    state = training_state()
    with pytest.raises(RuntimeError, match="syn_y.net.0.weight"):
        load_state(Codec(), {k: v for k, v in state.items() if k != "syn_y.net.0.weight"})
    with pytest.raises(RuntimeError, match="unexpected"):
        load_state(Codec(), {**state, "stray.weight": torch.zeros(1)})
