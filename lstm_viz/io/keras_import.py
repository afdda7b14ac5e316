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

from lstm_viz import limits
from lstm_viz.engine import LSTM, LSTMLayer, Readout
from lstm_viz.engine import provenance as prov
from lstm_viz.errors import FileFormatError, ModelError
from lstm_viz.safe_arrays import READ_ERRORS, check_weights, regular_file

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_CONFIG_BYTES = 16 << 20
KERAS_ORDER = ("ifgo", "i, f, c, o")  # Keras's i, f, c, o is the canonical order
LSTM_VARS = ("kernel", "recurrent_kernel", "bias")
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
    _refuse_outside_data(path, item)
    limits.check(item.size * (item.dtype.itemsize + 8), f"weight {item.name} (shape {item.shape})", path)
    try:
        value = np.asarray(item[()], dtype=np.float64)
    except MemoryError:
        raise FileFormatError(path, f"{item.name}: not enough memory to read shape {item.shape}") from None
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"{item.name} cannot be read: {exc}") from None
    return check_weights(path, item.name, value)


MAX_HDF5_OBJECTS = 100_000


def _refuse_outside_data(path, dataset) -> None:
    """Refuse a dataset whose bytes live in other files (external storage, virtual datasets)."""
    external = dataset.external
    if external:
        files = ", ".join(repr(entry[0].decode() if isinstance(entry[0], bytes) else entry[0]) for entry in external)
        raise FileFormatError(
            path, f"{dataset.name} keeps its data in other files ({files}): external storage is refused"
        )
    if dataset.is_virtual:
        try:
            sources = ", ".join(sorted({repr(m.file_name) for m in dataset.virtual_sources()}))
        except READ_ERRORS:  # pragma: no cover
            sources = "other datasets"
        raise FileFormatError(path, f"{dataset.name} is a virtual dataset mapping {sources}: refused")


def _refuse_links_out(path, h5) -> None:
    """Walk every link of the file without following external ones; refuse anything that leaves it.

    External links, external storage and virtual datasets would read other files (a
    system file became weights this way), so a model file must hold its own data.
    """
    import h5py

    seen = set()
    todo = [h5]
    count = 0
    while todo:
        group = todo.pop()
        for name in group:
            count += 1
            if count > MAX_HDF5_OBJECTS:
                raise FileFormatError(path, f"holds more than {MAX_HDF5_OBJECTS:,} objects; not a Keras model")
            link = group.get(name, getlink=True)
            where = f"{group.name.rstrip('/')}/{name}"
            if isinstance(link, h5py.ExternalLink):
                raise FileFormatError(
                    path, f"{where} is an external link to {link.filename!r}: links to other files are refused"
                )
            if isinstance(link, h5py.SoftLink):
                continue  # points inside this file, whose every object is checked here
            item = group.get(name)
            if isinstance(item, h5py.Dataset):
                _refuse_outside_data(path, item)
            elif isinstance(item, h5py.Group):
                key = hash(item.id)
                if key not in seen:
                    seen.add(key)
                    todo.append(item)


def _open_h5(path, data: bytes | None = None):
    import h5py

    if data is None:
        regular_file(path)
    try:
        h5 = h5py.File(io.BytesIO(data) if data is not None else path, "r")
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"not a readable HDF5 file: {exc}") from None
    try:
        _refuse_links_out(path, h5)
    except BaseException:
        h5.close()
        raise
    return h5


def load_keras(path: str | os.PathLike):
    """Any of the three Keras layouts; the format is recognised from the content."""
    regular_file(path)
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
            limits.check(info.file_size, "model.weights.h5 (uncompressed)", path)
            if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise FileFormatError(
                    path, f"config.json is larger than {MAX_CONFIG_BYTES:,} bytes: not a model config"
                )
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
            if cls == "Activation":
                specs.append({"kind": "activation", "config": layer.get("config", {})})
                continue
            if cls in ("InputLayer", "Dropout", "Masking"):
                continue
            group_name = f"layers/{base}" + (f"_{n}" if n else "")
            if group_name not in h5:
                raise FileFormatError(
                    path, f"model.weights.h5 has no {group_name!r} for layer {layer['config'].get('name')!r}"
                )
            specs.append(_keras3_spec(path, h5[group_name], cls, layer.get("config", {})))
    return _from_layers(path, specs, {"format": "keras"})


