"""Models that read outside their folder or would give silently wrong results (issue 9, section 4),
and ONNX LSTM nodes with layout=1 (section 3).
"""

import json
import os
import zipfile

import numpy as np
import pytest

from lstm_viz import FileFormatError, load_model
from lstm_viz.engine import LSTM, LSTMLayer, load_trace
from lstm_viz.errors import ModelError
from lstm_viz.io import save_model

h5py = pytest.importorskip("h5py")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tests.conftest import point_external_data  # noqa: E402

TOL = 1e-5


# -- 4. reading outside the model ------------------------------------------------------------
def keras_weights(path, make_kernel=None):
    """A bare Keras 3 .weights.h5 of one LSTM (D=2, H=3); ``make_kernel(group)`` makes vars/0."""
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as h5:
        group = h5.create_group("layers/lstm/cell/vars")
        if make_kernel is None:
            group.create_dataset("0", data=rng.normal(size=(2, 12)).astype("f4"))
        else:
            make_kernel(group, h5)
        group.create_dataset("1", data=rng.normal(size=(3, 12)).astype("f4"))
        group.create_dataset("2", data=np.zeros(12, "f4"))


@pytest.fixture
def sibling(tmp_path):
    """A folder beside the model's, holding a 'system file' of 96 bytes."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.bin").write_bytes(np.arange(24, dtype="f4").tobytes())
    (tmp_path / "model").mkdir()
    return folder / "secret.bin"


def test_hdf5_external_storage_is_refused(tmp_path, sibling):
    for target in (str(sibling), "/etc/hostname"):
        path = tmp_path / "model" / "external.weights.h5"

        def external(group, h5, target=target):
            group.create_dataset("0", shape=(2, 12), dtype="f4", external=[(target, 0, 96)])

        keras_weights(path, external)
        with pytest.raises(FileFormatError) as info:
            load_model(path)
        message = str(info.value)
        assert message.startswith(str(path)) and "/layers/lstm/cell/vars/0 keeps its data in other files" in message
        assert target in message


def test_hdf5_virtual_datasets_are_refused(tmp_path, sibling):
    source = sibling.parent / "source.h5"
    with h5py.File(source, "w") as h5:
        h5.create_dataset("data", data=np.ones((2, 12), "f4"))

    def virtual(group, h5):
        layout = h5py.VirtualLayout(shape=(2, 12), dtype="f4")
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(2, 12))
        group.create_virtual_dataset("0", layout)

    path = tmp_path / "model" / "virtual.weights.h5"
    keras_weights(path, virtual)
    with pytest.raises(FileFormatError, match="vars/0 is a virtual dataset mapping .*source.h5.*: refused"):
        load_model(path)


def test_hdf5_external_links_are_refused_without_being_followed(tmp_path, sibling):
    source = sibling.parent / "linked.h5"
    keras_weights(source)

    def link(group, h5):
        group["0"] = h5py.ExternalLink(str(source), "/layers/lstm/cell/vars/0")

    path = tmp_path / "model" / "linked.weights.h5"
    keras_weights(path, link)
    with pytest.raises(FileFormatError, match="vars/0 is an external link to '.*linked.h5': links to other files"):
        load_model(path)
    # a whole group linked from elsewhere, in a legacy full-model file too
    with h5py.File(tmp_path / "model" / "group.weights.h5", "w") as h5:
        h5["layers"] = h5py.ExternalLink(str(source), "/layers")
    with pytest.raises(FileFormatError, match="/layers is an external link"):
        load_model(tmp_path / "model" / "group.weights.h5")


def test_a_plain_weights_file_still_loads(tmp_path):
    keras_weights(tmp_path / "ok.weights.h5")
    assert load_model(tmp_path / "ok.weights.h5").hidden_sizes == [3]


def lstm_node_model(path, *, hidden=3, inputs=2, layout=0, direction="forward", extra_attrs=None, states=None,
                    external=False, domain=""):  # fmt: skip
    """One ONNX LSTM node with random W, R, B (and initial states), saved to ``path``."""
    rng = np.random.default_rng(3)
    dirs = 2 if direction == "bidirectional" else 1
    tensors = {
        "W": rng.normal(size=(dirs, 4 * hidden, inputs)).astype("f4"),
        "R": rng.normal(size=(dirs, 4 * hidden, hidden)).astype("f4") * 0.5,
        "B": rng.normal(size=(dirs, 8 * hidden)).astype("f4") * 0.1,
    }
    names = ["X", "W", "R", "B", "", "", ""]
    if states is not None:
        tensors["initial_h"], tensors["initial_c"] = states
        names[5:7] = ["initial_h", "initial_c"]
    attrs = {"hidden_size": hidden, "direction": direction, **({"layout": layout} if layout else {})}
    node = helper.make_node("LSTM", names, ["Y", "Y_h", "Y_c"], domain=domain, **attrs, **(extra_attrs or {}))
    x_shape = ["B", "T", inputs] if layout else ["T", "B", inputs]
    graph = helper.make_graph(
        [node],
        "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in tensors.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    if external:
        onnx.save(model, path, save_as_external_data=True, location=os.path.basename(path) + ".data",
                  size_threshold=0)  # fmt: skip
    else:
        onnx.save(model, path)
    return tensors


def test_onnx_external_data_through_a_symlink_out_of_the_folder_is_refused(tmp_path, sibling):
    folder = tmp_path / "model"
    lstm_node_model(folder / "m.onnx", external=True)
    assert load_model(folder / "m.onnx").hidden_sizes == [3]
    real = sibling.parent / "m.onnx.data"
    os.replace(folder / "m.onnx.data", real)
    (folder / "m.onnx.data").symlink_to(real)
    with pytest.raises(FileFormatError) as info:
        load_model(folder / "m.onnx")
    assert str(info.value).startswith(str(folder / "m.onnx"))
    assert "a link to" in str(info.value) and "outside the model's folder: refused" in str(info.value)
    # a link to a system file, and a link to a folder on the way
    (folder / "m.onnx.data").unlink()
    (folder / "m.onnx.data").symlink_to("/etc/hostname")
    with pytest.raises(FileFormatError, match="outside the model's folder"):
        load_model(folder / "m.onnx")
    (folder / "m.onnx.data").unlink()
    (folder / "sub").symlink_to(sibling.parent)
    model = onnx.load(folder / "m.onnx", load_external_data=False)
    point_external_data(model, "sub/m.onnx.data")
    onnx.save(model, folder / "via.onnx")
    with pytest.raises(FileFormatError, match="via.onnx: .* outside the model's folder"):
        load_model(folder / "via.onnx")


def test_a_model_reached_through_a_symlink_reads_data_beside_its_real_file(tmp_path):
    real = tmp_path / "store"
    real.mkdir()
    lstm_node_model(real / "m.onnx", external=True)
    (tmp_path / "link.onnx").symlink_to(real / "m.onnx")
    with pytest.raises(FileFormatError, match="is missing"):  # no data beside the link
        load_model(tmp_path / "link.onnx")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.onnx").symlink_to(real / "m.onnx")
    (tmp_path / "models" / "m.onnx.data").symlink_to(real / "m.onnx.data")
    assert load_model(tmp_path / "models" / "m.onnx").hidden_sizes == [3]


# -- 5. silent wrong results ---------------------------------------------------------------------
def test_float64_weights_beyond_float32_are_refused_naming_the_tensor(tmp_path):
    save_model(LSTM.random(2, 3), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["l0.W_h"] = arrays["l0.W_h"].astype(np.float64)
    arrays["l0.W_h"][1, 2] = 1e39
    np.savez(tmp_path / "big.npz", **arrays)
    with pytest.raises(FileFormatError, match="big.npz: tensor 'l0.W_h' holds values up to 1e\\+39, beyond float32"):
        load_model(tmp_path / "big.npz")
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {
        "weight_ih_l0": rng.normal(size=(12, 2)),
        "weight_hh_l0": rng.normal(size=(12, 3)),
        "bias_ih_l0": np.full(12, 5e38),
        "bias_hh_l0": np.zeros(12),
    }
    save_file(tensors, tmp_path / "big.safetensors")
    with pytest.raises(FileFormatError, match="tensor 'bias_ih_l0' holds values up to 5e\\+38"):
        load_model(tmp_path / "big.safetensors")
    with pytest.raises(ModelError, match="W_x holds values up to 1e\\+39, beyond float32's range"):
        LSTMLayer(np.full((2, 4), 1e39), np.zeros((1, 4)), np.zeros(4))


def test_states_that_overflow_are_refused_with_step_and_layer():
    b = np.array([10.0, 0.0, 10.0, 10.0] * 1).repeat(4)  # i, f, g, o saturated: c = 1, h = 0.76
    layer = LSTMLayer(np.zeros((1, 16)), np.zeros((2, 16)), b, W_proj=np.full((4, 2), 3e38))
    model = LSTM([LSTMLayer.random(1, 2, np.random.default_rng(0)), layer][1:])
    with pytest.raises(ModelError, match="the states became infinite or NaN at step 0 of sequence 0, layer 0"):
        model.run(np.zeros((3, 1), np.float32))
    assert np.isfinite(model.run(np.zeros((3, 1)), dtype=np.float64).output).all()


def test_a_pytorch_layer_missing_one_of_its_two_biases(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {"weight_ih_l0": rng.normal(size=(12, 2)), "weight_hh_l0": rng.normal(size=(12, 3))}
    save_file(tensors, tmp_path / "nobias.safetensors")  # bias=False: both absent, fine
    assert not load_model(tmp_path / "nobias.safetensors").directions(0)[0].b.any()
    save_file({**tensors, "bias_ih_l0": rng.normal(size=12)}, tmp_path / "half.safetensors")
    with pytest.raises(FileFormatError, match="half.safetensors: .*has 'bias_ih_l0' but not 'bias_hh_l0'"):
        load_model(tmp_path / "half.safetensors")
    save_file({**tensors, "bias_hh_l0": rng.normal(size=12)}, tmp_path / "half2.safetensors")
    with pytest.raises(FileFormatError, match="has 'bias_hh_l0' but not 'bias_ih_l0'"):
        load_model(tmp_path / "half2.safetensors")


def two_lstm_graph(path, between=("Identity",), domain="", first_output=0):
    """Two stacked LSTM nodes (D=2, H=3 then H=3), with ``between`` ops on the way."""
    rng = np.random.default_rng(5)
    inits, nodes = [], []
    for k, d in enumerate((2, 3)):
        inits += [
            numpy_helper.from_array(rng.normal(size=(1, 12, d)).astype("f4"), f"W{k}"),
            numpy_helper.from_array(rng.normal(size=(1, 12, 3)).astype("f4"), f"R{k}"),
        ]
    nodes.append(helper.make_node("LSTM", ["X", "W0", "R0"], ["Y0", "Yh0", "Yc0"], hidden_size=3))
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
    name = ["Y0", "Yh0"][first_output]
    for k, op in enumerate(between):
        out = f"mid{k}"
        inputs = [name, "axes"] if op == "Squeeze" else [name, name] if op == "Mul" else [name]
        nodes.append(helper.make_node(op, inputs, [out]))
        name = out
    nodes.append(helper.make_node("LSTM", [name, "W1", "R1"], ["Y1", "Yh1", "Yc1"], hidden_size=3, domain=domain))
    graph = helper.make_graph(
        nodes,
        "two",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "B", 2])],
        [helper.make_tensor_value_info("Y1", TensorProto.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), path)


def test_onnx_ops_between_lstm_nodes_are_refused(tmp_path):
    two_lstm_graph(tmp_path / "ok.onnx", between=("Squeeze", "Identity"))
    assert load_model(tmp_path / "ok.onnx").hidden_sizes == [3, 3]
    for op in ("Relu", "Mul", "Sigmoid"):
        two_lstm_graph(tmp_path / f"{op}.onnx", between=("Squeeze", op))
        with pytest.raises(FileFormatError, match=f"an operator '{op}' .* sits between LSTM nodes 0 and 1"):
            load_model(tmp_path / f"{op}.onnx")
    two_lstm_graph(tmp_path / "state.onnx", between=("Identity",), first_output=1)
    with pytest.raises(FileFormatError, match="reads the final state of LSTM node 0, not its output sequence"):
        load_model(tmp_path / "state.onnx")


def test_an_lstm_node_of_a_foreign_domain_is_refused(tmp_path):
    two_lstm_graph(tmp_path / "foreign.onnx", between=("Squeeze",), domain="com.example")
    with pytest.raises(FileFormatError, match="LSTM node 1 .* belongs to the operator domain 'com.example'"):
        load_model(tmp_path / "foreign.onnx")


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"direction": "sideways"}, "unknown direction 'sideways'"),
        ({"activations": ["Sigmoid", "Tanh"]}, "2 activations for direction 'forward'; ONNX needs 3 per direction"),
        ({"activations": ["Sigmoid", "Tanh", "Tanh"] * 2}, "6 activations for direction 'forward'"),
        ({"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations \\['sigmoid', 'relu', 'tanh'\\] are not supported"),
        ({"layout": 2}, "unknown layout 2"),
    ],
)
def test_onnx_attributes_the_engine_cannot_represent(tmp_path, attrs, message):
    direction = attrs.pop("direction", "forward")
    lstm_node_model(tmp_path / "m.onnx", direction=direction, extra_attrs=attrs)
    with pytest.raises(FileFormatError, match=message):
        load_model(tmp_path / "m.onnx")


def test_default_activations_spelled_out_are_fine(tmp_path):
    lstm_node_model(tmp_path / "m.onnx", direction="bidirectional",
                    extra_attrs={"activations": ["Sigmoid", "Tanh", "Tanh"] * 2})  # fmt: skip
    assert load_model(tmp_path / "m.onnx").is_bidirectional(0)


def test_trace_files_with_inconsistent_shapes_are_refused(tmp_path):
    model = LSTM.random(2, [3, 4], seed=0, proj_sizes=[None, 2])
    model.run(np.zeros((2, 5, 2), np.float32)).save(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as data:
        good = {k: data[k] for k in data.files}
    load_trace(tmp_path / "t.npz")

    def broken(name, **changes):
        arrays = dict(good)
        arrays.update(changes)
        np.savez(tmp_path / name, **arrays)
        return tmp_path / name

    meta = json.loads(str(good["meta"]))
    layer0, layer1 = meta["layers"]
    cases = {
        "x_batch.npz": (
            {"x": np.zeros((3, 5, 2), "f4")},
            "'forget_l0' has shape \\(2, 5, 3\\), expected \\(3, 5, H\\)",
        ),
        "time.npz": (
            {"cell_l1": np.zeros((2, 6, 4), "f4")},
            "'cell_l1' has shape \\(2, 6, 4\\), expected \\(2, 5, H\\)",
        ),
        "units.npz": ({"cell_l0": np.zeros((2, 5, 5), "f4")}, "layer 0: gate arrays disagree on the number of units"),
        "hidden.npz": (
            {"hidden_l1": np.zeros((2, 5, 4), "f4")},
            "layer 1: 'meta' says output_size 2 but the arrays hold 4",
        ),
        "h0.npz": (
            {"initial_hidden_l0": np.zeros((2, 7), "f4")},
            "'initial_hidden_l0' has shape \\(2, 7\\), expected \\(2, 3\\)",
        ),
        "c0.npz": (
            {"initial_cell_l1": np.zeros((1, 4), "f4")},
            "'initial_cell_l1' has shape \\(1, 4\\), expected \\(2, 4\\)",
        ),
        "json.npz": ({"meta": np.array("{not json")}, "'meta' is not valid JSON"),
        "sizes.npz": (
            {"meta": np.array(json.dumps({**meta, "layers": [{**layer0, "hidden_size": 9}, layer1]}))},
            "layer 0: 'meta' says hidden_size 9 but the arrays hold 3",
        ),
        "kind.npz": (
            {"meta": np.array(json.dumps({**meta, "layers": [{**layer0, "kind": "gru"}, layer1]}))},
            "'meta' layer 0 has kind 'gru'",
        ),
    }
    for name, (changes, message) in cases.items():
        path = broken(name, **changes)
        with pytest.raises(FileFormatError, match=message) as info:
            load_trace(path)
        assert str(info.value).startswith(str(path)), name


def _keras_text_with(fixtures, tmp_path, name, edit):
    with zipfile.ZipFile(fixtures / "keras_text.keras") as src, zipfile.ZipFile(tmp_path / name, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config["config"]["layers"])
                data = json.dumps(config).encode()
            dst.writestr(info.filename, data)
    return load_model(tmp_path / name)


def _activation(name):
    return {"class_name": "Activation", "config": {"name": f"act_{name}", "activation": name}}


def test_keras_activations_after_the_readout_are_applied_or_noted(fixtures, tmp_path):
    with np.load(fixtures / "keras_text_reference.npz", allow_pickle=False) as data:
        ref = {k: data[k] for k in data.files}
    x = np.eye(12, dtype=np.float32)[ref["ids"]]

    def softmax_as_layer(layers):
        layers[-1]["config"]["activation"] = "linear"
        layers.append(_activation("softmax"))

    model = _keras_text_with(fixtures, tmp_path, "split.keras", softmax_as_layer)
    assert model.readout.kind == "classification" and "notes" not in model.metadata
    np.testing.assert_allclose(model.predict(model.run(x)), ref["probabilities"], atol=TOL, rtol=0)

    for edit, says in [
        (lambda layers: layers.append(_activation("sigmoid")), "followed by a 'sigmoid' activation"),
        (lambda layers: layers[-1]["config"].update(activation="tanh"), "has activation 'tanh'"),
        (lambda layers: layers.insert(-1, _activation("relu")), "an Activation (relu) sits between the last LSTM"),
    ]:
        model = _keras_text_with(fixtures, tmp_path, "drop.keras", edit)
        assert model.readout is None
        assert any(says in note and "the readout was left out" in note for note in model.metadata["notes"]), (
            model.metadata
        )
        np.testing.assert_allclose(model.run(x).layers[0].hidden, ref["hidden_l0"], atol=TOL, rtol=0)

    model = _keras_text_with(fixtures, tmp_path, "linear.keras", lambda layers: layers.append(_activation("linear")))
    assert model.readout.kind == "classification" and "notes" not in model.metadata


# -- 3. ONNX layout=1 (batch first) ----------------------------------------------------------------
def _states(layout, B=2, H=3, dirs=1):
    rng = np.random.default_rng(9)
    h0, c0 = rng.normal(size=(2, dirs, B, H)).astype("f4")
    return (h0, c0) if layout == 0 else (h0.transpose(1, 0, 2), c0.transpose(1, 0, 2))


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_layout_1_reads_the_same_weights_with_states_transposed(tmp_path, direction):
    dirs = 2 if direction == "bidirectional" else 1
    lstm_node_model(tmp_path / "l0.onnx", direction=direction, states=_states(0, dirs=dirs))
    lstm_node_model(tmp_path / "l1.onnx", direction=direction, layout=1, states=_states(1, dirs=dirs))
    m0, m1 = load_model(tmp_path / "l0.onnx"), load_model(tmp_path / "l1.onnx")
    assert m1.metadata["onnx_layout"] == "batch first (layout=1)"
    for a, b in zip(m0.all_layers(), m1.all_layers()):
        for key, value in a.parameters().items():
            np.testing.assert_array_equal(value, b.parameters()[key])
    np.testing.assert_equal(m0.initial_state, m1.initial_state)
    h0, c0 = _states(0, dirs=dirs)
    first = m1.initial_state[0] if dirs == 1 else m1.initial_state[0][1]
    np.testing.assert_array_equal(first[0], h0[dirs - 1])  # (B, H) of that direction
    np.testing.assert_array_equal(first[1], c0[dirs - 1])
    x = np.random.default_rng(2).normal(size=(2, 4, 2)).astype("f4")
    t0, t1 = m0.run(x, m0.initial_state), m1.run(x, m1.initial_state)
    np.testing.assert_array_equal(t0.output, t1.output)


def test_layout_1_states_of_the_wrong_shape_are_refused(tmp_path):
    lstm_node_model(tmp_path / "m.onnx", layout=1, states=_states(0, B=2))  # layout 0 shapes: (1, 2, 3)
    with pytest.raises(FileFormatError, match="initial_h has shape \\(1, 2, 3\\), expected \\(batch, directions"):
        load_model(tmp_path / "m.onnx")


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_layout_1_matches_the_onnx_reference_implementation(tmp_path, direction):
    """onnxruntime refuses layout=1 for LSTM; ONNX's own reference evaluator runs it."""
    from onnx.reference import ReferenceEvaluator

    dirs = 2 if direction == "bidirectional" else 1
    lstm_node_model(tmp_path / "m.onnx", direction=direction, layout=1, states=_states(1, dirs=dirs))
    x = np.random.default_rng(4).normal(size=(2, 5, 2)).astype("f4")  # batch first
    Y, Y_h = ReferenceEvaluator(str(tmp_path / "m.onnx")).run(["Y", "Y_h"], {"X": x})
    assert Y.shape == (2, 5, dirs, 3) and Y_h.shape == (2, dirs, 3)
    model = load_model(tmp_path / "m.onnx")
    trace = model.run(x, model.initial_state)
    forward = trace.layers[0]
    np.testing.assert_allclose(forward.hidden, Y[:, :, 0], atol=TOL, rtol=0)
    np.testing.assert_allclose(forward.hidden[:, -1], Y_h[:, 0], atol=TOL, rtol=0)
