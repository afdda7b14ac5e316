"""Moving through time: the overview's window, go to, next event, fast playback."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from lstm_viz.engine import LSTM
from lstm_viz.engine.sequence import Sequence
from lstm_viz.workbench.loading import Loaded, OpenRequest
from tests.ui.conftest import panel


def show_long(window, length=20_000, hidden=16, labels=None):
    model = LSTM.random(2, [hidden], seed=4)
    x = np.random.default_rng(1).normal(size=(1, length, 2)).astype(np.float32)
    sequence = Sequence(values=x, labels=labels or [])
    window.session.core.show(Loaded(model, sequence, model.run(x), "random", request=OpenRequest()))
    return window.session.core


def test_the_overview_window_is_the_visible_range_and_drags_it(window, qtbot):
    core = show_long(window)
    overview = panel(window, "OverviewPanel")
    assert overview.window_item.getRegion() == pytest.approx((0, 20_000))
    core.set_time_range(1000, 3000)
    assert overview.window_item.getRegion() == pytest.approx((1000, 3000))
    overview.window_item.setRegion((5000, 5500))  # what dragging it does
    assert core.time_range == (5000.0, 5500.0)
    trajectories = panel(window, "CellTrajectoryPanel")
    assert trajectories.plot.getPlotItem().vb.viewRange()[0] == pytest.approx([5000, 5500])
    # the strip's curves: every feature's min and max per column over the whole sequence, scaled to 0..1
    x, y = overview.curves[0].getData()
    feature = core.trace.x[0, :, 0].astype(np.float64)
    low, high = feature.min(), feature.max()
    steps = int(x[2] - x[0])
    assert len(x) == 2 * -(-20_000 // steps) and steps <= 20_000 / 2048 * 2
    from lstm_viz.ui.panels.overview import LANE

    for k in range(len(x) // 2):  # the first of two features in the upper lane
        block = 1 + LANE * (feature[k * steps : (k + 1) * steps] - low) / (high - low)
        assert y[2 * k] == pytest.approx(block.min()) and y[2 * k + 1] == pytest.approx(block.max())
    assert "input: x0, x1" in overview.what.text() and "steps 5,000–5,499 shown" in overview.what.text()


def test_the_wheel_over_the_overview_zooms_around_the_mouse(window, qtbot):
    core = show_long(window)
    overview = panel(window, "OverviewPanel")
    vb = overview.plot.getPlotItem().vb

    class Wheel:
        def __init__(self, x):
            self._pos = vb.mapViewToScene(QPointF(x, 0.5))
            self.accepted = False

        def delta(self):
            return 120

        def scenePos(self):
            return self._pos

        def accept(self):
            self.accepted = True

    core.set_time_range(0, 20_000)
    overview._wheel(Wheel(10_000))
    t0, t1 = core.time_range
    assert t1 - t0 == pytest.approx(20_000 * 0.85, rel=1e-3) and (t0 + t1) / 2 == pytest.approx(10_000, rel=1e-3)


def test_go_to_a_step_or_a_label_and_say_when_there_is_none(window, qtbot):
    labels = [f"2024-01-{d:02d}" for d in range(1, 31)] * 10
    core = show_long(window, length=300, labels=labels)
    bar = window.navigate
    bar.goto.setText("150")
    bar.goto.returnPressed.emit()
    assert core.step == 150
    bar.goto.setText("2024-01-05")
    bar.goto.returnPressed.emit()
    assert core.step == 154 and labels[154] == "2024-01-05"  # the next one after step 150
    bar.goto.setText("900")
    bar.goto.returnPressed.emit()
    assert core.step == 154 and "no step 900 (steps 0 to 299)" in bar.message.text()
    bar.goto.setText("1999")
    bar.goto.returnPressed.emit()
    assert "no step's label starts with '1999'" in bar.message.text()


def test_next_event_goes_where_the_selected_units_gate_crosses(window, qtbot):
    core = show_long(window, length=5000)
    bar = window.navigate
    unit = core.selected[0]
    write = core.quantity("input")[:, unit]
    threshold = float(np.quantile(write, 0.9))
    bar.quantity.setCurrentIndex(bar.quantity.findData("input"))
    bar.direction.setCurrentIndex(bar.direction.findData("up"))
    bar.threshold.setValue(threshold)
    threshold = bar.threshold.value()  # as the box rounds it
    core.set_step(0)
    expected = [s for s in range(1, 5000) if write[s - 1] <= threshold < write[s]]
    window.activateWindow()
    window.setFocus()
    for want in expected[:3]:
        qtbot.keyClick(window, Qt.Key.Key_N)
        assert core.step == want
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert core.step == expected[1]
    assert f"at t = {expected[1]}" in bar.message.text()


def test_fast_playback_advances_by_the_time_elapsed(window, qtbot):
    core = show_long(window, length=100_000)
    transport = window.transport
    transport.whole_in_ten_seconds()
    assert transport.speed.value() == 10_000
    core.set_step(0)
    transport.toggle()
    qtbot.wait(500)
    transport.pause()
    # about 5,000 steps in half a second (a loaded machine draws fewer frames, not fewer steps)
    assert 2_500 <= core.step <= 9_000
    t0, t1 = core.time_range
    assert t0 <= core.step <= t1  # the plots followed the cursor
    transport.speed.setValue(8)  # slow: one step a tick, every step drawn
    assert transport.steps_due() == 1


def test_the_transports_sequence_box_follows_a_sequence_chosen_elsewhere(window, qtbot):
    model = LSTM.random(2, [4], seed=4)
    x = np.random.default_rng(1).normal(size=(3, 50, 2)).astype(np.float32)
    sequence = Sequence(values=x, names=["north", "south", "east"])
    window.session.core.show(Loaded(model, sequence, model.run(x), "random", request=OpenRequest()))
    window.session.set_batch(2)  # as the Sequences panel does
    assert window.transport.batch.currentIndex() == 2 and window.transport.batch.currentText() == "east"


def test_a_long_dated_sequence_gets_dates_across_its_time_axis_and_a_whole_position(window, qtbot):
    import datetime

    start = datetime.datetime(2005, 1, 1)
    labels = [(start + datetime.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M") for h in range(200_000)]
    show_long(window, length=200_000, labels=labels)
    axis = panel(window, "CellTrajectoryPanel").step_axes[0]
    assert axis.labels is not None  # dated labels are shown as dates
    ((spacing, _),) = axis.tickSpacing(0, 200_000, 900)
    assert 4 <= 200_000 / spacing <= 12  # a handful of dates across 900 pixels, not one
    shown = [s for s in axis.tickStrings(np.arange(0, 200_000, spacing), 1, spacing) if s]
    assert len(shown) >= 4 and shown[0] == "2005-01-01 00:00"
    position = window.transport.position
    window.session.set_step(199_999)
    assert position.fontMetrics().horizontalAdvance(position.text()) <= position.width()  # not cut off