def _keras3_names(group, prefix: str, count: int, owner: str, roles) -> dict:
    """The Keras variable names (``<layer>/lstm_cell/kernel``) and where ``model.weights.h5`` keeps them."""
    where = [f"{group.name.lstrip('/')}/{prefix}vars/{k}" for k in range(count)]
    names = [f"{owner}/{roles[k]}" if k < len(roles) else where[k] for k in range(count)]
    return {"names": names, "where": where, "container": "model.weights.h5"}


def _keras3_vars(path, group, prefix: str, count: int) -> list[np.ndarray]:
    return [_dataset(path, group, f"{prefix}vars/{k}") for k in range(count)]


def _keras3_spec(path, group, cls: str, config: dict) -> dict:
    name = str(config.get("name") or group.name.rsplit("/", 1)[-1])
    if cls == "LSTM":
        weights = _lstm_vars(path, group, "cell/", config)
        names = _keras3_names(group, "cell/", len(weights), f"{name}/lstm_cell", LSTM_VARS)
        return {"kind": "lstm", "config": config, "weights": weights, **names}
    if cls == "Bidirectional":
        inner = (config.get("layer") or {}).get("config", {})
        backward = (config.get("backward_layer") or {}).get("config", inner)
        forward_w = _lstm_vars(path, group, "forward_layer/cell/", inner)
        backward_w = _lstm_vars(path, group, "backward_layer/cell/", backward)
        forward_name = inner.get("name") or "forward_layer"
        backward_name = backward.get("name") or "backward_layer"
        if forward_name == backward_name:  # Keras names them forward_<name> and backward_<name>
            forward_name, backward_name = f"forward_{forward_name}", f"backward_{backward_name}"
        return {
            "kind": "bidirectional",
            "config": config,
            "forward": (inner, forward_w),
            "backward": (backward, backward_w),
            "forward_names": _keras3_names(
                group, "forward_layer/cell/", len(forward_w), f"{name}/{forward_name}/lstm_cell", LSTM_VARS
            ),
            "backward_names": _keras3_names(
                group, "backward_layer/cell/", len(backward_w), f"{name}/{backward_name}/lstm_cell", LSTM_VARS
            ),
        }
    if cls == "Dense":
        count = 2 if config.get("use_bias", True) else 1
        return {"kind": "dense", "config": config, "weights": _keras3_vars(path, group, "", count)}
    if cls == "Embedding":
        names = _keras3_names(group, "", 1, name, ("embeddings",))
        return {"kind": "embedding", "config": config, "weights": _keras3_vars(path, group, "", 1), **names}
    raise FileFormatError(path, f"unsupported layer {cls}")


def _lstm_vars(path, group, prefix, config):
    count = 3 if config.get("use_bias", True) else 2
    return _keras3_vars(path, group, prefix, count)


