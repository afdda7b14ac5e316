"""Build a model from PyTorch tensors: an nn.LSTM, and the embedding and readout around it."""

from __future__ import annotations

import os

import numpy as np

from lstm_viz.engine import Readout
from lstm_viz.engine import provenance as prov
from lstm_viz.errors import FileFormatError, ModelError
from lstm_viz.io.frameworks import from_torch_state_dict
from lstm_viz.io.torch_files import lstm_prefixes
from lstm_viz.safe_arrays import FLOAT32_MAX, check_weights

READOUT_HINTS = ("fc", "linear", "out", "head", "decoder", "classifier", "dense", "proj", "readout")
VOCAB_HINTS = ("vocab", "vocabulary", "itos", "chars", "alphabet", "tokens")


def model_from_torch_tensors(path, tensors: dict[str, np.ndarray], strings=None, prefix: str | None = None):
    """An LSTM (with embedding and readout when present) from a flat name -> tensor mapping.

    The nn.LSTM is found by its ``weight_ih_l0``; with several, the one under the shortest
    prefix unless ``prefix`` says which. The model's metadata records the prefix used.
    """
    strings = strings or {}
    prefixes = lstm_prefixes(tensors)
    if not prefixes:
        sample = ", ".join(sorted(tensors)[:8]) or "none"
        raise FileFormatError(path, f"no nn.LSTM parameters (a '...weight_ih_l0' tensor) found; tensors: {sample}")
    if prefix is None:
        prefix = prefixes[0]
    elif prefix not in prefixes:
        raise FileFormatError(path, f"no nn.LSTM under prefix {prefix!r}; found {prefixes}")
    floats = {k: v for k, v in tensors.items() if k.startswith(prefix)}
    for key, value in floats.items():
        if value.dtype.kind != "f":
            raise FileFormatError(path, f"tensor {key!r} has dtype {value.dtype}, expected floats")
        check_weights(path, key, value)
    try:
        model = from_torch_state_dict(floats, prefix)
    except ModelError as exc:
        raise FileFormatError(path, str(exc)) from None
    lstm_keys = set(floats)
    others = {
        k: v
        for k, v in tensors.items()
        if k not in lstm_keys
        and v.dtype.kind == "f"
        and np.all(np.isfinite(v))
        and not (v.size and np.max(np.abs(v)) > FLOAT32_MAX)
    }

    embedding_key = _pick(
        [k for k, v in others.items() if k.endswith("weight") and "emb" in k.lower() and v.ndim == 2
         and v.shape[1] == model.layer_input_size]
    )  # fmt: skip
    embedding = others[embedding_key] if embedding_key else None
    readout_candidates = [
        k
        for k, v in others.items()
        if k.endswith("weight")
        and k != embedding_key
        and v.ndim == 2
        and v.shape[1] == model.output_size
        and others.get(k[: -len("weight")] + "bias", np.zeros(0)).shape == (v.shape[0],)
    ]
    readout_key = _pick(sorted(readout_candidates, key=lambda k: not any(h in k.lower() for h in READOUT_HINTS)))
    vocabulary = None
    size = None if embedding is None else embedding.shape[0]
    for key, values in strings.items():
        if any(h in key.lower() for h in VOCAB_HINTS) and (size is None or len(values) == size):
            vocabulary = values
            break
    readout = None
    if readout_key:
        W = others[readout_key]
        b = others[readout_key[: -len("weight")] + "bias"]
        classify = (embedding is not None and W.shape[0] == embedding.shape[0]) or "classif" in readout_key.lower()
        labels = vocabulary if classify and vocabulary is not None and len(vocabulary) == W.shape[0] else None
        readout = Readout(W.T, b, kind="classification" if classify else "regression", labels=labels)
    described = model.metadata.get("provenance")
    try:
        model = type(model)(model.layers, readout=readout, embedding=embedding)
    except ModelError as exc:
        raise FileFormatError(path, str(exc)) from None
    if described is not None:
        described = {**described, "file": None if path is None else os.path.basename(os.fspath(path))}
        if embedding_key:
            described["embedding"] = prov.block(
                prov.term(embedding_key, ["unit", "col"], embedding.shape),
                note="nn.Embedding: row = token, column = embedding dimension",
            )
        prov.attach(model, described)
    model.metadata.update(
        source_format="pytorch",
        prefix=prefix,
        embedding=embedding_key,
        readout=readout_key,
        other_lstm_prefixes=[p for p in prefixes if p != prefix],
    )
    if vocabulary is not None:
        model.metadata["vocabulary"] = vocabulary
    return model


def _pick(keys):
    return keys[0] if keys else None
