"""Attributions, contextual decomposition and gradient flow against independent references:
central finite differences in float64, a Simpson-rule path integral from separate runs,
a step-by-step transcription of the contextual decomposition paper's code, and runs
restarted from a perturbed state."""

import numpy as np
import pytest

from lstm_viz import LSTM, RNN, Cancelled, InputError, LSTMLayer, limits
from lstm_viz.engine import attribution
from lstm_viz.engine.attribution import (
    Target,
    attribute,
    cell_jacobian_norms,
    contextual_decomposition,
    gauss_legendre,
    gradient_flow,
    input_gradient,
    integrate_path,
    matched_rnn,
    target_value,
)
from lstm_viz.engine.backprop import backward
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.targets import Targets

EPS = 1e-6
B, T, D = 2, 6, 3


def scaled(model, scale=1.3):
    """Weights large enough that gates leave their linear range."""
    for layer in model.all_layers():
        for p in layer.parameters().values():
            p *= scale / np.abs(p).max()
    model.touch()
    return model


def make_model(kind="regression", seed=0, embedding=False, **options):
    rng = np.random.default_rng(seed)
    model = scaled(LSTM.random(D, [4, 3], seed=seed, **options))
    K = 3 if kind == "classification" else 2
    labels = list("aeo") if kind == "classification" else None
    readout = Readout(rng.normal(size=(model.output_size, K)), rng.normal(size=K) * 0.3, kind=kind, labels=labels)
    layers = model.layers
    E = rng.normal(size=(5, D)) if embedding else None
    return LSTM(layers, readout=readout, embedding=E)


def make_input(model, seed=1):
    """Values float32 holds exactly: a float32 trace records this very input."""
    rng = np.random.default_rng(seed)
    if model.embedding is not None:
        return np.eye(model.input_size)[rng.integers(0, model.input_size, (B, T))]
    return (rng.normal(size=(B, T, D)) * 1.5).astype(np.float32).astype(np.float64)


def make_targets(model, seed=2):
    rng = np.random.default_rng(seed)
    if model.readout.kind == "classification":
        values = rng.integers(0, model.readout.output_size, (B, T))
    else:
        values = rng.normal(size=(B, T, model.readout.output_size))
    return Targets(values, np.ones((B, T), bool), "the next value")


def random_state(model, seed=3):
    """Values float32 holds exactly, so a float32 trace starts from the very same state."""
    rng = np.random.default_rng(seed)

    def draw(*shape):
        return rng.normal(size=shape).astype(np.float32).astype(np.float64)

    return [(draw(B, d.output_size) * 0.5, draw(B, d.hidden_size)) for d in model.layers]


def numeric_input_gradient(model, x, target, targets=None, state=None):
    """dTarget/dx[target.batch] by central differences, (T, input_size)."""
    x = x.copy()
    grad = np.zeros(x.shape[1:])
    for index in np.ndindex(grad.shape):
        where = (target.batch,) + index
        old = x[where]
        values = []
        for value in (old + EPS, old - EPS):
            x[where] = value
            values.append(target_value(model, model.run(x, state, dtype=np.float64), target, targets))
        x[where] = old
        grad[index] = (values[0] - values[1]) / (2 * EPS)
    return grad


def assert_close(analytic, numeric, rtol=1e-6):
    scale = max(1e-3, np.abs(numeric).max())
    assert np.abs(analytic - numeric).max() <= rtol * scale, (analytic, numeric)


TARGETS = [
    Target("prediction", 4, batch=1, output=1),
    Target("loss", 3, batch=1),
    Target("hidden", 4, batch=1, layer=0, unit=2),
    Target("hidden", 5, batch=0, layer=1, unit=1),
    Target("cell", 3, batch=1, layer=0, unit=3),
    Target("cell", 4, batch=0, layer=1, unit=0),
]


