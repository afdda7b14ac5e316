"""Keras models: ``.keras`` (Keras 3), legacy full-model ``.h5`` and ``.weights.h5``.

Layer order and roles come from the file's own config. In a Keras 3 weights file the
arrays of a layer sit under ``layers/<snake_case class name>[_<n>]`` by position
(``cell/vars/0..2`` = kernel, recurrent kernel, bias), so the config decides which layer
is which; a bare ``.weights.h5`` (no config) is chained by matching shapes. Legacy ``.h5``
files name every dataset in the ``weight_names`` attribute of ``model_weights/<layer>``.

Keras gate order is i, f, c, o, already the canonical one. ``go_backwards`` layers run
from the end of the sequence and are stored time-aligned; Keras itself returns their
outputs in reversed order.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import zipfile

import numpy as np

from lstm_viz.engine import LSTM, LSTMLayer, Readout
from lstm_viz.errors import FileFormatError, ModelError
from lstm_viz.safe_arrays import MAX_ARRAY_BYTES, READ_ERRORS

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
SUPPORTED = {"InputLayer", "LSTM", "Bidirectional", "Dense", "Embedding", "Dropout", "Activation", "Masking"}


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _dataset(path, group, key: str) -> np.ndarray:
    import h5py

    try:
        item = group[key]
    except (KeyError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"missing weight {key!r} under {group.name}: {exc}") from None
    if not isinstance(item, h5py.Dataset):
        raise FileFormatError(path, f"{group.name}/{key} is not an array")
    if item.dtype.kind != "f":
        raise FileFormatError(path, f"{item.name} has dtype {item.dtype}, expected floats")
    if item.size * item.dtype.itemsize > MAX_ARRAY_BYTES:
        raise FileFormatError(path, f"{item.name} claims {item.size * item.dtype.itemsize:,} bytes, too many")
    try:
        value = np.asarray(item[()], dtype=np.float64)
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"{item.name} cannot be read: {exc}") from None
    if not np.all(np.isfinite(value)):
        raise FileFormatError(path, f"{item.name} holds NaN or infinite values")
    return value


def _open_h5(path, data: bytes | None = None):
    import h5py

    try:
        return h5py.File(io.BytesIO(data) if data is not None else path, "r")
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"not a readable HDF5 file: {exc}") from None


def load_keras(path: str | os.PathLike):
    """Any of the three Keras layouts; the format is recognised from the content."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    try:
        if head.startswith(b"PK\x03\x04"):
            return _load_keras_zip(path)
        if head.startswith(HDF5_MAGIC):
            with _open_h5(path) as h5:
                if "model_config" in h5.attrs:
                    return _load_legacy(path, h5)
                if "layers" in h5:
                    specs = _keras3_layers_by_shape(path, h5)
                    note = "layer order inferred from shapes; go_backwards is not stored in a weights file"
                    return _from_layers(path, specs, {"format": "keras .weights.h5", "note": note})
                if "layer_names" in h5.attrs or "model_weights" in h5:
                    return _load_legacy(path, h5)
            raise FileFormatError(path, "an HDF5 file that holds no Keras model or weights")
    except FileFormatError:
        raise
    except (KeyError, AttributeError, RecursionError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"damaged Keras file: {exc}") from None
    raise FileFormatError(path, "not a Keras file")


def _config_layers(path, config) -> list[dict]:
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise FileFormatError(path, "the Keras config is not a model config")
    layers = config["config"].get("layers")
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise FileFormatError(path, "the Keras config lists no layers")
    unknown = [layer.get("class_name") for layer in layers if layer.get("class_name") not in SUPPORTED]
    if unknown:
        raise FileFormatError(
            path, f"layers {unknown} are not supported; lstm-viz reads Embedding, LSTM, Bidirectional(LSTM) and Dense"
        )
    return layers


def _load_keras_zip(path):
    try:
        with zipfile.ZipFile(path) as archive:
            for name in ("config.json", "model.weights.h5"):
                if name not in archive.namelist():
                    raise FileFormatError(path, f"a .keras archive needs {name!r}")
            info = archive.getinfo("model.weights.h5")
            if info.file_size > MAX_ARRAY_BYTES:
                raise FileFormatError(path, "model.weights.h5 is too large")
            config = json.loads(archive.read("config.json"))
            weights = archive.read(info)
    except FileFormatError:
        raise
    except (ValueError, RecursionError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"damaged .keras archive: {exc}") from None
    layers = _config_layers(path, config)
    with _open_h5(path, weights) as h5:
        specs = []
        counters: dict[str, int] = {}
        for layer in layers:
            cls = layer["class_name"]
            base = _snake(cls)
            n = counters.get(base, 0)
            counters[base] = n + 1
            if cls in ("InputLayer", "Dropout", "Activation", "Masking"):
                continue
            group_name = f"layers/{base}" + (f"_{n}" if n else "")
            if group_name not in h5:
                raise FileFormatError(
                    path, f"model.weights.h5 has no {group_name!r} for layer {layer['config'].get('name')!r}"
                )
            specs.append(_keras3_spec(path, h5[group_name], cls, layer.get("config", {})))
    return _from_layers(path, specs, {"format": "keras"})


