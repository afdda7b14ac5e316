"""ONNX models: every ``LSTM`` node, stacked in graph order.

The ONNX LSTM keeps its gates in the order i, o, f, c (canonical: i, f, g, o) with
W (dirs, 4H, D), R (dirs, 4H, H), B (dirs, 8H) = [input biases | recurrent biases] and
peepholes P (dirs, 3H) in the order i, o, f. W, R, B and P are found by their input
position (1, 2, 3, 7): exporters give them names like ``val_12`` or ``onnx::LSTM_123``.
The ``clip`` attribute clamps the four gate pre-activations (as onnxruntime does), which
is the engine's ``gate_clip``. Tensors stored outside the model (``.onnx.data``) are read
only from the model's own folder, with their offsets checked against the file.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from lstm_viz.engine import LSTM, LSTMLayer
from lstm_viz.errors import FileFormatError, ModelError
from lstm_viz.safe_arrays import MAX_ARRAY_BYTES, READ_ERRORS

MAX_MODEL_BYTES = 2 << 30
ONNX_TO_CANONICAL = (0, 2, 3, 1)  # canonical block k comes from ONNX block ONNX_TO_CANONICAL[k]


def _load_proto(path):
    import onnx
    from google.protobuf.message import DecodeError

    size = os.path.getsize(path)
    if size > MAX_MODEL_BYTES:
        raise FileFormatError(path, f"is {size:,} bytes, more than the {MAX_MODEL_BYTES:,} accepted")
    try:
        return onnx.load(os.fspath(path), load_external_data=False)
    except (DecodeError, RecursionError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"not a readable ONNX model: {exc}") from None


def _external(path, tensor) -> np.ndarray:
    """A tensor stored in a side file: only inside the model's folder, offsets checked."""
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    folder = os.path.dirname(os.path.abspath(path))
    target = os.path.abspath(os.path.join(folder, location))
    if not location or os.path.isabs(location) or os.path.commonpath([folder, target]) != folder:
        raise FileFormatError(path, f"tensor {tensor.name!r} points outside the model's folder ({location!r}): refused")
    if not os.path.isfile(target):
        raise FileFormatError(path, f"tensor {tensor.name!r} is stored in {location!r}, which is missing")
    offset = int(info.get("offset", 0))
    dtype = np.dtype(_numpy_dtype(path, tensor))
    count = int(np.prod(tensor.dims, dtype=np.int64))
    length = int(info.get("length", count * dtype.itemsize))
    if offset < 0 or length != count * dtype.itemsize or length > MAX_ARRAY_BYTES:
        raise FileFormatError(
            path, f"tensor {tensor.name!r} has inconsistent external data (offset {offset}, length {length})"
        )
    if offset + length > os.path.getsize(target):
        raise FileFormatError(path, f"tensor {tensor.name!r} reaches past the end of {location!r}")
    with open(target, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    return np.frombuffer(data, dtype=dtype.newbyteorder("<")).reshape(tuple(tensor.dims)).astype(np.float64)


def _numpy_dtype(path, tensor):
    from onnx import TensorProto

    table = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.FLOAT16: np.float16}
    if tensor.data_type not in table:
        raise FileFormatError(path, f"tensor {tensor.name!r} is not a float tensor (type {tensor.data_type})")
    return table[tensor.data_type]


def _constants(path, graph) -> dict[str, np.ndarray]:
    from onnx import TensorProto, numpy_helper

    values = {}
    tensors = list(graph.initializer)
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and node.output:
                    tensor = attr.t
                    tensor.name = node.output[0]
                    tensors.append(tensor)
    for tensor in tensors:
        if tensor.data_type not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
            continue
        count = int(np.prod(tensor.dims, dtype=np.int64)) if len(tensor.dims) else 1
        if count * 8 > MAX_ARRAY_BYTES:
            raise FileFormatError(path, f"tensor {tensor.name!r} claims {count:,} elements, too many")
        if tensor.data_location == TensorProto.EXTERNAL:
            values[tensor.name] = _external(path, tensor)
            continue
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # garbage bytes may cast to NaN: checked where used
                values[tensor.name] = numpy_helper.to_array(tensor).astype(np.float64)
        except READ_ERRORS as exc:
            raise FileFormatError(path, f"tensor {tensor.name!r} cannot be read: {exc}") from None
    return values


def _reorder(block: np.ndarray, hidden: int) -> np.ndarray:
    """(4H, ...) rows in ONNX order i, o, f, c -> canonical i, f, g, o."""
    parts = [block[k * hidden : (k + 1) * hidden] for k in range(4)]
    return np.concatenate([parts[i] for i in ONNX_TO_CANONICAL], axis=0)