def test_targets_describe_themselves_in_words():
    text = make_model("classification")
    assert Target("prediction", 12, output=1).describe(text) == "log p('e') at t = 12"
    assert Target("loss", 29).describe() == "the loss at t = 29"
    assert Target("hidden", 7, layer=0, unit=4).describe() == "h of unit 4 in layer 0 at t = 7"
    assert Target("cell", 7, layer=1, unit=0, batch=2).describe() == "c of unit 0 in layer 1 at t = 7 in sequence 2"
    assert Target("prediction", 3, output=1).describe(make_model()) == "prediction 1 at t = 3"
    with pytest.raises(InputError, match="kind"):
        Target("attention", 3)
    with pytest.raises(InputError, match="step"):
        Target("loss", -1)


@pytest.mark.parametrize("kind", ["regression", "classification"])
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.kind}-l{t.layer}-t{t.step}")
def test_input_gradient_matches_finite_differences(kind, target):
    model = make_model(kind)
    x, targets, state = make_input(model), make_targets(model), random_state(model)
    trace32 = model.run(x, state)
    trace64 = model.run(x, state, dtype=np.float64)
    grad = input_gradient(model, trace32, target, targets=targets)  # run again in float64
    assert grad.shape == (T, D)
    np.testing.assert_allclose(input_gradient(model, trace64, target, targets=targets), grad, rtol=1e-12, atol=1e-15)
    assert_close(grad, numeric_input_gradient(model, x, target, targets, state))
    assert np.all(grad[target.step + 1 :] == 0.0)  # exactly: the model reads forward only
    assert np.abs(grad[: target.step + 1]).max() > 0


@pytest.mark.parametrize("target", [Target("prediction", 5, batch=1, output=2), Target("cell", 2, layer=1, unit=1)])
def test_input_gradient_through_an_embedding_is_taken_with_respect_to_the_one_hot_input(target):
    model = make_model("classification", embedding=True)
    x = make_input(model)
    grad = input_gradient(model, model.run(x), target)
    assert grad.shape == (T, 5)
    assert_close(grad, numeric_input_gradient(model, x, target))


def test_bidirectional_input_gradient_reaches_later_steps():
    model = make_model("regression", bidirectional=True, peepholes=True)
    x = make_input(model)
    target = Target("hidden", 2, batch=1, layer=1, unit=4)  # a unit of the backward direction
    grad = input_gradient(model, model.run(x), target)
    assert np.abs(grad[3:]).max() > 0
    assert_close(grad, numeric_input_gradient(model, x, target))


