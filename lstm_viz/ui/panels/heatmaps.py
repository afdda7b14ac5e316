"""Gate heatmaps: units x time images of the three gates and the candidate, with the cursor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Panel, Place, cache_axes, cache_static, integer_steps, unit_ticks
from lstm_viz.ui.style import GATES, QUANTITY_LABELS

QUANTITIES = (*GATES, "candidate")  # the three gates, then the candidate


class _ClickableImage(pg.ImageItem):
    def __init__(self, panel, name):
        super().__init__()
        self.panel, self.name = panel, name
        self.setAcceptHoverEvents(True)

    def mouseClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            pos = event.pos()
            self.panel.clicked(int(pos.x()), int(pos.y()), event.modifiers())
            event.accept()

    def hoverEvent(self, event):
        if event.isExit():
            self.panel.hover(None)
        else:
            pos = event.pos()
            self.panel.hover((self.name, int(pos.x()), int(pos.y())))


class GateHeatmapsPanel(Panel):
    title = "Gate heatmaps (units x time)"
    place = Place(below="GateBarsPanel", height=52)
    tour = (
        "Every gate over time",
        "Rows are units, columns are steps: bright means open. A "
        "click selects that unit and jumps to that step; hover for the exact value.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.info = QLabel("Click a row to select that unit; hover for exact values.")
        self.info.setFixedHeight(self.info.sizeHint().height())
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.info)
        self.plots, self.images, self.cursors, self.marks = {}, {}, {}, {}
        gate_map = pg.colormap.get("viridis")
        diverging = pg.colormap.get("CET-D1")
        for row, name in enumerate(QUANTITIES):
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": self.step_axis()})
            # two lines, so both names fit beside a short heatmap ("Keep" over "(forget)")
            plot.setLabel("left", QUANTITY_LABELS[name].replace(" (", "<br>("), **{"font-size": "8pt"})
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            cache_axes(plot)
            image = _ClickableImage(self, name)
            cache_static(image)
            image.setLookupTable((diverging if name == "candidate" else gate_map).getLookupTable(nPts=256))
            plot.addItem(image)
            levels = (-1.0, 1.0) if name == "candidate" else (0.0, 1.0)
            colors = diverging if name == "candidate" else gate_map
            bar = pg.ColorBarItem(values=levels, colorMap=colors, interactive=False, width=12)
            bar.setImageItem(image, insert_in=plot)
            bar.axis.setTicks([[(v, f"{v:g}") for v in (levels[0], sum(levels) / 2, levels[1])]])
            self.cursors[name] = self.cursor(plot)
            # a small orange arrow at each selected row: readable on every colour map, apart on close rows
            mark = pg.ScatterPlotItem(size=8, symbol="t2", brush=pg.mkBrush("#e8590c"), pen=pg.mkPen("#fff", width=1))
            plot.addItem(mark, ignoreBounds=True)
            self.plots[name], self.images[name], self.marks[name] = plot, image, mark
            if row:
                plot.setXLink(self.plots[QUANTITIES[0]])
        for name in QUANTITIES[:-1]:  # the time axis is named once, under the last heatmap
            axis = self.plots[name].getAxis("bottom")
            axis.named = False
            axis.showLabel(False)
        self.setWidget(container)

    def time_plots(self):
        return [self.plots[QUANTITIES[0]]]

    def on_trace(self):
        T = self.session.length
        lt = self.session.layer_trace
        for plot in self.plots.values():
            plot.setVisible(lt.is_lstm)
        if not lt.is_lstm:
            self.info.setText("A plain tanh RNN has no gates: its output h(t) is in the trajectories.")
            return
        self.info.setText("Click a row to select that unit; hover for exact values.")
        for name in QUANTITIES:
            values = self.session.quantity(name)[:T]
            levels = (-1.0, 1.0) if name == "candidate" else (0.0, 1.0)
            # Rows are units, columns are steps (row-major images).
            self.images[name].setImage(np.ascontiguousarray(values.T), autoLevels=False, levels=levels)
            self.plots[name].setYRange(0, values.shape[1], padding=0)
            # rows are units: name them at their middles (at most 3 names: the heatmaps are short)
            self.plots[name].getAxis("left").setTicks(unit_ticks(values.shape[1], offset=0.5, most=3))
        self.plots[QUANTITIES[0]].setXRange(0, T, padding=0)
        for plot in self.plots.values():
            integer_steps(plot, T)

    def on_selection(self):
        if not self.session.layer_trace.is_lstm:
            return
        selected = self.session.selected
        everyone = len(selected) == self.session.layer_trace.hidden_size
        units = np.array([] if everyone else selected, dtype=float) + 0.5  # all selected: nothing to point at
        for name in QUANTITIES:
            self.marks[name].setData(x=np.full(len(units), 0.0), y=units)

    def on_step(self, step):
        for cursor in self.cursors.values():
            cursor.setValue(step + 0.5)

    def clicked(self, step, unit, modifiers):
        if unit < 0 or step < 0:
            return
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            units = set(self.session.selected) ^ {unit}
        else:
            units = {unit}
        self.session.select_units(units)
        self.session.set_step(step)

    def hover(self, where):
        if where is None or self.session.loaded is None:
            return
        name, step, unit = where
        values = self.session.quantity(name)
        if 0 <= step < self.session.length and 0 <= unit < values.shape[1]:
            label = self.session.label(step)
            text = f"{QUANTITY_LABELS[name]} · unit {unit} · t = {step} ({label!r}) · {values[step, unit]:.4f}"
            self.info.setText(text)
            self.hover_text = text
