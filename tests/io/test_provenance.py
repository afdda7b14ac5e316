"""Every weight's provenance names a tensor and index of the original file that holds exactly
the engine's number (for split biases, the sum), read back with an independent reader.

For each framework every weight of every layer, direction and block is looked up; the
indices named for each tensor must also cover that tensor exactly once (a bijection), so
a wrong gate order or transpose cannot pass on coinciding values.
"""

import io
import json
import zipfile
from collections import defaultdict

import numpy as np
import pytest

from lstm_viz import LSTM, InputError, load_model
from lstm_viz.engine.provenance import engine_index, weight_source, weight_terms
from lstm_viz.io import save_model

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def every_weight(model):
    """(layer, block, gate, unit, column, direction) of every weight the model has."""
    for index in range(model.num_layers):
        for direction, layer in enumerate(model.directions(index)):
            H = layer.hidden_size
            for block, array in layer.parameters().items():
                for gate in ("input", "forget", "candidate", "output"):
                    if block == "peepholes" and gate == "candidate":
                        continue
                    if block == "W_proj" and gate != "input":
                        continue
                    for unit in range(H if block != "W_proj" else array.shape[0]):
                        columns = (
                            [None] if block in ("b", "peepholes") else range(array.shape[0 if block != "W_proj" else 1])
                        )
                        for column in columns:
                            yield index, block, gate, unit, column, direction
    if model.embedding is not None:
        for token in range(model.embedding.shape[0]):
            for dim in range(model.embedding.shape[1]):
                yield 0, "embedding", None, token, dim, 0


def engine_value(model, where):
    layer, block, gate, unit, column, direction = where
    index = engine_index(model, layer, block, gate, unit, column, direction)
    array = model.embedding if block == "embedding" else model.directions(layer)[direction].parameters()[block]
    return array[index]


def check_against_file(model, read, *, text_every=37):
    """``read(term)`` returns the whole tensor a term names, from the original file."""
    covered = defaultdict(list)
    shapes = {}
    count = 0
    for count, where in enumerate(every_weight(model), 1):
        terms = weight_terms(model, *where)
        assert terms, f"no provenance for {where}"
        total = 0.0
        for term in terms:
            tensor = np.asarray(read(term), dtype=np.float64)
            total = total + tensor[term["index"]]
            key = (term["tensor"], term.get("where"), term.get("container"))
            covered[key].append(term["index"])
            shapes[key] = tensor.shape
        if len(terms) == 1:
            assert total == engine_value(model, where), (where, terms)
        else:  # the engine summed the terms on import, in float64
            np.testing.assert_allclose(total, engine_value(model, where), rtol=0, atol=1e-12)
        if count % text_every == 0:
            text = weight_source(model, *where)
            for term in terms:
                assert f"{term['tensor']}[{', '.join(map(str, term['index']))}]" in text, text
    for key, indices in covered.items():
        # Each tensor element is named once: a bijection between engine weights and the file's.
        assert len(indices) == len(set(indices)), f"{key}: an element is named twice"
        assert set(indices) == set(np.ndindex(*shapes[key])), f"{key}: not every element is named"
    assert count > 0
    json.dumps(model.metadata["provenance"])  # plain JSON data
    return covered


def test_random_models_have_no_provenance_and_bad_arguments_are_refused():
    model = LSTM.random(3, [4], seed=0)
    assert weight_source(model, 0, "W_x", "forget", 1, 2) is None
    assert weight_terms(model, 0, "b", "input", 0) is None
    with pytest.raises(InputError):
        weight_source(model, 0, "W_q", "forget", 1, 2)
    with pytest.raises(InputError):
        weight_source(model, 0, "W_x", "sideways", 1, 2)
    with pytest.raises(InputError):
        weight_source(model, 0, "W_x", "forget", 4, 0)
    with pytest.raises(InputError):
        weight_source(model, 1, "b", "forget", 0)


