"""Level-of-detail items: what is drawn follows the pixels, not the steps; hover and zoom
give the trace's exact values; no (H, T) copy is made to draw a long trace."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from lstm_viz.engine import LSTM
from lstm_viz.engine.sequence import Sequence
from lstm_viz.ui.lod import SYMBOL_STEPS, LodCurve, LodImage
from lstm_viz.ui.style import QUANTITY_LABELS
from lstm_viz.workbench.loading import Loaded, OpenRequest
from lstm_viz.workbench.lod import Pyramid, cluster_order, profiles, quantity_pyramid
from tests.ui.conftest import panel


def show(window, x, hidden=64, model=None):
    model = model or LSTM.random(x.shape[2], [hidden], seed=4)
    sequence = Sequence(values=x)
    window.session.core.show(Loaded(model, sequence, model.run(x), "random", request=OpenRequest()))
    return window.session.core


def line_points(curve) -> int:
    """Points of a curve's line: pyqtgraph's, or (zoomed out) the band's through the means."""
    x = curve.getData()[0]
    return len(curve.envelope.getData()[0]) if x is None else len(x)


def painted(*widgets):
    for widget in widgets:
        widget.repaint()
    QApplication.processEvents()


def front(window, name):
    p = panel(window, name)
    p.show()
    p.raise_()
    QApplication.processEvents()
    return p


@pytest.fixture
def curve_plot(qtbot):
    T = 200_000
    values = np.cumsum(np.random.default_rng(0).normal(size=(T, 3)), axis=0).astype(np.float32)
    pyramid = Pyramid(lambda t0, t1: values[t0:t1], T, 3)
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 400)
    curve = LodCurve(pen=pg.mkPen("r"))
    widget.addItem(curve)
    curve.set_source(pyramid, 1, color="r")
    widget.show()
    widget.setXRange(0, T, padding=0)
    painted(widget)
    return widget, curve, values


def test_a_curve_draws_a_point_a_pixel_column_or_less_and_zoomed_in_the_values(curve_plot):
    widget, curve, values = curve_plot
    width = widget.getPlotItem().vb.width()
    band = curve.envelope  # zoomed out, the band draws the line too
    x, y = band.getData()
    assert width / 4 <= len(x) <= width + 1  # about a point per pixel, whatever T is
    assert curve.getData()[0] is None  # (pyqtgraph's curve item holds nothing)
    cols = curve.columns
    assert cols.steps > 1 and cols.starts[0] == 0 and cols.starts[-1] + cols.steps >= len(values)
    k = 17  # each column: the line through its mean, a band from its min to its max
    block = values[cols.starts[k] : cols.starts[k] + cols.steps, 1]
    assert y[k] == pytest.approx(block.mean())
    assert x[k] == cols.centers[k]
    assert (band.low[k], band.high[k]) == pytest.approx((block.min(), block.max()))
    assert (band.left[k], band.right[k]) == (cols.starts[k] - 0.5, cols.starts[k] + cols.steps - 0.5)
    np.testing.assert_array_equal(band.left[1:], band.right[:-1])  # contiguous: no gaps
    widget.setXRange(120_000, 120_049, padding=0)
    painted(widget)
    x, y = curve.getData()
    np.testing.assert_array_equal(x, np.arange(120_000, 120_050))
    np.testing.assert_array_equal(y, values[120_000:120_050, 1])  # exactly the 50 values
    assert curve.opts["symbol"] is None
    widget.setXRange(120_000, 120_000 + SYMBOL_STEPS - 1, padding=0)
    painted(widget)
    assert curve.opts["symbol"] == "o"  # far in: a dot at each step


