"""Attribution and gradient flow panels: what they show, against finite differences of
the model's own runs in float64 (an independent route to the same derivatives)."""

import numpy as np
import pytest

from lstm_viz.engine.targets import step_losses
from tests.ui.conftest import panel


def front(window, name, qtbot):
    p = panel(window, name)
    p.show()
    p.raise_()
    window.repaint()
    return p


def loss_at(model, x, targets, step):
    trace = model.run(x[None], dtype=np.float64)
    return step_losses(model.readout, trace.output, targets)[0, step]


def test_gradient_x_input_of_the_next_character_loss_matches_finite_differences(window, qtbot):
    window.open_example("text", wait=True)
    session = window.session
    session.set_step(40)
    p = front(window, "AttributionPanel", qtbot)
    p.method.setCurrentIndex(p.method.findData("gradient_x_input"))
    p.target.setCurrentIndex(p.target.findData("loss"))
    qtbot.waitUntil(
        lambda: p.result is not None and p.result[1].step == 40 and p.result[0].method == "gradient_x_input",
        timeout=20000,
    )
    shown = p.per_step()
    model, targets = session.model, session.core.targets
    x = session.trace.x[0].astype(np.float64)
    eps = 1e-6
    for t in (33, 37, 39):
        token = int(np.argmax(x[t]))
        up, down = x.copy(), x.copy()
        up[t, token] += eps
        down[t, token] -= eps
        numeric = (loss_at(model, up, targets, 40) - loss_at(model, down, targets, 40)) / (2 * eps)
        assert shown[t] == pytest.approx(numeric * 1.0, rel=1e-4, abs=1e-7)  # x = 1 at the token
    assert np.all(shown[41:] == 0)  # later characters cannot matter to the loss at t = 40
    assert p.summary.text().startswith("Gradient × input of the loss at t = 40")
    # the input strip is coloured by the same numbers, and says so
    strip = panel(window, "InputPanel")
    strip.on_step(40)
    assert "background: gradient × input of the loss at t = 40" in strip.caption.text()


def test_integrated_gradients_add_up_to_the_change_from_the_all_zero_input(window, qtbot):
    session = window.session  # the adding demo
    session.set_step(29)
    p = front(window, "AttributionPanel", qtbot)
    p.target.setCurrentIndex(p.target.findData("prediction"))
    p.method.setCurrentIndex(p.method.findData("integrated_gradients"))
    qtbot.waitUntil(lambda: p.result is not None and p.result[0].method == "integrated_gradients", timeout=20000)
    found = p.result[0]
    model = session.model
    x = session.trace.x[0].astype(np.float64)
    predicted = model.predict(model.run(x[None], dtype=np.float64))[0, 29, 0]
    at_zero = model.predict(model.run(np.zeros_like(x)[None], dtype=np.float64))[0, 29, 0]
    assert found.target_value == pytest.approx(predicted, rel=1e-5)
    # the panel's 50 Gauss-Legendre nodes: within 2% of the change; more nodes converge to it
    assert found.values.sum() == pytest.approx(predicted - at_zero, rel=0.02)
    assert f"the target's change from the all-zero input is {predicted - at_zero:.4g}" in p.summary.text()
    finer, _ = session.core.analyze(
        "attribution", {"target": "prediction", "step": 29, "method": "integrated_gradients", "steps": 400}
    ).now()
    assert finer.values.sum() == pytest.approx(predicted - at_zero, abs=1e-4)


def test_contextual_decomposition_splits_the_prediction_into_the_span_and_the_rest(window, qtbot):
    session = window.session  # the adding demo: its marks are at t = 3 and t = 21
    session.set_step(29)
    p = front(window, "AttributionPanel", qtbot)
    p.target.setCurrentIndex(p.target.findData("prediction"))
    p.span_from.setValue(3)
    p.span_to.setValue(3)
    p.method.setCurrentIndex(p.method.findData("contextual_decomposition"))
    qtbot.waitUntil(lambda: p.result is not None and not hasattr(p.result[0], "per_step"), timeout=20000)
    found = p.result[0]
    assert found.span == (3, 4)
    predicted = session.model.predict(session.model.run(session.trace.x, dtype=np.float64))[0, :, 0]
    np.testing.assert_allclose(found.beta_logits[:, 0] + found.gamma_logits[:, 0], predicted, atol=1e-9)
    assert np.all(found.beta_logits[:3, 0] == 0)  # nothing comes from a span before it starts
    beta, gamma = found.beta_logits[29, 0], found.gamma_logits[29, 0]
    assert f"{beta:+.4g} comes from the input steps 3–3 and {gamma:+.4g} from the rest" in p.summary.text()