def _keras3_vars(path, group, prefix: str, count: int) -> list[np.ndarray]:
    return [_dataset(path, group, f"{prefix}vars/{k}") for k in range(count)]


def _keras3_spec(path, group, cls: str, config: dict) -> dict:
    if cls == "LSTM":
        return {"kind": "lstm", "config": config, "weights": _lstm_vars(path, group, "cell/", config)}
    if cls == "Bidirectional":
        inner = (config.get("layer") or {}).get("config", {})
        backward = (config.get("backward_layer") or {}).get("config", inner)
        return {
            "kind": "bidirectional",
            "config": config,
            "forward": (inner, _lstm_vars(path, group, "forward_layer/cell/", inner)),
            "backward": (backward, _lstm_vars(path, group, "backward_layer/cell/", backward)),
        }
    if cls == "Dense":
        count = 2 if config.get("use_bias", True) else 1
        return {"kind": "dense", "config": config, "weights": _keras3_vars(path, group, "", count)}
    if cls == "Embedding":
        return {"kind": "embedding", "config": config, "weights": _keras3_vars(path, group, "", 1)}
    raise FileFormatError(path, f"unsupported layer {cls}")


def _lstm_vars(path, group, prefix, config):
    count = 3 if config.get("use_bias", True) else 2
    return _keras3_vars(path, group, prefix, count)


def _keras3_layers_by_shape(path, h5) -> list[dict]:
    """A bare Keras 3 weights file: find the layers, then chain them by matching widths."""
    specs = []
    for name, group in h5["layers"].items():
        if "cell" in group:
            weights = _keras3_vars(path, group, "cell/", 3 if "2" in group["cell/vars"] else 2)
            specs.append({"kind": "lstm", "config": {}, "weights": weights, "name": name})
        elif "forward_layer" in group:
            f = _keras3_vars(path, group, "forward_layer/cell/", 3 if "2" in group["forward_layer/cell/vars"] else 2)
            b = _keras3_vars(path, group, "backward_layer/cell/", 3 if "2" in group["backward_layer/cell/vars"] else 2)
            specs.append({"kind": "bidirectional", "config": {}, "forward": ({}, f), "backward": ({}, b), "name": name})
        elif "vars" in group and "0" in group["vars"]:
            count = len(group["vars"])
            weights = _keras3_vars(path, group, "", count)
            kind = "embedding" if name.startswith("embedding") else "dense"
            specs.append({"kind": kind, "config": {}, "weights": weights, "name": name})
    return _chain(path, specs)


def _in_out(spec) -> tuple[int, int]:
    if spec["kind"] == "lstm":
        kernel, recurrent = spec["weights"][:2]
        return kernel.shape[0], recurrent.shape[0]
    if spec["kind"] == "bidirectional":
        f, b = spec["forward"][1], spec["backward"][1]
        return f[0].shape[0], f[1].shape[0] + b[1].shape[0]
    W = spec["weights"][0]
    return W.shape[0], W.shape[1]


def _chain(path, specs):
    """Order the layers of a bare weights file so that each one's input width is the last's output."""
    embeddings = [s for s in specs if s["kind"] == "embedding"]
    recurrent = sorted(
        (s for s in specs if s["kind"] in ("lstm", "bidirectional")), key=lambda s: (_snake_index(s["name"]), s["name"])
    )
    dense = [s for s in specs if s["kind"] == "dense"]
    if not recurrent:
        raise FileFormatError(path, "no LSTM layer in the weights file")
    if len(recurrent) > 7:
        raise FileFormatError(path, "too many layers to order without the model's config; use the .keras file")
    start = embeddings[0]["weights"][0].shape[1] if embeddings else None
    for order in itertools.permutations(recurrent):
        width = start
        for spec in order:
            if width is not None and _in_out(spec)[0] != width:
                break
            width = _in_out(spec)[1]
        else:
            head = embeddings[:1]
            tail = [s for s in dense if _in_out(s)[0] == width][:1]
            return head + list(order) + tail
    raise FileFormatError(path, "the LSTM layers' shapes do not chain; save the whole model (.keras) instead")


def _snake_index(name: str) -> int:
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if match else 0