def test_the_band_covers_every_pixel_from_each_columns_min_to_its_max(curve_plot):
    """The band is painted as an image in device pixels: read back, every pixel column of
    the plot is red exactly from where the min of its steps falls to where the max does."""
    widget, curve, values = curve_plot
    vb = widget.getPlotItem().vb
    widget.setXRange(50_000, 50_000 + 3 * int(vb.width()), padding=0)  # three steps a pixel: columns of 4 steps
    painted(widget)
    cols = curve.columns
    assert cols.steps > 1
    curve.envelope.draw_line = False  # the line through the means: what is left is the band
    curve.envelope.update()
    image = widget.grab().toImage()
    curve.envelope.draw_line = True
    device = vb.mapViewToDevice  # view coordinates to the widget's pixels
    red = pg.mkColor("r").rgb()
    checked = 0
    for k in range(5, len(cols.starts) - 5, 7):
        middle = device(QPointF(float(cols.centers[k]), 0.0)).x()
        left = device(QPointF(cols.starts[k] - 0.5, 0.0)).x()
        right = device(QPointF(cols.starts[k] + cols.steps - 0.5, 0.0)).x()
        if int(np.floor(right)) - int(np.floor(left)) < 1 or np.floor(middle) != np.floor(left):
            continue  # a pixel column whose band another column shares
        column = int(np.floor(left))
        block = values[cols.starts[k] : cols.starts[k] + cols.steps, 1]
        top = int(np.floor(device(QPointF(0.0, float(block.max()))).y()))
        bottom = int(np.floor(device(QPointF(0.0, float(block.min()))).y()))
        painted_rows = [y for y in range(image.height()) if image.pixel(column, y) == red]
        assert painted_rows == list(range(top, bottom + 1)), k
        checked += 1
    assert checked >= 20


def test_a_plots_bands_are_painted_in_order_and_every_mean_line_over_them(qtbot):
    """Two curves of a plot share one band image: where both bands fall, the later curve's
    colour is shown (as when each drew its own); the earlier curve's mean line stays
    visible over the later band."""
    from lstm_viz.ui.lod import BandLayer

    T = 100_000
    rng = np.random.default_rng(1)
    values = np.stack([rng.normal(size=T) + 1.5, rng.normal(size=T) * 3], axis=1).astype(np.float32)
    pyramid = Pyramid(lambda t0, t1: values[t0:t1], T, 2)
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    first, second = LodCurve(), LodCurve()
    widget.addItem(first)
    widget.addItem(second)
    first.set_source(pyramid, 0, pen=pg.mkPen("#0000ff"), color="#0000ff", among=[0, 1])
    second.set_source(pyramid, 1, pen=pg.mkPen("#ff0000"), color="#ff0000", among=[0, 1])
    widget.show()
    widget.setXRange(0, T, padding=0)
    widget.setYRange(-12, 12, padding=0)
    painted(widget)
    layer = first.envelope.layer
    assert isinstance(layer, BandLayer) and second.envelope.layer is layer
    images = layer.images
    image = widget.grab().toImage()
    assert layer.images - images <= 1  # both bands: one image
    vb = widget.getPlotItem().vb
    blue, red = pg.mkColor("#0000ff").rgb(), pg.mkColor("#ff0000").rgb()
    a, b = first.columns, second.columns

    def row(value):
        return int(np.floor(vb.mapViewToDevice(QPointF(0.0, float(value))).y()))

    blue_line = checked = 0
    for k in range(3, len(a.starts) - 3, 3):
        x = int(np.floor(vb.mapViewToDevice(QPointF(float(a.centers[k]), 0.0)).x()))
        x_next = int(np.floor(vb.mapViewToDevice(QPointF(float(a.centers[k + 1]), 0.0)).x()))
        if x_next - x < 2 or not (b.mins[k, 0] < a.mins[k, 0] and b.maxs[k, 0] > a.maxs[k, 0]):
            continue
        mean = row(a.means[k, 0])
        # inside both bands, away from the lines: the later (red) band covers the blue one
        rows = [y for y in range(row(a.maxs[k, 0]) + 1, row(a.mins[k, 0])) if abs(y - mean) > 3]
        column = [image.pixel(x, y) for y in rows]
        assert column and column.count(red) >= len(column) - 2, k  # (the red mean line may cross)
        blue_line += any(image.pixel(x, y) == blue for y in range(mean - 2, mean + 3))
        checked += 1
    assert checked >= 20
    assert blue_line >= checked * 0.9  # the blue mean line is seen over the red band


