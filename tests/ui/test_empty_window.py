"""An empty window looks intentionally empty, and no axis carries an SI prefix or a scale factor."""

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from tests.ui.conftest import panel


def axis_labels(window):
    labels = []
    for p in window.panels:
        for view in p.findChildren(pg.GraphicsView):
            for item in view.scene().items():
                if isinstance(item, pg.AxisItem):
                    labels.append((p.objectName(), item, item.labelString()))
    return labels


def test_an_empty_window_says_what_to_do_instead_of_drawing_empty_axes(qtbot, empty_window):
    window = empty_window
    qtbot.waitExposed(window)
    shown = 0
    on_screen = [p for p in window.panels if not p._offscreen()]
    assert all(p.built for p in on_screen)
    assert not any(p.built for p in window.panels if p._offscreen())  # built when first shown
    for p in window.panels:
        if not p.built:
            p.raise_()  # behind a tab at start: built as it comes to the front
            qtbot.wait(1)
            assert p.built
        note = p.findChild(QLabel, "EmptyNote")
        if p.objectName() == "GuidePanel":
            assert note is None  # its introduction is shown
            continue
        if p.objectName() == "TrainingPanel":  # usable with nothing open: it says how to start
            assert note is None and "Train… (Ctrl+T)" in p.status.text()
            assert not any(v.isVisible() for v in p.findChildren(pg.GraphicsView))
            continue
        assert note is not None and "Ctrl+O" in note.text(), p.objectName()
        if not p._offscreen():
            assert note.isVisible() and not any(v.isVisible() for v in p.findChildren(pg.GraphicsView))
            shown += 1
    assert shown >= 4
    for name, axis, label in axis_labels(window):
        assert not axis.autoSIPrefix, (name, label)
        assert "(x" not in label, (name, label)
    window.open_demo(wait=True)
    gates = panel(window, "GateBarsPanel")
    note = gates.findChild(QLabel, "EmptyNote")
    assert note is None or not note.isVisible()
    assert gates.findChildren(pg.GraphicsView)[0].isVisible()


def test_no_axis_shows_a_scale_factor_with_one_unit_selected(window, qtbot):
    window.session.select_units([3])
    for name in ("MemoryPanel", "GateHeatmapsPanel", "CellTrajectoryPanel", "InputPanel"):
        panel(window, name).raise_()
        qtbot.wait(10)
        for p in window.panels:
            p.settle()
        for owner, axis, label in axis_labels(window):
            assert "(x0." not in label and "(x1" not in label, (owner, label)
            assert not axis.autoSIPrefix, (owner, label)


def test_while_the_first_file_loads_the_empty_panels_say_so(qtbot, empty_window, tmp_path):
    import numpy as np

    window = empty_window
    qtbot.waitExposed(window)
    gates = panel(window, "GateBarsPanel")
    qtbot.waitUntil(lambda: gates.findChild(QLabel, "EmptyNote") is not None)
    path = tmp_path / "long.npy"
    np.save(path, np.zeros((300_000, 2), np.float32))
    window.open_files(sequence_path=str(path), random_spec=([64], 0))
    note = gates.findChild(QLabel, "EmptyNote")
    assert "Loading and recording every gate" in note.text() and "Ctrl+O" not in note.text()
    window.cancel_job()  # nothing shown yet: back to saying how to open something
    assert "Ctrl+O" in gates.findChild(QLabel, "EmptyNote").text()