def test_gradient_methods_of_attribute():
    model = make_model("classification")
    x = make_input(model)
    target = Target("prediction", 4, batch=1, output=0)
    gradient = attribute(model, x, target, "gradient")
    np.testing.assert_allclose(gradient.values, input_gradient(model, model.run(x), target), rtol=1e-12, atol=1e-16)
    times_input = attribute(model, x, target, "gradient_x_input")
    np.testing.assert_allclose(times_input.values, gradient.values * x[1], rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(times_input.per_step, times_input.values.sum(axis=1))
    assert times_input.target_value == pytest.approx(target_value(model, model.run(x, dtype=np.float64), target))
    assert times_input.completeness_error is None and times_input.baseline_value is None


def test_integrated_gradients_complete_and_match_a_simpson_rule_over_separate_runs():
    model = make_model("classification")
    x = make_input(model)
    baseline = np.random.default_rng(9).normal(size=(T, D)) * 0.3
    target = Target("prediction", 5, batch=1, output=2)
    ig = attribute(model, x, target, "integrated_gradients", baseline=baseline, dtype=np.float64)
    f_x = target_value(model, model.run(x, dtype=np.float64), target)
    f_base = target_value(model, model.run(baseline, dtype=np.float64), replace_batch(target))
    assert ig.target_value == pytest.approx(f_x, abs=1e-14)
    assert ig.baseline_value == pytest.approx(f_base, abs=1e-14)
    assert ig.completeness_error == pytest.approx(ig.values.sum() - (f_x - f_base), abs=1e-15)
    # Gauss-Legendre converges geometrically: 1e-4 of the change with 25 nodes, 1e-7 with 50, rounding with 100
    assert abs(ig.completeness_error) < 1e-6 * abs(f_x - f_base)
    ig = attribute(model, x, target, "integrated_gradients", baseline=baseline, steps=100, dtype=np.float64)
    assert abs(ig.completeness_error) < 1e-13
    # the same path integral, composite Simpson with 200 intervals, one run per point
    alphas = np.linspace(0.0, 1.0, 201)
    simpson = np.ones(201)
    simpson[1:-1:2], simpson[2:-1:2] = 4.0, 2.0
    simpson /= 3.0 * 200
    total = np.zeros((T, D))
    for a, w in zip(alphas, simpson):
        point = baseline + a * (x[1] - baseline)
        total += w * input_gradient(model, model.run(point, dtype=np.float64), replace_batch(target))
    assert_close(ig.values, (x[1] - baseline) * total, rtol=1e-7)
    # float32 runs: the same numbers to float32's precision
    ig32 = attribute(model, x, target, "integrated_gradients", baseline=baseline)
    assert_close(ig32.values, ig.values, rtol=1e-4)
    assert abs(ig32.completeness_error) < 1e-4 * max(1.0, abs(f_x - f_base))


def replace_batch(target):
    return Target(target.kind, target.step, 0, target.output, target.layer, target.unit)


def test_integrated_gradients_of_a_text_model_default_to_the_all_zero_input_and_stop_at_the_target():
    model = make_model("classification", embedding=True)
    x = make_input(model)
    target = Target("cell", 3, batch=0, layer=1, unit=2)
    ig = attribute(model, x, target, "integrated_gradients", steps=30, dtype=np.float64)
    f_zero = target_value(model, model.run(np.zeros((T, 5)), dtype=np.float64), target)
    assert ig.baseline_value == pytest.approx(f_zero, abs=1e-14)
    assert abs(ig.completeness_error) < 1e-10
    assert np.all(ig.values[4:] == 0.0) and np.all(ig.values[x[0] == 0] == 0.0)


def test_integrated_gradients_of_a_linear_function_are_the_input_difference_times_the_weight():
    rng = np.random.default_rng(4)
    w, x, baseline = rng.normal(size=(3, T, D))
    np.testing.assert_allclose(integrate_path(lambda p: np.broadcast_to(w, p.shape), x, baseline), (x - baseline) * w)
    # a quadratic: the gradient is linear along the path and the rule is exact
    a = rng.normal(size=(T, D))
    np.testing.assert_allclose(integrate_path(lambda p: 2 * a * p, x, baseline, steps=2), a * (x**2 - baseline**2))
    nodes, weights = gauss_legendre(50)
    assert weights.sum() == pytest.approx(1.0) and 0 < nodes.min() and nodes.max() < 1


def test_attribute_reports_progress_and_can_be_cancelled():
    model = make_model("regression")
    x = make_input(model)
    seen = []
    attribute(
        model,
        x,
        Target("hidden", 5, layer=1),
        "integrated_gradients",
        steps=8,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen and seen[-1][0] == seen[-1][1] and all(d <= t for d, t in seen)
    with pytest.raises(Cancelled):
        attribute(model, x, Target("hidden", 5, layer=1), "integrated_gradients", cancel=lambda: True)


def test_bad_targets_are_refused_with_a_reason():
    model = make_model("regression")
    trace = model.run(make_input(model))
    with pytest.raises(InputError, match="needs the Targets"):
        input_gradient(model, trace, Target("loss", 2))
    with pytest.raises(InputError, match="step 9 is out of range"):
        input_gradient(model, trace, Target("hidden", 9))
    with pytest.raises(InputError, match="unit 3 is out of range"):
        input_gradient(model, trace, Target("hidden", 1, layer=1, unit=3))
    with pytest.raises(InputError, match="no memory cells"):
        rnn = RNN.random(D, [4], seed=0)
        input_gradient(rnn, rnn.run(make_input(model)), Target("cell", 1))
    with pytest.raises(InputError, match="method"):
        attribute(model, make_input(model), Target("hidden", 1), "saliency")


# -- contextual decomposition -----------------------------------------------------------------

CD_CONFIGS = {
    "two layers, embedding": dict(embedding=True),
    "peepholes, clips, forget_bias": dict(peepholes=True, gate_clip=1.0, cell_clip=0.6, forget_bias=0.5),
    "projection with proj_clip": dict(proj_sizes=[3, 2], proj_clip=0.35),
    "bidirectional": dict(bidirectional=True),
    "go_backwards": dict(go_backwards=True),
}


@pytest.mark.parametrize("name", list(CD_CONFIGS))
def test_contextual_decomposition_parts_add_up_to_the_model(name):
    model = make_model("classification", **CD_CONFIGS[name])
    x = make_input(model)
    state = None if name == "bidirectional" else random_state(model)
    if name == "projection with proj_clip":
        state = None
    trace = model.run(x, state, dtype=np.float64)
    if "clips" in name:  # the clamps act in this run
        assert (np.abs(trace.layers[0].cell_unclipped) > 0.6).any()
    cd = contextual_decomposition(model, x, (2, 4), batch=1, initial_state=state)
    for index, layer in enumerate(cd.layers):
        cells = np.concatenate([d.cell[1] for d in trace.layers[index].directions()], axis=1)
        np.testing.assert_allclose(layer.cell, cells, rtol=0, atol=1e-10)
        np.testing.assert_allclose(layer.hidden, trace.layers[index].layer_output[1], rtol=0, atol=1e-10)
        assert np.abs(layer.beta_hidden).max() > 1e-3 and np.abs(layer.gamma_hidden).max() > 1e-3
    np.testing.assert_allclose(cd.logits, model.readout.logits(trace.output)[1], rtol=0, atol=1e-10)


def test_contextual_decomposition_of_all_steps_leaves_gamma_empty_and_of_no_step_beta():
    model = make_model("classification", embedding=True)
    x = make_input(model)
    everything = contextual_decomposition(model, x, (0, T))
    nothing = contextual_decomposition(model, x, (3, 3))
    for full, empty in zip(everything.layers, nothing.layers):
        for part in ("cell", "hidden"):
            assert np.all(getattr(full, f"gamma_{part}") == 0.0)
            assert np.all(getattr(empty, f"beta_{part}") == 0.0)
    np.testing.assert_array_equal(everything.gamma_logits, np.broadcast_to(model.readout.b, (T, 3)))
    assert np.all(nothing.beta_logits == 0.0)
    # a forward model: nothing of the span before it starts
    middle = contextual_decomposition(model, x, (2, 4))
    assert all(np.all(layer.beta_hidden[:2] == 0.0) for layer in middle.layers)
    assert all(np.abs(layer.beta_hidden[2:]).min() > 0 for layer in middle.layers)


def reference_cd(W_x, W_h, b, xs, start, stop):
    """The decomposition written out step by step as in the paper's code (one PyTorch-style
    layer, gate rows i, f, g, o), with [start, stop) for the inputs and the bias term."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    def three(a, b_, c, act):
        return (
            0.5 * (act(a + c) - act(c) + act(a + b_ + c) - act(b_ + c)),
            0.5 * (act(b_ + c) - act(c) + act(a + b_ + c) - act(a + c)),
            act(c),
        )

    H = W_h.shape[1]
    Wi, Wf, Wg, Wo = np.split(W_x, 4, axis=0)
    Vi, Vf, Vg, Vo = np.split(W_h, 4, axis=0)
    bi, bf, bg, bo = np.split(b, 4)
    rel_c, irr_c, rel_h, irr_h = (np.zeros((len(xs), H)) for _ in range(4))
    prev_rel, prev_irr = np.zeros(H), np.zeros(H)
    for t, word in enumerate(xs):
        inside = start <= t < stop
        parts = {}
        for name, W, V in (("i", Wi, Vi), ("f", Wf, Vf), ("g", Wg, Vg)):
            rel, irr = V @ prev_rel, V @ prev_irr
            if inside:
                rel = rel + W @ word
            else:
                irr = irr + W @ word
            parts[name] = (rel, irr)
        ri, ii, bi_ = three(*parts["i"], bi, sigmoid)
        rg, ig, bg_ = three(*parts["g"], bg, np.tanh)
        rf, if_, bf_ = three(*parts["f"], bf, sigmoid)
        rel_c[t] = ri * (rg + bg_) + bi_ * rg
        irr_c[t] = ii * (rg + ig + bg_) + (ri + bi_) * ig
        if inside:
            rel_c[t] += bi_ * bg_
        else:
            irr_c[t] += bi_ * bg_
        if t > 0:
            rel_c[t] += (rf + bf_) * rel_c[t - 1]
            irr_c[t] += (rf + if_ + bf_) * irr_c[t - 1] + if_ * rel_c[t - 1]
        o = sigmoid(Wo @ word + Vo @ (prev_rel + prev_irr) + bo)
        a, c = rel_c[t], irr_c[t]
        rel_h[t] = o * 0.5 * (np.tanh(a) + np.tanh(a + c) - np.tanh(c))
        irr_h[t] = o * 0.5 * (np.tanh(c) + np.tanh(a + c) - np.tanh(a))
        prev_rel, prev_irr = rel_h[t], irr_h[t]
    return rel_c, irr_c, rel_h, irr_h


def test_contextual_decomposition_follows_the_papers_algorithm():
    rng = np.random.default_rng(5)
    H = 5
    W_x, W_h, b = rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H)) * 0.7, rng.normal(size=4 * H)
    model = LSTM([LSTMLayer(W_x.T, W_h.T, b)])  # canonical layout: (D, 4H) columns i, f, g, o
    x = rng.normal(size=(9, D))
    cd = contextual_decomposition(model, x, (3, 6))
    expected = reference_cd(W_x, W_h, b, x, 3, 6)
    layer = cd.layers[0]
    for got, want in zip((layer.beta_cell, layer.gamma_cell, layer.beta_hidden, layer.gamma_hidden), expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_contextual_decomposition_refuses_what_it_cannot_split():
    rnn = RNN.random(D, [4], seed=0)
    with pytest.raises(InputError, match="LSTM"):
        contextual_decomposition(rnn, np.zeros((T, D)), (0, 2))
    with pytest.raises(InputError, match="span"):
        contextual_decomposition(make_model(), np.zeros((T, D)), (4, 9))


# -- gradient flow -------------------------------------------------------------------------------


def run_from(model, x, states, t):
    """The run of steps t+1.. of x from the given per-layer states after step t."""
    return model.run(x[None, t + 1 :], states, dtype=np.float64)


def states_at(trace, t):
    return [(lt.hidden[:, t].copy(), lt.cell[:, t].copy()) for lt in trace.layers]


def top_value_with_state(model, x, trace, layer, t, h, c, target):
    """The target when layer ``layer``'s state after step t is (h, c): that layer goes on
    from it, and every layer above reads its changed output from step t on."""
    below = trace.layers[layer - 1].hidden[0] if layer else x
    rest = LSTM([model.layers[layer]]).run(below[t + 1 :], [(h, c)], dtype=np.float64)
    outputs = trace.layers[layer].hidden[0].copy()
    outputs[t] = h[0]
    outputs[t + 1 :] = rest.layers[0].hidden[0]
    above = LSTM(model.layers[layer + 1 :], readout=model.readout) if layer + 1 < model.num_layers else None
    if above is None:
        features = outputs
    else:
        features = above.run(outputs, dtype=np.float64).output[0]
    logits = features[target.step] @ model.readout.W + model.readout.b
    return logits[target.output] - np.log(np.exp(logits).sum())


def test_gradient_flow_norms_match_finite_differences_of_the_states():
    model = make_model("classification")
    x = make_input(model)[0]
    trace = model.run(x, dtype=np.float64)
    s = 4
    target = Target("prediction", s, output=1)
    flow = gradient_flow(model, model.run(x), target)
    for layer in range(2):
        for t in range(s + 1):
            h, c = states_at(trace, t)[layer]
            o = trace.layers[layer].output[:, t]
            dh, dc = np.zeros(h.shape[1]), np.zeros(c.shape[1])
            for u in range(h.shape[1]):
                e = np.zeros_like(h)
                e[0, u] = EPS
                up = top_value_with_state(model, x, trace, layer, t, h + e, c, target)
                down = top_value_with_state(model, x, trace, layer, t, h - e, c, target)
                dh[u] = (up - down) / (2 * EPS)
            for u in range(c.shape[1]):
                e = np.zeros_like(c)
                e[0, u] = EPS
                up = top_value_with_state(model, x, trace, layer, t, o * np.tanh(c + e), c + e, target)
                down = top_value_with_state(model, x, trace, layer, t, o * np.tanh(c - e), c - e, target)
                dc[u] = (up - down) / (2 * EPS)
            assert flow.hidden[layer][t] == pytest.approx(np.linalg.norm(dh), rel=1e-6)
            assert flow.cell[layer][t] == pytest.approx(np.linalg.norm(dc), rel=1e-6)
        assert np.all(flow.hidden[layer][s + 1 :] == 0.0) and np.all(flow.cell[layer][s + 1 :] == 0.0)
    lower = gradient_flow(model, trace, Target("cell", s, layer=0, unit=1))
    assert np.all(lower.hidden[1] == 0.0) and lower.cell[0][s] == pytest.approx(1.0)


@pytest.mark.parametrize("layer", [0, 1])
def test_cell_jacobian_norms_match_finite_differences(layer):
    model = make_model("regression")
    x = make_input(model)[1]
    trace = model.run(x, dtype=np.float64)
    units, final = [0, 2], 4
    norms = cell_jacobian_norms(model, model.run(x), layer, units, final)
    assert norms.shape == (T,)
    assert norms[final] == pytest.approx(np.sqrt(2), abs=1e-12)
    assert np.all(norms[final + 1 :] == 0.0)
    H = model.layers[layer].hidden_size
    for t in range(final):
        base = states_at(trace, t)
        o = trace.layers[layer].output[:, t]
        jacobian = np.zeros((len(units), H))
        for u in range(H):
            columns = []
            for sign in (1, -1):
                c = base[layer][1].copy()
                c[0, u] += sign * EPS
                states = [pair if index != layer else (o * np.tanh(c), c) for index, pair in enumerate(base)]
                columns.append(run_from(model, x, states, t).layers[layer].cell[0, final - t - 1, units])
            jacobian[:, u] = (columns[0] - columns[1]) / (2 * EPS)
        assert norms[t] == pytest.approx(np.linalg.norm(jacobian), rel=1e-6)


def test_matched_rnn_has_the_lstms_sizes_and_candidate_spectral_norms():
    model = make_model("classification", embedding=True)
    rnn = matched_rnn(model, seed=3)
    assert isinstance(rnn, RNN) and rnn.hidden_sizes == model.hidden_sizes and rnn.input_size == model.input_size
    for lstm_layer, rnn_layer in zip(model.all_layers(), rnn.all_layers()):
        g = lstm_layer.gate_block("candidate")
        for name in ("W_x", "W_h"):
            want = np.linalg.norm(getattr(lstm_layer, name)[:, g], 2)
            assert np.linalg.norm(getattr(rnn_layer, name), 2) == pytest.approx(want, rel=1e-12)
        assert np.all(rnn_layer.b == 0)
    np.testing.assert_array_equal(rnn.readout.W, model.readout.W)
    np.testing.assert_array_equal(matched_rnn(model, seed=3).all_layers()[0].W_h, rnn.all_layers()[0].W_h)
    x = make_input(model)
    target = Target("prediction", 5, output=1)
    for net in (model, rnn):
        flow = gradient_flow(net, net.run(x), target)
        assert flow.hidden[0][:6].min() > 0 and flow.hidden[0][5] > 0
    assert gradient_flow(rnn, rnn.run(x), target).cell == [None, None]
    projected = make_model("regression", proj_sizes=[2, 2])
    assert matched_rnn(projected).readout is None  # the RNN's 3 units do not fit a readout of 2


@pytest.mark.parametrize("network", [LSTM, RNN])
def test_a_vanishing_gradient_is_flushed_to_zero_where_float32_cannot_hold_it(network):
    """The backward pass sets values below float32's smallest normal number to 0 (and then
    skips the steps nothing reaches); everywhere else it agrees with float64."""
    model = network.random(2, [8], seed=4)
    x = np.random.default_rng(6).normal(size=(1, 600, 2)).astype(np.float32).astype(np.float64)
    target = Target("hidden", 599, unit=0)
    exact = input_gradient(model, model.run(x, dtype=np.float64), target)
    d = np.zeros((1, 600, 8), np.float32)
    d[0, -1, 0] = 1.0
    grads = backward(model, model.run(x), d, parameters=False)
    single = grads.x[0]
    tiny = np.finfo(np.float32).tiny
    lost = np.abs(exact).max(axis=1) < tiny
    assert lost.any() and np.all(exact[lost].any(axis=1))  # float64 still carries something there
    assert np.abs(single[lost]).max() < tiny
    assert (~single.any(axis=1)).sum() > 300  # exactly 0, most of it not computed at all
    assert (~grads.layers[0].hidden[0].any(axis=1)).sum() > 300
    np.testing.assert_allclose(single, exact, rtol=0, atol=1e-5 * np.abs(exact).max())


def test_integrated_gradients_split_into_several_runs_under_a_small_memory_limit():
    model = make_model("regression")
    x = make_input(model)
    target = Target("hidden", 5, layer=1, unit=2)
    whole = attribute(model, x, target, "integrated_gradients", steps=10, dtype=np.float64)
    totals = []
    limits.set_max_bytes(4 * attribution._row_bytes(model, T, 8))  # 4 of the 12 rows per run
    try:
        split = attribute(
            model, x, target, "integrated_gradients", steps=10, dtype=np.float64, progress=lambda d, t: totals.append(t)
        )
    finally:
        limits.set_max_bytes(None)
    np.testing.assert_allclose(split.values, whole.values, rtol=1e-12, atol=1e-18)
    assert split.completeness_error == pytest.approx(whole.completeness_error, abs=1e-15)
    assert set(totals) == {3 * T * (2 + 2)}  # three runs, each through 2 layers forward and 2 back


def test_unit_attribution_is_the_first_order_change_when_a_units_output_is_scaled_at_every_step():
    """Independent route: the float64 reference step with the unit's read gate scaled by
    (1 + eps) at every step (which scales its h exactly), central differences."""
    from lstm_viz.engine.attribution import unit_attribution
    from lstm_viz.engine.reference import lstm_step

    rng = np.random.default_rng(0)
    model = LSTM.random(3, [6, 5], seed=1)
    model.readout = Readout.random(5, 1, rng)
    x = rng.normal(size=(1, 12, 3))
    found = unit_attribution(model, model.run(x), Target("prediction", 9), 0)

    def prediction(unit, eps):
        inputs = x[0]
        for index, layer in enumerate(model.layers):
            h, c, outs = np.zeros((1, layer.output_size)), np.zeros((1, layer.hidden_size)), []

            def hold(gate, values, index=index):
                if index == 0 and gate == "output":
                    values = values.copy()
                    values[:, unit] *= 1 + eps
                return values

            for t in range(len(inputs)):
                step = lstm_step(layer, inputs[t][None], h, c, hold=hold)
                h, c = step.hidden, step.cell
                outs.append(h[0])
            inputs = np.array(outs)
        return (inputs[9] @ model.readout.W + model.readout.b)[0]

    for unit in range(6):
        numeric = (prediction(unit, 1e-6) - prediction(unit, -1e-6)) / 2e-6
        assert found[unit] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    assert np.all(unit_attribution(model, model.run(x), Target("hidden", 9, layer=0, unit=2), 1) == 0)
