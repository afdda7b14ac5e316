"""What a step costs the window beyond the plots: no layout pass, one paint per view.

Measured with benchmarks/bench_window.py: a label that could change size at every step
made the whole window lay itself out again (1 ms of a 10 ms step), and so did a selectable
label (its text laid out as a document at every change).
"""

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication, QWidget

from tests.ui.conftest import panel


class Events(QObject):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.seen: list = []

    def eventFilter(self, obj, event):
        if event.type() == self.kind and isinstance(obj, QWidget):
            self.seen.append(type(obj).__name__ + ":" + obj.objectName())
        return False


def test_stepping_lays_nothing_out_again(window):
    session = window.session
    session.select_units([0, 1, 2, 3])
    for step in (1, 2):  # first steps may size labels for the longest text
        session.set_step(step)
        QApplication.processEvents()
    memory = panel(window, "MemoryPanel")
    assert memory.numbers.text().count("\n") == 3  # four units' lines shown
    layouts = Events(QEvent.Type.LayoutRequest)
    QApplication.instance().installEventFilter(layouts)
    try:
        for step in range(3, 13):
            session.set_step(step)
            QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(layouts)
    assert window.transport.position.text().startswith("t = 12 / ")
    assert f"unit 0: old {session.layer_trace.at(0, 12)['old'][0]:+.3f}" in memory.numbers.text()
    assert layouts.seen == []


def test_the_numbers_under_the_memory_bars_can_still_be_selected(window):
    numbers = panel(window, "MemoryPanel").numbers
    window.session.set_step(4)
    QApplication.processEvents()
    assert numbers.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction
    inside = QPoint(5, 5)
    QApplication.sendEvent(numbers, QEnterEvent(inside, inside, numbers.mapToGlobal(inside)))
    assert numbers.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    numbers.setSelection(0, 6)
    QApplication.sendEvent(numbers, QEvent(QEvent.Type.Leave))
    assert numbers.selectedText() == numbers.text()[:6]  # kept while something is selected
    assert numbers.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    # the whole text fits: nothing cut at the right or the bottom
    metrics = numbers.fontMetrics()
    lines = numbers.text().split("\n")
    assert numbers.width() >= max(metrics.horizontalAdvance(line) for line in lines)
    assert numbers.height() >= metrics.lineSpacing() * len(lines)


def test_a_zoom_paints_each_time_plot_once(window):
    """pyqtgraph moved the items to a new range, and the level-of-detail items redrew,
    while the view painted: each changed item asked for a second paint of the view (every
    zoom or pan frame painted twice). The panels now do that before the paint."""
    import pyqtgraph as pg

    core = window.core
    core.set_time_range(0, core.length / 2)
    for _ in range(5):
        QApplication.processEvents()
    views = window.findChildren(pg.GraphicsView)
    viewports = [v.viewport() for v in views if not v.viewport().visibleRegion().isEmpty()]
    counted = Events(QEvent.Type.Paint)
    counted.eventFilter = lambda obj, event: bool(event.type() == QEvent.Type.Paint and counted.seen.append(obj))
    for viewport in viewports:
        viewport.installEventFilter(counted)
    try:
        for t0 in (2, 4, 6):
            counted.seen.clear()
            core.set_time_range(t0, t0 + 10)
            for _ in range(5):
                QApplication.processEvents()
            painted = [sum(obj is v for obj in counted.seen) for v in viewports]
            assert sum(painted) >= 4  # the overview, trajectories, heatmaps, input: on screen, changed
            assert max(painted) == 1, painted  # each once
    finally:
        for viewport in viewports:
            viewport.removeEventFilter(counted)


def test_a_step_does_not_redraw_the_bands_of_long_curves(window, monkeypatch):
    """The cursor moves at every step and the trajectories repaint under it: the curves'
    min-max bands are kept as images while data and view stay (remade, they cost 6 ms a
    step at 8 curves: measured at T = 1,000,000)."""
    import numpy as np

    from lstm_viz.engine import LSTM
    from lstm_viz.io.sequences import Sequence
    from lstm_viz.ui.lod import BandLayer
    from lstm_viz.ui.session import Loaded

    x = np.random.default_rng(0).normal(size=(1, 50_000, 2)).astype(np.float32)
    model = LSTM.random(2, [8], seed=0)
    window.session.set_loaded(Loaded(model, Sequence(x), model.run(x), "long"))
    window.session.set_step(100)
    for _ in range(5):
        QApplication.processEvents()
    trajectories = panel(window, "CellTrajectoryPanel")
    bands = [c.envelope for c in trajectories.curves if c.isVisible()]
    assert bands and all(len(b.left) > 100 for b in bands)  # long: drawn as bands
    layers = {id(b.layer): b.layer for b in bands}
    assert len(layers) == 1  # one layer paints the view's bands
    (layer,) = layers.values()
    assert isinstance(layer, BandLayer)
    paints, images = layer.paints, layer.images
    for step in range(101, 111):
        window.session.set_step(step)
        QApplication.processEvents()
    assert (layer.paints, layer.images) == (paints, images)  # not even painted: blitted from Qt's cache
    window.core.set_time_range(1000, 40_000)  # a new view: made again, once
    QApplication.processEvents()
    assert layer.images == images + 1  # the eight bands share their columns: one image
    assert layer.paints == paints + 1
