"""BPTT gradients checked against central finite differences in float64."""

import numpy as np
import pytest

from lstm_viz import LSTM, RNN, InputError, LSTMLayer

EPS = 1e-6
RTOL = 1e-6


def linear_loss(model, x, R, state=None):
    trace = model.run(x, state, dtype=np.float64)
    return float(np.sum(trace.output * R)), trace


def numeric_gradient(f, array):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + EPS
        up = f()
        array[index] = old - EPS
        down = f()
        array[index] = old
        grad[index] = (up - down) / (2 * EPS)
    return grad


def assert_close(analytic, numeric):
    scale = max(1e-3, np.abs(numeric).max())
    assert np.abs(analytic - numeric).max() <= RTOL * scale + 1e-9, (analytic, numeric)


def wide_lstm(rng, sizes, *, input_size=3, scale=1.2, **options):
    """Weights wide enough that gates saturate and clamps engage."""
    model = LSTM.random(input_size, sizes, seed=int(rng.integers(1 << 30)), **options)
    for layer in model.all_layers():
        for p in layer.parameters().values():
            p *= scale / np.abs(p).max()
    model.touch()
    return model


CONFIGS = {
    "two layers": dict(sizes=[4, 3]),
    "peepholes, cell_clip, gate_clip, forget_bias": dict(
        sizes=[4, 3], peepholes=True, cell_clip=0.45, gate_clip=1.1, forget_bias=0.7
    ),
    "projection with proj_clip": dict(sizes=[5, 4], proj_sizes=[3, 2], proj_clip=0.3),
    "bidirectional": dict(sizes=[3, 2], bidirectional=True, peepholes=True),
    "go_backwards": dict(sizes=[3, 2], go_backwards=True),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_parameter_and_the_input_match_finite_differences(name):
    rng = np.random.default_rng(7)
    config = dict(CONFIGS[name])
    model = wide_lstm(rng, config.pop("sizes"), **config)
    x = rng.normal(size=(2, 6, 3)) * 1.5
    R = rng.normal(size=(2, 6, model.output_size))
    loss, trace = linear_loss(model, x, R)
    grads = model.backward(trace, R)

    if "cell_clip" in config:  # the clamps really act in this check
        lt = trace.layers[0]
        assert (np.abs(lt.cell_unclipped) > config["cell_clip"]).any()
        assert (np.abs(lt.cell) < config["cell_clip"]).any()
        assert np.isclose(np.abs(lt.candidate), np.tanh(config["gate_clip"]), rtol=0, atol=1e-12).any()
    if "proj_clip" in config:
        assert np.isclose(np.abs(trace.layers[0].hidden).max(), config["proj_clip"])

    def f():
        model.touch()
        return linear_loss(model, x, R)[0]

    checked = set()
    for index in range(model.num_layers):
        layer_grads = grads.layers[index]
        for layer, g in zip(model.directions(index), [layer_grads, layer_grads.reverse]):
            for param_name, param in layer.parameters().items():
                assert_close(g.params[param_name], numeric_gradient(f, param))
                checked.add(param_name)
    expected = {"W_x", "W_h", "b"} | ({"peepholes"} if config.get("peepholes") else set())
    expected |= {"W_proj"} if "proj_sizes" in config else set()
    assert checked == expected
    assert_close(grads.x, numeric_gradient(f, x))


def test_initial_state_gradients():
    rng = np.random.default_rng(3)
    model = wide_lstm(rng, [4, 3], peepholes=True)
    x = rng.normal(size=(2, 5, 3))
    R = rng.normal(size=(2, 5, 3))
    state = [(rng.normal(size=(2, 4)), rng.normal(size=(2, 4))), (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))]
    _, trace = linear_loss(model, x, R, state)
    grads = model.backward(trace, R)
    for index, (h0, c0) in enumerate(state):
        assert_close(
            grads.layers[index].initial_hidden, numeric_gradient(lambda: linear_loss(model, x, R, state)[0], h0)
        )
        assert_close(grads.layers[index].initial_cell, numeric_gradient(lambda: linear_loss(model, x, R, state)[0], c0))


