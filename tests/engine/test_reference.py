"""The fast kernel is an optimisation of the readable reference step: they agree."""

import math

import numpy as np
import pytest

from lstm_viz import LSTM, LSTMLayer
from lstm_viz.engine.reference import lstm_step


def run_by_reference(model, x):
    """Every layer stepped with lstm_step from a zero state, in float64."""
    inputs = np.asarray(x, np.float64)
    layers = []
    for layer in model.layers:
        B, T = inputs.shape[:2]
        h = np.zeros((B, layer.output_size))
        c = np.zeros((B, layer.hidden_size))
        record = {name: [] for name in ("forget", "input", "candidate", "output", "cell", "hidden")}
        for t in range(T):
            step = lstm_step(layer, inputs[:, t], h, c)
            h, c = step.hidden, step.cell
            for name in ("forget", "input", "candidate", "output"):
                record[name].append(step.gate(name))
            record["cell"].append(c)
            record["hidden"].append(h)
        layers.append({name: np.stack(values, axis=1) for name, values in record.items()})
        inputs = layers[-1]["hidden"]
    return layers


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"forget_bias": 1.0},
        {"peepholes": True, "cell_clip": 0.7, "gate_clip": 2.0},
        {"proj_sizes": [3, None], "peepholes": True, "forget_bias": 0.5},
    ],
)
def test_the_kernel_agrees_with_the_reference_step(options):
    model = LSTM.random(4, [6, 5], seed=3, **options)
    x = np.random.default_rng(1).normal(size=(3, 40, 4)) * 2
    trace = model.run(x, dtype=np.float64)
    expected = run_by_reference(model, x)
    for lt, reference in zip(trace.layers, expected):
        for name, values in reference.items():
            np.testing.assert_allclose(lt.quantity(name), values, rtol=0, atol=1e-12, err_msg=name)
    if "cell_clip" in options:  # the clips were really engaged
        assert np.abs(trace.layers[0].cell).max() == pytest.approx(0.7)
        layer, lt = model.layers[0], trace.layers[0]
        steps = [lstm_step(layer, x[:, t], lt.hidden[:, t - 1], lt.cell[:, t - 1]).parts for t in range(1, 40)]
        assert any(np.abs(p.pre_activation).max() > 2.0 for parts in steps for p in parts.values())
        assert all(np.abs(p.clipped).max() <= 2.0 for parts in steps for p in parts.values())


def test_one_step_by_hand_with_a_peephole_and_a_projection():
    W_x = np.array([[0.5, -0.25, 1.0, 0.75]])
    W_h = np.array([[0.2, 0.3, -0.1, 0.6]])  # H_out = 1 (the projection's size)
    b = np.array([0.1, 0.2, 0.0, -0.1])
    peepholes = np.array([[0.3], [-0.2], [0.4]])  # rows i, f, o
    layer = LSTMLayer(W_x, W_h, b, peepholes=peepholes, W_proj=np.array([[2.0]]), forget_bias=1.0)
    x, h, c = 2.0, 0.5, -0.4
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    i = sig(0.5 * x + 0.2 * h + 0.1 + 0.3 * c)
    f = sig(-0.25 * x + 0.3 * h + 0.2 + 1.0 - 0.2 * c)
    g = math.tanh(1.0 * x - 0.1 * h + 0.0)
    cell = f * c + i * g
    o = sig(0.75 * x + 0.6 * h - 0.1 + 0.4 * cell)
    step = lstm_step(layer, [[x]], [[h]], [[c]])
    assert step.input_gate[0, 0] == pytest.approx(i, abs=1e-14)
    assert step.forget_gate[0, 0] == pytest.approx(f, abs=1e-14)
    assert step.candidate[0, 0] == pytest.approx(g, abs=1e-14)
    assert step.cell[0, 0] == pytest.approx(cell, abs=1e-14)
    assert step.output_gate[0, 0] == pytest.approx(o, abs=1e-14)
    assert step.hidden[0, 0] == pytest.approx(2.0 * o * math.tanh(cell), abs=1e-14)
    parts = step.parts["forget"]
    assert (parts.input_part[0, 0], parts.recurrent_part[0, 0], parts.bias[0]) == pytest.approx((-0.5, 0.15, 0.2))
    assert parts.forget_bias == 1.0 and parts.peephole[0, 0] == pytest.approx(0.08)


def test_a_hold_replaces_a_gate_and_the_step_goes_on_with_it():
    layer = LSTM.random(2, [3], seed=0).layers[0]
    x, h, c = np.ones((1, 2)), np.zeros((1, 3)), np.full((1, 3), 0.5)

    def hold(gate, values):
        if gate == "forget":
            values[:, 1] = 1.0
        if gate == "input":
            values[:, 1] = 0.0
        return values

    step = lstm_step(layer, x, h, c, hold=hold)
    assert step.cell[0, 1] == 0.5  # keep = 1, write = 0: the memory stays exactly
    assert step.hidden[0, 1] == pytest.approx(step.output_gate[0, 1] * math.tanh(0.5), abs=1e-15)


def test_one_step_of_a_trace_has_the_whole_trace_s_numbers():
    model = LSTM.random(3, [4], seed=5, bidirectional=True, peepholes=True)
    x = np.random.default_rng(2).normal(size=(2, 9, 3))
    layer = model.run(x).layers[0]
    for direction in layer.directions():
        for step in (0, 4, 8):  # the ends read the initial state, on either side for the backward one
            values = direction.at(1, step)
            for name in ("forget", "cell", "cell_prev", "old", "new", "cell_unclipped", "tanh_cell", "hidden"):
                np.testing.assert_array_equal(values[name], direction.quantity(name)[1, step], err_msg=name)
            np.testing.assert_array_equal(values["hidden_unprojected"], direction.hidden_unprojected[1, step])
