"""Memory: the tutorial's update for the selected units at this step.

old = keep x previous cell, new = write x candidate, cell = old + new, and what is read
out: read x tanh(cell). All numbers are the engine's.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Bars, Markers, Panel, Place, StepText, cache_axes, legend_above
from lstm_viz.ui.style import QUANTITY_COLORS
from lstm_viz.vocabulary import QUANTITIES
from lstm_viz.workbench.lod import quantity_pyramid

PARTS = tuple((name, QUANTITIES[name].axis) for name in ("old", "new"))


class MemoryPanel(Panel):
    title = "Memory update at this step"
    place = Place(below="CellTrajectoryPanel", height=45, front=True)
    tour = (
        "The update, as bars",
        "old = keep x previous cell, new = write x candidate; their sum is "
        "the new cell (red dash), and read x tanh(cell) is sent out.",
    )

    def numbers(self, scope: str):
        from lstm_viz.workbench.data_out import quantity_table

        return quantity_table(self.session.core, ("old", "new", "cell", "hidden"), self.session.selected[:16], scope)

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=False, y=True)
        legend_above(self.plot, 2)
        self.plot.addLine(y=0, pen=pg.mkPen("#999"))
        self.old = Bars(x=[], height=[], width=0.35, brush=QUANTITY_COLORS["old"], pen=None, name=PARTS[0][1])
        self.new = Bars(x=[], height=[], width=0.35, brush=QUANTITY_COLORS["new"], pen=None, name=PARTS[1][1])
        self.out = Bars(
            x=[], height=[], width=0.3, brush=QUANTITY_COLORS["hidden"], pen=None, name="output = read x tanh(c)"
        )
        self.cell = Markers(size=30, pen=pg.mkPen(QUANTITY_COLORS["cell"], width=3), dash=True)
        # the original run's cell, while a what-if is shown
        self.ghost = Markers(size=30, pen=pg.mkPen("#555", width=2, style=Qt.PenStyle.DotLine), dash=True)
        for item in (self.old, self.new, self.out, self.cell, self.ghost):
            self.plot.addItem(item)
        # Markers draws itself; the legend gets a sample of the same dash.
        sample = pg.PlotDataItem([], [], pen=pg.mkPen(QUANTITY_COLORS["cell"], width=3))
        self.plot.getPlotItem().legend.addItem(sample, "cell = old + new")
        cache_axes(self.plot)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # plain numbers, no "(x0.001)"
        self.hover_scene(self.plot, self.describe)
        self.click_scene(self.plot, self.clicked)
        self.plot.setLabel("bottom", "selected unit")
        self.numbers = StepText()
        self.numbers.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # every selected unit's line, scrolled when there are more than fit in five lines
        from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy

        self.numbers_area = QScrollArea()
        self.numbers_area.setWidget(self.numbers)
        self.numbers_area.setWidgetResizable(True)
        self.numbers_area.setFrameShape(QFrame.Shape.NoFrame)
        self.numbers_area.setFixedHeight(self.numbers.fontMetrics().lineSpacing() * 5 + 8)
        # its width follows the dock, never the text's: a long line scrolls instead of widening the dock
        self.numbers_area.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.numbers_area)
        self.setWidget(container)
        self.units: list[int] = []
        self.available = False
        self.original_cell = None

    def on_trace(self):
        lt = self.session.layer_trace
        self.available = lt.is_lstm
        if not self.available:
            for bars in (self.old, self.new, self.out):
                bars.setOpts(x=[], height=[], y0=[])
            self.cell.setData([], [])
            self.ghost.setData([], [])
            self.numbers.setText("A plain tanh RNN has no memory cell: h(t) = tanh(W_x x(t) + W_h h(t−1) + b).")
        if self.available:
            self.original_cell = self.session.original_quantity("cell")
            low, high = self._extremes(lt)
            # Fixed y range, so the bars move rather than the axis.
            self.plot.setYRange(low * 1.1, max(high * 1.1, low * 1.1 + 1e-3))

    EXACT_RANGE_VALUES = 4_000_000
    """Up to this many values per quantity the y range is the exact extremes of old, new,
    cell and output; beyond, it is bounded from the cell's extremes (old = keep x c(t-1)
    lies between 0 and c(t-1); new and the output lie in [-1, 1]), so a long trace costs no
    copy of any of them."""

    def _extremes(self, lt) -> tuple[float, float]:
        b, T = self.session.batch, self.session.length
        # the cell's extremes from its level-of-detail pyramid (the trajectories draw from it)
        low, high = quantity_pyramid(lt, "cell", b, T).range()
        cells = [lt.initial_cell[b][None]]
        if self.original_cell is not None:
            cells.append(self.original_cell[:T])
        low = min(0.0, low, *(float(c.min()) for c in cells))
        high = max(0.0, high, *(float(c.max()) for c in cells))
        if T * lt.hidden_size > self.EXACT_RANGE_VALUES:
            return min(low, -1.0), max(high, 1.0)
        c, c0 = lt.cell[b, :T], lt.initial_cell[b][None]
        prev = np.concatenate([c[1:], c0] if lt.reverse_time else [c0, c[:-1]])
        parts = [lt.forget[b, :T] * prev, lt.input[b, :T] * lt.candidate[b, :T], lt.output[b, :T] * np.tanh(c)]
        return min(low, *(float(a.min()) for a in parts)), max(high, *(float(a.max()) for a in parts))

    def on_selection(self):
        self.units = self.session.selected[:16]
        n = len(self.units)
        self.plot.getAxis("bottom").setTicks([[(k, str(u)) for k, u in enumerate(self.units)]])
        self.plot.setXRange(-0.6, n - 0.4, padding=0)

    def unit_at(self, x: float) -> int | None:
        k = int(round(x))
        return self.units[k] if self.available and 0 <= k < len(self.units) and abs(x - k) < 0.45 else None

    def describe(self, x: float, y: float) -> str | None:
        unit = self.unit_at(x)
        if unit is None:
            return None
        t = self.session.step
        values = self.session.layer_trace.at(self.session.batch, t)
        o, n = values["old"][unit], values["new"][unit]
        c, h = values["cell"][unit], values["hidden_unprojected"][unit]
        return (
            f"unit {unit} · t = {t} ({self.session.label(t)!r}): old {o:.4f} + new {n:.4f} = cell {c:.4f};"
            f" output {h:.4f}"
        )

    def clicked(self, x: float, y: float, modifiers) -> bool:
        unit = self.unit_at(x)
        if unit is not None:
            self.select_unit(unit, modifiers)
            return True
        return False

    def on_step(self, step):
        if not self.available or not self.units:
            return
        u = self.units
        x = np.arange(len(u), dtype=float)
        values = self.session.layer_trace.at(self.session.batch, step)  # this step only: no whole-trace copies
        old, new = values["old"][u], values["new"][u]
        cell, out = values["cell"][u], values["hidden_unprojected"][u]
        # new is stacked on old: it starts where old ends.
        self.old.setOpts(x=x - 0.18, height=old, y0=np.zeros(len(u)))
        self.new.setOpts(x=x - 0.18, height=new, y0=old)
        self.out.setOpts(x=x + 0.2, height=out, y0=np.zeros(len(u)))
        self.cell.setData(x=x - 0.18, y=cell)
        was = self.original_cell[step, u] if self.original_cell is not None else None
        self.ghost.setData(x=x - 0.18 if was is not None else [], y=was if was is not None else [])
        rows = [
            f"unit {unit}: old {o:+.3f} + new {n:+.3f} = cell {c:+.3f} → output {h:+.3f}"
            for unit, o, n, c, h in zip(u, old, new, cell, out)
        ]
        if was is not None:
            rows = [f"{row}   (was {w:+.3f})" for row, w in zip(rows, was)]
        self.numbers.setText("\n".join(rows))
