"""Training in the window: a worker with live loss curves, pause, stop, save; the window
keeps working; the training slider shows any snapshot in every panel."""

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication, QDialog

from lstm_viz.io import load_model
from lstm_viz.workbench.training import SEQUENCE, TrainSpec
from tests.ui.conftest import panel


def training_panel(window):
    p = window.training_panel()
    p.show()
    p.raise_()
    p.ensure_built()
    QApplication.processEvents()
    return p


def curve_points(p, kind, which):
    """The points a loss curve was given (the plot draws their logarithm)."""
    curve = p.curves[(kind, which)]
    x, y = curve.xData, curve.yData
    return (np.zeros(0), np.zeros(0)) if x is None else (x, y)


def test_training_runs_in_a_worker_with_live_curves_and_the_window_keeps_working(window):
    p = training_panel(window)
    assert p.start([TrainSpec(task="adding", steps=1500, snapshot_every=100)])
    training = p.trainings[0]
    seen_while_training = []
    slowest = 0.0
    step = window.session.step
    while p.job is not None:
        step = (step + 1) % window.session.length
        t0 = time.perf_counter()
        window.session.set_step(step)  # the window steps while the model trains
        QApplication.processEvents()
        slowest = max(slowest, time.perf_counter() - t0)
        assert window.session.step == step
        if 0 < training.updates < 1500:
            seen_while_training.append(len(curve_points(p, "lstm", "train")[0]))
        time.sleep(0.01)
    p.wait()
    assert slowest < 0.5  # never held up by the training
    assert seen_while_training and max(seen_while_training) > 0  # the curve grew while it trained
    x, y = curve_points(p, "lstm", "train")
    np.testing.assert_array_equal(x, np.arange(1, 1501))
    np.testing.assert_allclose(y, training.losses)
    hx, hy = curve_points(p, "lstm", "held-out")
    assert list(hx) == [u for u, _ in training.heldout] and hy[-1] == training.heldout[-1][1]
    assert "1,500 of 1,500 updates" in p.status.text() and "(done)" in p.status.text()
    # once done, the trained model is what every panel shows
    assert window.session.loaded.model_description == "LSTM after 1500 updates"
    assert p.slider.isEnabled() and p.slider.value() == p.slider.maximum() == len(training.snapshots) - 1


def test_the_training_slider_shows_a_snapshot_in_every_panel(window, qtbot):
    p = training_panel(window)
    p.start([TrainSpec(task="adding", steps=300, snapshot_every=50)], wait=True)
    training = p.trainings[0]
    window.session.select_units([0, 1, 2])
    window.session.set_step(3)
    p.slider.setValue(2)  # after 100 updates
    qtbot.waitUntil(lambda: window.session.loaded.model_description == "LSTM after 100 updates", timeout=3000)
    assert p.slider_label.text().startswith("after 100 updates · held-out loss ")
    assert p.marker.value() == 100  # and the loss plot marks where it is
    expected = training.model_at(2).run(training.watched.values).layers[0]
    bars = panel(window, "GateBarsPanel")
    bars.show()
    bars.raise_()
    QApplication.processEvents()
    shown = {}
    for item in bars.findChildren(pg.GraphicsView)[0].scene().items():
        if isinstance(item, pg.BarGraphItem):
            heights = item.opts.get("height")
            if heights is not None and len(heights) == 12:
                shown[item.opts["brush"].color().name() if hasattr(item.opts["brush"], "color") else id(item)] = heights
    np.testing.assert_allclose(window.session.trace.layers[0].forget[0, 3], expected.forget[0, 3])
    assert any(np.allclose(h, expected.forget[0, 3], atol=1e-6) for h in shown.values())  # the bars drawn


def test_pause_stop_and_save(window, qtbot, tmp_path):
    p = training_panel(window)
    p.start([TrainSpec(task="adding", length=20, steps=1_000_000, snapshot_every=20)])
    training = p.trainings[0]
    qtbot.waitUntil(lambda: training.updates > 40, timeout=20000)
    p.pause_button.click()
    assert p.pause_button.text() == "Resume"
    time.sleep(0.15)
    QApplication.processEvents()
    held = training.updates
    time.sleep(0.3)
    QApplication.processEvents()
    assert training.updates == held and "(paused)" in p.status.text()
    assert p.slider.isEnabled()  # what it learnt so far can be looked at while it waits
    p.pause_button.click()
    qtbot.waitUntil(lambda: training.updates > held + 20, timeout=20000)
    p.stop_button.click()
    qtbot.waitUntil(lambda: p.job is None, timeout=20000)
    assert training.cancelled and "(stopped)" in p.status.text()
    assert training.snapshots[-1].update == training.updates < 1_000_000
    assert window.session.loaded.model_description == f"LSTM after {training.updates} updates"
    path = p.save(str(tmp_path / "learnt"))
    assert path.endswith("learnt.npz")
    saved = load_model(path)
    shown = training.model_at(p.slider.value())
    x = training.watched.values
    np.testing.assert_allclose(saved.run(x).output, shown.run(x).output, atol=1e-6)
    np.testing.assert_allclose(saved.readout.logits(saved.run(x).output), shown.readout.logits(shown.run(x).output))


