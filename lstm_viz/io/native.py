"""The native model file: an uncompressed ``.npz`` that NumPy alone reads.

Layout (documented in README.md):

- ``meta``: a JSON string with ``format`` = "lstm-viz-model", ``version``, ``kind``
  ("lstm" or "rnn"), ``layers`` (one object per layer: ``bidirectional`` and the options
  ``forget_bias``, ``cell_clip``, ``gate_clip``, ``proj_clip``), optional ``readout``
  (``kind``, ``labels``) and free-form ``metadata`` (task, vocabulary, feature names, and
  ``provenance``: where an imported model's weights came from, see
  :mod:`lstm_viz.engine.provenance`; it survives a save and load as the origin).
- per layer l, float32 where that is exact and float64 otherwise: ``l{l}.W_x`` (D, 4H),
  ``l{l}.W_h`` (H_out, 4H), ``l{l}.b`` (4H,), optional ``l{l}.peepholes`` (3, H) and
  ``l{l}.W_proj`` (H, P); the backward direction of a bidirectional layer uses
  ``l{l}_reverse.*``. Gate order i, f, g, o (DESIGN.md).
- ``readout.W`` (H_out, K), ``readout.b`` (K,) when the model has a readout.
- ``embedding.W`` (V, D) when the model embeds one-hot (or token) inputs before layer 0.
"""

from __future__ import annotations

import json
import os

import numpy as np

from lstm_viz.engine import LSTM, RNN, LSTMLayer, Readout, RNNLayer, provenance
from lstm_viz.errors import FileFormatError, LstmVizError
from lstm_viz.safe_arrays import NpzReader, check_weights

MODEL_FORMAT = "lstm-viz-model"
MODEL_VERSION = 1


def _compact(array: np.ndarray) -> np.ndarray:
    """float32 when that loses nothing (weights imported from frameworks), else float64."""
    single = array.astype(np.float32)
    return single if np.array_equal(single.astype(np.float64), array) else array


def save_model(model, path: str | os.PathLike) -> None:
    """Write ``model`` (an LSTM or RNN, with any readout and metadata) to ``path``."""
    arrays = {}
    layer_meta = []
    for index in range(model.num_layers):
        directions = model.directions(index)
        for layer, suffix in zip(directions, ("", "_reverse")):
            for name, value in layer.parameters().items():
                arrays[f"l{index}{suffix}.{name}"] = _compact(value)
        layer_meta.append({"bidirectional": len(directions) == 2, **directions[0].options()})
    meta = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "kind": model.kind, "layers": layer_meta}
    if model.readout is not None:
        arrays["readout.W"] = _compact(model.readout.W)
        arrays["readout.b"] = _compact(model.readout.b)
        meta["readout"] = {"kind": model.readout.kind, "labels": model.readout.labels}
    if model.embedding is not None:
        arrays["embedding.W"] = _compact(model.embedding)
    meta["metadata"] = model.metadata
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def is_native_model(archive: NpzReader) -> bool:
    return "meta" in archive and "l0.W_x" in archive


def load_native_model(path: str | os.PathLike, archive: NpzReader | None = None):
    """Read a native model file; raises FileFormatError naming the file on any problem."""
    if archive is None:
        with NpzReader(path) as own:
            return load_native_model(path, own)
    try:
        return _model_from_archive(path, archive)
    except FileFormatError:
        raise
    except LstmVizError as exc:
        raise FileFormatError(path, str(exc)) from None


def _array(path, archive, key: str) -> np.ndarray:
    return check_weights(path, key, archive[key])


def _model_from_archive(path, archive):
    meta = archive.meta(MODEL_FORMAT, MODEL_VERSION)
    kind = meta.get("kind", "lstm")
    if kind not in ("lstm", "rnn"):
        raise FileFormatError(path, f"unknown model kind {kind!r}")
    layer_type, network_type = (LSTMLayer, LSTM) if kind == "lstm" else (RNNLayer, RNN)
    specs = meta.get("layers")
    if not isinstance(specs, list) or not specs:
        raise FileFormatError(path, "'meta' lists no layers")
    names = set(archive.files)
    options_ok = (type(None), int, float)
    layers = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise FileFormatError(path, f"layer {index} in 'meta' is not an object")
        suffixes = ("", "_reverse") if spec.get("bidirectional") else ("",)
        directions = []
        for suffix in suffixes:
            prefix = f"l{index}{suffix}."
            params = {}
            for name in ("W_x", "W_h", "b", "peepholes", "W_proj"):
                if prefix + name in names:
                    params[name] = _array(path, archive, prefix + name)
                elif name in ("W_x", "W_h", "b"):
                    raise FileFormatError(path, f"missing tensor {prefix + name!r}")
            options = {}
            if kind == "lstm":
                options = {k: spec.get(k) for k in ("cell_clip", "gate_clip", "proj_clip", "forget_bias")}
                for name, value in options.items():
                    if not isinstance(value, options_ok) or isinstance(value, bool):
                        raise FileFormatError(path, f"layer {index}: {name} in 'meta' is not a number")
                options["forget_bias"] = options["forget_bias"] or 0.0
                options["go_backwards"] = bool(spec.get("go_backwards", False))
            try:
                directions.append(layer_type(**params, **options))
            except LstmVizError as exc:
                raise FileFormatError(path, f"layer {index}{suffix}: {exc}") from None
            except TypeError as exc:
                raise FileFormatError(path, f"layer {index}{suffix}: unexpected tensors ({exc})") from None
        layers.append(directions[0] if len(directions) == 1 else tuple(directions))
    readout = None
    if "readout.W" in names:
        spec = meta.get("readout") or {}
        if not isinstance(spec, dict) or not isinstance(spec.get("labels"), (list, type(None))):
            raise FileFormatError(path, "'readout' in 'meta' is malformed")
        readout = Readout(
            _array(path, archive, "readout.W"),
            _array(path, archive, "readout.b"),
            kind=spec.get("kind", "regression"),
            labels=spec.get("labels"),
        )
    metadata = meta.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise FileFormatError(path, "'metadata' in 'meta' is not an object")
    embedding = _array(path, archive, "embedding.W") if "embedding.W" in names else None
    model = network_type(layers, readout=readout, embedding=embedding, metadata=metadata)
    model.metadata.setdefault("source", os.fspath(path))
    if kind == "lstm":  # where each weight is in this file; an earlier import's provenance is kept as its origin
        provenance.native(model, os.path.basename(os.fspath(path)))
    return model
