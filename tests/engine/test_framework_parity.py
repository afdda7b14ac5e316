"""The engine reproduces PyTorch's and TensorFlow's own LSTM numbers to 1e-5 in float32.

Fixtures were computed by the real frameworks (tests/fixtures/generate_fixtures.py);
these tests need neither framework installed.
"""

import numpy as np
import pytest

from lstm_viz.io.frameworks import from_tf1_variables, from_torch_state_dict

TOL = 1e-5


def load(fixtures, name):
    with np.load(fixtures / f"{name}.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def prefixed(data, prefix):
    return {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}


def torch_initial_state(model, data):
    h0, c0 = data["h0"], data["c0"]
    states, row = [], 0
    for index in range(model.num_layers):
        if model.is_bidirectional(index):
            states.append(((h0[row], c0[row]), (h0[row + 1], c0[row + 1])))
            row += 2
        else:
            states.append((h0[row], c0[row]))
            row += 1
    return states


@pytest.mark.parametrize("name", ["torch_stacked_proj", "torch_bidirectional", "torch_bidirectional_proj"])
def test_torch_nn_lstm_every_layer_every_step(fixtures, name):
    data = load(fixtures, name)
    model = from_torch_state_dict(prefixed(data, "param/"))
    assert model.num_layers == 2
    trace = model.run(data["x"], torch_initial_state(model, data))
    assert trace.x.dtype == np.float32 and trace.layers[0].cell.dtype == np.float32

    np.testing.assert_allclose(trace.output, data["output"], atol=TOL, rtol=0)
    row = 0
    for index, layer in enumerate(trace.layers):
        for direction, suffix in zip(layer.directions(), ("", "_reverse")):
            np.testing.assert_allclose(direction.hidden, data[f"hidden_l{index}{suffix}"], atol=TOL, rtol=0)
            np.testing.assert_allclose(direction.cell, data[f"cell_l{index}{suffix}"], atol=TOL, rtol=0)
            # h_n / c_n: the state after the last step each direction took.
            last = 0 if suffix else -1
            np.testing.assert_allclose(direction.hidden[:, last], data["h_n"][row], atol=TOL, rtol=0)
            np.testing.assert_allclose(direction.cell[:, last], data["c_n"][row], atol=TOL, rtol=0)
            row += 1


def test_torch_projection_is_really_exercised(fixtures):
    data = load(fixtures, "torch_stacked_proj")
    model = from_torch_state_dict(prefixed(data, "param/"))
    layer = model.directions(0)[0]
    assert (layer.hidden_size, layer.output_size) == (6, 4)
    trace = model.run(data["x"], torch_initial_state(model, data))
    # Without the initial state the numbers differ: the fixture's state matters.
    zero = model.run(data["x"])
    assert np.abs(zero.output - data["output"]).max() > 1e-2
    assert np.abs(trace.output - data["output"]).max() < TOL


def test_tf_lstmcell_peepholes_cell_clip_num_proj(fixtures):
    data = load(fixtures, "tf_lstmcell_peephole_clip_proj")
    variables = prefixed(data, "var/")
    assert "rnn/lstm_cell/w_f_diag" in variables and "rnn/lstm_cell/projection/kernel" in variables
    model = from_tf1_variables(variables, forget_bias=float(data["forget_bias"]), cell_clip=float(data["cell_clip"]))
    layer = model.directions(0)[0]
    assert layer.peepholes is not None and layer.W_proj is not None and layer.cell_clip == pytest.approx(0.6)
    trace = model.run(data["x"], [(data["h0"], data["c0"])])
    lt = trace.layers[0]
    # The clip is active in this fixture: some cells sit exactly at the bound.
    assert np.isclose(np.abs(data["cell_l0"]).max(), 0.6)
    np.testing.assert_allclose(lt.cell, data["cell_l0"], atol=TOL, rtol=0)
    np.testing.assert_allclose(lt.hidden, data["hidden_l0"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.output, data["output"], atol=TOL, rtol=0)
    np.testing.assert_allclose(lt.cell[:, -1], data["final_c"], atol=TOL, rtol=0)
    np.testing.assert_allclose(lt.hidden[:, -1], data["final_h"], atol=TOL, rtol=0)


def test_tutorial_multirnncell_of_three_basic_lstm_cells(fixtures):
    data = load(fixtures, "tf_tutorial_multirnn")
    assert data["x"].shape == (2, 3, 6)
    model = from_tf1_variables(prefixed(data, "var/"), forget_bias=1.0)
    assert model.hidden_sizes == [5, 4, 3]
    trace = model.run(data["x"])
    for index, lt in enumerate(trace.layers):
        np.testing.assert_allclose(lt.cell, data[f"cell_l{index}"], atol=TOL, rtol=0)
        np.testing.assert_allclose(lt.hidden, data[f"hidden_l{index}"], atol=TOL, rtol=0)
        np.testing.assert_allclose(lt.cell[:, -1], data[f"final_c_l{index}"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.output, data["output"], atol=TOL, rtol=0)


@pytest.mark.parametrize("name", ["tf_tutorial_multirnn", "tf_lstmcell_peephole_clip_proj"])
def test_missing_forget_bias_would_be_caught(fixtures, name):
    """TensorFlow adds forget_bias at run time; leaving it out must break parity here."""
    data = load(fixtures, name)
    model = from_tf1_variables(prefixed(data, "var/"), forget_bias=0.0, cell_clip=data.get("cell_clip"))
    state = [(data["h0"], data["c0"])] if "h0" in data else None
    trace = model.run(data["x"], state)
    assert np.abs(trace.layers[0].cell - data["cell_l0"]).max() > 1e-2


def test_float64_run_agrees_with_float32_fixture(fixtures):
    data = load(fixtures, "torch_bidirectional")
    model = from_torch_state_dict(prefixed(data, "param/"))
    trace = model.run(data["x"], torch_initial_state(model, data), dtype=np.float64)
    assert trace.output.dtype == np.float64
    np.testing.assert_allclose(trace.output, data["output"], atol=TOL, rtol=0)