# -- PyTorch -----------------------------------------------------------------------------
def _flatten(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif hasattr(obj, "detach"):
        out[prefix] = obj.detach().numpy()
    return out


@pytest.mark.parametrize(
    "name, prefix", [("torch_textnet.pt", None), ("torch_seq2seq.pt", "encoder.rnn."), ("torch_seq2seq.pt", None)]
)
def test_pytorch_files(fixtures, name, prefix):
    torch = pytest.importorskip("torch")
    tensors = _flatten(torch.load(fixtures / name, weights_only=True))
    model = load_model(fixtures / name, prefix=prefix)
    covered = check_against_file(model, lambda term: tensors[term["tensor"]])
    names = {key[0] for key in covered}
    if prefix == "encoder.rnn.":  # bidirectional with projection: every tensor of the nn.LSTM
        assert {"encoder.rnn.weight_hr_l1_reverse", "encoder.rnn.bias_hh_l0_reverse"} <= names
        assert names == {k for k in tensors if k.startswith(prefix)}
    text = weight_source(model, 0, "b", "forget", 1)
    assert " + " in text and "bias_ih_l0[" in text and "bias_hh_l0[" in text


def test_pytorch_safetensors_with_embedding(fixtures):
    from safetensors.numpy import load_file

    tensors = load_file(fixtures / "torch_textnet.safetensors")
    model = load_model(fixtures / "torch_textnet.safetensors")
    covered = check_against_file(model, lambda term: tensors[term["tensor"]])
    assert ("embedding.weight", None, None) in covered
    assert weight_terms(model, 0, "W_x", "candidate", 3, 4)[0]["index"] == (2 * 8 + 3, 4)  # rows i, f, g, o
    text = weight_source(model, 0, "W_x", "forget", 1, 2)
    assert "lstm.weight_ih_l0[9, 2]" in text and "embedding" in text and "not a token" in text


# -- Keras -------------------------------------------------------------------------------
def _h5_reader(path):
    import h5py

    handles = {}

    def read(term):
        container = term.get("container")
        if container not in handles:
            if container:
                with zipfile.ZipFile(path) as archive:
                    handles[container] = h5py.File(io.BytesIO(archive.read(container)), "r")
            else:
                handles[container] = h5py.File(path, "r")
        return handles[container][term.get("where", term["tensor"])][()]

    return read, handles


@pytest.mark.parametrize(
    "name", ["keras_stack.keras", "keras_stack_legacy.h5", "keras_stack.weights.h5", "keras_text.keras"]
)
def test_keras_files(fixtures, name):
    pytest.importorskip("h5py")
    model = load_model(fixtures / name)
    read, handles = _h5_reader(fixtures / name)
    try:
        check_against_file(model, read)
    finally:
        for handle in handles.values():
            handle.close()
    if name == "keras_stack.keras":
        # Columns in Keras's order i, f, c, o (the canonical one), kernel (D, 4H) not transposed.
        terms = weight_terms(model, 0, "W_x", "candidate", 5, 1)
        assert terms[0]["tensor"] == "lstm/lstm_cell/kernel" and terms[0]["index"] == (1, 2 * 6 + 5)
        back = weight_terms(model, 1, "W_h", "output", 2, 0, direction=1)
        assert back[0]["where"] == "layers/bidirectional/backward_layer/cell/vars/1"
        assert "go_backwards=True" in weight_source(model, 2, "b", "forget", 0)
        assert "backward layer" in weight_source(model, 1, "b", "forget", 0, direction=1)


# -- ONNX --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "onnx_torch_dynamo",
        "onnx_torch_legacy",
        "onnx_peephole_clip_forward",
        "onnx_peephole_reverse",
        "onnx_peephole_bidirectional",
    ],
)
def test_onnx_files(fixtures, name):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    proto = onnx.load(fixtures / f"{name}.onnx")
    tensors = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:  # weights may also be Constant nodes
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    tensors[node.output[0]] = numpy_helper.to_array(attr.t)
    model = load_model(fixtures / f"{name}.onnx")
    check_against_file(model, lambda term: tensors[term["tensor"]])
    H = model.directions(0)[0].hidden_size
    # ONNX gate order i, o, f, c: the canonical forget block is ONNX's third
    terms = weight_terms(model, 0, "W_x", "forget", 1, 0)
    assert terms[0]["index"] == (0, 2 * H + 1, 0)
    bias = weight_terms(model, 0, "b", "output", 1)
    if bias:
        assert [t["index"] for t in bias] == [(0, 1 * H + 1), (0, 5 * H + 1)]  # Wb, then Rb
    if "peephole" in name:  # P in the order i, o, f
        assert weight_terms(model, 0, "peepholes", "forget", 1)[0]["index"] == (0, 2 * H + 1)
    if "bidirectional" in name or "legacy" in name:
        assert weight_terms(model, 0, "W_h", "input", 0, 0, direction=1)[0]["index"][0] == 1


