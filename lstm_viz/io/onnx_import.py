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

from lstm_viz import limits
from lstm_viz.engine import LSTM, LSTMLayer
from lstm_viz.engine import provenance as prov
from lstm_viz.errors import FileFormatError, ModelError
from lstm_viz.safe_arrays import FLOAT32_MAX, READ_ERRORS, regular_file

MAX_MODEL_BYTES = 2 << 30
ONNX_TO_CANONICAL = (0, 2, 3, 1)  # canonical block k comes from ONNX block ONNX_TO_CANONICAL[k]
ONNX_GATES = ("iofg", "i, o, f, c")  # ONNX's blocks i, o, f, c in canonical letters
ONNX_DOMAINS = ("", "ai.onnx")
DIRECTIONS = ("forward", "reverse", "bidirectional")
PASS_THROUGH = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast", "Flatten"}
"""Operators that only move a stacked LSTM's output into the next one's input layout."""


def _load_proto(path):
    import onnx
    from google.protobuf.message import DecodeError

    regular_file(path)
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
    if not location or os.path.isabs(location) or not _inside(target, folder):
        raise FileFormatError(path, f"tensor {tensor.name!r} points outside the model's folder ({location!r}): refused")
    if not os.path.exists(target):
        raise FileFormatError(path, f"tensor {tensor.name!r} is stored in {location!r}, which is missing")
    # The real file, symlinks resolved, must also lie in the model's (real) folder.
    real = os.path.realpath(target)
    if not (_inside(real, os.path.realpath(folder)) or _inside(real, os.path.dirname(os.path.realpath(path)))):
        raise FileFormatError(
            path,
            f"tensor {tensor.name!r} is stored in {location!r}, a link to {real!r} outside the model's folder: refused",
        )
    regular_file(target)
    try:
        offset = int(info.get("offset", 0))
        length = int(info.get("length", -1))
    except ValueError:
        raise FileFormatError(path, f"tensor {tensor.name!r} has a malformed external offset or length") from None
    dtype = np.dtype(_numpy_dtype(path, tensor))
    if any(d < 0 for d in tensor.dims):
        raise FileFormatError(path, f"tensor {tensor.name!r} has a negative dimension {list(tensor.dims)}")
    count = int(np.prod(tensor.dims, dtype=object)) if len(tensor.dims) else 1
    length = count * dtype.itemsize if length == -1 else length
    if offset < 0 or length != count * dtype.itemsize:
        raise FileFormatError(
            path, f"tensor {tensor.name!r} has inconsistent external data (offset {offset}, length {length})"
        )
    limits.check(count * (dtype.itemsize + 8), f"tensor {tensor.name!r} (shape {list(tensor.dims)})", path)
    if offset + length > os.path.getsize(target):
        raise FileFormatError(path, f"tensor {tensor.name!r} reaches past the end of {location!r}")
    with open(target, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    return np.frombuffer(data, dtype=dtype.newbyteorder("<")).reshape(tuple(tensor.dims)).astype(np.float64)


def _inside(target: str, folder: str) -> bool:
    try:
        return os.path.commonpath([folder, target]) == folder
    except ValueError:  # different drives
        return False


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
        if any(d < 0 for d in tensor.dims):
            raise FileFormatError(path, f"tensor {tensor.name!r} has a negative dimension {list(tensor.dims)}")
        count = int(np.prod(tensor.dims, dtype=object)) if len(tensor.dims) else 1
        limits.check(count * 16, f"tensor {tensor.name!r} (shape {list(tensor.dims)})", path)
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


def _check_stacked(path, graph, nodes) -> None:
    """Each LSTM node after the first must read the previous one's Y, through layout ops only.

    Anything else between them (an activation, an arithmetic op, a second input) changes
    what the next layer reads, which the engine cannot show: refused, never skipped.
    """
    producers = {output: node for node in graph.node for output in node.output if output}
    for index in range(1, len(nodes)):
        previous, node = nodes[index - 1], nodes[index]
        where = f"LSTM node {index} ({node.name or 'unnamed'})"
        name = node.input[0] if node.input else ""
        seen = 0
        while True:
            producer = producers.get(name)
            if producer is previous:
                if name != previous.output[0]:
                    raise FileFormatError(
                        path,
                        f"{where} reads the final state of LSTM node {index - 1}, not its output sequence Y; "
                        "only stacked LSTMs (each reading the whole output of the one below) are supported",
                    )
                break
            if producer is None:
                raise FileFormatError(
                    path,
                    f"{where} does not read the output of LSTM node {index - 1} (its input {name!r} comes from "
                    "the graph's inputs); only stacked LSTMs are supported",
                )
            seen += 1
            if producer.op_type not in PASS_THROUGH or producer.domain not in ONNX_DOMAINS or seen > len(graph.node):
                raise FileFormatError(
                    path,
                    f"an operator {producer.op_type!r} ({producer.name or 'unnamed'}) sits between LSTM nodes "
                    f"{index - 1} and {index}; lstm-viz shows stacked LSTMs only and cannot apply it",
                )
            name = producer.input[0] if producer.input else ""


def load_onnx(path: str | os.PathLike):
    model_proto = _load_proto(path)
    graph = model_proto.graph
    nodes = [node for node in graph.node if node.op_type == "LSTM"]
    if not nodes:
        ops = sorted({node.op_type for node in graph.node})[:12]
        raise FileFormatError(path, f"the ONNX graph has no LSTM node (operators: {', '.join(ops) or 'none'})")
    for index, node in enumerate(nodes):
        if node.domain not in ONNX_DOMAINS:
            raise FileFormatError(
                path,
                f"LSTM node {index} ({node.name or 'unnamed'}) belongs to the operator domain {node.domain!r}, "
                "not ONNX's own: its meaning is unknown, refused",
            )
    _check_stacked(path, graph, nodes)
    constants = _constants(path, graph)
    layers = []
    described = []
    initial_state = []
    has_state = False
    for index, node in enumerate(nodes):
        where = f"LSTM node {index} ({node.name or 'unnamed'})"
        attrs = {a.name: a for a in node.attribute}
        hidden = attrs["hidden_size"].i if "hidden_size" in attrs else None
        try:
            direction = attrs["direction"].s.decode() if "direction" in attrs else "forward"
        except UnicodeDecodeError:
            direction = repr(attrs["direction"].s)
        if direction not in DIRECTIONS:
            raise FileFormatError(path, f"{where}: unknown direction {direction!r} (ONNX has {', '.join(DIRECTIONS)})")
        expected_dirs = 2 if direction == "bidirectional" else 1
        clip = attrs["clip"].f if "clip" in attrs else None
        if "input_forget" in attrs and attrs["input_forget"].i:
            raise FileFormatError(path, f"{where}: input_forget=1 (coupled gates) is not supported")
        layout = attrs["layout"].i if "layout" in attrs else 0
        if layout not in (0, 1):
            raise FileFormatError(path, f"{where}: unknown layout {layout} (ONNX has 0 and 1)")
        if "activations" in attrs:
            acts = [a.decode("utf-8", "replace").lower() for a in attrs["activations"].strings]
            if len(acts) != 3 * expected_dirs:
                raise FileFormatError(
                    path,
                    f"{where}: {len(acts)} activations for direction {direction!r}; ONNX needs 3 per direction "
                    f"({3 * expected_dirs})",
                )
            if acts != ["sigmoid", "tanh", "tanh"] * expected_dirs:
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
            if value.size and float(np.max(np.abs(value))) > FLOAT32_MAX:
                raise FileFormatError(
                    path,
                    f"{where}: {what} ({name!r}) holds values beyond float32's range; they would run as infinities",
                )
            return value

        W, R = tensor(1, "W"), tensor(2, "R")
        B, P = tensor(3, "B", False), tensor(7, "P", False)
        if W.ndim != 3 or R.ndim != 3:
            raise FileFormatError(path, f"{where}: W {W.shape} and R {R.shape} must be 3-D (directions, 4H, ...)")
        dirs = W.shape[0]
        hidden = hidden or R.shape[2]
        if dirs != expected_dirs or W.shape[1] != 4 * hidden or R.shape != (dirs, 4 * hidden, hidden):
            raise FileFormatError(
                path, f"{where}: W {W.shape} / R {R.shape} do not fit hidden_size {hidden} and direction {direction!r}"
            )
        if B is not None and B.shape != (dirs, 8 * hidden):
            raise FileFormatError(path, f"{where}: B must be ({dirs}, {8 * hidden}), found {B.shape}")
        if P is not None and P.shape != (dirs, 3 * hidden):
            raise FileFormatError(path, f"{where}: P must be ({dirs}, {3 * hidden}), found {P.shape}")
        h0, c0 = tensor(5, "initial_h", False), tensor(6, "initial_c", False)
        for what, state in (("initial_h", h0), ("initial_c", c0)):
            # layout 0: (directions, batch, hidden); layout 1 (batch first): (batch, directions, hidden)
            if state is not None and (state.ndim != 3 or state.shape[layout] != dirs or state.shape[2] != hidden):
                order = "(batch, directions, hidden)" if layout else "(directions, batch, hidden)"
                raise FileFormatError(
                    path, f"{where}: {what} has shape {state.shape}, expected {order} with layout={layout}"
                )
        if layout == 1:
            h0 = None if h0 is None else h0.transpose(1, 0, 2)
            c0 = None if c0 is None else c0.transpose(1, 0, 2)
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
        described.append(
            [_provenance(index, node, inputs, hidden, direction, k, W, R, B, P, clip) for k in range(dirs)]
        )
        initial_state.append(states[0] if dirs == 1 else tuple(states))
    try:
        model = LSTM(layers)
    except ModelError as exc:
        raise FileFormatError(path, f"the LSTM nodes do not stack: {exc}") from None
    model.metadata.update(source_format="onnx", lstm_nodes=[n.name for n in nodes])
    prov.attach(model, {"framework": "ONNX", "file": os.path.basename(os.fspath(path)), "layers": described})
    if any(a.name == "layout" and a.i == 1 for n in nodes for a in n.attribute):
        model.metadata["onnx_layout"] = "batch first (layout=1)"
    model.initial_state = initial_state if has_state else None
    return model


def _provenance(index, node, inputs, hidden, direction, k, W, R, B, P, clip) -> dict:
    """Where one direction's blocks sit in the node's W, R, B, P (found by input position)."""
    order, label = ONNX_GATES
    node_name = f"LSTM node {index}" + (f" {node.name!r}" if node.name else "")

    def t(position, what, shape, index_rules, gates=(order, label)):
        role = f"{what}, input {position} of {node_name}"
        return prov.term(inputs[position], index_rules, shape, order=gates[0], order_label=gates[1], role=role)

    entry = {
        "W_x": prov.block(t(1, "W", W.shape, [k, "gate_unit", "col"]), note="W is (directions, 4H, D): transposed"),
        "W_h": prov.block(t(2, "R", R.shape, [k, "gate_unit", "col"]), note="R is (directions, 4H, H): transposed"),
        "b": prov.block(
            *(
                ()
                if B is None
                else (
                    t(3, "B's first half Wb", B.shape, [k, "gate_unit"]),
                    t(3, "B's second half Rb", B.shape, [k, f"gate_unit+{4 * hidden}"]),
                )
            ),
            note="B = [Wb | Rb], the two halves summed on import" if B is not None else "the node has no B input",
        ),
    }
    if P is not None:
        entry["peepholes"] = prov.block(t(7, "P", P.shape, [k, "gate_unit"], ("iof", "i, o, f")))
    notes = []
    if direction == "reverse" or k == 1:
        notes.append(f"direction index {k} of a {direction!r} node: it reads the sequence from its end")
    if clip is not None:
        notes.append(f"the node clamps the four pre-activations to ±{clip:g} (clip)")
    if notes:
        entry["note"] = "; ".join(notes)
    return entry
