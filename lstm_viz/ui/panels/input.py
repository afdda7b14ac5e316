"""Input: the sequence itself, around the current step.

Text as a strip of characters (or words) with the current one highlighted and each
coloured by the first selected unit's output; DNA the same, with every base in its usual
colour and numbered positions; numbers as curves with the time cursor. Click a token to go
to its step; hover it for the unit's exact output there.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from lstm_viz.ui.lod import LodCurve, LodImage
from lstm_viz.ui.panels.base import (
    Panel,
    Place,
    cache_static,
    integer_steps,
)
from lstm_viz.workbench.lod import ArraySource, array_pyramid
from lstm_viz.workbench.why import METHOD_CHOICES

WINDOW = 30  # tokens shown either side of the current step
# The usual nucleotide colours (as in genome browsers); other IUPAC codes and gaps grey.
BASE_COLORS = {"A": "#1a9e1a", "C": "#1f5fd6", "G": "#c77800", "T": "#d62728", "U": "#d62728"}


ATTRIBUTION = "AttributionPanel/attribution"  # the attribution panel's result in the core

MAX_CURVES = 12  # features drawn as curves; the legend says how many more there are


def token_color(value: float) -> QColor:
    """A token's background for a value in [-1, 1]: red for positive, blue for negative,
    white at 0 (as the caption says)."""
    a = float(np.clip(value, -1, 1))
    return QColor.fromRgbF(1 - max(-a, 0) * 0.6, 1 - abs(a) * 0.35, 1 - max(a, 0) * 0.6)


class InputPanel(Panel):
    title = "Input sequence"
    place = Place(below="GateHeatmapsPanel", height=28, front=True)
    tour = (
        "The sequence itself",
        "Numbers as curves, text and DNA as a strip coloured by the first "
        "selected unit's output. Click a character to go to it.",
    )

    def numbers(self, scope: str):
        from lstm_viz.workbench.data_out import input_table

        return input_table(self.session.core, scope)

    def build(self):
        self.stack = QStackedWidget()
        # Numbers: one curve per feature, drawn from a level-of-detail pyramid of the input.
        self.plot = self.curves_over_time()
        self.curves: list[LodCurve] = []
        self.more = pg.PlotDataItem([], [], pen=None)  # the legend's "+ N more" line
        self.stack.addWidget(self.plot)
        # Tokens: a strip of labels.
        strip = QWidget()
        layout = QVBoxLayout(strip)
        self.tokens = QLabel()
        self.tokens.setTextFormat(Qt.TextFormat.RichText)
        self.tokens.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tokens.setStyleSheet("font-family: monospace; font-size: 16pt;")
        self.tokens.linkActivated.connect(lambda href: self.session.set_step(int(href)))
        self.tokens.linkHovered.connect(self._token_hovered)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() + 6)
        layout.addWidget(self.tokens, 1)
        layout.addWidget(self.caption)
        self.stack.addWidget(strip)
        self.setWidget(self.stack)
        # the attribution panel's numbers, as a band behind the curves (red +, blue -); zoomed
        # out, a pixel column shows its steps' number furthest from 0 (peaks stay visible)
        self.band = LodImage(stat="extreme")
        self.band.setZValue(-20)
        self.band.setOpacity(0.35)
        self.band.setLookupTable(pg.colormap.get("CET-D1").getLookupTable(nPts=256))
        self.plot.addItem(self.band, ignoreBounds=True)
        self._attribution_seen = (None, "", 1.0)
        self.session.resultsChanged.connect(self._attribution_changed)

    def attribution(self):
        """The attribution panel's per-step numbers for the shown sequence, their words and
        their largest size (for the colours), or (None, None, None)."""
        entry = self.session.core.results.get(ATTRIBUTION)
        if entry is None or entry[0].get("batch") != self.session.batch:
            return None, None, None
        found, target = entry[1]
        if not hasattr(found, "per_step"):
            return None, None, None
        if self._attribution_seen[0] is not found:  # once per result, not at every step
            method = METHOD_CHOICES[found.method].split(" (")[0]
            words = f"{method} of {target.describe(self.session.core.model)}"
            self._attribution_seen = (found, words, float(np.abs(found.per_step).max()) or 1.0)
        _, words, scale = self._attribution_seen
        return found.per_step, words, scale

    def _attribution_changed(self, name: str) -> None:
        if name == ATTRIBUTION and self.session.loaded is not None and not self._offscreen():
            if not self.token_mode:
                self._draw_band()
            self.on_step(self.session.step)

    def _draw_band(self) -> None:
        values, _, scale = self.attribution()
        if values is None:
            self.band.clear_source()
            return
        (low, high) = self.plot.getPlotItem().vb.viewRange()[1]
        pyramid = array_pyramid(values, "band", len(values))
        self.band.set_source(pyramid, levels=(-scale, scale), y0=low, height=high - low, x_shift=-0.5)

    def time_plots(self):
        return [self.plot.getPlotItem()]

    @property
    def token_mode(self) -> bool:
        return self.session.sequence.vocabulary is not None

    @property
    def dna(self) -> bool:
        return self.session.sequence.is_dna

    def activation(self):
        """The first selected unit and its output over time, or (None, None)."""
        if self.session.selected and self.session.layer_trace.output_size > self.session.selected[0]:
            unit = self.session.selected[0]
            return unit, self.session.quantity("hidden")[:, unit]
        return None, None

    def describe(self, x: float, y: float) -> str | None:
        step = int(round(x))
        if self.token_mode or not 0 <= step < self.session.length:
            return None
        values = self.session.trace.x[self.session.batch, step]
        shown = min(len(values), 8)
        k = int(np.argmin(np.abs(values[:shown] - y)))
        name = self.session.sequence.feature_names[k]
        return f"input {name} · t = {step} ({self.session.label(step)!r}) · {values[k]:.6g}"

    def _token_hovered(self, href: str) -> None:
        if not href or self.session.loaded is None:
            self.show_hover(None)
            return
        step = int(href)
        unit, activation = self.activation()
        text = f"t = {step}: {self.session.sequence.batch_labels[self.session.batch][step]!r}"
        attribution, words, _ = self.attribution()
        if attribution is not None and step < len(attribution):
            text += f" · {words}: {attribution[step]:+.4g}"
        elif unit is not None:
            text += f" · unit {unit} output {activation[step]:.4f}"
        self.show_hover(text + " (click to go there)")

    def on_trace(self):
        sequence = self.session.sequence
        T = self.session.length
        if self.token_mode:
            self.stack.setCurrentIndex(1)
            return
        self.stack.setCurrentIndex(0)
        x, batch = self.session.trace.x, self.session.batch
        features = x.shape[2]
        shown = min(features, MAX_CURVES)
        source = ArraySource(x, (batch, slice(None), slice(0, shown)))
        pyramid = array_pyramid(x, ("input", batch, shown), T, source, shown)
        while len(self.curves) < shown:
            curve = LodCurve()
            self.plot.addItem(curve)
            cache_static(curve)
            self.curves.append(curve)
        entries = []
        for k, curve in enumerate(self.curves):
            if k < shown:
                color = pg.intColor(k, hues=max(shown, 6), maxValue=200)
                curve.set_source(pyramid, k, pen=pg.mkPen(color, width=1), color=color, among=range(shown))
                entries.append((curve, sequence.feature_names[k]))
            else:
                curve.clear_source()
            curve.setVisible(k < shown)
        if features > shown:  # said, not silently dropped
            entries.append((self.more, f"+ {features - shown} more features, not drawn"))
        self.show_legend(entries)
        self.plot.setXRange(0, T, padding=0.01)
        integer_steps(self.plot, T)
        low, high = pyramid.range()
        self.plot.setYRange(low, high + 1e-6, padding=0.05)
        self._draw_band()

    def on_step(self, step):
        if not self.token_mode:
            self.line.setValue(step)
            return
        unit, activation = self.activation()
        attribution, words, scale = self.attribution()
        if attribution is not None:  # what the attribution panel computed takes the background
            activation = attribution
        else:
            scale = 1.0
        labels = self.session.sequence.batch_labels[self.session.batch]
        dna = self.dna
        start, stop = max(0, step - WINDOW), min(self.session.length, step + WINDOW + 1)
        cells = []
        for t in range(start, stop):
            text = labels[t].replace("&", "&amp;").replace("<", "&lt;").replace(" ", "&nbsp;") or "&nbsp;"
            color = QColor("#ffffff")
            if activation is not None and t < len(activation):
                color = token_color(activation[t] / scale)  # only the strip's steps are read
            ink = BASE_COLORS.get(labels[t].upper(), "#777777") if dna else "#000000"
            # Qt rich text has no borders: the current token is bold, underlined, framed in yellow
            style = (
                f"background:#ffd400;font-weight:bold;text-decoration:underline;color:{ink}"
                if t == step
                else f"background:{color.name()};color:{ink};text-decoration:none"
                + (";font-weight:bold" if dna else "")
            )
            shown = f"[{text}]" if t == step else text
            cells.append(f'<a href="{t}" style="{style}">{shown}</a>')
        self.tokens.setText("".join(cells))
        if attribution is not None:
            unit_text = f"   background: {words} (red +, blue −)"
        elif activation is not None:
            unit_text = f"   background: unit {unit}'s output (red +, blue −)"
        else:
            unit_text = ""
        where = f"position {step + 1:,} of {self.session.length:,}: base" if dna else f"step {step}:"
        self.caption.setText(f"{where} {labels[step]!r}{unit_text}")