def _keras3_layers_by_shape(path, h5) -> list[dict]:
    """A bare Keras 3 weights file: find the layers, then chain them by matching widths."""
    specs = []

    def bare(group, prefix, count, roles):  # no variable names in the file: its own paths
        where = [f"{group.name.lstrip('/')}/{prefix}vars/{k}" for k in range(count)]
        return {"names": where, "where": where, "roles": [roles[k] if k < len(roles) else None for k in range(count)]}

    for name, group in h5["layers"].items():
        if "cell" in group:
            weights = _keras3_vars(path, group, "cell/", 3 if "2" in group["cell/vars"] else 2)
            specs.append(
                {"kind": "lstm", "config": {}, "weights": weights, "name": name, **bare(group, "cell/", 3, LSTM_VARS)}
            )
        elif "forward_layer" in group:
            f = _keras3_vars(path, group, "forward_layer/cell/", 3 if "2" in group["forward_layer/cell/vars"] else 2)
            b = _keras3_vars(path, group, "backward_layer/cell/", 3 if "2" in group["backward_layer/cell/vars"] else 2)
            specs.append(
                {
                    "kind": "bidirectional",
                    "config": {},
                    "forward": ({}, f),
                    "backward": ({}, b),
                    "name": name,
                    "forward_names": bare(group, "forward_layer/cell/", 3, LSTM_VARS),
                    "backward_names": bare(group, "backward_layer/cell/", 3, LSTM_VARS),
                }
            )
        elif "vars" in group and "0" in group["vars"]:
            count = len(group["vars"])
            weights = _keras3_vars(path, group, "", count)
            kind = "embedding" if name.startswith("embedding") else "dense"
            specs.append(
                {"kind": kind, "config": {}, "weights": weights, "name": name, **bare(group, "", 1, ("embeddings",))}
            )
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
        if cls == "Activation":
            specs.append({"kind": "activation", "config": cfg})
            continue
        if cls in ("InputLayer", "Dropout", "Masking"):
            continue
        name = cfg.get("name")
        if name not in root or not isinstance(root[name], h5py.Group):
            raise FileFormatError(path, f"no weights for layer {name!r} in model_weights")
        group = root[name]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
        arrays = [_dataset(path, group, n) for n in names]
        located = {"names": names, "where": [f"{group.name.lstrip('/')}/{n}" for n in names]}
        if cls == "LSTM":
            specs.append({"kind": "lstm", "config": cfg, "weights": arrays, **located})
        elif cls == "Bidirectional":
            forward = [a for n, a in zip(names, arrays) if "/forward_" in n]
            backward = [a for n, a in zip(names, arrays) if "/backward_" in n]
            inner = (cfg.get("layer") or {}).get("config", {})
            backward_cfg = (cfg.get("backward_layer") or {}).get("config", inner)

            def side(word):
                keep = [k for k, n in enumerate(names) if f"/{word}_" in n]
                return {"names": [names[k] for k in keep], "where": [located["where"][k] for k in keep]}

            specs.append(
                {
                    "kind": "bidirectional",
                    "config": cfg,
                    "forward": (inner, forward),
                    "backward": (backward_cfg, backward),
                    "forward_names": side("forward"),
                    "backward_names": side("backward"),
                }
            )
        else:
            specs.append({"kind": cls.lower(), "config": cfg, "weights": arrays, **located})
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


def _activation_name(config: dict) -> str:
    activation = config.get("activation", "linear")
    if isinstance(activation, dict):  # a serialised function: {"class_name": ..., "config": ...}
        activation = activation.get("config", {}).get("name", activation.get("class_name"))
    return "linear" if activation in (None, "linear") else str(activation)


