"""What-if from the window: clamp, edit the input, compare with the ghosted original, restore."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lstm_viz.engine.whatif import Clamp, rerun
from tests.ui.conftest import panel


def whatif(window):
    p = panel(window, "WhatIfPanel")
    p.raise_()
    return p


def test_the_tutorial_experiment_from_the_panel(window, qtbot):
    w = whatif(window)
    original = window.session.trace
    window.session.select_units([10])
    window.session.set_step(12)
    qtbot.mouseClick(w.tutorial, Qt.MouseButton.LeftButton)
    shown = window.session.trace
    assert shown is not original and window.session.original_trace is original
    lt = shown.layers[0]
    np.testing.assert_array_equal(lt.forget[0, 12:, 10], 0.0)
    np.testing.assert_array_equal(lt.input[0, 12:, 10], 1.0)
    np.testing.assert_allclose(lt.cell[0, 12:, 10], lt.candidate[0, 12:, 10], atol=1e-6)
    np.testing.assert_array_equal(lt.cell[0, :12], original.layers[0].cell[0, :12])
    expected = rerun(
        window.session.model,
        original,
        start=12,
        clamps=[Clamp(0, "forget", 0.0, 12, (10,)), Clamp(0, "input", 1.0, 12, (10,))],
    )
    np.testing.assert_allclose(lt.cell, expected.layers[0].cell, atol=1e-6)
    # the window's words everywhere: the status line and the list of changes say Keep and Write
    status = window.status.text()
    assert "Keep (forget) of unit 10 in layer 0 held at 0 from t = 12" in status
    assert "Write (input) of unit 10" in status and "forget of" not in status and "input of" not in status
    assert [w.changes.item(k).text().split(" of ")[0] for k in range(w.changes.count())] == [
        "Keep (forget)",
        "Write (input)",
    ]
    # the list of units changed most starts with the clamped unit, with its real numbers
    diff = np.abs(lt.cell[0] - original.layers[0].cell[0]).max(axis=0)
    assert w.changed[0][0] == int(np.argmax(diff)) == 10
    assert w.table.item(0, 1).text() == f"{diff[10]:.4f}"
    # the trajectories show the original ghosted, the memory panel says what it was
    trajectory = panel(window, "CellTrajectoryPanel")
    assert trajectory.ghosts[0].isVisible()
    np.testing.assert_array_equal(trajectory.ghosts[0].getData()[1], original.layers[0].cell[0, :, 10])
    np.testing.assert_array_equal(trajectory.curves[0].getData()[1], lt.cell[0, :, 10])
    window.session.set_step(20)
    memory = panel(window, "MemoryPanel")
    assert f"(was {original.layers[0].cell[0, 20, 10]:+.3f})" in memory.numbers.text()
    assert memory.ghost.getData()[1][0] == pytest.approx(original.layers[0].cell[0, 20, 10])
    # one click restores
    qtbot.mouseClick(w.restore, Qt.MouseButton.LeftButton)
    assert window.session.trace is original and window.session.what_if is None
    assert not trajectory.ghosts[0].isVisible() and w.table.rowCount() == 0
    assert "was" not in memory.numbers.text()


def test_clamp_every_unit_of_the_read_gate(window, qtbot):
    w = whatif(window)
    window.session.set_step(5)
    w.gate.setCurrentIndex(w.gate.findData("output"))
    w.who.setCurrentIndex(w.who.findData("all"))
    w.value.setValue(0.0)
    qtbot.mouseClick(w.add, Qt.MouseButton.LeftButton)
    lt = window.session.trace.layers[0]
    np.testing.assert_array_equal(lt.output[0, 5:], 0.0)
    np.testing.assert_array_equal(lt.hidden[0, 5:], 0.0)  # nothing is read out
    assert w.changes.count() == 1 and "Read (output) of every unit" in w.changes.item(0).text()


def test_editing_a_number_reruns_from_that_step(window, qtbot):
    w = whatif(window)
    original = window.session.trace
    window.session.set_step(9)
    w.edit.setText("0.5, 1")  # the adding problem: mark step 9
    qtbot.mouseClick(w.apply, Qt.MouseButton.LeftButton)
    x = original.x.copy()
    x[0, 9] = [0.5, 1.0]
    full = window.session.model.run(x)
    np.testing.assert_allclose(window.session.trace.layers[0].cell, full.layers[0].cell, atol=2e-6)
    assert window.session.label(9) == "0.5, 1"
    w.edit.setText("1, 2, 3")
    qtbot.mouseClick(w.apply, Qt.MouseButton.LeftButton)
    assert "give 2 finite numbers" in w.status.text()


def test_editing_a_character_of_text(window, qtbot, tmp_path):
    (tmp_path / "t.txt").write_text("abcabcab", encoding="utf-8")
    window.open_files(sequence_path=str(tmp_path / "t.txt"), random_spec=([4], 0), wait=True)
    w = whatif(window)
    window.session.set_step(3)
    assert w.edit.text() == "a"
    w.edit.setText("c")
    qtbot.mouseClick(w.apply, Qt.MouseButton.LeftButton)
    assert window.session.label(3) == "c"
    x = window.session.original_trace.x.copy()
    x[0, 3] = [0, 0, 1]
    np.testing.assert_allclose(window.session.trace.output, window.session.model.run(x).output, atol=2e-6)
    w.edit.setText("z")
    qtbot.mouseClick(w.apply, Qt.MouseButton.LeftButton)
    assert "'z' is not in the model's vocabulary" in w.status.text()
