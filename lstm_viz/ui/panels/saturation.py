"""Saturation, as in Karpathy, Johnson and Fei-Fei (2015): one dot per unit and gate.

Across: the share of steps the gate is shut (below 0.1); up: the share it is open (above
0.9). A unit near the top-left keeps its gate open almost always (a keep gate there holds
memory), near the bottom-right it is shut; dots near the origin are gates that act step
by step. Over the shown sequence; the selected units are ringed; click a dot to select.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lstm_viz.ui.panels.analysis import Analyses
from lstm_viz.ui.panels.base import Panel, Place, cache_axes, legend_above
from lstm_viz.ui.style import QUANTITY_COLORS, QUANTITY_LABELS

GATES = ("forget", "input", "output")
LOW, HIGH = 0.1, 0.9


class SaturationPanel(Panel):
    title = "Gate saturation"
    place = Place(tab="GuidePanel")
    tour = (
        "Which gates are stuck",
        "One dot per unit and gate: across, how often the gate is shut (below 0.1); up, "
        "how often it is open (above 0.9). Click a dot to select its unit.",
    )

    def build(self):
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(False)
        legend_above(self.plot, 3)
        self.plot.setLabel("bottom", f"share of steps shut (below {LOW:g})")
        self.plot.setLabel("left", f"share of steps open (above {HIGH:g})")
        self.plot.setXRange(0, 1, padding=0.04)
        self.plot.setYRange(0, 1, padding=0.04)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.plot([0, 1], [1, 0], pen=pg.mkPen("#bbb", style=pg.QtCore.Qt.PenStyle.DashLine))  # the edge
        cache_axes(self.plot)
        self.dots = {}
        for gate in GATES:
            dots = pg.ScatterPlotItem(
                size=8,
                brush=pg.mkBrush(QUANTITY_COLORS[gate]),
                pen=pg.mkPen("#fff", width=0.5),
                name=QUANTITY_LABELS[gate],
            )
            self.plot.addItem(dots)
            self.dots[gate] = dots
        self.rings = pg.ScatterPlotItem(size=15, brush=None, pen=pg.mkPen("#e8590c", width=2))
        self.plot.addItem(self.rings)
        self.hover_scene(self.plot, self.describe)
        self.click_scene(self.plot, self.clicked)
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        self.analyses = Analyses(self, ("unit_figures",), self.on_result, self.on_failed)
        layout.addWidget(self.analyses.strip)
        layout.addWidget(self.plot, 1)
        self.setWidget(container)
        self.figures = None

    def on_trace(self):
        self.analyses.forget()
        self.figures = None
        for dots in self.dots.values():
            dots.setData([], [])
        if not self.session.layer_trace.is_lstm:
            self.plot.setTitle("A tanh RNN has no gates.")
            return
        self.plot.setTitle("")
        # over the shown sequence, its padding left out (the unit figures of the core)
        self.analyses.ask("unit_figures", {"reference": ""}, "Counting…")

    def on_result(self, name, result):
        if result is None or result.saturation is None:
            return
        self.figures = result.saturation
        for gate in GATES:
            self.dots[gate].setData(self.figures.left[gate], self.figures.right[gate])
        self.on_selection()

    def on_failed(self, name, message):
        self.plot.setTitle(message.splitlines()[0])

    def on_selection(self):
        if self.figures is None:
            self.rings.setData([], [])
            return
        units = self.session.selected
        if len(units) == self.session.layer_trace.hidden_size:
            units = []
        xs = np.concatenate([self.figures.left[g][units] for g in GATES]) if units else []
        ys = np.concatenate([self.figures.right[g][units] for g in GATES]) if units else []
        self.rings.setData(xs, ys)

    def nearest(self, x: float, y: float) -> tuple[str, int] | None:
        """The gate and unit of the dot under (x, y), within 8 pixels."""
        if self.figures is None:
            return None
        px, py = self.plot.getPlotItem().vb.viewPixelSize()
        best, where = None, None
        for gate in GATES:
            dx = (self.figures.left[gate] - x) / px
            dy = (self.figures.right[gate] - y) / py
            d = np.hypot(dx, dy)
            k = int(np.argmin(d))
            if d[k] <= 8 and (best is None or d[k] < best):
                best, where = d[k], (gate, k)
        return where

    def describe(self, x: float, y: float) -> str | None:
        hit = self.nearest(x, y)
        if hit is None:
            return None
        gate, unit = hit
        left, right = self.figures.left[gate][unit], self.figures.right[gate][unit]
        return (
            f"{QUANTITY_LABELS[gate]} of unit {unit}: shut (< {LOW:g}) at {100 * left:.1f}% of the "
            f"{self.figures.steps} steps, open (> {HIGH:g}) at {100 * right:.1f}%"
        )

    def clicked(self, x: float, y: float, modifiers) -> bool:
        hit = self.nearest(x, y)
        if hit is None:
            return False
        self.select_unit(hit[1], modifiers)
        return True
