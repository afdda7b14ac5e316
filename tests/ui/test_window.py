"""The window, driven as a user would, checked against the engine's numbers."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QImage

from lstm_viz import LSTM
from lstm_viz.ui.main_window import MainWindow
from tests.ui.conftest import panel


def test_the_demo_opens_with_the_trained_adding_model(window):
    session = window.session
    assert session.trace.length == 30 and session.model.metadata["task"] == "adding"
    assert "adding_sequence.json" in window.windowTitle()
    assert "t = 0 / 29" in window.transport.position.text()


def test_every_time_axis_shows_the_same_steps(window):
    plots = [plot for p in window.panels for plot in p.time_plots()]
    ranges = [plot.vb.viewRange()[0] for plot in plots]
    names = {type(p).__name__ for p in window.panels if p.time_plots()}
    assert {"GateHeatmapsPanel", "CellTrajectoryPanel", "InputPanel", "PredictionsPanel", "GradientFlowPanel"} <= names
    for low, high in ranges:  # the whole sequence, not cut by plots of different widths
        assert low <= 0.0 and high >= 29.0
        assert (low, high) == pytest.approx(ranges[0])
    # a zoom by the user (what pyqtgraph's wheel and drag handlers do) reaches every plot
    plots[1].setXRange(5, 15, padding=0)
    plots[1].vb.sigRangeChangedManually.emit([True, False])
    for plot in plots:
        assert plot.vb.viewRange()[0] == pytest.approx([5, 15])
    assert window.session.core.time_range == (5.0, 15.0)
    plots[2].setXRange(-20, 3, padding=0)  # past the start: the core keeps it inside the sequence
    plots[2].vb.sigRangeChangedManually.emit([True, False])
    for plot in plots:
        assert plot.vb.viewRange()[0] == pytest.approx([0, 23])


def test_gate_bars_show_the_recorded_gates(window):
    window.session.set_step(7)
    gates = panel(window, "GateBarsPanel")
    lt = window.session.trace.layers[0]
    for name in ("forget", "input", "output"):
        np.testing.assert_array_equal(gates.shown_heights(name), getattr(lt, name)[0, 7])


def test_keys_move_every_cursor(window, qtbot):
    window.activateWindow()
    window.session.set_step(3)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.session.step == 4
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.step == 14
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.session.step == 29
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.session.step == 0
    window.session.set_step(12)
    heat = panel(window, "GateHeatmapsPanel")
    assert all(c.value() == 12.5 for c in heat.cursors.values())
    assert panel(window, "CellTrajectoryPanel").line.value() == 12
    assert panel(window, "InputPanel").line.value() == 12
    assert window.transport.slider.value() == 12 and "t = 12 / 29" in window.transport.position.text()


def test_clicking_a_heatmap_row_selects_that_unit_everywhere(window, qtbot):
    heat = panel(window, "GateHeatmapsPanel")
    plot = heat.plots["input"]
    scene_pos = plot.vb.mapViewToScene(QPointF(20.5, 3.5))
    view_pos = heat.graphics.mapFromScene(scene_pos)
    qtbot.mouseClick(heat.graphics.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert window.session.selected == [3] and window.session.step == 20
    assert panel(window, "CellTrajectoryPanel").units == [3]
    np.testing.assert_array_equal(panel(window, "GateBarsPanel").highlight.opts["x"], [3 * 4 + 1.0])
    memory = panel(window, "MemoryPanel")
    lt = window.session.trace.layers[0]
    assert f"cell {lt.cell[0, 20, 3]:+.3f}" in memory.numbers.text()
    trajectory = panel(window, "CellTrajectoryPanel")
    marker_x, marker_y = trajectory.marker.getData()
    assert marker_x.tolist() == [20] and marker_y[0] == pytest.approx(lt.cell[0, 20, 3])


def test_playback_shows_every_step(window, qtbot):
    seen = []
    window.session.stepChanged.connect(seen.append)
    window.transport.speed.setValue(240)
    window.transport.toggle()
    qtbot.waitUntil(lambda: not window.transport.timer.isActive(), timeout=5000)
    assert seen == list(range(1, 30))


def test_a_bad_file_leaves_the_session_intact(window, tmp_path):
    before = window.session.loaded
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    window.open_files(sequence_path=str(bad), wait=True)
    assert window.session.loaded is before
    assert "broken.npy" in window.last_error
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((5, 7), np.float32))
    window.open_files(sequence_path=str(wide), wait=True)
    assert window.session.loaded is before and "has 7 features per step but the model" in window.last_error
    assert "reads 2" in window.last_error and "random model sized to it" in window.last_error
    # the message's button opens the same file with a random model sized to it: no dead end
    window.accept_offer(wait=True)
    assert window.session.loaded.sequence_path == str(wide)
    assert window.session.model.input_size == 7 and window.session.trace.x.shape == (1, 5, 7)


def test_loading_runs_in_a_worker_with_progress(window, qtbot, tmp_path):
    x = np.random.default_rng(0).normal(size=(4000, 2)).astype(np.float32)
    np.save(tmp_path / "long.npy", x)
    window.open_files(sequence_path=str(tmp_path / "long.npy"))
    assert window.job is not None
    qtbot.waitUntil(lambda: window.session.trace.length == 4000, timeout=20000)
    expected = window.session.model.run(x)
    np.testing.assert_array_equal(window.session.trace.layers[0].cell, expected.layers[0].cell)


def test_a_random_model_for_a_sequence(window, tmp_path):
    np.save(tmp_path / "five.npy", np.ones((9, 5), np.float32))
    window.open_files(sequence_path=str(tmp_path / "five.npy"), random_spec=([6, 4], 2), wait=True)
    assert window.session.model.hidden_sizes == [6, 4]
    assert "random model 6,4 (seed 2)" in window.windowTitle()
    expected = LSTM.random(5, [6, 4], seed=2).run(np.ones((9, 5)))
    np.testing.assert_array_equal(window.session.trace.output, expected.output)
    window.session.set_layer(1)
    assert window.transport.layer.count() == 2


def test_text_input_is_shown_as_tokens(window, tmp_path):
    (tmp_path / "t.txt").write_text("hello", encoding="utf-8")
    window.open_files(sequence_path=str(tmp_path / "t.txt"), random_spec=([4], 0), wait=True)
    window.session.set_step(1)
    inputs = panel(window, "InputPanel")
    assert inputs.stack.currentIndex() == 1
    assert "step 1: 'e'" in inputs.caption.text()


def test_layout_survives_a_restart(qtbot, settings, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    panel(first, "MemoryPanel").hide()
    first.save_layout()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second.show()
    assert not panel(second, "MemoryPanel").isVisible()
    assert panel(second, "GateBarsPanel").isVisible()
    second.reset_layout()
    assert panel(second, "MemoryPanel").isVisible()


def test_screenshot_writes_a_real_picture(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "--screenshot", str(out), "--step", "5", "--size", "1280x800"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    colors = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 800, 7)}
    assert len(colors) > 50


def test_soak_12000_steps_with_every_panel_memory_stays_flat(window, qtbot):
    """Play 12,000 steps (looping the demo), painting regularly: no crash, no growth.

    The process's resident memory is checked over all of them (C++ and Python alike), and
    Python's own allocations to the byte over the last 3,000 (tracing all of them would
    triple the test's time). (20,000 steps took a minute of the suite's five; the million
    steps played by the next test cover the long run.)"""
    import tracemalloc

    def resident() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    transport = window.transport
    transport.loop.setChecked(True)
    for p in window.panels:  # the teaching panels are tabs by default: float them, so all are on screen
        if p.visibleRegion().isEmpty():
            p.setFloating(True)
            p.setGeometry(40, 40, 500, 400)  # a hidden tab keeps a place off the screen
            p.show()
    qtbot.waitUntil(lambda: not any(p._offscreen() for p in window.panels), timeout=5000)
    steps = [0]  # a count, not a list: a list of 12,000 steps would be growth of the test's own

    def count(step):
        steps[0] += 1

    window.session.stepChanged.connect(count)
    equations = panel(window, "EquationsPanel")

    def play(count):
        for k in range(count):
            transport._tick()
            if k % 20 == 0:
                window.repaint()
                qtbot.wait(0)

    play(300)
    rss_before = resident()
    play(8_700)
    tracemalloc.start()
    baseline = tracemalloc.take_snapshot()
    play(3_000)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(baseline, "filename"))
    tracemalloc.stop()
    rss_grown = resident() - rss_before
    assert all(p.isVisible() for p in window.panels)
    # ~40 KB a 1,000 steps is allocated inside Qt's signal emission and kept by it (no Python
    # container grows, and resident memory grew 0.01 MB over 20,000 steps): allow that, no more
    assert grown < 500_000
    assert rss_grown < 24_000_000  # under 2 KB a step, whatever allocates it
    assert steps[0] == 12_000
    qtbot.wait(60)  # the equations render at most every 40 ms during playback
    step = window.session.step  # the last step is what every panel shows
    assert equations.current.step == step and panel(window, "CellDiagramPanel").canvas.texts["caption"].endswith(
        f"t = {step}"
    )


def test_cancelling_a_long_load_keeps_the_session_and_the_window_paints_meanwhile(window, qtbot, tmp_path, monkeypatch):
    from lstm_viz.workbench import streaming

    monkeypatch.setattr(streaming, "FIRST_STEPS", 10**9)  # cancelled before any step shows: see test_streaming_ui
    before = window.session.loaded
    np.save(tmp_path / "long.npy", np.random.default_rng(1).normal(size=(400_000, 2)).astype(np.float32))
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(window.session.step))
    timer.start(5)
    progressed = []
    window.open_files(sequence_path=str(tmp_path / "long.npy"), random_spec=([256], 0))
    job = window.job
    job.progressed.connect(lambda done, total: progressed.append((done, total)))
    qtbot.waitUntil(lambda: len(progressed) > 0, timeout=20000)
    assert job.isRunning() and window.progress is not None
    assert progressed[0][1] == 400_000 and 0 < progressed[0][0] < 400_000
    from PySide6.QtWidgets import QPushButton

    button = window.progress.findChild(QPushButton)
    assert button.text() == "Cancel"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.job is None  # the window stops waiting at once
    qtbot.waitUntil(lambda: not window.abandoned, timeout=20000)  # finished (and then freed)
    qtbot.wait(50)
    timer.stop()
    assert window.session.loaded is before and window.progress is None
    assert "cancelled" in window.status.text()
    assert len(ticks) >= 3  # the GUI thread kept running its timers while the worker ran
    window.session.set_step(5)  # and the old session still works
    np.testing.assert_array_equal(
        panel(window, "GateBarsPanel").shown_heights("input"), before.trace.layers[0].input[0, 5]
    )


def test_a_saved_layout_naming_a_panel_that_no_longer_exists(qtbot, settings, monkeypatch):
    from PySide6.QtWidgets import QDockWidget

    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    first = MainWindow(settings)
    qtbot.addWidget(first)
    retired = QDockWidget("A panel of an older version")
    retired.setObjectName("RetiredPanel")
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, retired)
    panel(first, "InputPanel").hide()
    first.save_layout()
    second = MainWindow(settings)  # this version has no RetiredPanel
    qtbot.addWidget(second)
    second.show()
    assert not panel(second, "InputPanel").isVisible()
    assert panel(second, "GateBarsPanel").isVisible()
    second.reset_layout()
    assert all(p.isVisible() and not p.isFloating() for p in second.panels)


def test_the_toolbar_selectors_fit_what_they_hold_after_a_load_that_ends_after_the_first_show(qtbot, settings):
    """At start-up the demo loads in a worker while the window is already on screen."""
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.wait(10)
    window.open_demo()
    window.wait_for_job()
    qtbot.wait(10)
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    layer = window.transport.layer
    assert layer.currentText() == "0: 12 units"
    option = QStyleOptionComboBox()
    layer.initStyleOption(option)
    text = QSize(layer.fontMetrics().horizontalAdvance(layer.currentText()), layer.fontMetrics().height())
    needed = layer.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, option, text, layer).width()
    assert layer.width() >= needed  # text, frame and arrow all fit


def test_cancelling_a_load_that_blocks_frees_the_window_at_once_and_drops_its_result(window, qtbot):
    """A read stuck in the system (a pipe, a hung disk) cannot be interrupted: the window must
    not wait for it, and what it returns late must not replace the session."""
    import threading
    import time

    from lstm_viz.workbench import Work

    before = window.session.loaded
    release, applied = threading.Event(), []
    work = Work(lambda progress, cancel: release.wait(30) and "late result", applied.append, "Loading…")
    window.run_work(work, lambda message, error=None: None)
    job = window.job
    qtbot.waitUntil(job.isRunning, timeout=5000)
    started = time.perf_counter()
    window.cancel_job()
    assert time.perf_counter() - started < 0.2 and window.job is None and window.progress is None
    assert job.isRunning()  # still stuck, and the window is free
    window.session.set_step(4)
    assert window.session.step == 4 and window.session.loaded is before
    release.set()
    qtbot.waitUntil(lambda: not window.abandoned, timeout=5000)  # finished (and then freed)
    qtbot.wait(50)
    assert applied == [] and window.session.loaded is before


def test_quitting_with_a_worker_blocked_for_good_ends_cleanly():
    """A read that never returns must not turn quitting into a crash (Qt aborts when a running
    thread's object is destroyed)."""
    import subprocess
    import sys

    code = """
import os, threading
os.environ["QT_QPA_PLATFORM"] = "offscreen"; os.environ["LSTM_VIZ_NO_DIALOGS"] = "1"
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from lstm_viz.ui.app import leave
from lstm_viz.ui.main_window import MainWindow, STRANDED
from lstm_viz.workbench import Work
window = MainWindow(QSettings("/tmp/lstm-viz-quit-test.ini", QSettings.Format.IniFormat))
window.show()
never = threading.Event()
window.run_work(Work(lambda progress, cancel: never.wait(), lambda result: None), lambda *a: None)
window.cancel_job()
window.close()
window.deleteLater()
app.processEvents()
print("stranded", len(STRANDED), flush=True)
raise SystemExit(leave(3))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr  # the window's status, not SIGABRT (-6 / 134)
    assert "stranded 1" in result.stdout and "Destroyed while thread" not in result.stderr


def test_a_flood_of_progress_never_nests_and_the_dialog_shows_how_far(window, qtbot):
    """A modal QProgressDialog runs the event loop inside every setValue, so queued progress
    signals nested inside one another until the stack overflowed (a crash on a slow machine).
    Progress now arrives at most every 50 ms and is shown without re-entering the loop."""
    import threading

    from lstm_viz.workbench import Work

    depth, deepest, seen = [0], [0], []
    shown = threading.Event()
    original = window._progress

    def counting(done, total):
        depth[0] += 1
        deepest[0] = max(deepest[0], depth[0])
        seen.append(done)
        original(done, total)
        depth[0] -= 1

    window._progress = counting

    def run(progress, cancel):
        for i in range(200_000):
            progress(i + 1, 200_000)
            if i == 100_000:
                shown.wait(10)  # hold at the middle until the dialog is on screen
        return "done"

    applied = []
    window.run_work(Work(run, applied.append, "Counting…"), lambda *a: None)
    qtbot.waitUntil(lambda: window.progress is not None and window.progress.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: window.progress.bar.value() > 0, timeout=5000)
    assert window.progress.bar.maximum() == 200_000 and window.progress.label.text() == "Counting…"
    assert 0 < window.progress.bar.value() <= 100_001
    shown.set()
    qtbot.waitUntil(lambda: window.job is None, timeout=20000)
    assert applied == ["done"] and window.progress is None
    assert deepest[0] == 1  # never one progress call inside another
    assert seen[-1] == 200_000 and len(seen) < 500  # throttled, and the last step arrives


def test_soak_playing_a_million_steps_through_keeps_memory_flat(window, qtbot):
    """A 1,000,000-step trace played through at 'all in 10 s' (about 60 frames a second,
    each advancing by the steps the elapsed time asks for): the playback reaches the end,
    every time plot follows the cursor, and resident memory does not grow."""
    from lstm_viz.engine.sequence import Sequence
    from lstm_viz.workbench.loading import Loaded, OpenRequest

    def resident() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    model = LSTM.random(2, [8], seed=2)
    x = np.random.default_rng(3).normal(size=(1, 1_000_000, 2)).astype(np.float32)
    core = window.session.core
    core.show(Loaded(model, Sequence(values=x), model.run(x), "random", request=OpenRequest()))
    core.set_time_range(0, 2000)  # zoomed in: the view must turn pages to follow
    transport = window.transport
    transport.whole_in_ten_seconds()
    assert transport.speed.value() == 100_000
    ranges = []
    window.session.rangeChanged.connect(lambda t0, t1: ranges.append(t0))
    qtbot.wait(300)
    rss_before = resident()
    core.set_step(0)
    transport.toggle()
    qtbot.waitUntil(lambda: not transport.timer.isActive(), timeout=40_000)
    rss_grown = resident() - rss_before
    assert core.step == 999_999
    assert len(ranges) > 50 and ranges == sorted(ranges)  # pages turned forwards all the way
    t0, t1 = core.time_range
    assert t0 <= 999_999 <= t1 and t1 - t0 == 2000
    trajectories = panel(window, "CellTrajectoryPanel")
    assert trajectories.plot.getPlotItem().vb.viewRange()[0] == pytest.approx([t0, t1])
    assert trajectories.line.value() == 999_999
    assert rss_grown < 40_000_000


def test_the_panels_stay_put_when_the_window_lays_itself_out_again(window, qtbot):
    """Qt's dock layout took three passes to settle after the first show: a long status
    message (any new layout pass) moved every panel up by 2 pixels, and a video's first
    frames did not match its last."""
    qtbot.wait(20)
    before = {p.objectName(): p.geometry() for p in window.panels}
    window.status.setText("Exported 30 frames (steps 0 to 29) to a-long-file-name.mp4 (MP4, 1600x1000) " * 3)
    qtbot.wait(20)
    window.layout().invalidate()
    window.layout().activate()
    assert {p.objectName(): p.geometry() for p in window.panels} == before
    window.reset_layout()
    qtbot.wait(20)
    settled = {p.objectName(): p.geometry() for p in window.panels}
    window.layout().invalidate()
    window.layout().activate()
    assert {p.objectName(): p.geometry() for p in window.panels} == settled


def test_the_default_layout_gives_each_side_and_panel_its_share(window, qtbot):
    """The places' widths are shares of the window (60:40) and the panels of a column share
    it by their heights: at the start and after View > Reset layout alike (Qt took the widths
    as pixels and split the sides evenly, and a reset squeezed the gate bars to a strip)."""
    qtbot.wait(20)
    bars, heat = panel(window, "GateBarsPanel"), panel(window, "GateHeatmapsPanel")
    trajectories = panel(window, "CellTrajectoryPanel")

    def shares():
        return bars.width() / (bars.width() + trajectories.width()), bars.height() / heat.height()

    width_share, height_ratio = shares()
    assert width_share == pytest.approx(0.6, abs=0.03)
    assert height_ratio == pytest.approx(26 / 52, abs=0.1)
    window.reset_layout()
    qtbot.wait(20)
    assert shares() == pytest.approx((width_share, height_ratio), abs=0.01)


def test_a_long_message_in_a_panel_row_never_widens_its_dock(window, qtbot):
    """The family: a label whose text follows the data, in a dock (the heatmaps' row said
    why an RNN has no gates and the left side grew by 80 pixels, for good)."""
    from lstm_viz.ui.panels.base import RowText

    qtbot.wait(20)
    heat = panel(window, "GateHeatmapsPanel")
    before = heat.width()
    message = "a message far longer than any row of any panel could hold " * 4
    heat.info.setText(message)
    qtbot.wait(20)
    assert isinstance(heat.info, RowText) and heat.width() == before and heat.info.toolTip() == message
