"""Predictions: what the readout says at every step, next to what it should have said.

For a regression readout, the predicted value(s) and the target over time; for a
classifier, the probability it gave the right next token and its top-5 at this step (as
LSTMVis shows). Below, the loss at every step. All numbers are the core's
(``Workbench.predictions``, ``targets``, ``losses``); hover for the exact ones.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Panel, Place, cache_static, integer_steps, points

PREDICTION_COLOR = "#1f77b4"
TARGET_COLOR = "#d62728"
LOSS_COLOR = "#555555"
MOST_OUTPUTS = 4  # regression outputs drawn at once


def token(label: str) -> str:
    """A token as the window shows it: quoted, with spaces and line ends visible."""
    return repr(label)


class PredictionsPanel(Panel):
    title = "Predictions and loss"
    place = Place(tab="CellTrajectoryPanel")
    tour = (
        "What the model predicts",
        "The readout's prediction at every step next to the target, and the loss per "
        "step below; for text, the top 5 next characters at this step.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = self.text_line(rich=True)
        layout.addWidget(self.summary)
        self.plot = self.curves_over_time(legend_columns=3)
        self.plot_line = self.line
        self.loss_plot = pg.PlotWidget(axisItems={"bottom": self.step_axis()})
        self.loss_plot.setClipToView(True)
        self.loss_plot.setDownsampling(auto=True, mode="peak")
        self.loss_plot.setMaximumHeight(170)
        self.loss_line = self.cursor(self.loss_plot.getPlotItem())
        self.hover_scene(self.loss_plot, self.describe)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen(LOSS_COLOR, width=1), connect="finite")
        ghost = pg.mkPen("#999", width=1.5, style=Qt.PenStyle.DashLine)
        self.loss_ghost = self.loss_plot.plot([], [], pen=ghost, connect="finite")
        self.loss_ghost.setZValue(-5)
        self.ghost = self.plot.plot([], [], pen=ghost, connect="finite")
        self.ghost.setZValue(-5)
        for curve in (self.loss_curve, self.loss_ghost, self.ghost):
            cache_static(curve)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.loss_plot, 2)
        self.setWidget(container)
        self.prediction_curves: list[pg.PlotDataItem] = []
        self.target_curves: list[pg.PlotDataItem] = []
        self.values = None  # (T, K) what the first plot shows per curve
        self.targets = None
        self.losses = None
        for plot in (self.plot, self.loss_plot):
            self.click_scene(plot, self.clicked)

    def time_plots(self):
        return [self.plot.getPlotItem(), self.loss_plot.getPlotItem()]

    # -- data ---------------------------------------------------------------------------
    def on_trace(self):
        core = self.session.core
        T, b = self.session.length, self.session.batch
        model = core.model
        self.readout = model.readout
        self.kind = None if self.readout is None else self.readout.kind
        self.predictions = None if self.readout is None else core.predictions[b, :T]
        target_set = core.targets
        self.target_set = target_set
        self.mask = None if target_set is None else target_set.mask[b, :T]
        self.target_values = None if target_set is None else target_set.values[b, :T]
        losses = core.losses
        self.losses = None if losses is None else losses[b, :T]
        # the run before a what-if changed it, as dashed ghosts
        self.original_predictions = self.original_losses = None
        original = core.original_figures
        if original is not None and self.readout is not None:
            self.original_predictions = original[0][b, :T]
            self.original_losses = None if original[1] is None else original[1][b, :T]
        for plot in (self.plot, self.loss_plot):
            plot.setXRange(0, T, padding=0.01)
            integer_steps(plot, T)
        self._draw()

    def _curve(self, curves: list, k: int, *, z: int = 0) -> pg.PlotDataItem:
        while len(curves) <= k:
            curve = self.plot.plot([], [], connect="finite")
            curve.setZValue(z)
            cache_static(curve)
            curves.append(curve)
        return curves[k]

    def _draw(self):
        for curve in self.prediction_curves + self.target_curves:
            curve.setVisible(False)
        self.ghost.setData([], [])
        self.loss_ghost.setData([], [])
        steps = np.arange(self.session.length)
        entries = []
        if self.readout is None:
            self.values = None
            self.plot.setLabel("left", "")
            self.loss_curve.setData([], [])
            self.show_legend([])
            return
        if self.kind == "classification":
            # the probability of the right next token, and of the model's first choice
            top = self.predictions.max(axis=1)
            curve = self._curve(self.prediction_curves, 0)
            curve.setData(steps, top, pen=pg.mkPen("#999", width=1), **points(len(steps), "#999"))
            curve.setVisible(True)
            entries.append((curve, "p(first choice)"))
            self.values = top[:, None]
            if self.mask is not None:
                ids = np.where(self.mask, self.target_values, 0)
                right = np.take_along_axis(self.predictions, ids[:, None], axis=1)[:, 0]
                right = np.where(self.mask, right, np.nan)
                curve = self._curve(self.target_curves, 0, z=5)
                curve.setData(steps, right, pen=pg.mkPen(TARGET_COLOR, width=1.5), **points(len(steps), TARGET_COLOR))
                curve.setVisible(True)
                entries.append((curve, f"p({self.target_set.description})"))
                self.values = np.column_stack([top, right])
            self.plot.setLabel("left", "probability")
            self.plot.setYRange(0, 1.02, padding=0)
        else:
            K = min(self.predictions.shape[1], MOST_OUTPUTS)
            labels = self.readout.labels or [f"output {k}" for k in range(self.predictions.shape[1])]
            shown = [self.predictions[:, :K]]
            if self.original_predictions is not None:
                shown.append(self.original_predictions[:, :1])
            for k in range(K):
                color = PREDICTION_COLOR if K == 1 else pg.intColor(k, hues=max(K, 4), maxValue=200)
                curve = self._curve(self.prediction_curves, k)
                curve.setData(
                    steps, self.predictions[:, k], pen=pg.mkPen(color, width=1.5), **points(len(steps), color)
                )
                curve.setVisible(True)
                entries.append((curve, f"predicted {labels[k]}"))
                if self.mask is not None:
                    wanted = np.where(self.mask, self.target_values[:, k], np.nan)
                    target = self._curve(self.target_curves, k, z=5)
                    # targets as points: a target at one step (the adding problem) is a dot
                    target.setData(
                        steps,
                        wanted,
                        pen=None,
                        symbol="o",
                        symbolSize=6,
                        symbolBrush=TARGET_COLOR,
                        symbolPen=pg.mkPen(TARGET_COLOR),
                    )
                    target.setVisible(True)
                    shown.append(wanted[self.mask][:, None])
                    if k == 0:
                        entries.append((target, "target"))
            self.values = self.predictions[:, :K]
            self.plot.setLabel("left", "value")
            flat = np.concatenate([a.ravel() for a in shown])
            flat = flat[np.isfinite(flat)]
            low, high = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 1.0)
            pad = 0.06 * (high - low or 1.0)
            self.plot.setYRange(low - pad, high + pad, padding=0)
        if self.original_predictions is not None:
            if self.kind == "classification" and self.mask is not None:
                ids = np.where(self.mask, self.target_values, 0)
                was = np.take_along_axis(self.original_predictions, ids[:, None], axis=1)[:, 0]
                self.ghost.setData(steps, np.where(self.mask, was, np.nan))
            elif self.kind != "classification":
                self.ghost.setData(steps, self.original_predictions[:, 0])
            entries.append((self.ghost, "before the what-if"))
        if self.original_losses is not None:
            self.loss_ghost.setData(steps, self.original_losses)
        self.show_legend(entries)
        if self.losses is not None:
            # a target at a few steps only (the adding problem: the last) is a dot, not a line
            sparse = np.count_nonzero(np.isfinite(self.losses)) <= max(12, len(steps) // 4)
            self.loss_curve.setData(steps, self.losses, **points(3 if sparse else len(steps), LOSS_COLOR))
            self.loss_plot.setLabel("left", "loss (nats)" if self.kind == "classification" else "squared error")
            both = self.losses if self.original_losses is None else np.concatenate([self.losses, self.original_losses])
            finite = both[np.isfinite(both)]
            high = float(finite.max()) if finite.size else 1.0
            self.loss_plot.setYRange(0, high * 1.08 or 1.0, padding=0)
        else:
            self.loss_curve.setData([], [])
            self.loss_plot.setLabel("left", "loss")

    # -- the step -----------------------------------------------------------------------
    def on_step(self, step):
        self.plot_line.setValue(step)
        self.loss_line.setValue(step)
        self.summary.setText(self.step_text(step))

    def step_text(self, step: int) -> str:
        """The line above the plots: prediction, target and loss at ``step``."""
        if self.readout is None:
            return (
                "This model has no readout: it outputs its hidden state, so there is no prediction "
                "to show. Models trained here and most imported classifiers and regressors have one."
            )
        where = f"t = {step} ({html.escape(token(self.session.label(step)))})"
        if self.target_set is None:
            reason = "no target is known for this sequence, so there is no loss"
        elif not self.mask[step]:
            reason = f"no target at this step (the target is {html.escape(self.target_set.description)})"
        else:
            reason = None
        if self.kind == "classification":
            probs = self.predictions[step]
            labels = self.readout.labels or [str(k) for k in range(len(probs))]
            order = np.argsort(probs)[::-1][:5]
            wanted = None if reason is not None else int(self.target_values[step])
            top = ", ".join(
                ("<b>{}</b>" if k == wanted else "{}").format(f"{html.escape(token(labels[k]))} {probs[k]:.3f}")
                for k in order
            )
            text = f"{where} · next: {top}"
            if wanted is not None:
                text += (
                    f" · right answer {html.escape(token(labels[wanted]))} p = {probs[wanted]:.4f}"
                    f" · loss {self.losses[step]:.4f} nats"
                )
        else:
            labels = self.readout.labels or [f"output {k}" for k in range(self.predictions.shape[1])]
            parts = []
            for k in range(min(len(labels), MOST_OUTPUTS)):
                part = f"{html.escape(labels[k])}: predicted {self.predictions[step, k]:.4f}"
                if reason is None:
                    part += f", target {self.target_values[step, k]:.4f}"
                parts.append(part)
            text = f"{where} · " + "; ".join(parts)
            if reason is None:
                text += f" · loss {self.losses[step]:.5f}"
        if reason is not None:
            text += f" · <i>{reason}</i>"
        if self.losses is not None and np.isfinite(self.losses).any():
            text += f" · mean loss {np.nanmean(self.losses):.4g}"
            if self.original_losses is not None and np.isfinite(self.original_losses).any():
                text += f" (before the what-if {np.nanmean(self.original_losses):.4g})"
        return text

    # -- mouse ----------------------------------------------------------------------------
    def describe(self, x: float, y: float) -> str | None:
        step = int(round(x))
        if self.readout is None or not 0 <= step < self.session.length:
            return None
        return html.unescape(re.sub(r"<[^>]+>", "", self.step_text(step)))

    def clicked(self, x: float, y: float, modifiers) -> bool:
        step = int(round(x))
        if 0 <= step < self.session.length:
            self.session.set_step(step)
            return True
        return False
