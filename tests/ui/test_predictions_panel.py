"""The predictions panel: what it shows, checked against sums, softmaxes and squares by hand."""

import numpy as np
import pytest

from tests.ui.conftest import panel


def shown(window):
    p = panel(window, "PredictionsPanel")
    p.show()
    p.raise_()
    window.repaint()
    return p


def test_the_adding_demo_shows_its_sum_next_to_the_true_sum_and_the_squared_error(window):
    p = shown(window)
    session = window.session
    last = session.length - 1
    session.set_step(last)
    x = session.trace.x[0]
    true_sum = float(x[x[:, 1] == 1, 0].sum())  # the two marked values, added by hand
    readout = session.model.readout
    predicted = float(session.trace.output[0, last] @ readout.W[:, 0] + readout.b[0])
    text = p.summary.text()
    assert f"predicted {predicted:.4f}" in text and f"target {true_sum:.4f}" in text
    assert f"loss {(predicted - true_sum) ** 2:.5f}" in text
    # the curve is the prediction at every step; the target is one dot, at the last step
    xs, ys = p.prediction_curves[0].getData()
    np.testing.assert_allclose(ys, session.trace.output[0] @ readout.W[:, 0] + readout.b[0], rtol=1e-5)
    tx, ty = p.target_curves[0].getData()
    assert np.count_nonzero(np.isfinite(ty)) == 1 and ty[last] == pytest.approx(true_sum)
    lx, ly = p.loss_curve.getData()
    assert np.isnan(ly[:last]).all() and ly[last] == pytest.approx((predicted - true_sum) ** 2, rel=1e-5)
    session.set_step(3)  # no target there: it says so instead of a loss
    assert "no target at this step (the target is the sum of the marked values, at the last step)" in p.summary.text()


def test_the_text_model_shows_its_top_five_and_the_probability_of_the_right_next_character(window):
    window.open_example("text", wait=True)
    p = shown(window)
    session = window.session
    step = 40
    session.set_step(step)
    readout = session.model.readout
    logits = session.trace.output[0, step].astype(np.float64) @ readout.W + readout.b
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(probs)[::-1][:5]
    text = p.describe(step, 0.5)
    listed = ", ".join(f"{readout.labels[k]!r} {probs[k]:.3f}" for k in order)
    assert f"next: {listed}" in text
    following = session.sequence.batch_labels[0][step + 1]  # the character after this one
    right = readout.labels.index(following)
    assert f"right answer {following!r} p = {probs[right]:.4f}" in text
    assert f"loss {-np.log(probs[right]):.4f} nats" in text
    _, right_curve = p.target_curves[0].getData()
    assert right_curve[step] == pytest.approx(probs[right], rel=1e-5)
    assert np.isnan(right_curve[-1])  # the last character has no next one in the sequence


def test_a_model_without_a_readout_says_there_is_nothing_to_predict(window):
    window.open_example("tutorial_cell", wait=True)
    p = shown(window)
    assert "no readout" in p.summary.text()
    assert all(not c.isVisible() for c in p.prediction_curves)


def test_a_built_in_tasks_model_on_the_users_own_series_takes_the_next_value_as_target(window, tmp_path):
    window.open_example("sine", wait=True)
    session = window.session
    model_path = session.loaded.model_path
    values = np.sin(np.arange(50) * 0.4)[:, None].astype(np.float32)
    np.save(tmp_path / "wave.npy", values)
    window.open_files(sequence_path=str(tmp_path / "wave.npy"), model_path=model_path, wait=True)
    p = shown(window)
    assert session.model.metadata.get("task") == "sine"  # a known task: the next input is the target
    session.set_step(10)
    assert f"target {values[11, 0]:.4f}" in p.summary.text()


def test_an_imported_regressor_of_unknown_task_shows_predictions_and_says_why_there_is_no_loss(window):
    window.open_example("sine", wait=True)
    session = window.session
    session.model.metadata.pop("task")  # as a model from another tool: nothing says what it was trained for
    session.core._figures.clear()
    session.traceChanged.emit()
    p = shown(window)
    session.set_step(12)
    assert "no target is known for this sequence, so there is no loss" in p.summary.text()
    assert p.prediction_curves[0].isVisible()
    xs, _ = p.loss_curve.getData()
    assert xs is None or len(xs) == 0


def test_switching_off_the_counting_unit_shows_the_loss_rising_against_the_original(window, qtbot):
    """Units panel > switch off: a what-if with keep and write held at 0; the predictions
    panel draws the run before it dashed and says both mean losses (computed here)."""
    from lstm_viz.engine.targets import step_losses
    from lstm_viz.engine.whatif import Clamp, rerun

    window.open_example("brackets", wait=True)
    session = window.session
    units = panel(window, "UnitsPanel")
    units.show()
    units.raise_()
    session.select_units([4])
    session.set_step(5)
    units.switch_off.click()
    window.wait_for_job()
    qtbot.waitUntil(lambda: session.core.what_if is not None, timeout=10000)
    p = shown(window)
    model, targets, original = session.model, session.core.targets, session.core.loaded.trace
    off = rerun(model, original, start=5, clamps=[Clamp(0, "forget", 0.0, 5, (4,)), Clamp(0, "input", 0.0, 5, (4,))])
    after = np.nanmean(step_losses(model.readout, off.output, targets)[0])
    before = np.nanmean(step_losses(model.readout, original.output, targets)[0])
    assert after > 10 * before  # without its counter the model loses the depth
    assert f"mean loss {after:.4g} (before the what-if {before:.4g})" in p.summary.text()
    _, ghost = p.ghost.getData()
    np.testing.assert_allclose(ghost, original.output[0] @ model.readout.W[:, 0] + model.readout.b[0], rtol=1e-5)
    whatif = panel(window, "WhatIfPanel")  # the What if… panel lists the change and can undo it
    whatif.raise_()
    qtbot.wait(1)
    assert [whatif.changes.item(k).text() for k in range(whatif.changes.count())] == [
        c.describe() for c in session.core.what_if.clamps
    ]


def test_hovering_a_step_shows_its_exact_numbers_in_the_status_bar(window):
    """Tooltips need an active window; the status bar shows the same numbers regardless."""
    from PySide6.QtCore import QPointF

    p = shown(window)
    view = p.plot.getPlotItem().vb
    p.plot.scene().sigMouseMoved.emit(view.mapViewToScene(QPointF(29, 0.5)))
    readout = window.session.model.readout
    predicted = float(window.session.trace.output[0, 29] @ readout.W[:, 0] + readout.b[0])
    assert f"predicted {predicted:.4f}" in window.statusBar().currentMessage()
    p.plot.scene().sigMouseMoved.emit(QPointF(-1000, -1000))  # off the plot
    assert window.statusBar().currentMessage() == ""
