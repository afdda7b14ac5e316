"""What screenshots showed wrong, checked on what is displayed."""

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import panel


def test_the_shortcuts_help_is_a_table_with_every_key(window, qtbot):
    window.show_shortcuts()
    box = window.shortcuts_box
    try:
        text = box.text()
        assert text.startswith("<table") and "\t" not in text
        assert text.count("<tr>") == len(window.SHORTCUTS) == 18
        assert "<td style='padding-right: 18px'><b>Shift+Left / Right</b></td><td>ten steps</td>" in text
        # the keys it names are the keys of the window's actions
        from PySide6.QtGui import QAction

        keys = {s.toString() for a in window.findChildren(QAction) for s in a.shortcuts()}
        assert {
            "Ctrl+G",
            "N",
            "Shift+N",
            "Space",
            "Home",
            "End",
            "F5",
            "Ctrl+E",
            "Ctrl+Shift+E",
            "Ctrl+Shift+D",
        } <= keys
        assert "Ctrl+Shift+S" in keys
        assert {"PgDown", "PgUp", "F11"} <= keys  # the guide's walk and presentation mode
    finally:
        box.close()


def test_the_memory_list_shows_every_selected_unit(window, qtbot):
    memory = panel(window, "MemoryPanel")
    memory.raise_()
    units = [0, 1, 2, 3, 4, 5, 6, 7]
    window.session.select_units(units)
    window.session.set_step(5)
    QApplication.processEvents()
    lines = memory.numbers.text().split("\n")
    assert [line.split(":")[0] for line in lines] == [f"unit {u}" for u in units]
    assert "…" not in memory.numbers.text()
    # five lines show, the rest scroll into view
    bar = memory.numbers_area.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    assert memory.numbers_area.widget().visibleRegion().boundingRect().bottom() >= memory.numbers.height() - 2


def test_a_one_step_sequence_is_drawn_as_points_and_said_to_be_one_step(window, qtbot):
    window.open_example("tutorial_cell", wait=True)
    assert window.session.length == 1
    inputs = panel(window, "InputPanel")
    inputs.raise_()
    qtbot.wait(10)
    shown = [curve for curve in inputs.curves if curve.isVisible()]
    assert len(shown) == 6
    for k, curve in enumerate(shown):
        x, y = curve.getData()
        assert list(x) == [0] and y[0] == window.session.trace.x[0, 0, k]
        assert curve.opts["symbol"] == "o"  # a dot: a single value has no line
    trajectories = panel(window, "CellTrajectoryPanel")
    trajectories.raise_()
    qtbot.wait(10)
    assert all(curve.opts["symbol"] == "o" for curve in trajectories.curves if curve.isVisible())
    assert "one step only" in window.transport.position.text() and not window.transport.slider.isEnabled()
    window.open_demo(wait=True)  # 30 steps: lines again, and a slider to move
    assert window.transport.slider.isEnabled() and "t = 0 / " in window.transport.position.text()
    assert all(curve.opts["symbol"] is None for curve in trajectories.curves if curve.isVisible())


def test_legends_sit_above_the_data(window):
    for name in ("GateBarsPanel", "CellTrajectoryPanel", "MemoryPanel", "InputPanel"):
        item = panel(window, name).plot.getPlotItem()
        legend, view = item.legend, item.getViewBox()
        assert legend.parentItem() is not view, name  # not drawn inside the data area
        assert legend.sceneBoundingRect().bottom() <= view.sceneBoundingRect().top() + 1, name


def test_selected_rows_of_the_heatmaps_are_marked_apart(window):
    heat = panel(window, "GateHeatmapsPanel")
    heat.raise_()
    window.session.select_units([2, 3, 4])
    for mark in heat.marks.values():
        assert sorted(mark.getData()[1]) == [2.5, 3.5, 4.5]
        assert mark.size <= 8
    # at the left edge of what is shown, also zoomed in and panned
    window.core.set_time_range(4, 12)
    QApplication.processEvents()
    for name, mark in heat.marks.items():
        x = mark.mapToView(QPointF(float(mark.getData()[0][0]), 0.0)).x()
        assert x == pytest.approx(heat.plots[name].vb.viewRange()[0][0]), name
    window.session.select_units(range(window.session.layer_trace.hidden_size))
    assert all(len(mark.getData()[1]) == 0 for mark in heat.marks.values())  # all selected: nothing to mark


def test_the_read_gate_s_label_is_clear_of_the_multiply_and_the_wires(window):
    from PySide6.QtCore import QLineF, QRectF
    from PySide6.QtGui import QFont, QFontMetricsF

    from lstm_viz.ui.panels import diagram

    font = QFont()
    font.setPixelSize(16)
    rect, _ = diagram.label_spots()["output"]
    width = QFontMetricsF(font).horizontalAdvance("read O = 0.9999")
    text = QRectF(rect.left(), rect.center().y() - 9, width, 18)  # what drawText fills, left-aligned
    multiply = QRectF(diagram.TANH_X - 18, diagram.GATE_Y - 18, 36, 36)
    wires = [
        QLineF(diagram.GATE_X["output"], diagram.INPUT_Y, diagram.GATE_X["output"], diagram.GATE_Y),  # up into read
        QLineF(diagram.GATE_X["output"], diagram.GATE_Y, diagram.TANH_X, diagram.GATE_Y),  # read across to ×
        QLineF(40, diagram.INPUT_Y, diagram.GATE_X["output"], diagram.INPUT_Y),  # h(t-1) and x(t) along the bottom
        QLineF(diagram.TANH_X, diagram.CELL_Y, diagram.TANH_X, diagram.GATE_Y),  # the cell down into ×
    ]
    assert not text.intersects(multiply)
    for wire in wires:
        box = QRectF(wire.p1(), wire.p2()).normalized().adjusted(-1, -1, 1, 1)
        assert not text.intersects(box), wire
