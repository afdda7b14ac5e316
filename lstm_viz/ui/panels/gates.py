"""Gates: keep (forget), write (input) and read (output) of every unit at this step, as bars."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from lstm_viz.ui.panels.base import Panel, Place, cache_axes, legend_above, unit_ticks
from lstm_viz.ui.style import GATES, QUANTITY_COLORS, QUANTITY_LABELS


class GateBarsPanel(Panel):
    title = "Gates at this step"
    place = Place("left", height=26, width=60)
    tour = (
        "The gates at this step",
        "For every unit, its keep (forget), write (input) and read "
        "(output) gate, each between 0 and 1. Click a unit's bars to select it; Ctrl+click adds more.",
    )
    GROUP = 4.0  # three bars and a gap per unit

    def build(self):
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setYRange(0, 1.02, padding=0)
        self.plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)], [(v / 10, "") for v in range(11)]])
        self.plot.setLabel("left", "gate value")
        self.plot.setLabel("bottom", "unit")
        legend_above(self.plot, 3)
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
        self.note = pg.TextItem("A plain tanh RNN has no gates: its output h(t) is in the trajectories.", color="#555")
        self.note.setPos(0, 0.6)
        self.note.setVisible(False)
        self.plot.addItem(self.note, ignoreBounds=True)
        cache_axes(self.plot)
        self.hover_scene(self.plot, self.describe)
        self.click_scene(self.plot, self.clicked)
        self.setWidget(self.plot)
        self.values = {}

    def on_trace(self):
        lt = self.session.layer_trace
        self.note.setVisible(not lt.is_lstm)
        if not lt.is_lstm:  # a plain tanh RNN: nothing to draw here
            self.values = {}
            for bars in self.bars.values():
                bars.setOpts(x=[], height=[])
            return
        units = lt.hidden_size
        base = np.arange(units) * self.GROUP
        self.values = {gate: self.session.quantity(gate) for gate in GATES}
        for k, gate in enumerate(GATES):
            self.bars[gate].setOpts(x=base + k, height=np.zeros(units))
        self.plot.getAxis("bottom").setTicks(unit_ticks(units, self.GROUP, 1.0))
        self.plot.setXRange(-1, units * self.GROUP, padding=0.01)

    def on_selection(self):
        if not self.values:
            self.highlight.setOpts(x=[], height=[])
            return
        selected = np.array(self.session.selected, dtype=float)
        self.highlight.setOpts(x=selected * self.GROUP + 1.0, height=np.full(len(selected), 1.02))

    def on_step(self, step):
        if not self.values:
            return
        for gate in GATES:
            self.bars[gate].setOpts(height=self.values[gate][step])

    def at(self, x: float) -> tuple[int, str | None]:
        """The unit and gate whose bar is at ``x`` (gate None between bars)."""
        unit = int(np.floor((x + 0.5) / self.GROUP))
        k = int(round(x - unit * self.GROUP))
        return unit, (GATES[k] if 0 <= k < len(GATES) and abs(x - unit * self.GROUP - k) <= 0.45 else None)

    def describe(self, x: float, y: float) -> str | None:
        if not self.values:
            return None
        unit, gate = self.at(x)
        if not 0 <= unit < len(self.values[GATES[0]][0]):
            return None
        step = self.session.step
        where = f"unit {unit} · t = {step} ({self.session.label(step)!r})"
        if gate is None:
            numbers = ", ".join(f"{QUANTITY_LABELS[g]} {self.values[g][step, unit]:.4f}" for g in GATES)
            return f"{where}: {numbers}"
        return f"{QUANTITY_LABELS[gate]} gate · {where} · {self.values[gate][step, unit]:.4f}"

    def clicked(self, x: float, y: float, modifiers) -> bool:
        unit, _ = self.at(x)
        if self.values and 0 <= unit < len(self.values[GATES[0]][0]):
            self.select_unit(unit, modifiers)
            return True
        return False

    def shown_heights(self, gate: str) -> np.ndarray:
        """What the bars of ``gate`` display now (for tests)."""
        return np.asarray(self.bars[gate].opts["height"])