def test_a_range_change_redraws_only_when_painted(curve_plot):
    widget, curve, values = curve_plot
    before = curve.redraws
    for start in range(0, 10_000, 1000):  # a page turned ten times before the next paint
        widget.setXRange(start, start + 500, padding=0)
    assert curve.redraws == before
    painted(widget)
    assert curve.redraws == before + 1
    widget.hide()
    widget.setXRange(0, 300, padding=0)
    QApplication.processEvents()
    assert curve.redraws == before + 1  # not on screen: nothing drawn


def test_an_image_is_about_the_plots_width_and_exact_when_zoomed_in(qtbot):
    T, W = 100_000, 5
    values = np.random.default_rng(1).random((T, W), dtype=np.float32)
    pyramid = Pyramid(lambda t0, t1: values[t0:t1], T, W, dtype=np.float16)
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    image = LodImage()
    widget.addItem(image)
    widget.show()
    widget.setXRange(0, T, padding=0)
    image.set_source(pyramid, rows=[4, 0, 2])
    painted(widget)
    width = widget.getPlotItem().vb.width()
    assert image.image.shape[0] == 3 and width / 2 <= image.image.shape[1] <= width + 1
    rect = image.mapRectToView(image.boundingRect())
    assert rect.left() <= 0 and rect.right() >= T and rect.height() == 3
    widget.setXRange(5000, 5100, padding=0)  # steps 5000..5099: each step a cell [t, t + 1)
    painted(widget)
    np.testing.assert_array_equal(image.image, values[5000:5100][:, [4, 0, 2]].T)
    assert image.mapRectToView(image.boundingRect()).left() == 5000


def test_a_long_trace_s_heatmaps_hold_images_the_size_of_the_plots_and_hover_reads_the_trace(window, qtbot):
    x = np.random.default_rng(2).normal(size=(1, 200_000, 2)).astype(np.float32)
    core = show(window, x)
    heat = front(window, "GateHeatmapsPanel")
    painted(heat.graphics)
    lt = core.trace.layers[0]
    for name, image in heat.images.items():
        pixels = heat.plots[name].vb.width()
        rows, columns = image.image.shape
        assert rows == 64 and columns <= 3 * pixels, name  # not 200,000 columns
        assert image.image.nbytes < 64 * 200_000 * 4 / 50
    # the mouse over the write gate's heatmap: the exact value at the step under it
    plot = heat.plots["input"]
    scene = plot.vb.mapViewToScene(QPointF(123_456.7, 10.5))
    local = heat.graphics.mapFromScene(scene)
    expected = plot.vb.mapSceneToView(heat.graphics.mapToScene(local))
    step, row = int(np.floor(expected.x())), int(np.floor(expected.y()))
    move_mouse(qtbot, heat.graphics, local)
    text = heat.hover_text
    assert text.startswith(f"{QUANTITY_LABELS['input']} · unit ") and f" · t = {step} (" in text
    unit = int(text.split(" · unit ")[1].split(" ")[0])
    assert abs(unit - row) <= 64 / plot.vb.height() + 1  # the row under the mouse, to a pixel
    assert text.endswith(f" · {lt.input[0, step, unit]:.4f}")  # the trace's value, not the image's
    # zoomed in to 50 steps: the image is the trace's own values
    core.set_time_range(150_000, 150_050)
    painted(heat.graphics)
    np.testing.assert_array_equal(heat.images["forget"].image, lt.forget[0, 150_000:150_050].T)


