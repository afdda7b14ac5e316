"""The cell diagram and the equations panel show the engine's numbers for the chosen unit."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor

from lstm_viz import LSTM
from lstm_viz.engine.explain import unit_step
from lstm_viz.io.sequences import Sequence
from lstm_viz.ui.panels.diagram import BOX_H, BOX_W, GATE_X, GATE_Y
from lstm_viz.ui.panels.equations import num
from lstm_viz.ui.session import Loaded
from tests.ui.conftest import panel


def show(window, name):
    p = panel(window, name)
    p.raise_()
    return p


def test_equations_show_this_steps_numbers(window, qtbot):
    equations = show(window, "EquationsPanel")
    window.session.select_units([10])
    window.session.set_step(21)
    equations.settle()
    lt = window.session.trace.layers[0]
    u = equations.current
    assert (u.unit, u.step) == (10, 21)
    text = equations.text.toPlainText()
    f = u.gates["forget"]
    # the parts, recomputed here from the weights and the trace's own input and h(t-1)
    layer = window.session.model.layers[0]
    column = layer.hidden_size * 1 + 10  # the forget block is the second of i, f, g, o
    x_t = window.session.trace.layer_input[0, 21].astype(np.float64)
    assert f.input_part == pytest.approx(x_t @ layer.W_x[:, column], abs=1e-9)
    assert f.recurrent_part == pytest.approx(lt.hidden[0, 20].astype(np.float64) @ layer.W_h[:, column], abs=1e-9)
    assert f.bias == layer.b[column] and f.total == pytest.approx(
        f.input_part + f.recurrent_part + f.bias + f.forget_bias
    )
    assert f.value == pytest.approx(lt.forget[0, 21, 10], abs=1e-6)
    assert f"σ({f.total:.4f}) = {lt.forget[0, 21, 10]:.4f}".replace("-", "−") in text
    parts = f"σ({num(f.input_part)} (input) {num(f.recurrent_part, True)} (recurrent) {num(f.bias, True)} (bias))"
    assert parts in text
    old, new, cell = lt.old[0, 21, 10], lt.new[0, 21, 10], lt.cell[0, 21, 10]
    assert f"= {lt.forget[0, 21, 10]:.4f} × {lt.cell[0, 20, 10]:.4f} = {old:.4f}".replace("-", "−") in text
    assert f"= {old:.4f} {new:+.4f} = {cell:.4f}".replace("-", "−") in text
    h = lt.hidden[0, 21, 10]
    assert f"= {h:.4f}".replace("-", "−") in text
    assert "Keep (forget) gate" in text and "Write (input) gate" in text and "Read (output) gate" in text


def test_equations_name_every_option_the_model_has(window, qtbot):
    model = LSTM.random(2, [3], seed=4, peepholes=True, forget_bias=1.0, cell_clip=0.2, gate_clip=1.5)
    x = np.random.default_rng(0).normal(size=(1, 12, 2)).astype(np.float32) * 3
    trace = model.run(x)
    window.session.set_loaded(Loaded(model, Sequence(x), trace, "options"))
    equations = show(window, "EquationsPanel")
    lt = trace.layers[0]
    step, unit = next((t, u) for t in range(1, 12) for u in range(3) if abs(lt.cell_unclipped[0, t, u]) > 0.2)
    window.session.select_units([unit])
    window.session.set_step(step)
    equations.settle()
    text = equations.text.toPlainText()
    assert "(forget_bias)" in text and "(peephole)" in text and "clip(" in text and "→ clip = " in text
    expected = unit_step(model, trace, layer=0, unit=unit, step=step)
    for gate, terms in expected.gates.items():
        assert terms.value == pytest.approx(getattr(lt, gate)[0, step, unit], abs=2e-6)
    assert f"{lt.cell[0, step, unit]:.4f}".replace("-", "−") in text


def test_the_diagram_shows_the_recorded_values(window, qtbot):
    diagram = show(window, "CellDiagramPanel")
    window.session.select_units([10])
    window.session.set_step(21)
    diagram.settle()
    lt = window.session.trace.layers[0]
    texts = diagram.canvas.texts
    assert texts["forget"] == f"keep K = {lt.forget[0, 21, 10]:.4f}"
    assert texts["input"] == f"write I = {lt.input[0, 21, 10]:.4f}"
    assert texts["candidate"] == f"candidate C = {lt.candidate[0, 21, 10]:+.4f}"
    assert texts["output"] == f"read O = {lt.output[0, 21, 10]:.4f}"
    assert texts["cell_prev"] == f"c(t−1) = {lt.cell[0, 20, 10]:+.4f}"
    assert texts["old"] == f"old = {lt.old[0, 21, 10]:+.4f}" and texts["new"] == f"new = {lt.new[0, 21, 10]:+.4f}"
    assert texts["cell"] == f"c(t) = {lt.cell[0, 21, 10]:+.4f}"
    assert texts["hidden"] == f"h(t) = {lt.hidden[0, 21, 10]:+.4f}"
    assert diagram.canvas.shown["old"] + diagram.canvas.shown["new"] == pytest.approx(lt.cell[0, 21, 10], abs=1e-6)

    # what is drawn: the keep glyph is filled in the gate's colour to the gate's value
    image = diagram.canvas.grab().toImage()
    box = QRectF(GATE_X["forget"] - BOX_W / 2 + 4, GATE_Y - BOX_H / 2 + 4, BOX_W - 8, BOX_H - 8)
    top, bottom = diagram.canvas.from_diagram(box.topLeft()), diagram.canvas.from_diagram(box.bottomRight())
    column = int(top.x() + 3)  # left of the σ sign
    filled = [
        QColor(image.pixel(column, y)).blue() > 150 and QColor(image.pixel(column, y)).red() < 200
        for y in range(int(top.y()), int(bottom.y()))
    ]
    assert np.mean(filled) == pytest.approx(lt.forget[0, 21, 10], abs=0.12)

    # hover names the element in both vocabularies with its equation and value
    centre = diagram.canvas.from_diagram(QPointF(GATE_X["input"], GATE_Y))
    element = diagram.canvas.element_at(centre)
    description = diagram.canvas.describe(element)
    assert "Write gate I(t)" in description and "input gate" in description
    assert f"{lt.input[0, 21, 10]:.4f}" in description and "σ(W_I" in description


def test_the_diagram_eases_between_steps_and_ends_on_the_exact_values(window, qtbot):
    diagram = show(window, "CellDiagramPanel")
    window.session.select_units([10])
    window.session.set_step(2)
    diagram.settle()
    start = dict(diagram.canvas.shown)
    qtbot.wait(300)  # a step after a pause eases
    window.session.set_step(3)
    assert diagram.canvas.animation.state() == diagram.canvas.animation.State.Running
    qtbot.waitUntil(lambda: diagram.canvas.animation.state() != diagram.canvas.animation.State.Running, timeout=2000)
    lt = window.session.trace.layers[0]
    assert diagram.canvas.shown["cell"] == pytest.approx(lt.cell[0, 3, 10], abs=1e-9)
    assert start["cell"] == pytest.approx(lt.cell[0, 2, 10], abs=1e-9)


def test_whole_layer_mode_shows_every_unit(window, qtbot):
    diagram = show(window, "CellDiagramPanel")
    window.session.set_step(5)
    diagram.settle()
    alone = diagram.canvas.grab().toImage()
    diagram.vector.setChecked(True)
    diagram.settle()
    lt = window.session.trace.layers[0]
    np.testing.assert_array_equal(diagram.canvas.vectors["forget"], lt.forget[0, 5])
    np.testing.assert_allclose(diagram.canvas.vectors["old"], lt.old[0, 5], rtol=1e-6)
    strips = diagram.canvas.grab().toImage()
    assert strips.size() == alone.size()
    changed = sum(
        strips.pixel(x, y) != alone.pixel(x, y) for y in range(0, alone.height(), 2) for x in range(0, alone.width(), 2)
    )
    assert changed > 400  # a strip of bars on each wire (2,453 sampled pixels measured at this size)


def test_a_panel_behind_a_tab_catches_up_when_brought_to_the_front(window, qtbot):
    diagram = panel(window, "CellDiagramPanel")
    panel(window, "CellTrajectoryPanel").raise_()  # the diagram is the tab behind
    qtbot.wait(10)
    assert diagram.visibleRegion().isEmpty()
    window.session.select_units([7])
    window.session.set_step(17)
    diagram.raise_()
    qtbot.waitUntil(lambda: diagram.canvas.texts.get("caption", "").endswith("t = 17"), timeout=2000)
    lt = window.session.trace.layers[0]
    assert diagram.canvas.texts["cell"] == f"c(t) = {lt.cell[0, 17, 7]:+.4f}"


def test_heatmap_rows_ordered_by_memory_span_put_the_longest_keeper_on_top(window, qtbot):
    """Rows by memory span: the image's rows are the units in the order of their median
    span (recomputed here), a click on the top row selects the unit drawn there."""
    from PySide6.QtCore import Qt

    from lstm_viz.engine.unit_figures import memory_span

    window.open_example("text", wait=True)
    heat = panel(window, "GateHeatmapsPanel")
    heat.order_by.setCurrentIndex(heat.order_by.findData("span"))
    qtbot.waitUntil(lambda: heat.order is not None, timeout=20000)
    lt = window.session.trace.layers[0]
    spans = memory_span(lt.forget[0]).per_unit
    order = np.argsort(spans, kind="stable")
    np.testing.assert_array_equal(heat.order, order)
    np.testing.assert_array_equal(heat.images["forget"].image[-1], lt.forget[0, :, order[-1]])
    H = lt.hidden_size
    heat.clicked(7, H - 1, Qt.KeyboardModifier.NoModifier)
    assert window.session.selected == [int(order[-1])] and window.session.step == 7
    marks = heat.marks["forget"].getData()[1]
    assert list(marks) == [H - 1 + 0.5]  # the selection's arrow points at its row
    heat.order_by.setCurrentIndex(heat.order_by.findData("unit"))
    assert heat.order is None
    np.testing.assert_array_equal(heat.images["forget"].image, lt.forget[0].T)


def test_heatmap_rows_keep_their_order_after_another_file_opens(window, qtbot):
    heat = panel(window, "GateHeatmapsPanel")
    heat.order_by.setCurrentIndex(heat.order_by.findData("span"))
    qtbot.waitUntil(lambda: heat.order is not None, timeout=20000)
    window.open_example("brackets", wait=True)
    assert heat.order_by.currentData() == "span"
    qtbot.waitUntil(lambda: heat.order is not None and len(heat.order) == 8, timeout=20000)


def test_heatmap_rows_by_keep_gate_saturation_put_the_unit_that_holds_open_most_on_top(window, qtbot):
    window.open_example("text", wait=True)
    heat = panel(window, "GateHeatmapsPanel")
    heat.order_by.setCurrentIndex(heat.order_by.findData("keep_open"))
    qtbot.waitUntil(lambda: heat.order is not None, timeout=20000)
    share = np.mean(window.session.trace.layers[0].forget[0] > 0.9, axis=0)  # counted here
    np.testing.assert_array_equal(heat.order, np.argsort(share, kind="stable"))
    np.testing.assert_array_equal(
        heat.images["forget"].image[-1], window.session.trace.layers[0].forget[0, :, heat.order[-1]]
    )


def test_heatmap_rows_by_attribution_put_the_unit_the_loss_leans_on_most_on_top(window, qtbot):
    from lstm_viz.engine.attribution import Target, unit_attribution

    window.open_example("text", wait=True)
    session = window.session
    session.set_step(40)
    heat = panel(window, "GateHeatmapsPanel")
    heat.order_by.setCurrentIndex(heat.order_by.findData("attribution"))
    qtbot.waitUntil(lambda: heat.order is not None, timeout=20000)
    right = int(np.argmax(session.trace.x[0, 41]))
    values = unit_attribution(
        session.model, session.trace, Target("loss", 40, output=right), 0, targets=session.core.targets
    )
    np.testing.assert_array_equal(heat.order, np.argsort(np.abs(values), kind="stable"))
    assert heat.info.text().startswith("Rows by |gradient × activation| for the loss at t = 40")
