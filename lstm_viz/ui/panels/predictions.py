"""Predictions: what the readout says at every step, next to what it should have said.

For a regression readout, the predicted value(s) and the target over time; for a
classifier, the probability it gave the right next token and its top-5 at this step (as
LSTMVis shows). Below, the loss at every step. All numbers are the core's
(``Workbench.predictions``, ``targets``, ``losses``); hover for the exact ones. Curves are
drawn from level-of-detail pyramids of those arrays (``lstm_viz.ui.lod``), computed chunk
by chunk: about one column per pixel of the visible steps, the exact values zoomed in.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lstm_viz.ui.lod import LodCurve
from lstm_viz.ui.panels.base import Panel, Place, cache_static, integer_steps
from lstm_viz.workbench.lod import ArraySource, DerivedSource, array_pyramid

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

    def numbers(self, scope: str):
        from lstm_viz.workbench.data_out import prediction_table

        return prediction_table(self.session.core, scope)

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = self.text_line(rich=True)
        layout.addWidget(self.summary)
        self.plot = self.curves_over_time(legend_columns=3)
        self.plot_line = self.line
        self.loss_plot = pg.PlotWidget(axisItems={"bottom": self.step_axis()})
        self.loss_plot.setMaximumHeight(170)
        self.loss_line = self.cursor(self.loss_plot.getPlotItem())
        self.hover_scene(self.loss_plot, self.describe)
        self.loss_curve = LodCurve(pen=pg.mkPen(LOSS_COLOR, width=1))
        self.ghost_pen = pg.mkPen("#999", width=1.5, style=Qt.PenStyle.DashLine)
        self.loss_ghost = LodCurve(pen=self.ghost_pen)
        self.loss_ghost.setZValue(-5)
        self.ghost = LodCurve(pen=self.ghost_pen)
        self.ghost.setZValue(-5)
        for plot, curve in (
            (self.loss_plot, self.loss_curve),
            (self.loss_plot, self.loss_ghost),
            (self.plot, self.ghost),
        ):
            plot.addItem(curve)
            cache_static(curve)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.loss_plot, 2)
        self.setWidget(container)
        self.prediction_curves: list[LodCurve] = []
        self.target_curves: list[LodCurve] = []
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
        self.all_losses = losses
        self.losses = None if losses is None else losses[b, :T]
        # the run before a what-if changed it, as dashed ghosts
        self.original_predictions = self.original_losses = None
        self.original = None
        original = core.original_figures
        if original is not None and self.readout is not None:
            self.original = original
            self.original_predictions = original[0][b, :T]
            self.original_losses = None if original[1] is None else original[1][b, :T]
        self.mean_loss = self._mean(self.losses)  # once per data, not at every step
        self.original_mean_loss = self._mean(self.original_losses)
        for plot in (self.plot, self.loss_plot):
            plot.setXRange(0, T, padding=0.01)
            integer_steps(plot, T)
        self._draw()

    @staticmethod
    def _mean(losses) -> float | None:
        if losses is None:
            return None
        finite = np.isfinite(losses)
        return float(np.mean(losses[finite])) if finite.any() else None

    def _curve(self, curves: list, k: int, *, z: int = 0, points: bool = False) -> LodCurve:
        while len(curves) <= k:
            curve = LodCurve(points=points, symbol_size=6 if points else 7)
            curve.setZValue(z)
            self.plot.addItem(curve)
            cache_static(curve)
            curves.append(curve)
        return curves[k]

    def _pyramid(self, owner, key, compute, *arrays):
        """The pyramid of ``compute(t0, t1, *arrays)`` over the shown sequence, cached on ``owner``."""
        T = self.session.length
        return array_pyramid(owner, key, T, DerivedSource(compute, *arrays), 1)

    def _draw(self):
        for curve in self.prediction_curves + self.target_curves:
            curve.setVisible(False)
            curve.clear_source()
        self.ghost.clear_source()
        self.loss_ghost.clear_source()
        T, b = self.session.length, self.session.batch
        entries = []
        if self.readout is None:
            self.plot.setLabel("left", "")
            self.loss_curve.clear_source()
            self.show_legend([])
            return
        predictions = self.session.core.predictions
        target_set = self.target_set
        ranges = []
        if self.kind == "classification":
            # the probability of the right next token, and of the model's first choice
            top = self._pyramid(predictions, ("top", b), lambda t0, t1, p: p[b, t0:t1].max(axis=1), predictions)
            curve = self._curve(self.prediction_curves, 0)
            curve.set_source(top, 0, pen=pg.mkPen("#999", width=1), color="#999")
            curve.setVisible(True)
            entries.append((curve, "p(first choice)"))
            if self.mask is not None:
                right = self._pyramid(
                    predictions, ("right", b), _right_answer(b), predictions, target_set.mask, target_set.values
                )
                curve = self._curve(self.target_curves, 0, z=5)
                curve.set_source(right, 0, pen=pg.mkPen(TARGET_COLOR, width=1.5), color=TARGET_COLOR)
                curve.setVisible(True)
                entries.append((curve, f"p({self.target_set.description})"))
            self.plot.setLabel("left", "probability")
            self.plot.setYRange(0, 1.02, padding=0)
        else:
            K = min(self.predictions.shape[1], MOST_OUTPUTS)
            labels = self.readout.labels or [f"output {k}" for k in range(self.predictions.shape[1])]
            for k in range(K):
                color = PREDICTION_COLOR if K == 1 else pg.intColor(k, hues=max(K, 4), maxValue=200)
                predicted = array_pyramid(
                    predictions, ("predicted", b, k), T, ArraySource(predictions, (b, slice(None), k))
                )
                ranges.append(predicted.range())
                curve = self._curve(self.prediction_curves, k)
                curve.set_source(predicted, 0, pen=pg.mkPen(color, width=1.5), color=color)
                curve.setVisible(True)
                entries.append((curve, f"predicted {labels[k]}"))
                if self.mask is not None:
                    wanted = self._pyramid(
                        target_set.values,
                        ("target", b, k),
                        lambda t0, t1, mask, values, k=k: np.where(mask[b, t0:t1], values[b, t0:t1, k], np.nan),
                        target_set.mask,
                        target_set.values,
                    )
                    target = self._curve(self.target_curves, k, z=5, points=True)
                    # targets as points: a target at one step (the adding problem) is a dot
                    target.set_source(wanted, 0, color=TARGET_COLOR)
                    target.setVisible(True)
                    ranges.append(wanted.range())
                    if k == 0:
                        entries.append((target, "target"))
            self.plot.setLabel("left", "value")
        if self.original is not None:
            was_predictions = self.original[0]
            if self.kind == "classification" and self.mask is not None:
                was = self._pyramid(
                    was_predictions, ("right", b), _right_answer(b), was_predictions, target_set.mask, target_set.values
                )
                self.ghost.set_source(was, 0, pen=self.ghost_pen)
            elif self.kind != "classification":
                was = array_pyramid(
                    was_predictions, ("predicted", b, 0), T, ArraySource(was_predictions, (b, slice(None), 0))
                )
                self.ghost.set_source(was, 0, pen=self.ghost_pen)
                ranges.append(was.range())
            entries.append((self.ghost, "before the what-if"))
        if self.kind != "classification":
            finite = [r for r in ranges if np.isfinite(r[0])]
            low, high = (min(r[0] for r in finite), max(r[1] for r in finite)) if finite else (0.0, 1.0)
            pad = 0.06 * (high - low or 1.0)
            self.plot.setYRange(low - pad, high + pad, padding=0)
        loss_ranges = []
        if self.original_losses is not None:
            was_losses = array_pyramid(self.original[1], ("loss", b), T, ArraySource(self.original[1], (b,)))
            self.loss_ghost.set_source(was_losses, 0, pen=self.ghost_pen)
            loss_ranges.append(was_losses.range())
        self.show_legend(entries)
        if self.losses is not None:
            losses = array_pyramid(self.all_losses, ("loss", b), T, ArraySource(self.all_losses, (b,)))
            loss_ranges.append(losses.range())
            # a target at a few steps only (the adding problem: the last) is a dot, not a line
            sparse = np.count_nonzero(np.isfinite(self.losses)) <= max(12, T // 4)
            self.loss_curve.set_source(losses, 0, color=LOSS_COLOR, symbols=True if sparse else None)
            self.loss_plot.setLabel("left", "loss (nats)" if self.kind == "classification" else "squared error")
            highs = [r[1] for r in loss_ranges if np.isfinite(r[1])]
            high = max(highs) if highs else 1.0
            self.loss_plot.setYRange(0, high * 1.08 or 1.0, padding=0)
        else:
            self.loss_curve.clear_source()
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
        if self.mean_loss is not None:
            text += f" · mean loss {self.mean_loss:.4g}"
            if self.original_mean_loss is not None:
                text += f" (before the what-if {self.original_mean_loss:.4g})"
        return text

    # -- mouse ----------------------------------------------------------------------------
    def describe(self, x: float, y: float) -> str | None:
        step = int(round(x))
        if self.readout is None or not 0 <= step < self.session.length:
            return None
        return html.unescape(re.sub(r"<[^>]+>", "", self.step_text(step)))

    def clicked(self, x: float, y: float, modifiers) -> bool:
        return self.go_to_step_at(x)


def _right_answer(b: int):
    """What the model gave the right next token at each step of sequence ``b`` (NaN where
    there is none), chunk by chunk."""

    def compute(t0, t1, predictions, mask, values):
        inside = mask[b, t0:t1]
        ids = np.where(inside, values[b, t0:t1], 0)
        right = np.take_along_axis(predictions[b, t0:t1], ids[:, None].astype(np.int64), axis=1)[:, 0]
        return np.where(inside, right, np.nan)

    return compute
