"""Gates: keep (forget), write (input) and read (output) of every unit at this step, as bars."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from lstm_viz.ui.panels.base import Panel, unit_ticks
from lstm_viz.ui.style import GATES, QUANTITY_COLORS, QUANTITY_LABELS


class GateBarsPanel(Panel):
    title = "Gates at this step"
    object_name = "GateBarsPanel"
    area = Qt.DockWidgetArea.TopDockWidgetArea
    GROUP = 4.0  # three bars and a gap per unit

    def build(self):
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setYRange(0, 1.3, padding=0)  # the legend sits above the bars
        self.plot.getAxis("left").setTicks([[(v / 5, f"{v / 5:g}") for v in range(6)]])
        self.plot.setLabel("left", "gate value")
        self.plot.setLabel("bottom", "unit")
        self.plot.addLegend(offset=(10, 5), colCount=3)
        self.highlight = pg.BarGraphItem(
            x=[], height=[], width=self.GROUP * 0.9, y0=0, brush=pg.mkBrush(0, 0, 0, 25), pen=None
        )
        self.plot.addItem(self.highlight)
        self.bars = {}
        for _k, gate in enumerate(GATES):
            bars = pg.BarGraphItem(
                x=[], height=[], width=0.9, brush=QUANTITY_COLORS[gate], pen=None, name=QUANTITY_LABELS[gate]
            )
            self.plot.addItem(bars)
            self.bars[gate] = bars
        self.setWidget(self.plot)
        self.values = {}

    def on_trace(self):
        units = self.session.layer_trace.hidden_size
        base = np.arange(units) * self.GROUP
        self.values = {gate: self.session.quantity(gate) for gate in GATES}
        for k, gate in enumerate(GATES):
            self.bars[gate].setOpts(x=base + k, height=np.zeros(units))
        self.plot.getAxis("bottom").setTicks(unit_ticks(units, self.GROUP, 1.0))
        self.plot.setXRange(-1, units * self.GROUP, padding=0.01)

    def on_selection(self):
        selected = np.array(self.session.selected, dtype=float)
        self.highlight.setOpts(x=selected * self.GROUP + 1.0, height=np.full(len(selected), 1.02))

    def on_step(self, step):
        if not self.values:
            return
        for gate in GATES:
            self.bars[gate].setOpts(height=self.values[gate][step])

    def shown_heights(self, gate: str) -> np.ndarray:
        """What the bars of ``gate`` display now (for tests)."""
        return np.asarray(self.bars[gate].opts["height"])
