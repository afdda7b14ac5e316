"""TensorFlow 1 checkpoints and .npz files of TF variables, read without TensorFlow."""

import os
import shutil

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


@pytest.mark.parametrize("given", ["tf_lstmcell", "tf_lstmcell.index", "tf_lstmcell.data-00000-of-00001"])
def test_lstmcell_checkpoint_with_peepholes_clip_projection(fixtures, given):
    ref = reference(fixtures, "tf_lstmcell_peephole_clip_proj.npz")
    model = load_model(fixtures / "tf_checkpoints" / given, cell_clip=0.6)
    layer = model.directions(0)[0]
    assert layer.forget_bias == 1.0 and layer.peepholes is not None and layer.output_size == 4
    trace = model.run(ref["x"], [(ref["h0"], ref["c0"])])
    np.testing.assert_allclose(trace.layers[0].cell, ref["cell_l0"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.output, ref["output"], atol=TOL, rtol=0)


def test_tutorial_multirnncell_checkpoint_and_forget_bias_override(fixtures):
    ref = reference(fixtures, "tf_tutorial_multirnn.npz")
    model = load_model(fixtures / "tf_checkpoints" / "tf_tutorial")
    assert model.hidden_sizes == [5, 4, 3]
    trace = model.run(ref["x"])
    for index in range(3):
        np.testing.assert_allclose(trace.layers[index].cell, ref[f"cell_l{index}"], atol=TOL, rtol=0)
    wrong = load_model(fixtures / "tf_checkpoints" / "tf_tutorial", forget_bias=0.0)
    assert np.abs(wrong.run(ref["x"]).output - ref["output"]).max() > 1e-2


def test_npz_of_tensorflow_variables(fixtures, tmp_path):
    ref = reference(fixtures, "tf_tutorial_multirnn.npz")
    variables = {k[len("var/") :]: v for k, v in ref.items() if k.startswith("var/")}
    variables["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel/Adam"] = np.zeros((11, 20), np.float32)
    variables["global_step"] = np.array(3.0)
    np.savez(tmp_path / "vars.npz", **variables)
    model = load_model(tmp_path / "vars.npz")
    np.testing.assert_allclose(model.run(ref["x"]).output, ref["output"], atol=TOL, rtol=0)


def test_missing_shard_and_foreign_index(fixtures, tmp_path):
    shutil.copy(fixtures / "tf_checkpoints" / "tf_lstmcell.index", tmp_path / "lonely.index")
    with pytest.raises(FileFormatError, match="data shard 'lonely.data-00000-of-00001' is missing"):
        load_model(tmp_path / "lonely.index")
    (tmp_path / "fake.index").write_bytes(b"\0" * 100)
    with pytest.raises(FileFormatError, match="not a TensorFlow checkpoint index"):
        load_model(tmp_path / "fake.index")
    with pytest.raises(FileFormatError, match="no checkpoint index"):
        load_model(tmp_path / "nothing.data-00000-of-00001")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    part=st.sampled_from(["index", "data-00000-of-00001"]),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    cut=st.booleans(),
)
def test_mutated_checkpoints_raise_only_documented_errors(fixtures, tmp_path, part, position, value, cut):
    for suffix in ("index", "data-00000-of-00001"):
        shutil.copy(fixtures / "tf_checkpoints" / f"tf_tutorial.{suffix}", tmp_path / f"m.{suffix}")
    target = tmp_path / f"m.{part}"
    data = mutated(target.read_bytes(), position, value, cut)
    target.write_bytes(data)
    try:
        load_model(os.fspath(tmp_path / "m"))
    except LstmVizError:
        pass
