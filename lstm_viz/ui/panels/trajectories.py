"""Cell-state trajectories of the selected units over time, with a moving marker.

Curves are drawn from level-of-detail pyramids (``lstm_viz.ui.lod``): about one column
per pixel of the visible steps, the exact values once zoomed in; hover and the markers
read the trace itself at the step."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lstm_viz.ui.lod import LodCurve
from lstm_viz.ui.panels.base import (
    Markers,
    Panel,
    Place,
    cache_static,
    integer_steps,
)
from lstm_viz.vocabulary import QUANTITIES
from lstm_viz.workbench.lod import quantity_pyramid

CHOICES = tuple((name, QUANTITIES[name].axis) for name in ("cell", "hidden", "tanh_cell"))


class CellTrajectoryPanel(Panel):
    title = "Trajectories of the selected units"
    remembered = ("choice",)
    place = Place("right", height=55, width=40, front=True)
    tour = (
        "Memory over time",
        "The memory cell c(t) of the selected units, with the current "
        "step marked. Switch to h(t) or tanh(c) above the plot.",
    )

    def numbers(self, scope: str):
        from lstm_viz.workbench.data_out import quantity_table

        return quantity_table(self.session.core, (self.choice.currentData(),), self.session.selected, scope)

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        self.choice = QComboBox()
        for key, label in CHOICES:
            self.choice.addItem(label, key)
        self.choice.currentIndexChanged.connect(lambda _: self._selection())
        bar.addWidget(self.choice)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.plot = self.curves_over_time()
        layout.addWidget(self.plot, 1)
        self.curves: list[LodCurve] = []
        self.ghosts: list[LodCurve] = []  # the original run, while a what-if is shown
        self.marker = Markers(size=10, pen=pg.mkPen("#000", width=1.5))
        self.marker.setZValue(60)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.click_scene(self.plot, self.clicked)
        self.setWidget(container)
        self.units: list[int] = []
        self.pyramid = None  # of the shown quantity: the curves draw it, hover and markers read its trace

    @property
    def quantity_name(self) -> str:
        return self.choice.currentData()

    def time_plots(self):
        return [self.plot.getPlotItem()]

    def on_trace(self):
        self.plot.setXRange(0, self.session.length, padding=0.01)
        integer_steps(self.plot, self.session.length)
        self._choices_for_kind()

    def _choices_for_kind(self) -> None:
        """A tanh RNN has no memory cell: its only choice is h(t), and the box says so (it
        kept saying 'memory cell' over a plot of h). An LSTM again gets the choice back."""
        lstm = self.session.layer_trace.is_lstm
        model = self.choice.model()
        hidden = self.choice.findData("hidden")
        self.choice.blockSignals(True)
        for index in range(self.choice.count()):
            model.item(index).setEnabled(lstm or index == hidden)
        if not lstm and self.choice.currentIndex() != hidden:
            self._chosen_for_lstm = self.choice.currentIndex()
            self.choice.setCurrentIndex(hidden)
        elif lstm and getattr(self, "_chosen_for_lstm", None) is not None:
            self.choice.setCurrentIndex(self._chosen_for_lstm)
            self._chosen_for_lstm = None
        self.choice.blockSignals(False)

    def _curve(self, curves: list[LodCurve], z: float = 0) -> LodCurve:
        curve = LodCurve()
        curve.setZValue(z)
        self.plot.addItem(curve)
        cache_static(curve)
        curves.append(curve)
        return curve

    def on_selection(self):
        name = self.quantity_name
        if name != "hidden" and not self.session.layer_trace.is_lstm:
            name = "hidden"
        self.shown_name = name
        s = self.session
        self.pyramid = pyramid = quantity_pyramid(s.layer_trace, name, s.batch, s.length)
        units = s.selected or list(range(min(8, pyramid.width)))
        self.units = units
        while len(self.curves) < len(units):
            self._curve(self.curves)
        entries = []
        for k, curve in enumerate(self.curves):
            if k < len(units):
                color = pg.intColor(k, hues=max(len(units), 8), values=1, maxValue=220)
                curve.set_source(pyramid, units[k], pen=pg.mkPen(color, width=1), color=color, among=units)
                curve.setVisible(True)
                entries.append((curve, f"unit {units[k]}"))
            else:
                curve.setVisible(False)
                curve.clear_source()
        original = None
        if s.original_trace is not None:
            original = quantity_pyramid(s.original_trace.layers[s.layer], name, s.batch, s.length)
        while len(self.ghosts) < len(units):
            self._curve(self.ghosts, z=-5)
        for k, ghost in enumerate(self.ghosts):
            visible = original is not None and k < len(units)
            if visible:
                color = pg.intColor(k, hues=max(len(units), 8), values=1, maxValue=220, alpha=110)
                pen = pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine)
                ghost.set_source(original, units[k], pen=pen, color=color, among=units)
            else:
                ghost.clear_source()
            ghost.setVisible(visible)
        if original is not None:
            entries.append((self.ghosts[0], "original (before the what-if)"))
        self.show_legend(entries)
        self.plot.setLabel("left", dict(CHOICES)[name])
        ranges = [pyramid.range(units)] + ([original.range(units)] if original is not None else [])
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        pad = 0.05 * (high - low or 1.0)
        self.plot.setYRange(low - pad, high + pad, padding=0)  # fixed: markers must not rescale the view

    def nearest(self, x: float, y: float) -> tuple[int, int] | None:
        """The step at ``x`` and the shown unit whose curve passes closest to ``y`` there,
        if within 12 pixels."""
        if self.pyramid is None or not self.units:
            return None
        step = int(round(x))
        if not 0 <= step < self.pyramid.length:
            return None
        values = self.pyramid.at(step, self.units)
        k = int(np.argmin(np.abs(values - y)))
        pixel = self.plot.getPlotItem().vb.viewPixelSize()[1]
        if abs(values[k] - y) > 12 * pixel:
            return None
        return step, self.units[k]

    def describe(self, x: float, y: float) -> str | None:
        hit = self.nearest(x, y)
        if hit is None:
            return None
        step, unit = hit
        name = dict(CHOICES)[self.shown_name]
        value = self.pyramid.at(step, [unit])[0]
        return f"{name} · unit {unit} · t = {step} ({self.session.label(step)!r}) · {value:.4f}"

    def clicked(self, x: float, y: float, modifiers) -> bool:
        """A click on a curve selects its unit (Ctrl+click adds or removes it); anywhere
        else it moves to the clicked step."""
        hit = self.nearest(x, y)
        if hit is not None:
            self.select_unit(hit[1], modifiers)
            self.session.set_step(hit[0])
            return True
        step = int(round(x))
        if 0 <= step < self.session.length:
            self.session.set_step(step)
            return True
        return False

    def on_step(self, step):
        self.line.setValue(step)
        if self.pyramid is not None and 0 <= step < self.pyramid.length:
            self.marker.setData(x=np.full(len(self.units), step), y=self.pyramid.at(step, self.units))