def _from_layers(path, specs: list[dict], metadata: dict):
    """Stack the layers; what follows the last LSTM only shapes the readout, never the gates.

    The readout is kept when it is something the engine computes (a linear Dense, with a
    softmax in it or in an ``Activation`` after it); otherwise it is left out with a note in
    ``metadata["notes"]`` the user sees, never silently.
    """
    embedding = readout = None
    embedding_spec = None
    layers = []
    described = []
    notes: list[str] = []
    flipped = False
    activated = None  # an activation applied to the LSTM output before any Dense
    dropped = False
    for spec in specs:
        kind = spec["kind"]
        if kind == "activation":
            name = _activation_name(spec["config"])
            if name == "linear":
                continue
            if not layers:
                raise FileFormatError(path, f"an Activation ({name}) before the first LSTM is not supported")
            if readout is None and not dropped:
                activated = name
            elif dropped:
                notes.append(f"an Activation ({name}) after the dropped readout was ignored")
            elif name == "softmax" and readout.kind == "regression":
                readout = Readout(readout.W, readout.b, kind="classification")
            else:
                notes.append(
                    f"the Dense readout is followed by a {name!r} activation, which lstm-viz's readout cannot apply; "
                    "the readout was left out (the gates and states are exact)"
                )
                readout, dropped = None, True
            continue
        if kind == "embedding":
            if layers:
                raise FileFormatError(path, "an Embedding after an LSTM is not supported")
            embedding = spec["weights"][0]
            embedding_spec = spec
        elif kind == "lstm":
            if readout is not None or dropped:
                raise FileFormatError(path, "a Dense layer between LSTMs is not supported")
            if activated is not None:
                raise FileFormatError(path, f"an Activation ({activated}) between LSTM layers is not supported")
            go = bool(spec["config"].get("go_backwards", False))
            layers.append(_lstm_layer(path, spec["config"], spec["weights"], go_backwards=flipped != go))
            described.append([_lstm_provenance(spec["weights"], spec, _backwards_note(go, flipped))])
            flipped = flipped != go
        elif kind == "bidirectional":
            if readout is not None or dropped:
                raise FileFormatError(path, "a Dense layer between LSTMs is not supported")
            if activated is not None:
                raise FileFormatError(path, f"an Activation ({activated}) between LSTM layers is not supported")
            if flipped:
                raise FileFormatError(path, "a Bidirectional layer after a go_backwards layer is not supported")
            if spec["config"].get("merge_mode", "concat") != "concat":
                raise FileFormatError(
                    path, f"Bidirectional merge_mode {spec['config'].get('merge_mode')!r} is not supported"
                )
            f_cfg, f_w = spec["forward"]
            b_cfg, b_w = spec["backward"]
            layers.append((_lstm_layer(path, f_cfg, f_w, False), _lstm_layer(path, b_cfg, b_w, False)))
            described.append(
                [
                    _lstm_provenance(f_w, spec.get("forward_names"), None),
                    _lstm_provenance(
                        b_w,
                        spec.get("backward_names"),
                        "the Bidirectional's backward layer: it reads the sequence from its end",
                    ),
                ]
            )
        elif kind == "dense":
            if not layers:
                raise FileFormatError(path, "a Dense layer before the first LSTM is not supported")
            if readout is not None or dropped:
                notes.append(
                    "a second Dense layer follows the readout; lstm-viz shows one, so the readout was left out"
                )
                readout, dropped = None, True
                continue
            config = spec["config"]
            W = spec["weights"][0]
            b = spec["weights"][1] if len(spec["weights"]) > 1 else np.zeros(W.shape[1] if W.ndim == 2 else 0)
            activation = _activation_name(config)
            if activated is not None:
                notes.append(
                    f"an Activation ({activated}) sits between the last LSTM and the Dense readout, which lstm-viz's "
                    "readout cannot apply; the readout was left out (the gates and states are exact)"
                )
                dropped = True
                continue
            if activation not in ("linear", "softmax"):
                notes.append(
                    f"the Dense readout has activation {activation!r}, which lstm-viz's readout cannot apply; "
                    "the readout was left out (the gates and states are exact)"
                )
                dropped = True
                continue
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
    if notes:
        metadata["notes"] = notes
    model.metadata.update(source_format=metadata.pop("format"), **metadata)
    if all(d is not None for entry in described for d in entry):
        provenance = {"framework": "Keras", "file": os.path.basename(os.fspath(path)), "layers": described}
        if embedding is not None and embedding_spec is not None and embedding_spec.get("names"):
            provenance["embedding"] = prov.block(
                prov.term(
                    embedding_spec["names"][0],
                    ["unit", "col"],
                    embedding.shape,
                    where=embedding_spec["where"][0],
                    container=embedding_spec.get("container"),
                ),
                note="Embedding: row = token, column = embedding dimension",
            )
        prov.attach(model, provenance)
    return model


def _backwards_note(go: bool, flipped: bool) -> str | None:
    if go and not flipped:
        return (
            "Keras go_backwards=True: the layer reads the sequence from its end; Keras returns its outputs in "
            "reversed order, lstm-viz shows them time-aligned"
        )
    if flipped and not go:
        return (
            "the layer below has go_backwards=True, so Keras feeds this layer its reversed outputs; lstm-viz runs it "
            "from the end of the time-aligned sequence, which is the same computation"
        )
    if go and flipped:
        return "Keras go_backwards=True on the reversed outputs of a go_backwards layer below: it runs forwards in time"
    return None


def _lstm_provenance(weights, located, note) -> dict | None:
    """Where one Keras LSTM's kernel (D, 4H), recurrent kernel (H, 4H) and bias (4H,) are (gates i, f, c, o)."""
    if not located or len(located.get("names", ())) < len(weights):
        return None
    order, label = KERAS_ORDER

    def t(k, rules):
        roles = located.get("roles") or [None] * len(weights)
        return prov.term(
            located["names"][k],
            rules,
            weights[k].shape,
            order=order,
            order_label=label,
            where=located["where"][k],
            container=located.get("container"),
            role=roles[k],
        )

    entry = {
        "W_x": prov.block(t(0, ["col", "gate_unit"])),
        "W_h": prov.block(t(1, ["col", "gate_unit"])),
        "b": prov.block(t(2, ["gate_unit"])) if len(weights) > 2 else prov.block(note="the layer has use_bias=False"),
    }
    if note:
        entry["note"] = note
    return entry
