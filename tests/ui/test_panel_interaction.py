"""Hover shows exact values and clicks select units, in every panel; the random-model
dialog; DNA shown as bases. Values are checked against the engine's trace."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from lstm_viz import LSTM
from lstm_viz.ui.main_window import RandomModelDialog
from tests.ui.conftest import panel


def view_pos(plot_widget, x, y):
    """Widget coordinates in ``plot_widget``'s viewport of the data point (x, y)."""
    scene = plot_widget.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    return plot_widget.mapFromScene(scene)


def hover(qtbot, plot_widget, x, y):
    """Move the mouse there (a real move event through the view and its scene).

    Sent directly: QTest.mouseMove delivers only the first of several moves offscreen.
    pyqtgraph drops moves that come within 10 ms of the last one, as a hand never does."""
    qtbot.wait(15)
    viewport = plot_widget.viewport()
    local = QPointF(view_pos(plot_widget, x, y))
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        local,
        QPointF(viewport.mapToGlobal(local)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def click(qtbot, plot_widget, x, y, modifiers=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(plot_widget.viewport(), Qt.MouseButton.LeftButton, modifiers, view_pos(plot_widget, x, y))


def test_hovering_a_gate_bar_shows_its_exact_value(window, qtbot):
    window.session.set_step(7)
    gates = panel(window, "GateBarsPanel")
    lt = window.session.trace.layers[0]
    hover(qtbot, gates.plot, 5 * gates.GROUP + 1, 0.05)  # unit 5, its write (input) bar
    label = window.session.label(7)
    assert gates.hover_text == f"Write (input) gate · unit 5 · t = 7 ({label!r}) · {lt.input[0, 7, 5]:.4f}"
    hover(qtbot, gates.plot, 9 * gates.GROUP + 2, 0.05)  # unit 9, read (output)
    assert gates.hover_text.startswith("Read (output) gate · unit 9")
    assert gates.hover_text.endswith(f"{lt.output[0, 7, 9]:.4f}")
    assert window.statusBar().currentMessage().startswith("Read (output) gate · unit 9")
    # the mouse leaves the plot (no move over it says so): the readout goes with it
    QApplication.sendEvent(gates.plot, QEvent(QEvent.Type.Leave))
    assert gates.hover_text == "" and window.statusBar().currentMessage() == ""


def test_clicking_a_gate_bar_selects_that_unit_everywhere(window, qtbot):
    gates = panel(window, "GateBarsPanel")
    click(qtbot, gates.plot, 4 * gates.GROUP, 0.1)
    assert window.session.selected == [4]
    assert panel(window, "CellTrajectoryPanel").units == [4]
    assert panel(window, "MemoryPanel").units == [4]
    click(qtbot, gates.plot, 6 * gates.GROUP + 2, 0.1, Qt.KeyboardModifier.ControlModifier)
    assert window.session.selected == [4, 6]
    np.testing.assert_array_equal(gates.highlight.opts["x"], [4 * 4 + 1.0, 6 * 4 + 1.0])


def test_trajectory_hover_and_click_pick_the_nearest_curve(window, qtbot):
    window.session.select_units([2, 10])
    trajectory = panel(window, "CellTrajectoryPanel")
    lt = window.session.trace.layers[0]
    c = lt.cell[0]
    hover(qtbot, trajectory.plot, 15, c[15, 10])
    assert (
        trajectory.hover_text == f"memory cell c(t) · unit 10 · t = 15 ('{window.session.label(15)}') · {c[15, 10]:.4f}"
    )
    click(qtbot, trajectory.plot, 12, c[12, 2])
    assert window.session.selected == [2] and window.session.step == 12
    # away from every curve a click only moves the step
    click(qtbot, trajectory.plot, 25, c[25, 2] + 0.5 * (trajectory.plot.getPlotItem().vb.viewRange()[1][1] - c[25, 2]))
    assert window.session.selected == [2] and window.session.step == 25


def test_memory_hover_shows_the_update_of_that_unit(window, qtbot):
    window.session.select_units([1, 10])
    window.session.set_step(21)
    memory = panel(window, "MemoryPanel")
    lt = window.session.trace.layers[0]
    hover(qtbot, memory.plot, 1.0, 0.0)  # the second selected unit
    assert memory.hover_text.startswith("unit 10 · t = 21")
    old, new, cell = lt.old[0, 21, 10], lt.new[0, 21, 10], lt.cell[0, 21, 10]
    assert f"old {old:.4f} + new {new:.4f} = cell {cell:.4f}" in memory.hover_text
    assert f"output {lt.hidden[0, 21, 10]:.4f}" in memory.hover_text
    assert old + new == pytest.approx(cell, abs=1e-6)


def test_input_curves_hover(window, qtbot):
    inputs = panel(window, "InputPanel")
    x = window.session.trace.x[0]
    hover(qtbot, inputs.plot, 3, x[3, 1])
    assert inputs.hover_text == f"input marker · t = 3 ({window.session.label(3)!r}) · {x[3, 1]:.6g}"


def test_new_random_model_dialog(window, qtbot):
    demo_x = window.session.trace.x.copy()

    def fill(sizes, seed):
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RandomModelDialog)
        dialog.sizes.setText(sizes)
        dialog.seed.setValue(seed)
        dialog.accept()

    QTimer.singleShot(0, lambda: fill("7, 3", 5))
    window.ask_random_model()
    qtbot.waitUntil(lambda: window.session.model.hidden_sizes == [7, 3], timeout=10000)
    expected = LSTM.random(2, [7, 3], seed=5).run(demo_x)
    np.testing.assert_array_equal(window.session.trace.layers[1].cell, expected.layers[1].cell)
    assert "random model 7,3 (seed 5)" in window.windowTitle()
    before = window.session.loaded
    QTimer.singleShot(0, lambda: fill("7, x", 1))
    window.ask_random_model()
    assert window.session.loaded is before
    assert "7, x" in window.last_error and "positive whole numbers" in window.last_error


def test_dna_is_shown_as_coloured_bases(window, qtbot, tmp_path):
    (tmp_path / "seq.fa").write_text(">read1\nACGTTGCA\n", encoding="ascii")
    window.open_files(sequence_path=str(tmp_path / "seq.fa"), random_spec=([5], 0), wait=True)
    inputs = panel(window, "InputPanel")
    window.session.select_units([2])
    window.session.set_step(2)
    assert inputs.stack.currentIndex() == 1
    assert inputs.caption.text().startswith("position 3 of 8: base 'G'")
    html = inputs.tokens.text()
    assert html.count("color:#1a9e1a") == 2 and html.count("color:#d62728") == 2  # two A, two T
    assert "[G]" in html  # the current base is marked
    h = window.session.trace.layers[0].hidden[0, :, 2]
    inputs.tokens.linkHovered.emit("5")
    assert inputs.hover_text == f"t = 5: 'G' · unit 2 output {h[5]:.4f} (click to go there)"
    inputs.tokens.linkActivated.emit("6")
    assert window.session.step == 6 and "[C]" in inputs.tokens.text()