@pytest.mark.parametrize("options", [{}, {"cell_clip": 0.5}, {"proj_sizes": [2]}])
def test_gradient_at_every_hidden_and_cell_state(options):
    """dL/dh_t and dL/dc_t: perturb the state after step t and rerun the rest."""
    rng = np.random.default_rng(11)
    model = wide_lstm(rng, [4], **options)
    layer: LSTMLayer = model.directions(0)[0]
    B, T = 2, 7
    x = rng.normal(size=(B, T, 3)) * 1.5
    R = rng.normal(size=(B, T, model.output_size))
    _, trace = linear_loss(model, x, R)
    grads = model.backward(trace, R).layers[0]
    lt = trace.layers[0]
    W_proj = layer.W_proj

    def rest(t, h, c):
        if t == T - 1:
            return 0.0
        return linear_loss(model, x[:, t + 1 :], R[:, t + 1 :], [(h, c)])[0]

    for t in range(T):
        h_t, c_t = lt.hidden[:, t].copy(), lt.cell[:, t].copy()
        numeric_h = numeric_gradient(lambda: float(np.sum(R[:, t] * h_t)) + rest(t, h_t, c_t), h_t)
        assert_close(grads.hidden[:, t], numeric_h)

        o_t = lt.output[:, t]

        def loss_through_cell():
            h = o_t * np.tanh(c_t)
            if W_proj is not None:
                h = h @ W_proj
            return float(np.sum(R[:, t] * h)) + rest(t, h, c_t)

        assert_close(grads.cell[:, t], numeric_gradient(loss_through_cell, c_t))
    assert grads.cell_norms().shape == (B, T)


def test_tanh_rnn_gradients():
    rng = np.random.default_rng(5)
    model = RNN.random(3, [4, 3], seed=2, bidirectional=True)
    x = rng.normal(size=(2, 6, 3))
    R = rng.normal(size=(2, 6, model.output_size))
    state = [((rng.normal(size=(2, 4)),), (rng.normal(size=(2, 4)),)), None]
    _, trace = linear_loss(model, x, R, state)
    assert trace.layers[0].cell is None and trace.layers[0].hidden.shape == (2, 6, 4)
    grads = model.backward(trace, R)

    def f():
        model.touch()
        return linear_loss(model, x, R, state)[0]

    for index in range(model.num_layers):
        for layer, g in zip(model.directions(index), [grads.layers[index], grads.layers[index].reverse]):
            for name, param in layer.parameters().items():
                assert_close(g.params[name], numeric_gradient(f, param))
    assert_close(grads.x, numeric_gradient(f, x))
    assert_close(grads.layers[0].initial_hidden, numeric_gradient(f, state[0][0][0]))


def test_lstm_keeps_gradient_where_tanh_rnn_loses_it():
    """The point of the cell: with the keep gate near 1, dL/dc_t survives 60 steps."""
    T = 60
    H = 4
    W_x = np.zeros((1, 4 * H))
    b = np.zeros(4 * H)
    b[H : 2 * H] = 6.0  # keep gate about 0.9975
    lstm = LSTM([LSTMLayer(W_x, np.zeros((H, 4 * H)), b)])
    rnn = RNN.random(1, [H], seed=0)
    x = np.random.default_rng(0).normal(size=(1, T, 1))
    d = np.zeros((1, T, H))
    d[0, -1] = 1.0
    lstm_grads = lstm.backward(lstm.run(x, dtype=np.float64), d).layers[0]
    rnn_grads = rnn.backward(rnn.run(x, dtype=np.float64), d).layers[0]
    lstm_ratio = lstm_grads.cell_norms()[0, 0] / lstm_grads.cell_norms()[0, -1]
    rnn_ratio = rnn_grads.hidden_norms()[0, 0] / rnn_grads.hidden_norms()[0, -1]
    assert lstm_ratio == pytest.approx((1 / (1 + np.exp(-6.0))) ** (T - 1), rel=1e-9)
    assert lstm_ratio > 0.8 and rnn_ratio < 1e-3


def test_backward_rejects_wrong_gradient_shape():
    model = LSTM.random(3, [4], seed=0)
    trace = model.run(np.zeros((5, 3)))
    with pytest.raises(InputError, match="shape"):
        model.backward(trace, np.zeros((1, 5, 3)))
