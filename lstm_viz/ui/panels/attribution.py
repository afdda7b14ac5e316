"""Attribution: which earlier input steps drove this prediction, loss or unit.

Pick a target at the current step (the prediction, the loss, or the first selected unit's
h or c) and a method: the gradient, gradient × input, integrated gradients (the path from
an all-zero input, 50 Gauss-Legendre nodes; the panel says how close the attributions add
up to the change of the target), or contextual decomposition (Murdoch, Liu and Yu, 2018):
the part of the prediction that comes from a chosen span of input steps. The bars are
per step (summed over the features); hover a bar for its features. The input sequence
panel colours its steps by the same numbers. Computed in the background with the
engine's exact backpropagation; it follows the step when "follow the step" is on.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from lstm_viz.ui.panels.analysis import Analyses
from lstm_viz.ui.panels.base import Bars, Paced, Panel, Place, cache_static, integer_steps
from lstm_viz.workbench.why import METHOD_CHOICES, TARGET_CHOICES

POSITIVE, NEGATIVE = "#d62728", "#1f77b4"
BETA, GAMMA = "#e8590c", "#7f7f7f"


class AttributionPanel(Panel):
    title = "Attribution"
    remembered = ("target", "method", "span_from", "span_to", "follow")
    place = Place(tab="CellTrajectoryPanel")
    tour = (
        "Which inputs drove this",
        "How much each earlier input step accounts for the prediction, the loss or a unit "
        "at this step: gradient, gradient × input, integrated gradients or contextual "
        "decomposition of a span. Red pushes the target up, blue down.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Explain"))
        self.target = QComboBox()
        for key, words in TARGET_CHOICES.items():
            self.target.addItem(words, key)
        for box in (self.target,):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
        bar.addWidget(self.target, 1)
        bar.addWidget(QLabel("by"))
        self.method = QComboBox()
        for key, words in METHOD_CHOICES.items():
            self.method.addItem(words, key)
        self.method.setCurrentIndex(self.method.findData("gradient_x_input"))  # the input's own share
        self.method.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method.setMinimumContentsLength(12)
        bar.addWidget(self.method, 1)
        layout.addLayout(bar)
        bar = QHBoxLayout()  # a second row: the span of a decomposition, following the step
        self.span_label = QLabel("span t =")
        self.span_from, self.span_to = QSpinBox(), QSpinBox()
        bar.addWidget(self.span_label)
        bar.addWidget(self.span_from)
        self.span_dash = QLabel("to")
        bar.addWidget(self.span_dash)
        bar.addWidget(self.span_to)
        self.follow = QCheckBox("follow the step")
        self.follow.setChecked(True)
        bar.addWidget(self.follow)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.analyses = Analyses(self, ("attribution",), self.on_result, self.on_failed)
        layout.addWidget(self.analyses.strip)
        self.summary = self.text_line()
        layout.addWidget(self.summary)
        self.plot = self.curves_over_time(legend_columns=2)
        self.bars = Bars(x=[], height=[], width=0.8, brushes=[], pen=None)
        cache_static(self.bars)  # thousands of bars: painted once, not at every step
        self.plot.addItem(self.bars)
        self.plot.addLine(y=0, pen=pg.mkPen("#999"))
        self.beta = self.plot.plot([], [], pen=pg.mkPen(BETA, width=2), name="from the span (beta)")
        self.gamma = self.plot.plot([], [], pen=pg.mkPen(GAMMA, width=1.5), name="from the rest (gamma)")
        for curve in (self.beta, self.gamma):
            cache_static(curve)
        self.click_scene(self.plot, self.clicked)
        layout.addWidget(self.plot, 1)
        self.setWidget(container)
        self.result = None
        self.ask_soon = Paced("debounce", self.ask, 250, self)
        for box in (self.target, self.method):
            box.currentIndexChanged.connect(lambda _: self._changed())
        for box in (self.span_from, self.span_to):
            box.valueChanged.connect(lambda _: self._changed())
        self.follow.toggled.connect(lambda on: on and self.ask_soon())
        self._span_shown()

    def time_plots(self):
        return [self.plot.getPlotItem()]

    def _span_shown(self):
        cd = self.method.currentData() == "contextual_decomposition"
        for widget in (self.span_label, self.span_from, self.span_dash, self.span_to):
            widget.setVisible(cd)

    def _changed(self):
        self._span_shown()
        if self.session.loaded is not None:
            self.ask_soon()

    # -- asking -------------------------------------------------------------------------------
    def params(self) -> dict:
        core = self.session.core
        step = core.step
        params = {
            "target": self.target.currentData(),
            "method": self.method.currentData(),
            "step": step,
            "unit": core.selected[0] if core.selected else None,
            "batch": core.batch,
            "layer": core.layer,
        }
        if params["method"] == "contextual_decomposition":
            a, b = sorted((self.span_from.value(), self.span_to.value()))
            params["span"] = [a, b + 1]
        return params

    def ask(self):
        if self.session.loaded is None or self._offscreen():
            return
        self.analyses.ask("attribution", self.params(), "Attributing…")
        if self.session.jobs.running(self.analyses.key("attribution")):
            self.result = None  # what is shown is always what the boxes say
            self._draw()
            self.summary.setText("Computing…")

    def on_trace(self):
        core = self.session.core
        last = max(0, self.session.length - 1)
        self.span_from.blockSignals(True)
        self.span_to.blockSignals(True)
        self.span_from.setRange(0, last)
        self.span_to.setRange(0, last)
        self.span_to.setValue(min(self.span_to.value() or last, last))
        self.span_from.blockSignals(False)
        self.span_to.blockSignals(False)
        # the loss when it is known, else the prediction, else the selected unit's h
        if core.model.readout is None:
            wanted = "hidden"
        elif core.targets is None:
            wanted = "prediction"
        else:
            wanted = self.target.currentData()
        self.target.blockSignals(True)
        self.target.setCurrentIndex(self.target.findData(wanted))
        self.target.blockSignals(False)
        self.plot.setXRange(0, self.session.length, padding=0.01)
        integer_steps(self.plot, self.session.length)
        self.analyses.forget()
        self.result = None
        self._draw()
        self.ask_soon()

    def on_step(self, step):
        self.line.setValue(step)
        if self.follow.isChecked():
            self.ask_soon()

    def on_selection(self):
        if self.target.currentData() in ("hidden", "cell") and self.follow.isChecked():
            self.ask_soon()

    def on_result(self, name, result):
        self.result = result
        self._draw()

    def on_failed(self, name, message):
        self.result = None
        self._draw()
        self.summary.setText(message.splitlines()[0])

    # -- drawing -----------------------------------------------------------------------------
    def _draw(self):
        self.bars.setOpts(x=[], height=[], brushes=[])
        self.beta.setData([], [])
        self.gamma.setData([], [])
        if self.result is None:
            self.summary.setText("")
            self.show_legend([])
            return
        found, target = self.result
        model = self.session.core.model
        words = target.describe(model)
        if hasattr(found, "per_step"):
            values = found.per_step
            steps = np.arange(len(values))
            brushes = [pg.mkBrush(POSITIVE if v >= 0 else NEGATIVE) for v in values]
            self.bars.setOpts(x=steps, height=values, brushes=brushes)
            self.show_legend([])
            text = f"{METHOD_CHOICES[found.method].split(' (')[0].capitalize()} of {words} ({found.target_value:.4g})"
            if found.completeness_error is not None:
                text += (
                    f"; the attributions add up to {found.values.sum():.4g}, the target's change from the "
                    f"all-zero input is {found.target_value - found.baseline_value:.4g} "
                    f"(difference {abs(found.completeness_error):.1e})"
                )
            top = [t for t in np.argsort(-np.abs(values))[:3] if values[t] != 0]
            if top:
                text += ". Largest: " + ", ".join(f"t = {t} ({self.session.label(t)!r}) {values[t]:+.3g}" for t in top)
            self.summary.setText(text)
            finite = np.abs(values).max() or 1.0
            self.plot.setYRange(-finite * 1.1, finite * 1.1, padding=0)
            self.plot.setLabel("left", "attribution")
        else:  # a contextual decomposition
            k = target.output
            a, b = found.span
            if found.beta_logits is not None and target.kind in ("prediction", "loss"):
                beta, gamma = found.beta_logits[:, k], found.gamma_logits[:, k]
                if model.readout.kind == "classification":
                    labels = model.readout.labels
                    what = f"logit of {labels[k]!r}" if labels else f"logit of class {k}"
                else:
                    what = "prediction"
            else:
                layer = found.layers[target.layer]
                pair = (
                    (layer.beta_cell, layer.gamma_cell)
                    if target.kind == "cell"
                    else (layer.beta_hidden, layer.gamma_hidden)
                )
                beta, gamma = pair[0][:, target.unit], pair[1][:, target.unit]
                what = "c" if target.kind == "cell" else "h"
            steps = np.arange(len(beta))
            self.beta.setData(steps, beta)
            self.gamma.setData(steps, gamma)
            self.show_legend([(self.beta, "from the span (beta)"), (self.gamma, "from the rest (gamma)")])
            s = target.step
            self.summary.setText(
                f"Contextual decomposition: of the {what} at t = {s}, {beta[s]:+.4g} comes from the input "
                f"steps {a}–{b - 1} and {gamma[s]:+.4g} from the rest (together {beta[s] + gamma[s]:+.4g})."
            )
            both = np.concatenate([beta, gamma])
            low, high = float(both.min()), float(both.max())
            pad = 0.06 * (high - low or 1.0)
            self.plot.setYRange(low - pad, high + pad, padding=0)
            self.plot.setLabel("left", what)

    # -- mouse -------------------------------------------------------------------------------
    def per_step(self) -> np.ndarray | None:
        """The attribution of every step as shown (None for a decomposition)."""
        if self.result is None or not hasattr(self.result[0], "per_step"):
            return None
        return self.result[0].per_step

    def describe(self, x: float, y: float) -> str | None:
        step = int(round(x))
        values = self.per_step()
        if values is None or not 0 <= step < len(values):
            return None
        found = self.result[0]
        names = self.session.sequence.feature_names
        row = found.values[step]
        top = np.argsort(-np.abs(row))[:3]
        parts = ", ".join(f"{names[d] if d < len(names) else d} {row[d]:+.4g}" for d in top if row[d] != 0)
        return f"t = {step} ({self.session.label(step)!r}): {values[step]:+.5g}" + (f" ({parts})" if parts else "")

    def clicked(self, x: float, y: float, modifiers) -> bool:
        return self.go_to_step_at(x)