def test_model_train_asks_in_a_dialog_and_trains_an_lstm_and_an_rnn_side_by_side(window, monkeypatch):
    from lstm_viz.ui.train_dialog import TrainDialog

    chosen = {}

    def exec_(dialog):
        dialog.task.setCurrentIndex(dialog.task.findData("adding"))
        dialog.model.setCurrentIndex(dialog.model.findData("both"))
        dialog.hidden.setValue(6)
        dialog.steps.setValue(150)
        dialog.length.setValue(12)
        chosen["specs"] = dialog.specs()
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(TrainDialog, "exec", exec_)
    window.ask_train()
    p = window.training_panel()
    p.wait()
    specs = chosen["specs"]
    assert [s.kind for s in specs] == ["lstm", "rnn"]
    assert all((s.hidden, s.steps, s.length, s.lr, s.seed) == (6, 150, 12, 0.005, 0) for s in specs)
    assert [t.spec.kind for t in p.trainings] == ["lstm", "rnn"] and all(t.updates == 150 for t in p.trainings)
    assert len(curve_points(p, "rnn", "train")[0]) == 150  # both drawn
    assert p.which.isVisible() or not p.isVisible()
    p.which.setCurrentIndex(1)
    p.slider.setValue(0)
    p.show_snapshot()
    assert window.session.loaded.model_description == "tanh RNN after 0 updates"
    # the dialog remembers the choices for the next time
    again = TrainDialog(window.settings, True, window)
    assert (again.model.currentData(), again.hidden.value(), again.steps.value()) == ("both", 6, 150)


def test_training_on_the_open_sequence(window, tmp_path):
    values = np.sin(np.arange(300) / 4)[:, None]
    path = tmp_path / "wave.csv"
    path.write_text("value\n" + "\n".join(f"{v:.6f}" for v in values[:, 0]), encoding="utf-8")
    window.open_files(sequence_path=str(path), random_spec=((8,), 0), wait=True)
    assert window.session.length == 300
    p = training_panel(window)
    p.start([TrainSpec(task=SEQUENCE, hidden=8, length=40, steps=200)], wait=True)
    training = p.trainings[0]
    assert training.task.kind == "regression"
    assert window.session.length == 300 and window.session.loaded.model_description == "LSTM after 200 updates"
    np.testing.assert_allclose(window.session.sequence.values[0, :, 0], values[:, 0], atol=1e-6)
    assert training.heldout[-1][1] < 0.5 * training.heldout[0][1]


def test_training_a_task_that_cannot_be_learnt_says_why_and_keeps_the_session(window, monkeypatch):
    messages = []
    monkeypatch.setattr(window, "show_error", lambda title, message, offer=None: messages.append(message))
    before = window.session.loaded
    p = training_panel(window)
    assert not p.start([TrainSpec(task="adding", hidden=0)])
    assert messages and "hidden must be at least 1" in messages[-1]
    assert window.session.loaded is before


@pytest.fixture(autouse=True)
def _stop_training(window):
    yield
    p = window.training_panel()
    if p.built and p.job is not None:
        p.stop()
        p.wait()


def drawn_bars(window, count):
    """Heights of the gate panel's bar sets with ``count`` bars, as drawn."""
    bars = panel(window, "GateBarsPanel")
    bars.show()
    bars.raise_()
    QApplication.processEvents()
    return [
        np.asarray(item.opts["height"])
        for view in bars.findChildren(pg.GraphicsView)
        for item in view.scene().items()
        if isinstance(item, pg.BarGraphItem)
        and item.opts.get("height") is not None
        and len(item.opts["height"]) == count
    ]


