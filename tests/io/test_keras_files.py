"""Keras files (.keras, legacy .h5, .weights.h5) reproduce Keras's own numbers."""

import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_viz import FileFormatError, LstmVizError, load_model
from tests.conftest import mutated

TOL = 1e-5


def reference(fixtures, name):
    with np.load(fixtures / name, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", ["keras_stack.keras", "keras_stack_legacy.h5"])
def test_stacked_bidirectional_and_go_backwards(fixtures, name):
    ref = reference(fixtures, "keras_stack_reference.npz")
    model = load_model(fixtures / name)
    assert model.hidden_sizes == [6, 3, 4] and model.is_bidirectional(1)
    assert model.directions(2)[0].go_backwards and model.metadata["outputs_reversed"]
    trace = model.run(ref["x"])
    np.testing.assert_allclose(trace.layers[0].hidden, ref["hidden_l0"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.layers[1].layer_output, ref["hidden_l1"], atol=TOL, rtol=0)
    # Keras returns a go_backwards layer's outputs in reading order; the trace is time-aligned.
    assert trace.layers[2].reverse_time
    np.testing.assert_allclose(trace.layers[2].hidden[:, ::-1], ref["hidden_l2"], atol=TOL, rtol=0)
    # Keras's own per-step cells (from prefix/suffix runs), time-aligned like the trace.
    np.testing.assert_allclose(trace.layers[0].cell, ref["cell_l0"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.layers[1].cell, ref["cell_l1"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.layers[1].reverse.cell, ref["cell_l1_reverse"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.layers[2].cell, ref["cell_l2"], atol=TOL, rtol=0)
    np.testing.assert_allclose(model.predict(trace)[:, ::-1], ref["output"], atol=TOL, rtol=0)


def test_bare_weights_file_is_chained_by_shapes(fixtures):
    ref = reference(fixtures, "keras_stack_reference.npz")
    model = load_model(fixtures / "keras_stack.weights.h5")
    assert model.hidden_sizes == [6, 3, 4] and "inferred from shapes" in model.metadata["note"]
    trace = model.run(ref["x"])
    np.testing.assert_allclose(trace.layers[1].layer_output, ref["hidden_l1"], atol=TOL, rtol=0)


def test_text_model_with_embedding_and_softmax(fixtures):
    ref = reference(fixtures, "keras_text_reference.npz")
    model = load_model(fixtures / "keras_text.keras")
    assert model.embedding.shape == (12, 5) and model.readout.kind == "classification"
    trace = model.run(np.eye(12, dtype=np.float32)[ref["ids"]])
    np.testing.assert_allclose(trace.layers[0].hidden, ref["hidden_l0"], atol=TOL, rtol=0)
    np.testing.assert_allclose(model.predict(trace), ref["probabilities"], atol=TOL, rtol=0)


def _rewrite_config(source, target, edit):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            dst.writestr(info.filename, data)


def test_unsupported_layers_and_activations_are_named(fixtures, tmp_path):
    def to_gru(config):
        config["config"]["layers"][1]["class_name"] = "GRU"

    _rewrite_config(fixtures / "keras_stack.keras", tmp_path / "gru.keras", to_gru)
    with pytest.raises(FileFormatError, match=r"layers \['GRU'\] are not supported"):
        load_model(tmp_path / "gru.keras")

    def hard_sigmoid(config):
        config["config"]["layers"][1]["config"]["recurrent_activation"] = "hard_sigmoid"

    _rewrite_config(fixtures / "keras_stack.keras", tmp_path / "hard.keras", hard_sigmoid)
    with pytest.raises(FileFormatError, match="recurrent_activation='hard_sigmoid' is not supported"):
        load_model(tmp_path / "hard.keras")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["keras_stack.keras", "keras_stack_legacy.h5", "keras_stack.weights.h5"]),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    cut=st.booleans(),
)
def test_mutated_keras_files_raise_only_documented_errors(fixtures, tmp_path, name, position, value, cut):
    data = mutated((fixtures / name).read_bytes(), position, value, cut)
    path = tmp_path / ("m" + os.path.splitext(name)[1])
    path.write_bytes(data)
    try:
        load_model(path)
    except LstmVizError:
        pass