def move_mouse(qtbot, view, local):
    """A real mouse move to widget position ``local`` of ``view`` (see test_panel_interaction.hover)."""
    qtbot.wait(15)
    viewport = view.viewport()
    point = QPointF(local)
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        point,
        QPointF(viewport.mapToGlobal(point)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def test_long_curves_in_the_window_follow_the_pixels_and_zoomed_in_are_exact(window, qtbot):
    x = np.random.default_rng(3).normal(size=(1, 200_000, 2)).astype(np.float32)
    core = show(window, x, hidden=16)
    window.session.select_units([3, 9])
    trajectories = front(window, "CellTrajectoryPanel")
    painted(trajectories.plot)
    width = trajectories.plot.getPlotItem().vb.width()
    for curve in trajectories.curves[:2]:
        assert 0 < line_points(curve) <= width + 1
    inputs = front(window, "InputPanel")
    painted(inputs.plot)
    assert all(0 < line_points(c) <= inputs.plot.getPlotItem().vb.width() + 1 for c in inputs.curves[:2])
    core.set_time_range(70_000, 70_049)
    painted(inputs.plot)
    np.testing.assert_array_equal(inputs.curves[1].getData()[1], x[0, 70_000:70_050, 1])
    trajectories = front(window, "CellTrajectoryPanel")
    painted(trajectories.plot)
    cell = core.trace.layers[0].cell[0]
    np.testing.assert_array_equal(trajectories.curves[1].getData()[1], cell[70_000:70_050, 9])
    trajectories.choice.setCurrentIndex(trajectories.choice.findData("tanh_cell"))  # derived, chunk by chunk
    painted(trajectories.plot)
    np.testing.assert_array_equal(trajectories.curves[0].getData()[1], np.tanh(cell[70_000:70_050, 3]))
    window.session.set_step(70_020)
    assert trajectories.marker.getData()[1].tolist() == np.tanh(cell[70_020, [3, 9]]).tolist()


def test_drawing_a_long_trace_makes_no_copy_of_it(window, qtbot):
    """Refreshing the time panels of a (1, 100000, 64) trace allocates far less than one
    (T, H) quantity (25.6 MB): the pyramids are built from chunks, the items hold columns."""
    x = np.random.default_rng(4).normal(size=(1, 100_000, 2)).astype(np.float32)
    core = show(window, x)
    names = ("GateHeatmapsPanel", "CellTrajectoryPanel", "InputPanel")
    for name in names:
        front(window, name)
    quantity = 100_000 * 64 * 4
    for choice in ("cell", "tanh_cell"):
        trajectories = panel(window, "CellTrajectoryPanel")
        tracemalloc.start()
        try:
            trajectories.choice.setCurrentIndex(trajectories.choice.findData(choice))
            for name in names:
                p = panel(window, name)
                p._refresh()
                core.set_time_range(1000, 90_000)
                for view in p.findChildren(pg.GraphicsView):
                    view.repaint()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < quantity / 2, (choice, peak)


def test_heatmap_rows_can_be_one_unit_across_the_sequences_of_the_batch(window, qtbot):
    x = np.random.default_rng(5).normal(size=(3, 400, 2)).astype(np.float32)
    core = show(window, x, hidden=6)
    window.session.select_units([4])
    heat = front(window, "GateHeatmapsPanel")
    assert heat.rows_by.isEnabled()
    heat.rows_by.setCurrentIndex(heat.rows_by.findData("sequences"))
    painted(heat.graphics)
    lt = core.trace.layers[0]
    np.testing.assert_array_equal(heat.images["forget"].image, lt.forget[:, :, 4])  # row b: sequence b
    ticks = heat.plots["forget"].getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == ["sequence 0", "sequence 1", "sequence 2"]
    heat.hover(("output", 123, 2))
    label = QUANTITY_LABELS["output"]
    assert heat.hover_text == f"{label} · sequence 2 · unit 4 · t = 123 · {lt.output[2, 123, 4]:.4f}"
    heat.clicked(77, 2, Qt.KeyboardModifier.NoModifier)
    assert core.batch == 2 and core.step == 77
    assert heat.marks["forget"].getData()[1].tolist() == [2.5]  # the shown sequence is marked
    window.session.select_units([1])  # another unit: its rows
    np.testing.assert_array_equal(heat.images["input"].image, lt.input[:, :, 1])
    heat.rows_by.setCurrentIndex(heat.rows_by.findData("units"))
    np.testing.assert_array_equal(heat.images["input"].image, lt.input[2].T)


def test_heatmap_rows_clustered_put_units_with_similar_gates_together(window, qtbot):
    heat = front(window, "GateHeatmapsPanel")
    heat.order_by.setCurrentIndex(heat.order_by.findData("clustered"))
    core = window.session.core
    lt, T = core.layer_trace, core.length
    pyramids = [quantity_pyramid(lt, name, 0, T) for name in ("forget", "input", "output", "candidate")]
    order = cluster_order(profiles(pyramids, T))
    np.testing.assert_array_equal(heat.order, order)
    painted(heat.graphics)
    np.testing.assert_array_equal(heat.images["forget"].image[-1], lt.forget[0, :, order[-1]])
    heat.clicked(5, 0, Qt.KeyboardModifier.NoModifier)  # the bottom row is the first unit of the order
    assert window.session.selected == [int(order[0])]


def test_the_zoomed_out_column_statistic_can_be_the_max(qtbot, window):
    x = np.random.default_rng(6).normal(size=(1, 50_000, 2)).astype(np.float32)
    core = show(window, x, hidden=4)
    heat = front(window, "GateHeatmapsPanel")
    painted(heat.graphics)
    image = heat.images["input"]
    mean = image.image.copy()
    heat.stat.setCurrentIndex(heat.stat.findData("max"))
    painted(heat.graphics)
    assert image.image.shape == mean.shape and (image.image >= mean).all() and (image.image > mean).any()
    cols = image.columns
    k = 3
    block = core.trace.layers[0].input[0, cols.starts[k] : cols.starts[k] + cols.steps]
    assert image.image[:, k].tolist() == pytest.approx(block.max(axis=0), abs=1e-3)


def test_long_predictions_and_losses_follow_the_pixels(window, qtbot):
    window.open_example("sine", wait=True)
    model = window.session.model
    T = 120_000
    values = np.sin(np.arange(T) * 0.3)[None, :, None].astype(np.float32)
    core = show(window, values, model=model)
    p = front(window, "PredictionsPanel")
    painted(p.plot, p.loss_plot)
    width = p.plot.getPlotItem().vb.width()
    assert 0 < line_points(p.prediction_curves[0]) <= width + 1
    assert len(p.target_curves[0].getData()[0]) <= 2 * (width + 1)
    assert 0 < line_points(p.loss_curve) <= p.loss_plot.getPlotItem().vb.width() + 1
    core.set_time_range(60_000, 60_049)
    painted(p.plot, p.loss_plot)
    predicted = core.predictions[0, 60_000:60_050, 0]
    np.testing.assert_array_equal(p.prediction_curves[0].getData()[1], predicted)
    np.testing.assert_array_equal(p.target_curves[0].getData()[1], values[0, 60_001:60_051, 0])
    np.testing.assert_array_equal(p.loss_curve.getData()[1], core.losses[0, 60_000:60_050])


def test_long_sequence_names_are_cut_beside_the_rows_and_whole_in_the_hover(window, qtbot):
    x = np.random.default_rng(6).normal(size=(2, 60, 2)).astype(np.float32)
    model = LSTM.random(2, [4], seed=4)
    long = "station_berlin_tempelhof_2019_hourly"
    sequence = Sequence(values=x, names=[long, "lyon"])
    window.session.core.show(Loaded(model, sequence, model.run(x), "random", request=OpenRequest()))
    window.session.select_units([1])
    heat = front(window, "GateHeatmapsPanel")
    heat.rows_by.setCurrentIndex(heat.rows_by.findData("sequences"))
    painted(heat.graphics)
    ticks = [name for _, name in heat.plots["forget"].getAxis("left")._tickLevels[0]]
    assert ticks == ["station_berli…", "lyon"]
    heat.hover(("forget", 10, 0))
    assert heat.hover_text.startswith(f"{QUANTITY_LABELS['forget']} · {long} · unit 1 · t = 10")
