"""ONNX LSTM nodes reproduce onnxruntime's numbers; external data is read safely."""

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_viz import FileFormatError, LstmVizError, load_model
from tests.conftest import mutated, point_external_data

TOL = 1e-5


def reference(fixtures, name):
    with np.load(fixtures / f"{name}_reference.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", ["onnx_torch_dynamo", "onnx_torch_legacy"])
def test_models_exported_by_both_torch_exporters(fixtures, name):
    ref = reference(fixtures, name)
    model = load_model(fixtures / f"{name}.onnx")
    assert model.num_layers == 2 and model.metadata["source_format"] == "onnx"
    np.testing.assert_allclose(model.run(ref["x"]).output, ref["output"], atol=TOL, rtol=0)


@pytest.mark.parametrize("name", ["onnx_peephole_clip_forward", "onnx_peephole_reverse", "onnx_peephole_bidirectional"])
def test_peepholes_clip_directions_and_initial_state(fixtures, name):
    ref = reference(fixtures, name)
    model = load_model(fixtures / f"{name}.onnx")
    assert model.initial_state is not None
    trace = model.run(ref["x"].transpose(1, 0, 2), model.initial_state)
    Y = ref["Y"]  # (T, directions, B, H)
    for k, direction in enumerate(trace.layers[0].directions()):
        np.testing.assert_allclose(direction.hidden, Y[:, k].transpose(1, 0, 2), atol=TOL, rtol=0)
        np.testing.assert_allclose(direction.cell, ref["cells"][k], atol=TOL, rtol=0)
    layer = model.directions(0)[0]
    assert layer.peepholes is not None
    if "reverse" in name:
        assert layer.go_backwards and trace.layers[0].reverse_time
    if "clip" in name:  # the clamp really acts: some gates sit exactly at sigmoid(clip)
        gates = np.concatenate([trace.layers[0].input.ravel(), trace.layers[0].forget.ravel()])
        assert np.isclose(gates, 1 / (1 + np.exp(-1.2)), atol=1e-6).any()


def test_external_data_is_read_from_the_models_folder_only(fixtures, tmp_path):
    model = onnx.load(fixtures / "onnx_torch_dynamo.onnx")
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.onnx.data", size_threshold=0)  # fmt: skip
    ref = reference(fixtures, "onnx_torch_dynamo")
    np.testing.assert_allclose(load_model(tmp_path / "ext.onnx").run(ref["x"]).output, ref["output"], atol=TOL)

    point_external_data(model, "../../etc/passwd")
    onnx.save(model, tmp_path / "escape.onnx")
    with pytest.raises(FileFormatError, match="points outside the model's folder"):
        load_model(tmp_path / "escape.onnx")
    (tmp_path / "ext.onnx.data").write_bytes(b"\0" * 16)
    with pytest.raises(FileFormatError, match="reaches past the end"):
        load_model(tmp_path / "ext.onnx")


def test_graphs_without_lstm_and_foreign_files(fixtures, tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "relu.onnx")
    with pytest.raises(FileFormatError, match="no LSTM node \\(operators: Relu\\)"):
        load_model(tmp_path / "relu.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x08\xff\xff\xff")
    with pytest.raises(FileFormatError):
        load_model(tmp_path / "junk.onnx")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["onnx_torch_dynamo", "onnx_peephole_bidirectional"]),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    cut=st.booleans(),
)
def test_mutated_onnx_files_raise_only_documented_errors(fixtures, tmp_path, name, position, value, cut):
    data = mutated((fixtures / f"{name}.onnx").read_bytes(), position, value, cut)
    (tmp_path / "m.onnx").write_bytes(data)
    try:
        load_model(tmp_path / "m.onnx")
    except LstmVizError:
        pass
