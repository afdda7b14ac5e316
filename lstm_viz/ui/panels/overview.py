"""Overview: the whole sequence in one strip, with the visible range as a window to drag.

As in PlotJuggler or Rerun: the strip always shows every step (as a min-max envelope, a
few thousand columns whatever the length), the shaded window is the range the other time
plots show. Drag the window to pan, drag its edges to zoom, click elsewhere to go to that
step (the window turns a page to show it), wheel over the strip to zoom around the mouse.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Panel, Place, cache_axes, cache_static
from lstm_viz.ui.panels.input import MAX_CURVES as MAX_CURVES_OF_INPUT
from lstm_viz.workbench.lod import ArraySource, array_pyramid, quantity_pyramid

COLUMNS = 2048  # envelope columns over the whole sequence (at most)
MAX_SERIES = 4
LANE = 0.85  # the height of a series' lane (1 apart)
WINDOW_BRUSH = (40, 110, 220, 45)
WINDOW_PEN = (40, 110, 220, 200)


class OverviewPanel(Panel):
    title = "Overview (the whole sequence)"
    place = Place("top", height=96)
    tour = (
        "The whole sequence at a glance",
        "Every step in one strip; the shaded window is what the other plots show. Drag it to "
        "move through time, drag its edges or use the mouse wheel to zoom, click to go to a step.",
    )

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.setMaximumHeight(124)  # a strip: never the window's height, even before it is built

    def build(self):
        container = QWidget()
        layout = QHBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        side = QVBoxLayout()
        self.what = QLabel()
        self.what.setWordWrap(True)
        self.what.setTextFormat(Qt.TextFormat.RichText)
        # a fixed size: the text changes at every zoom, and a label that may change size
        # makes the window lay itself out again
        self.what.setFixedSize(130, 96)
        self.what.setAutoFillBackground(True)  # opaque: its parents need not repaint behind it
        self.what.setStyleSheet("color: #555;")
        self.what.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.what)
        layout.addLayout(side)
        self.plot = pg.PlotWidget(axisItems={"bottom": self.step_axis()})
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getAxis("left").setStyle(showValues=False)
        self.plot.getAxis("left").setWidth(6)
        self.plot.setMinimumHeight(60)
        self.plot.setMaximumHeight(96)
        axis = self.plot.getAxis("bottom")  # steps, unnamed: the strip stays thin
        axis.named = False
        axis.showLabel(False)
        cache_axes(self.plot)
        layout.addWidget(self.plot, 1)
        self.curves: list[pg.PlotDataItem] = []
        self.window_item = pg.LinearRegionItem(
            orientation="vertical", brush=pg.mkBrush(WINDOW_BRUSH), pen=pg.mkPen(WINDOW_PEN, width=2)
        )
        self.window_item.setZValue(30)
        self.window_item.sigRegionChanged.connect(self._dragged)
        self.plot.addItem(self.window_item, ignoreBounds=True)
        self.line = self.cursor(self.plot.getPlotItem())
        self.click_scene(self.plot, self.clicked)
        self.plot.getPlotItem().vb.wheelEvent = self._wheel
        self._placing = False
        self.words = ""  # what the strip shows, set by _draw
        self.setWidget(container)

    # -- what the strip shows -------------------------------------------------------------
    def series(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
        """The envelopes drawn, (x, y) each scaled to 0..1 by the series' own range, and a
        line of words: a numeric sequence's features, else the selected units' h(t). Read
        from the level-of-detail pyramids the other panels share (built once per trace)."""
        s = self.session
        T = s.length
        if s.sequence.vocabulary is None:
            x, batch = s.trace.x, s.batch
            shown = min(x.shape[2], MAX_CURVES_OF_INPUT)  # the input panel's pyramid, shared
            pyramid = array_pyramid(
                x, ("input", batch, shown), T, ArraySource(x, (batch, slice(None), slice(0, shown))), shown
            )
            columns = list(range(min(MAX_SERIES, x.shape[2])))
            names = s.sequence.feature_names[:MAX_SERIES]
            more = x.shape[2] - len(columns)
            words = "input: " + ", ".join(names) + (f" (+{more} more)" if more > 0 else "")
            # the input panel's colours for its curves
            self.colors = [pg.intColor(k, hues=max(shown, 6), maxValue=200) for k in columns]
        else:
            pyramid = quantity_pyramid(s.layer_trace, "hidden", s.batch, T)
            columns = [u for u in (s.selected or [0])[:MAX_SERIES] if u < pyramid.width]
            words = "h(t) of " + ", ".join(f"unit {u}" for u in columns)
            # the trajectories' colours for the selected units
            hues = max(len(s.selected), 8)
            self.colors = [pg.intColor(k, hues=hues, values=1, maxValue=220) for k in range(len(columns))]
        shown = []
        for column in columns:
            cols = pyramid.columns(0, T, COLUMNS, units=[column], stats=("min", "max"))
            low, high = pyramid.range([column])
            lows, highs = cols.mins[:, 0].astype(np.float64), cols.maxs[:, 0].astype(np.float64)
            if cols.steps == 1:
                x, y = cols.starts.astype(float), lows
            else:  # a zig-zag through each column's min and max
                x = np.repeat(cols.starts + cols.steps / 2, 2).astype(float)
                y = np.column_stack([lows, highs]).ravel()
            y = (y - low) / (high - low) if high > low else np.full(len(y), 0.5)
            shown.append((x, y))
        # one lane each, the first on top: overlaid, a spiky series hides the others
        lanes = len(shown)
        shown = [(x, (lanes - 1 - k) + LANE * y) for k, (x, y) in enumerate(shown)]
        return shown, words

    def on_trace(self):
        self._line_pixel = None
        self._draw()

    def on_selection(self):
        if self.session.sequence.vocabulary is not None:
            self._draw()

    def _draw(self):
        scaled, self.words = self.series()
        T = self.session.length
        while len(self.curves) < len(scaled):
            curve = self.plot.plot([], [])
            cache_static(curve)
            self.curves.append(curve)
        for k, curve in enumerate(self.curves):
            if k < len(scaled):
                x, y = scaled[k]
                color = self.colors[k]
                curve.setData(x, y, pen=pg.mkPen(color, width=1), antialias=len(x) < 2 * COLUMNS)
                curve.setVisible(True)
            else:
                curve.setVisible(False)
        self.plot.setXRange(0, max(T, 1), padding=0)
        self.plot.setYRange(-0.05, max(len(scaled), 1) - 1 + LANE + 0.05, padding=0)
        self.window_item.setBounds((0, max(T, 1)))
        self._place_window()

    def show_time_range(self) -> None:  # the strip always shows the whole; its window moves
        if self._built:
            self._place_window()

    def _place_window(self) -> None:
        self._placing = True
        try:
            t0, t1 = self.session.core.time_range
            self.window_item.setRegion((t0, t1))
        finally:
            self._placing = False
        # the window can be thinner than a pixel (120 of a million steps): say what it holds
        T = self.session.length
        shown = "all steps" if t1 - t0 >= T else f"steps {int(t0):,}–{int(np.ceil(t1)) - 1:,} shown"
        text = f"{self.words}<br><span style='color:#2868dc'>{shown}</span>"
        if text != self.what.text():
            self.what.setText(text)

    # -- the user moves through time ------------------------------------------------------
    def _dragged(self) -> None:
        if self._placing or self.session.loaded is None:
            return
        t0, t1 = self.window_item.getRegion()
        self.session.core.set_time_range(t0, t1)

    def clicked(self, x: float, y: float, modifiers) -> bool:
        return self.go_to_step_at(x)

    def _wheel(self, event, axis=None) -> None:
        """Zoom the visible range around the mouse (the strip itself stays whole)."""
        if self.session.loaded is None:
            return
        delta = event.delta() if hasattr(event, "delta") else event.angleDelta().y()
        factor = 0.85 ** (delta / 120)
        vb = self.plot.getPlotItem().vb
        centre = vb.mapSceneToView(event.scenePos()).x()
        t0, t1 = self.session.core.time_range
        self.session.core.set_time_range(centre - (centre - t0) * factor, centre + (t1 - centre) * factor)
        event.accept()

    def on_step(self, step):
        # the strip shows every step in a few hundred pixels: most steps do not move the
        # line by a whole pixel, and repainting it for nothing costs a millisecond a step
        width = self.plot.getPlotItem().vb.width() or 1.0
        pixel = int(step * width / max(self.session.length, 1))
        if pixel != getattr(self, "_line_pixel", None) or step == 0:
            self._line_pixel = pixel
            self.line.setValue(step)