def load_onnx(path: str | os.PathLike):
    model_proto = _load_proto(path)
    graph = model_proto.graph
    nodes = [node for node in graph.node if node.op_type == "LSTM"]
    if not nodes:
        ops = sorted({node.op_type for node in graph.node})[:12]
        raise FileFormatError(path, f"the ONNX graph has no LSTM node (operators: {', '.join(ops) or 'none'})")
    constants = _constants(path, graph)
    layers = []
    initial_state = []
    has_state = False
    for index, node in enumerate(nodes):
        where = f"LSTM node {index} ({node.name or 'unnamed'})"
        attrs = {a.name: a for a in node.attribute}
        hidden = attrs["hidden_size"].i if "hidden_size" in attrs else None
        direction = attrs["direction"].s.decode() if "direction" in attrs else "forward"
        clip = attrs["clip"].f if "clip" in attrs else None
        if "input_forget" in attrs and attrs["input_forget"].i:
            raise FileFormatError(path, f"{where}: input_forget=1 (coupled gates) is not supported")
        if "layout" in attrs and attrs["layout"].i != 0:
            raise FileFormatError(path, f"{where}: layout=1 (batch first) is not supported")
        if "activations" in attrs:
            acts = [a.decode().lower() for a in attrs["activations"].strings]
            if any(a != e for a, e in zip(acts, ["sigmoid", "tanh", "tanh"] * 2)):
                raise FileFormatError(path, f"{where}: activations {acts} are not supported (only Sigmoid, Tanh, Tanh)")
        inputs = list(node.input) + [""] * (8 - len(node.input))

        def tensor(position, what, required=True):
            name = inputs[position]
            if not name:
                if required:
                    raise FileFormatError(path, f"{where}: input {position} ({what}) is missing")
                return None
            if name not in constants:
                if required:
                    raise FileFormatError(path, f"{where}: {what} ({name!r}) is not a constant of the model")
                return None
            value = constants[name]
            if not np.all(np.isfinite(value)):
                raise FileFormatError(path, f"{where}: {what} ({name!r}) holds NaN or infinite values")
            return value

        W, R = tensor(1, "W"), tensor(2, "R")
        B, P = tensor(3, "B", False), tensor(7, "P", False)
        if W.ndim != 3 or R.ndim != 3:
            raise FileFormatError(path, f"{where}: W {W.shape} and R {R.shape} must be 3-D (directions, 4H, ...)")
        dirs = W.shape[0]
        hidden = hidden or R.shape[2]
        expected_dirs = 2 if direction == "bidirectional" else 1
        if dirs != expected_dirs or W.shape[1] != 4 * hidden or R.shape != (dirs, 4 * hidden, hidden):
            raise FileFormatError(
                path, f"{where}: W {W.shape} / R {R.shape} do not fit hidden_size {hidden} and direction {direction!r}"
            )
        if B is not None and B.shape != (dirs, 8 * hidden):
            raise FileFormatError(path, f"{where}: B must be ({dirs}, {8 * hidden}), found {B.shape}")
        if P is not None and P.shape != (dirs, 3 * hidden):
            raise FileFormatError(path, f"{where}: P must be ({dirs}, {3 * hidden}), found {P.shape}")
        h0, c0 = tensor(5, "initial_h", False), tensor(6, "initial_c", False)
        directions = []
        states = []
        for k in range(dirs):
            bias = np.zeros(4 * hidden) if B is None else B[k, : 4 * hidden] + B[k, 4 * hidden :]
            peepholes = None
            if P is not None:
                p_i, p_o, p_f = np.split(P[k], 3)
                peepholes = np.stack([p_i, p_f, p_o])
            backwards = direction == "reverse"
            try:
                directions.append(
                    LSTMLayer(
                        _reorder(W[k], hidden).T,
                        _reorder(R[k], hidden).T,
                        _reorder(bias, hidden),
                        peepholes=peepholes,
                        gate_clip=clip,
                        go_backwards=backwards,
                    )
                )
            except ModelError as exc:
                raise FileFormatError(path, f"{where}: {exc}") from None
            state_h = None if h0 is None else h0[k]
            state_c = None if c0 is None else c0[k]
            if (state_h is not None and np.any(state_h)) or (state_c is not None and np.any(state_c)):
                has_state = True
            states.append(
                (
                    np.zeros((1, hidden)) if state_h is None else state_h,
                    np.zeros((1, hidden)) if state_c is None else state_c,
                )
            )
        layers.append(directions[0] if dirs == 1 else tuple(directions))
        initial_state.append(states[0] if dirs == 1 else tuple(states))
    try:
        model = LSTM(layers)
    except ModelError as exc:
        raise FileFormatError(path, f"the LSTM nodes do not stack: {exc}") from None
    model.metadata.update(source_format="onnx", lstm_nodes=[n.name for n in nodes])
    model.initial_state = initial_state if has_state else None
    return model