# -- TensorFlow 1 ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "checkpoint, reference",
    [("tf_lstmcell", "tf_lstmcell_peephole_clip_proj.npz"), ("tf_tutorial", "tf_tutorial_multirnn.npz")],
)
def test_tensorflow_checkpoints(fixtures, checkpoint, reference):
    # The variables as TensorFlow itself returned them when the fixture was made.
    with np.load(fixtures / reference, allow_pickle=False) as data:
        variables = {k[len("var/") :]: data[k] for k in data.files if k.startswith("var/")}
    model = load_model(fixtures / "tf_checkpoints" / checkpoint)
    covered = check_against_file(model, lambda term: variables[term["tensor"]])
    kernels = [key for key in covered if key[0].endswith("/kernel") and "projection" not in key[0]]
    assert kernels  # W_x and W_h together cover each cell's kernel
    layer = model.directions(0)[0]
    D, H = layer.input_size, layer.hidden_size
    # TF order i, j, f, o: the canonical candidate block is TF's second, h rows after the D x rows
    assert weight_terms(model, 0, "W_h", "candidate", 1, 0)[0]["index"] == (D, 1 * H + 1)
    assert "forget_bias" in weight_source(model, 0, "b", "forget", 0)
    assert "forget_bias" not in weight_source(model, 0, "b", "input", 0)


def test_tensorflow_variables_npz():
    path = ROOT / "resources" / "examples" / "tutorial_stack" / "model.npz"
    with np.load(path, allow_pickle=False) as data:
        variables = {k: data[k] for k in data.files}
    check_against_file(load_model(path), lambda term: variables[term["tensor"]])


# -- native ------------------------------------------------------------------------------
def test_native_round_trip_keeps_the_origin(fixtures, tmp_path):
    pytest.importorskip("safetensors")
    imported = load_model(fixtures / "torch_textnet.safetensors")
    save_model(imported, tmp_path / "m.npz")
    model = load_model(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    covered = check_against_file(model, lambda term: arrays[term["tensor"]])
    assert ("l1.W_h", None, None) in covered and ("embedding.W", None, None) in covered
    text = weight_source(model, 0, "W_x", "forget", 1, 2)
    assert text.startswith("lstm-viz native: l0.W_x[2, 9] in m.npz")
    assert "First imported from PyTorch: lstm.weight_ih_l0[9, 2]" in text and "unchanged since" in text
    # Saved and loaded again: still one origin, the PyTorch file.
    save_model(model, tmp_path / "again.npz")
    again = load_model(tmp_path / "again.npz")
    assert again.metadata["provenance"]["origin"]["framework"] == "PyTorch"
    assert "origin" not in again.metadata["provenance"]["origin"]
    # A changed weight is no longer the file's.
    again.directions(0)[0].W_x[2, 9] += 0.5
    again.touch()
    text = weight_source(again, 0, "W_x", "forget", 1, 2)
    assert "has changed since it was read" in text and "but it has changed since" in text
    assert "changed" not in weight_source(model, 0, "W_x", "forget", 1, 2).replace("unchanged", "")


def test_native_bidirectional_peepholes_projection(tmp_path):
    rng = np.random.default_rng(3)
    from lstm_viz import LSTMLayer

    def layer(D, H, P):
        return LSTMLayer(
            rng.normal(size=(D, 4 * H)),
            rng.normal(size=(P, 4 * H)),
            rng.normal(size=4 * H),
            peepholes=rng.normal(size=(3, H)),
            W_proj=rng.normal(size=(H, P)),
        )

    save_model(LSTM([(layer(3, 4, 2), layer(3, 4, 2)), layer(4, 3, 3)]), tmp_path / "b.npz")
    model = load_model(tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    covered = check_against_file(model, lambda term: arrays[term["tensor"]])
    assert {"l0_reverse.peepholes", "l0_reverse.W_proj", "l1.W_proj"} <= {key[0] for key in covered}
    assert "backward direction of layer 0" in weight_source(model, 1, "W_x", "input", 0, 3)
