"""Gradient flow: how far back the error signal reaches, in this LSTM and in a plain RNN.

Above, on a log scale, the size of the gradient of a target at this step (the loss, the
prediction or the first selected unit's h) with respect to every earlier memory cell
c_t and output h_t of the layer, ||d target / d c_t|| and ||d target / d h_t||, next to
||d target / d h_t|| of an untrained tanh RNN of the same size whose weights are scaled to
this LSTM's candidate weights (so the comparison is of the architecture, not of
training). Below, for each selected unit, ||d c_T[unit] / d c_t||: how much its cell at
this step still depends on the whole layer's cells t steps back.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lstm_viz.ui.panels.analysis import Analyses
from lstm_viz.ui.panels.base import Paced, Panel, Place, cache_static, integer_steps, legend_above
from lstm_viz.ui.style import QUANTITY_COLORS
from lstm_viz.workbench.why import TARGET_CHOICES

CHOICES = {key: TARGET_CHOICES[key] for key in ("loss", "prediction", "hidden")}
BACK = 20  # the summary compares the gradient this many steps back with its size at the step


def positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros (no gradient: after the target's step) left out."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[out <= 0] = np.nan
    return out


class DecadeAxis(pg.AxisItem):
    """A log axis that names the powers of ten only (1, 0.1, 0.01, 1e-05...): the minor
    ticks between them stay as marks."""

    def logTickStrings(self, values, scale, spacing):
        labels = []
        for v in values:
            power = round(v)
            if abs(v - power) > 1e-6:
                labels.append("")
            elif -3 <= power <= 3:
                labels.append(f"{10.0**power:g}")
            else:
                labels.append(f"1e{power}")
        return labels


def fit_log_range(plot, arrays, decades: float = 1.5) -> None:
    """Show the positive values of ``arrays`` on the log axis, over at least ``decades``
    (a narrower range labels every minor tick and they run into each other)."""
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays]) if arrays else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return
    low, high = np.log10(values.min()), np.log10(values.max())
    middle, half = (low + high) / 2, max((high - low) / 2, decades / 2)
    plot.setYRange(middle - half, middle + half, padding=0.05)


class GradientFlowPanel(Panel):
    title = "Gradient flow"
    remembered = ("target", "follow")
    place = Place(tab="CellTrajectoryPanel")
    tour = (
        "How far back the gradient reaches",
        "The gradient of a target at this step with respect to every earlier cell and "
        "output, on a log scale, next to a plain tanh RNN of the same size: the vanishing "
        "gradient, seen.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Gradient of"))
        self.target = QComboBox()
        for key, words in CHOICES.items():
            self.target.addItem(words, key)
        bar.addWidget(self.target)
        self.follow = QCheckBox("follow the step")
        self.follow.setChecked(True)
        bar.addWidget(self.follow)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.analyses = Analyses(self, ("gradient_flow",), self.on_result, self.on_failed)
        layout.addWidget(self.analyses.strip)
        self.summary = self.text_line()
        layout.addWidget(self.summary)
        self.plot = self.curves_over_time(legend_columns=3)
        self.plot.getPlotItem().setAxisItems({"left": DecadeAxis("left")})
        self.plot.setLogMode(y=True)
        self.plot.setLabel("left", "gradient size")
        self.cell = self.plot.plot([], [], pen=pg.mkPen(QUANTITY_COLORS["cell"], width=2))
        self.hidden = self.plot.plot([], [], pen=pg.mkPen(QUANTITY_COLORS["hidden"], width=1.5))
        self.rnn = self.plot.plot([], [], pen=pg.mkPen("#555", width=1.5, style=Qt.PenStyle.DashLine))
        self.main_line = self.line
        layout.addWidget(self.plot, 3)
        self.jacobian_plot = pg.PlotWidget(axisItems={"bottom": self.step_axis(), "left": DecadeAxis("left")})
        self.jacobian_plot.setLogMode(y=True)
        self.jacobian_plot.setLabel("left", "||dc_T[u] / dc_t||")
        self.jacobian_plot.setMaximumHeight(200)
        self.jacobian_legend = legend_above(self.jacobian_plot, 4)
        self.jacobian_line = self.cursor(self.jacobian_plot.getPlotItem())
        self.hover_scene(self.jacobian_plot, self.describe)
        layout.addWidget(self.jacobian_plot, 2)
        for curve in (self.cell, self.hidden, self.rnn):
            cache_static(curve)
        self.jacobians: list[pg.PlotDataItem] = []
        self.setWidget(container)
        self.flow = None
        self.ask_soon = Paced("debounce", self.ask, 250, self)
        self.target.currentIndexChanged.connect(lambda _: self.session.loaded is not None and self.ask_soon())
        self.follow.toggled.connect(lambda on: on and self.ask_soon())

    def time_plots(self):
        return [self.plot.getPlotItem(), self.jacobian_plot.getPlotItem()]

    def params(self) -> dict:
        core = self.session.core
        return {
            "target": self.target.currentData(),
            "step": core.step,
            "units": list(core.selected[:8]),
            "batch": core.batch,
            "layer": core.layer,
        }

    def ask(self):
        if self.session.loaded is None or self._offscreen():
            return
        self.analyses.ask("gradient_flow", self.params(), "Backpropagating…")
        if self.session.jobs.running(self.analyses.key("gradient_flow")):
            self.flow = None  # what is shown is always what the boxes say
            self._draw()
            self.summary.setText("Computing…")

    def on_trace(self):
        core = self.session.core
        wanted = self.target.currentData()
        if core.model.readout is None:
            wanted = "hidden"
        elif core.targets is None and wanted == "loss":
            wanted = "prediction"
        self.target.blockSignals(True)
        self.target.setCurrentIndex(self.target.findData(wanted))
        self.target.blockSignals(False)
        for plot in (self.plot, self.jacobian_plot):
            plot.setXRange(0, self.session.length, padding=0.01)
            integer_steps(plot, self.session.length)
        self.analyses.forget()
        self.flow = None
        self._draw()
        self.ask_soon()

    def on_step(self, step):
        self.main_line.setValue(step)
        self.jacobian_line.setValue(step)
        if self.follow.isChecked():
            self.ask_soon()

    def on_selection(self):
        if self.follow.isChecked():
            self.ask_soon()

    def on_result(self, name, result):
        self.flow = result
        self._draw()

    def on_failed(self, name, message):
        self.flow = None
        self._draw()
        self.summary.setText(message.splitlines()[0])

    def _draw(self):
        for curve in (self.cell, self.hidden, self.rnn, *self.jacobians):
            curve.setData([], [])
        flow = self.flow
        if flow is None:
            self.summary.setText("")
            self.show_legend([])
            return
        layer = self.session.core.layer
        steps = np.arange(len(flow.lstm.hidden[layer]))
        entries = []
        cell = flow.lstm.cell[layer]
        if cell is not None:
            self.cell.setData(steps, positive(cell), connect="finite")
            entries.append((self.cell, "LSTM ||d/dc_t||"))
        self.hidden.setData(steps, positive(flow.lstm.hidden[layer]), connect="finite")
        entries.append((self.hidden, "LSTM ||d/dh_t||" if cell is not None else "this RNN ||d/dh_t||"))
        if flow.rnn is not None:
            self.rnn.setData(steps, positive(flow.rnn.hidden[layer]), connect="finite")
            entries.append((self.rnn, "tanh RNN ||d/dh_t||"))
        self.show_legend(entries)
        self.summary.setText(self.summary_text())
        self.jacobian_legend.clear()
        for k, (unit, norms) in enumerate(flow.jacobian.items()):
            while len(self.jacobians) <= k:
                curve = self.jacobian_plot.plot([], [])
                cache_static(curve)
                self.jacobians.append(curve)
            color = pg.intColor(k, hues=max(len(flow.jacobian), 8), values=1, maxValue=220)
            self.jacobians[k].setData(steps, positive(norms), pen=pg.mkPen(color, width=1.5), connect="finite")
            self.jacobian_legend.addItem(self.jacobians[k], f"unit {unit}")
        fit_log_range(
            self.plot,
            [c for c in (flow.lstm.cell[layer], flow.lstm.hidden[layer]) if c is not None]
            + ([flow.rnn.hidden[layer]] if flow.rnn is not None else []),
        )
        fit_log_range(self.jacobian_plot, list(flow.jacobian.values()))

    def summary_text(self) -> str:
        """How much of the gradient is left ``BACK`` steps before the target's step, in the
        LSTM and in the RNN: ratios of the plotted numbers."""
        flow = self.flow
        layer = self.session.core.layer
        s = flow.target.step
        back = max(0, s - BACK)
        lstm = flow.lstm.cell[layer] if flow.lstm.cell[layer] is not None else flow.lstm.hidden[layer]
        name = "||d/dc||" if flow.lstm.cell[layer] is not None else "||d/dh||"
        text = f"Gradient of {flow.words}. "
        if s == back or lstm[s] == 0:
            return text + "Step further into the sequence to see it flow back."
        text += f"{s - back} steps back, the LSTM's {name} is {lstm[back] / lstm[s]:.3g} times its size at t = {s}"
        if flow.rnn is not None and flow.rnn.hidden[layer][s] > 0:
            rnn = flow.rnn.hidden[layer]
            text += f"; the tanh RNN's ||d/dh|| is {rnn[back] / rnn[s]:.3g} times (an {flow.rnn_words})"
        return text + "."

    def describe(self, x: float, y: float) -> str | None:
        step = int(round(x))
        if self.flow is None or not 0 <= step < self.session.length:
            return None
        layer = self.session.core.layer
        parts = [f"t = {step}"]
        if self.flow.lstm.cell[layer] is not None:
            parts.append(f"LSTM ||d/dc|| {self.flow.lstm.cell[layer][step]:.3e}")
        parts.append(f"||d/dh|| {self.flow.lstm.hidden[layer][step]:.3e}")
        if self.flow.rnn is not None:
            parts.append(f"RNN ||d/dh|| {self.flow.rnn.hidden[layer][step]:.3e}")
        for unit, norms in self.flow.jacobian.items():
            parts.append(f"unit {unit} ||dc_T/dc_t|| {norms[step]:.3e}")
        return " · ".join(parts)
