"""Gates: keep (forget), write (input) and read (output) of the units at this step, as bars.

A layer of up to ``WIDE`` units shows three bars for every unit. A wider one (hundreds or
thousands of units) shows readable bars for a few units only, labelled with their numbers:
the selected ones, or the top 16 by a figure at this step (the units the input moves most,
the ones forgetting, the ones writing); under them a strip of the whole layer, one thin
column per unit and a row per gate, coloured by the gate's value, where a click selects
that unit. A line above them selects units by number ("3, 10-20, 40").
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Bars, Markers, Panel, Place, cache_axes, legend_above, unit_ticks
from lstm_viz.ui.style import GATES, QUANTITY_COLORS, QUANTITY_LABELS
from lstm_viz.ui.unit_picker import FIGURES, UnitPicker, top_units

SHORT = {"forget": "keep", "input": "write", "output": "read"}


class GateBarsPanel(Panel):
    title = "Gates at this step"
    remembered = ("show_choice",)
    place = Place("left", height=26, width=60)
    tour = (
        "The gates at this step",
        "For every unit, its keep (forget), write (input) and read "
        "(output) gate, each between 0 and 1. Click a unit's bars to select it; Ctrl+click adds more. "
        "A wide layer shows the bars of a few units (the selected ones, or the top 16 by a figure) "
        "over a strip of the whole layer.",
    )
    GROUP = 4.0  # three bars and a gap per unit
    WIDE = 48  # more units than this: bars for a few, a strip for all
    TOP = 16  # bars shown by a "top" figure
    MOST_BARS = 48  # selected units shown as bars at most (the first ones)

    def numbers(self, scope: str):
        from lstm_viz.workbench.data_out import quantity_table

        return quantity_table(self.session.core, ("forget", "input", "output"), None, scope)

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        # the wide layer's line: what the bars show, and units by number
        self.toolbar = QWidget()
        bar = QHBoxLayout(self.toolbar)
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(QLabel("Show"))
        self.show_choice = QComboBox()
        self.show_choice.addItem("selected units", "selected")
        for key, (words, why, _) in FIGURES.items():
            self.show_choice.addItem(f"top {self.TOP} by {words}", key)
            self.show_choice.setItemData(self.show_choice.count() - 1, why, Qt.ItemDataRole.ToolTipRole)
        self.show_choice.setToolTip("Which units get bars: the selected ones, or those that rank first at this step")
        self.show_choice.currentIndexChanged.connect(lambda _: self._show_changed())
        bar.addWidget(self.show_choice)
        self.select_shown = QPushButton("Select these")
        self.select_shown.setToolTip("Select the units whose bars are shown (they are followed everywhere)")
        self.select_shown.clicked.connect(lambda: self.session.select_units(self.shown.tolist()))
        bar.addWidget(self.select_shown)
        self.picker = UnitPicker(self.session, top=False)
        bar.addWidget(self.picker, 1)
        layout.addWidget(self.toolbar)
        self.toolbar.setVisible(False)

        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setYRange(0, 1.02, padding=0)
        self.plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)], [(v / 10, "") for v in range(11)]])
        self.plot.setLabel("left", "gate value")
        self.plot.setLabel("bottom", "unit")
        legend_above(self.plot, 3)
        self.highlight = Bars(x=[], height=[], width=self.GROUP * 0.9, y0=0, brush=pg.mkBrush(0, 0, 0, 25), pen=None)
        self.plot.addItem(self.highlight)
        self.bars = {}
        for _k, gate in enumerate(GATES):
            bars = Bars(x=[], height=[], width=0.9, brush=QUANTITY_COLORS[gate], pen=None, name=QUANTITY_LABELS[gate])
            self.plot.addItem(bars)
            self.bars[gate] = bars
        self.note = pg.TextItem("A plain tanh RNN has no gates: its output h(t) is in the trajectories.", color="#555")
        self.note.setPos(0, 0.6)
        self.note.setVisible(False)
        self.plot.addItem(self.note, ignoreBounds=True)
        self.hint = pg.TextItem(
            "No unit selected: click a column of the strip below, or type units above.", color="#555"
        )
        self.hint.setPos(0, 0.7)
        self.hint.setVisible(False)
        self.plot.addItem(self.hint, ignoreBounds=True)
        cache_axes(self.plot)
        self.hover_scene(self.plot, self.describe)
        self.click_scene(self.plot, self.clicked)
        layout.addWidget(self.plot, 1)

        # the whole layer: a row per gate, a column per unit
        self.strip = pg.PlotWidget()
        self.strip.setFixedHeight(78)
        self.strip.setMouseEnabled(x=True, y=False)
        self.strip.hideButtons()
        self.strip.getViewBox().invertY(True)  # keep on top, as in the legend
        self.strip.setYRange(-0.55, 3.5, padding=0)
        rows = self.strip.getAxis("left")
        rows.setTicks([[(k + 0.5, SHORT[g]) for k, g in enumerate(GATES)]])
        rows.setStyle(tickTextOffset=2, hideOverlappingLabels=False)
        self.strip.getAxis("left").setWidth(self.plot.getAxis("left").width())
        self.strip.setToolTip(
            "The whole layer at this step: a column per unit, a row per gate (keep, write, read), coloured by "
            "the gate's value. Orange arrows mark the selected units, dots the units whose bars are shown above. "
            "Click a column to select its unit (Ctrl+click adds it); the wheel zooms."
        )
        self.strip_image = pg.ImageItem()
        colors = pg.colormap.get("viridis")
        self.strip_image.setLookupTable(colors.getLookupTable(nPts=256))
        self.strip_image.setLevels((0.0, 1.0))
        self.strip.addItem(self.strip_image)
        scale = pg.ColorBarItem(values=(0.0, 1.0), colorMap=colors, interactive=False, width=10)
        scale.setImageItem(self.strip_image, insert_in=self.strip.getPlotItem())
        scale.axis.setTicks([[(0.0, "0"), (1.0, "1")]])
        # the units whose bars are shown: dark dots under their columns
        self.shown_marks = Markers(size=5, pen=None, brush="#222")
        self.strip.addItem(self.shown_marks, ignoreBounds=True)
        # the selected units: orange arrows over their columns, as on the heatmaps
        self.selected_marks = pg.ScatterPlotItem(
            size=8, symbol="t", brush=pg.mkBrush("#e8590c"), pen=pg.mkPen("#fff", width=1)
        )
        self.strip.addItem(self.selected_marks, ignoreBounds=True)
        cache_axes(self.strip)
        self.hover_scene(self.strip, self.describe_strip)
        self.click_scene(self.strip, self.clicked_strip)
        layout.addWidget(self.strip)
        self.strip.setVisible(False)

        self.setWidget(container)
        self.values = {}
        self.wide = False
        self.shown = np.zeros(0, np.int64)  # wide layers: the units whose bars are shown, left to right
        self._strip_buffer = np.zeros((3, 0), np.float32)

    # -- data -------------------------------------------------------------------------------
    def on_trace(self):
        lt = self.session.layer_trace
        self.note.setVisible(not lt.is_lstm)
        units = lt.hidden_size
        self.wide = lt.is_lstm and units > self.WIDE
        self.toolbar.setVisible(self.wide)
        self.strip.setVisible(self.wide)
        # a wide layer's bars need room above the strip: the dock asks the window for it
        self.plot.setMinimumHeight(96 if self.wide else 0)
        self.plot.setLabel("bottom", "" if self.wide else "unit")  # the numbers under the bars say it
        self.hint.setVisible(False)
        self.shown = np.zeros(0, np.int64)
        for bars in self.bars.values():
            bars.setOpts(x=[], height=[])
        if not lt.is_lstm:  # a plain tanh RNN: nothing to draw here
            self.values = {}
            return
        self.values = {gate: self.session.quantity(gate) for gate in GATES}
        if not self.wide:
            base = np.arange(units) * self.GROUP
            for k, gate in enumerate(GATES):
                self.bars[gate].setOpts(x=base + k, height=np.zeros(units))
            self.plot.getAxis("bottom").setTicks(unit_ticks(units, self.GROUP, 1.0))
            self.plot.setXRange(-1, units * self.GROUP, padding=0.01)
            return
        self._strip_buffer = np.zeros((3, units), np.float32)
        self.strip_image.setImage(self._strip_buffer, autoLevels=False)
        self.strip_image.setRect(0, 0, units, 3)
        self.strip.setLimits(xMin=0, xMax=units)
        self.strip.setXRange(0, units, padding=0)
        self.select_shown.setVisible(self.mode != "selected")

    @property
    def mode(self) -> str:
        """ "selected", or the figure the bars' units are ranked by (see ``unit_picker.FIGURES``)."""
        return self.show_choice.currentData()

    def _show_changed(self):
        self.select_shown.setVisible(self.mode != "selected")
        if self.session.loaded is not None and self.wide:
            self.on_selection()
            self.on_step(self.session.step)

    def on_selection(self):
        if not self.values:
            self.highlight.setOpts(x=[], height=[])
            return
        selected = np.array(self.session.selected, dtype=float)
        if not self.wide:
            self.highlight.setOpts(x=selected * self.GROUP + 1.0, height=np.full(len(selected), 1.02))
            return
        self.picker.show_selection()
        self.selected_marks.setData(x=selected + 0.5, y=np.full(len(selected), -0.3))
        if self.mode == "selected":
            self._place(np.array(self.session.selected[: self.MOST_BARS], np.int64))
        else:
            self._highlight_selected()

    def _place(self, units: np.ndarray) -> None:
        """Bars for ``units``, left to right, labelled with their numbers."""
        changed = len(units) != len(self.shown)
        self.shown = units
        n = len(units)
        if changed:
            base = np.arange(n) * self.GROUP
            for k, gate in enumerate(GATES):
                self.bars[gate].setOpts(x=base + k, height=np.zeros(n))
            self.plot.setXRange(-1, max(n, 8) * self.GROUP, padding=0.01)
        every = max(1, -(-n // 24))  # about two dozen labels fit
        self.plot.getAxis("bottom").setTicks(
            [[(k * self.GROUP + 1.0, str(u)) for k, u in enumerate(units.tolist()) if k % every == 0]]
        )
        self.hint.setVisible(n == 0)
        self.shown_marks.setData(units + 0.5, np.full(n, 3.3))
        self._highlight_selected()

    def _highlight_selected(self):
        if self.mode == "selected":  # every bar is a selected unit's
            self.highlight.setOpts(x=[], height=[])
            return
        slots = np.flatnonzero(np.isin(self.shown, self.session.selected))
        self.highlight.setOpts(x=slots * self.GROUP + 1.0, height=np.full(len(slots), 1.02))

    def on_step(self, step):
        if not self.values:
            return
        if not self.wide:
            for gate in GATES:
                self.bars[gate].setOpts(height=self.values[gate][step])
            return
        if self.mode != "selected":
            # left to right by number: bars move only when the set changes, not when ranks swap
            units = np.sort(top_units(self.values, step, self.mode, self.TOP))
            if not np.array_equal(units, self.shown):
                self._place(units)
        for k, gate in enumerate(GATES):
            row = self.values[gate][step]
            self._strip_buffer[k] = row
            self.bars[gate].setOpts(height=row[self.shown])
        self.strip_image.setImage(self._strip_buffer, autoLevels=False)

    # -- reading and clicking ---------------------------------------------------------------
    def _units(self) -> int:
        return len(self.values[GATES[0]][0]) if self.values else 0

    def at(self, x: float) -> tuple[int, str | None]:
        """The unit and gate whose bar is at ``x`` (gate None between bars; unit -1 where no bar is)."""
        slot = int(np.floor((x + 0.5) / self.GROUP))
        k = int(round(x - slot * self.GROUP))
        gate = GATES[k] if 0 <= k < len(GATES) and abs(x - slot * self.GROUP - k) <= 0.45 else None
        if self.wide:
            return (int(self.shown[slot]) if 0 <= slot < len(self.shown) else -1), gate
        return slot, gate

    def describe(self, x: float, y: float) -> str | None:
        if not self.values:
            return None
        unit, gate = self.at(x)
        if not 0 <= unit < self._units():
            return None
        step = self.session.step
        where = f"unit {unit} · t = {step} ({self.session.label(step)!r})"
        if gate is None:
            numbers = ", ".join(f"{QUANTITY_LABELS[g]} {self.values[g][step, unit]:.4f}" for g in GATES)
            return f"{where}: {numbers}"
        return f"{QUANTITY_LABELS[gate]} gate · {where} · {self.values[gate][step, unit]:.4f}"

    def clicked(self, x: float, y: float, modifiers) -> bool:
        unit, _ = self.at(x)
        if self.values and 0 <= unit < self._units():
            self.select_unit(unit, modifiers)
            return True
        return False

    def strip_unit(self, x: float) -> int | None:
        unit = int(np.floor(x))
        return unit if self.wide and self.values and 0 <= unit < self._units() else None

    def describe_strip(self, x: float, y: float) -> str | None:
        unit = self.strip_unit(x)
        if unit is None:
            return None
        step = self.session.step
        numbers = ", ".join(f"{QUANTITY_LABELS[g]} {self.values[g][step, unit]:.4f}" for g in GATES)
        return f"unit {unit} · t = {step} ({self.session.label(step)!r}): {numbers}"

    def clicked_strip(self, x: float, y: float, modifiers) -> bool:
        unit = self.strip_unit(x)
        if unit is None:
            return False
        self.select_unit(unit, modifiers)
        return True

    # -- for tests --------------------------------------------------------------------------
    def shown_heights(self, gate: str) -> np.ndarray:
        """What the bars of ``gate`` display now, left to right (for tests)."""
        return np.asarray(self.bars[gate].opts["height"])

    def shown_units(self) -> list[int]:
        """The units the bars are for, left to right (every unit of a small layer)."""
        return self.shown.tolist() if self.wide else list(range(self._units()))

    def shown_labels(self) -> list[str]:
        """The unit numbers written under the bars."""
        ticks = self.plot.getAxis("bottom")._tickLevels
        return [label for _, label in ticks[0]] if ticks else []

    def strip_columns(self) -> np.ndarray:
        """The strip's image now: a row per gate (keep, write, read), a column per unit."""
        return np.asarray(self.strip_image.image)