def test_the_slider_shows_the_write_gate_learning_to_open_at_the_marks(window, qtbot):
    """The issue's example: scrubbing the training slider of the adding problem, the write
    gate of the unit that stores the marked values opens at the marks only once trained.
    Measured on 200 fresh sequences (write gate at the marks minus elsewhere, the unit
    where it is largest at the end): 0.04 untrained, 0.74 after 900 updates (seed 0)."""
    from lstm_viz.engine.tasks import AddingTask

    p = training_panel(window)
    p.start([TrainSpec(task="adding", length=30, steps=1000, snapshot_every=100, seed=0)], wait=True)
    training = p.trainings[0]
    fresh = AddingTask(30).batch(np.random.default_rng(5), 200).x
    marked = fresh[:, :, 1] == 1

    def contrast(index):
        write = np.asarray(training.model_at(index).run(fresh).layers[0].input)
        return write[marked].mean(0) - write[~marked].mean(0)

    first, last = contrast(0), contrast(len(training.snapshots) - 1)
    unit = int(np.argmax(last))
    assert first.max() < 0.15 and last[unit] > 0.5  # untrained: no unit opens at the marks; trained: one does

    # the same, as the window shows it on the watched sequence: its marks and the steps between
    marks = np.flatnonzero(training.watched.values[0, :, 1] == 1)
    window.session.select_units([unit])
    shown = {}
    for index in (0, len(training.snapshots) - 1):
        p.slider.setValue(index)
        update = training.snapshots[index].update
        qtbot.waitUntil(lambda u=update: window.session.loaded.model_description == f"LSTM after {u} updates")
        write = np.asarray(window.session.trace.layers[0].input[0, :, unit])
        at_marks = []
        for step in marks:
            window.session.set_step(int(step))
            heights = drawn_bars(window, 12)
            assert any(np.isclose(h[unit], write[step], atol=1e-6) for h in heights)  # the bar drawn
            at_marks.append(write[step])
        between = np.delete(write, marks)
        keep = np.asarray(window.session.trace.layers[0].forget[0, marks[0] + 1 : marks[1] + 1, unit])
        shown[index] = (min(at_marks), float(np.median(between)), float(keep.mean()))
    untrained, trained = shown[0], shown[len(training.snapshots) - 1]
    assert untrained[0] - untrained[1] < 0.15  # the write gate at the marks: like any other step
    assert trained[0] - trained[1] > 0.5  # wide open at both marks, well above the steps between
    # and the keep gate between the marks (README: 0.56 untrained, 0.97 after 1000 updates)
    assert untrained[2] < 0.7 and trained[2] > 0.9


def test_the_window_trains_in_another_process(window, qtbot):
    """Training in a thread of the window's process shared Python's lock with it (a step
    drawn during an update waited for it): the updates are made in a child process, and the
    window's process only takes in the losses and snapshots."""
    import multiprocessing

    from lstm_viz.workbench import training as module

    p = training_panel(window)
    here = []
    original = module.train  # what Training.run calls, in whatever process runs it
    module.train = lambda *a, **k: (here.append(1), original(*a, **k))[1]
    try:
        p.start([TrainSpec(task="adding", length=20, steps=300, snapshot_every=100)])
        children = multiprocessing.active_children
        qtbot.waitUntil(lambda: any(c.name == "lstm-viz training" for c in children()), timeout=20000)
        qtbot.waitUntil(lambda: p.job is None, timeout=60000)
    finally:
        module.train = original
    assert here == []  # no update made in this process
    training = p.trainings[0]
    assert training.updates == 300 and [s.update for s in training.snapshots] == [0, 100, 200, 300]
    assert window.session.loaded.model_description == "LSTM after 300 updates"


def test_the_which_box_shows_the_chosen_model_and_the_gates_come_back_whole(window, qtbot):
    """LSTM and RNN side by side: choosing the other model shows it in every panel at once
    (only the slider's label changed), and after the RNN (no gates: the heatmaps hidden) an
    LSTM's heatmaps fill their panel again (they were left squeezed into a corner)."""
    p = training_panel(window)
    specs = [TrainSpec(task="adding", steps=100, snapshot_every=50), TrainSpec(task="adding", kind="rnn", steps=100)]
    p.start(specs, wait=True)
    assert window.session.loaded.model_description == "LSTM after 100 updates"
    heat = panel(window, "GateHeatmapsPanel")
    heat.show()
    heat.raise_()
    QApplication.processEvents()
    full = {name: plot.geometry().width() for name, plot in heat.plots.items()}
    assert min(full.values()) > 0.8 * heat.graphics.width()
    p.which.setCurrentIndex(1)
    assert window.session.loaded.model_description == "tanh RNN after 100 updates"
    assert not window.session.layer_trace.is_lstm and p.slider.value() == p.slider.maximum()
    QApplication.processEvents()
    assert not heat.graphics.isVisible() and heat.rnn_note.isVisible()
    p.which.setCurrentIndex(0)
    assert window.session.loaded.model_description == "LSTM after 100 updates"
    qtbot.wait(20)
    assert heat.graphics.isVisible() and not heat.rnn_note.isVisible()
    assert {name: plot.geometry().width() for name, plot in heat.plots.items()} == full
    assert min(plot.geometry().height() for plot in heat.plots.values()) > 30