def test_gradient_flow_of_the_loss_matches_finite_differences_of_the_cell(window, qtbot):
    session = window.session  # the adding demo: one layer of 12 units, loss at the last step
    session.set_step(29)
    p = front(window, "GradientFlowPanel", qtbot)
    p.target.setCurrentIndex(p.target.findData("loss"))
    qtbot.waitUntil(lambda: p.flow is not None and p.flow.target.step == 29, timeout=20000)
    model, targets = session.model, session.core.targets
    layer = model.layers[0]
    x = session.trace.x[0].astype(np.float64)
    full = model.run(x[None], dtype=np.float64)
    t, eps = 10, 1e-6
    o_t, c_t = full.layers[0].output[0, t], full.layers[0].cell[0, t]

    def loss_with_cell(c):
        h = o_t * np.tanh(c)  # h_t follows c_t: the total derivative goes through both
        rest = model.run(x[None, t + 1 :], initial_state=[(h[None], c[None])], dtype=np.float64)
        return step_losses(
            model.readout,
            rest.output,
            targets.__class__(targets.values[:, t + 1 :], targets.mask[:, t + 1 :], targets.description),
        )[0, 29 - t - 1]

    grad = np.empty(layer.hidden_size)
    for u in range(layer.hidden_size):
        up, down = c_t.copy(), c_t.copy()
        up[u] += eps
        down[u] -= eps
        grad[u] = (loss_with_cell(up) - loss_with_cell(down)) / (2 * eps)
    shown = p.cell.yData  # the plotted values (the axis is logarithmic)
    assert shown[t] == pytest.approx(np.linalg.norm(grad), rel=1e-4)
    # the summary's ratios are read off the same curves
    rnn = p.rnn.yData
    assert f"is {shown[9] / shown[29]:.3g} times its size at t = 29" in p.summary.text()
    assert f"the tanh RNN's ||d/dh|| is {rnn[9] / rnn[29]:.3g} times" in p.summary.text()


def test_the_text_strip_colours_positive_attributions_red_and_negative_blue(window, qtbot):
    import re

    from PySide6.QtGui import QColor

    window.open_example("text", wait=True)
    session = window.session
    session.set_step(40)
    p = front(window, "AttributionPanel", qtbot)
    p.target.setCurrentIndex(p.target.findData("loss"))
    qtbot.waitUntil(lambda: p.result is not None and p.result[1].step == 40, timeout=20000)
    strip = panel(window, "InputPanel")
    strip.on_step(40)
    html = strip.tokens.text()
    values = p.per_step()
    colours = {int(t): QColor(c) for t, c in re.findall(r'href="(\d+)" style="background:(#[0-9a-f]{6})', html)}
    up, down = int(np.argmax(values)), int(np.argmin(values))
    assert values[up] > 0 > values[down]
    assert colours[up].red() > colours[up].blue()  # red: pushes the loss up
    assert colours[down].blue() > colours[down].red()  # blue: pulls it down
    assert "(red +, blue −)" in strip.caption.text()


def test_cancel_says_so_and_never_leaves_another_methods_numbers(window, qtbot):
    window.open_example("text", wait=True)
    window.session.set_step(200)
    p = front(window, "AttributionPanel", qtbot)
    p.method.setCurrentIndex(p.method.findData("integrated_gradients"))
    p.ask()
    assert p.result is None and p.summary.text() == "Computing…"  # not the previous method's numbers
    assert p.analyses.strip.isVisible()
    p.analyses.strip.cancel.click()
    assert p.summary.text() == "Cancelled." and p.result is None
    qtbot.waitUntil(lambda: not p.analyses.strip.isVisible(), timeout=5000)
