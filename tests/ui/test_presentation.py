"""Presentation mode: large text, thick lines, full screen, only the transport (and the
guide's Previous/Next); everything back as it was when it ends."""

import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication, QComboBox

from lstm_viz.ui import lod
from tests.ui.conftest import panel


def red_pixels(widget) -> int:
    image = widget.grab().toImage()
    ptr = image.constBits()
    data = np.frombuffer(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    px = data[:, : image.width() * 4].reshape(image.height(), image.width(), 4)
    b, g, r = px[..., 0].astype(int), px[..., 1].astype(int), px[..., 2].astype(int)
    return int(((r > 180) & (g < 90) & (b < 90)).sum())


def settle():
    for _ in range(10):
        QApplication.processEvents()


def test_presentation_mode_makes_text_large_lines_thick_and_hides_the_controls(window):
    window.open_example("adding", wait=True)
    settle()
    trajectories = panel(window, "CellTrajectoryPanel")
    trajectories.show()
    trajectories.raise_()
    settle()
    (curve,) = [c for c in trajectories.curves if c.isVisible()]  # unit 4, in red
    view = trajectories.findChild(pg.GraphicsView)
    app = QApplication.instance()
    font = app.font().pointSizeF()
    width = pg.mkPen(curve.opts["pen"]).widthF()
    drawn = red_pixels(view)
    combo = trajectories.findChild(QComboBox)
    axis = view.getPlotItem().getAxis("bottom") if hasattr(view, "getPlotItem") else None
    assert combo.isVisible() and window.navigate.isVisible() and window.menuBar().isVisible()
    guide = panel(window, "GuidePanel")

    batch_enabled = window.transport.batch.isEnabled()

    def note_size():
        return float(re.search(r"font-size:([0-9.]+)pt", guide.text.toHtml()).group(1))

    before_note = note_size()
    window.presentation_action.trigger()
    settle()
    assert window.presentation.active and window.presentation_action.isChecked()
    assert note_size() == pytest.approx(before_note * 1.6, rel=0.02)  # at once, not at the next note
    assert app.font().pointSizeF() == font * 1.6
    assert pg.mkPen(curve.opts["pen"]).widthF() == max(width, 1.0) * 2.5
    thick = red_pixels(view)
    assert thick > 1.8 * drawn  # what the plot shows: a line about 2.5 times as wide
    assert not combo.isVisible() and not window.navigate.isVisible() and not window.menuBar().isVisible()
    assert not window.statusBar().isVisible()
    assert window.transport.isVisible()
    transport = window.transport
    assert transport.slider.isVisible() and transport.position.isVisible()  # the transport itself
    assert not any(w.isVisible() for w in (transport.speed, transport.loop, transport.layer, transport.batch))
    assert not guide.next.isHidden() and not guide.previous.isHidden()  # the walk stays usable
    assert note_size() >= app.font().pointSizeF()  # the note as large as the rest, or larger
    assert window.isFullScreen()
    if axis is not None:
        assert axis.style["tickFont"].pointSizeF() == app.font().pointSizeF()
    legend = trajectories.legend
    label = legend.items[0][1]
    assert legend.opts["labelTextSize"] == f"{app.font().pointSizeF():.1f}pt"
    assert f"font-size:{app.font().pointSizeF():.1f}pt" in label.item.toHtml().replace(" ", "")  # drawn at that size

    window.presentation_action.trigger()
    settle()
    assert not window.presentation.active and not window.presentation_action.isChecked()
    assert app.font().pointSizeF() == font
    assert pg.mkPen(curve.opts["pen"]).widthF() == width
    assert combo.isVisible() and window.navigate.isVisible() and window.menuBar().isVisible()
    assert transport.speed.isVisible() and transport.layer.isVisible() and transport.loop.isVisible()
    assert transport.batch.isEnabled() == batch_enabled  # (one sequence: still disabled)
    assert note_size() == pytest.approx(before_note, rel=0.02)
    assert not window.isFullScreen() and window.size().width() == 1600
    assert abs(red_pixels(view) - drawn) <= 0.1 * drawn
    assert legend.opts["labelTextSize"] == "9pt" and "font-size:9pt" in label.item.toHtml().replace(" ", "")
    assert lod.LINE_SCALE == 1.0


def test_a_curve_made_during_presentation_is_thick_too(window):
    window.open_example("adding", wait=True)
    window.presentation_action.trigger()
    settle()
    window.session.select_units([1, 4])  # new curves for the new selection
    settle()
    trajectories = panel(window, "CellTrajectoryPanel")
    curves = [c for c in trajectories.curves if c.isVisible()]
    assert len(curves) == 2
    assert all(pg.mkPen(c.opts["pen"]).widthF() >= 2.5 for c in curves)
    window.presentation_action.trigger()
    settle()
    assert all(pg.mkPen(c.opts["pen"]).widthF() <= 1.0 for c in curves)


def test_the_walk_keys_say_what_to_do_when_no_example_is_open(window):
    from lstm_viz.engine import LSTM
    from lstm_viz.io.sequences import Sequence
    from lstm_viz.ui.session import Loaded

    x = np.random.default_rng(0).normal(size=(1, 40, 2)).astype(np.float32)
    model = LSTM.random(2, [4], seed=0)
    window.session.set_loaded(Loaded(model, Sequence(x), model.run(x), "random"))
    window.session.set_step(7)
    step = window.session.step
    window.next_note.trigger()
    assert window.session.step == step and window.core.note == -1
    assert "Examples menu" in window.statusBar().currentMessage()