def _load_legacy(path, h5):
    import h5py

    config = None
    if "model_config" in h5.attrs:
        raw = h5.attrs["model_config"]
        config = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    root = h5["model_weights"] if "model_weights" in h5 else h5
    if config is None:
        raise FileFormatError(path, "a legacy weights-only .h5 without a model config; save the whole model instead")
    specs = []
    for layer in _config_layers(path, config):
        cls, cfg = layer["class_name"], layer.get("config", {})
        if cls in ("InputLayer", "Dropout", "Activation", "Masking"):
            continue
        name = cfg.get("name")
        if name not in root or not isinstance(root[name], h5py.Group):
            raise FileFormatError(path, f"no weights for layer {name!r} in model_weights")
        group = root[name]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
        arrays = [_dataset(path, group, n) for n in names]
        if cls == "LSTM":
            specs.append({"kind": "lstm", "config": cfg, "weights": arrays})
        elif cls == "Bidirectional":
            forward = [a for n, a in zip(names, arrays) if "/forward_" in n]
            backward = [a for n, a in zip(names, arrays) if "/backward_" in n]
            inner = (cfg.get("layer") or {}).get("config", {})
            backward_cfg = (cfg.get("backward_layer") or {}).get("config", inner)
            specs.append(
                {
                    "kind": "bidirectional",
                    "config": cfg,
                    "forward": (inner, forward),
                    "backward": (backward_cfg, backward),
                }
            )
        else:
            specs.append({"kind": cls.lower(), "config": cfg, "weights": arrays})
    return _from_layers(path, specs, {"format": "keras legacy .h5"})


def _lstm_layer(path, config: dict, weights: list[np.ndarray], go_backwards=None) -> LSTMLayer:
    for key, expected in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        if config.get(key, expected) != expected:
            raise FileFormatError(path, f"an LSTM with {key}={config.get(key)!r} is not supported (only {expected!r})")
    if len(weights) not in (2, 3):
        raise FileFormatError(
            path, f"an LSTM layer needs kernel, recurrent kernel and bias; found {len(weights)} arrays"
        )
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) == 3 else np.zeros(kernel.shape[-1] if kernel.ndim == 2 else 0)
    backwards = bool(config.get("go_backwards", False)) if go_backwards is None else go_backwards
    try:
        return LSTMLayer(kernel, recurrent, bias, go_backwards=backwards)
    except ModelError as exc:
        raise FileFormatError(path, f"LSTM {config.get('name', '')!r}: {exc}") from None


def _from_layers(path, specs: list[dict], metadata: dict):
    embedding = readout = None
    layers = []
    flipped = False
    for spec in specs:
        kind = spec["kind"]
        if kind == "embedding":
            if layers:
                raise FileFormatError(path, "an Embedding after an LSTM is not supported")
            embedding = spec["weights"][0]
        elif kind == "lstm":
            if readout is not None:
                raise FileFormatError(path, "a Dense layer between LSTMs is not supported")
            go = bool(spec["config"].get("go_backwards", False))
            layers.append(_lstm_layer(path, spec["config"], spec["weights"], go_backwards=flipped != go))
            flipped = flipped != go
        elif kind == "bidirectional":
            if flipped:
                raise FileFormatError(path, "a Bidirectional layer after a go_backwards layer is not supported")
            if spec["config"].get("merge_mode", "concat") != "concat":
                raise FileFormatError(
                    path, f"Bidirectional merge_mode {spec['config'].get('merge_mode')!r} is not supported"
                )
            f_cfg, f_w = spec["forward"]
            b_cfg, b_w = spec["backward"]
            layers.append((_lstm_layer(path, f_cfg, f_w, False), _lstm_layer(path, b_cfg, b_w, False)))
        elif kind == "dense":
            if not layers or readout is not None:
                raise FileFormatError(path, "only one Dense layer, after the LSTMs, is supported")
            config = spec["config"]
            W = spec["weights"][0]
            b = spec["weights"][1] if len(spec["weights"]) > 1 else np.zeros(W.shape[1])
            activation = config.get("activation", "linear")
            if activation not in ("linear", "softmax", None):
                raise FileFormatError(path, f"a Dense readout with activation {activation!r} is not supported")
            try:
                readout = Readout(W, b, kind="classification" if activation == "softmax" else "regression")
            except ModelError as exc:
                raise FileFormatError(path, f"Dense: {exc}") from None
    if not layers:
        raise FileFormatError(path, "no LSTM layer in the model")
    try:
        model = LSTM(layers, readout=readout, embedding=embedding)
    except ModelError as exc:
        raise FileFormatError(path, str(exc)) from None
    metadata["outputs_reversed"] = flipped
    model.metadata.update(source_format=metadata.pop("format"), **metadata)
    return model