def test_a_new_run_drops_the_last_run_s_slider_label_and_marker(window, qtbot):
    p = training_panel(window)
    p.start([TrainSpec(task="adding", steps=60, snapshot_every=20)], wait=True)
    assert p.slider_label.text().startswith("after 60 updates") and p.marker.isVisible()
    p.start([TrainSpec(task="adding", length=20, steps=1_000_000, snapshot_every=1000)])
    try:
        assert p.slider_label.text() == "" and not p.marker.isVisible()
    finally:
        p.stop_button.click()
        qtbot.waitUntil(lambda: p.job is None, timeout=20000)


def test_clicking_a_slider_s_groove_moves_the_handle_there(window, qtbot):
    """As in a media player: the training slider and the step slider go where they are
    clicked (a click moved them ten snapshots or steps towards it)."""
    from PySide6.QtCore import QPoint, Qt

    p = training_panel(window)
    p.start([TrainSpec(task="adding", steps=400, snapshot_every=10)], wait=True)
    for slider in (p.slider, window.transport.slider):
        slider.setValue(slider.maximum())
        QApplication.processEvents()
        qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() // 4, slider.height() // 2))
        expected = slider.maximum() / 4
        assert abs(slider.value() - expected) <= max(2, 0.06 * slider.maximum()), (slider.value(), expected)


def test_the_slider_says_when_another_model_is_open(window, qtbot):
    """Opening an example after a training: the slider's label and the status say the
    panels show another model; moving the slider shows the training again."""
    p = training_panel(window)
    p.start([TrainSpec(task="adding", steps=100, snapshot_every=50)], wait=True)
    assert "not shown" not in p.slider_label.text()
    window.open_example("brackets", wait=True)
    p.show()
    p.raise_()
    QApplication.processEvents()
    assert p.slider_label.text().endswith("· not shown") and "another model" in p.status.text()
    p.slider.setValue(1)
    qtbot.waitUntil(lambda: window.session.loaded.model_description == "LSTM after 50 updates", timeout=3000)
    assert "not shown" not in p.slider_label.text()


def test_the_loss_axis_labels_only_powers_of_ten_when_one_is_in_view(window):
    p = training_panel(window)
    p.start([TrainSpec(task="adding", steps=100, snapshot_every=50)], wait=True)
    axis = p.plot.getPlotItem().getAxis("left")
    axis.setRange(-1.2, 0.1)  # 0.063 .. 1.26 (log10): 0.1 and 1 in view
    minor = [np.log10(v) for v in (0.07, 0.08, 0.09, 0.2, 0.3)]
    strings = axis.tickStrings([-1.0, 0.0, *minor], 1.0, 1.0)
    assert strings[:2] != ["", ""] and all(s == "" for s in strings[2:])
    axis.setRange(-0.9, -0.6)  # within one decade (0.13 .. 0.25): the others stay labelled
    assert all(axis.tickStrings([np.log10(0.2)], 1.0, 0.1))


def test_the_train_dialog_remembers_the_length(window, settings):
    from lstm_viz.ui.train_dialog import TrainDialog

    dialog = TrainDialog(settings, has_sequence=True)
    dialog.length.setValue(50)
    dialog.accept()
    again = TrainDialog(settings, has_sequence=True)
    assert again.length.value() == 50


def test_the_trajectories_box_offers_only_h_for_a_tanh_rnn(window):
    """The box said 'memory cell c(t)' over a plot of h(t) for an RNN; the LSTM's choice
    comes back with the LSTM."""
    p = training_panel(window)
    specs = [TrainSpec(task="adding", steps=50), TrainSpec(task="adding", kind="rnn", steps=50)]
    p.start(specs, wait=True)
    trajectories = panel(window, "CellTrajectoryPanel")
    trajectories.show()
    trajectories.raise_()
    QApplication.processEvents()
    box = trajectories.choice
    assert box.currentData() == "cell"
    p.which.setCurrentIndex(1)
    QApplication.processEvents()
    assert (
        box.currentData() == "hidden" and trajectories.plot.getPlotItem().getAxis("left").labelText == box.currentText()
    )
    assert not box.model().item(box.findData("cell")).isEnabled()
    p.which.setCurrentIndex(0)
    QApplication.processEvents()
    assert box.currentData() == "cell" and box.model().item(box.findData("cell")).isEnabled()
