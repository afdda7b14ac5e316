"""Input: the sequence itself, around the current step.

Text and DNA as a strip of tokens with the current one highlighted and each coloured by the
first selected unit's output; numbers as curves with the time cursor.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Panel, cache_static

WINDOW = 30  # tokens shown either side of the current step


class InputPanel(Panel):
    title = "Input sequence"
    object_name = "InputPanel"
    area = Qt.DockWidgetArea.BottomDockWidgetArea

    def build(self):
        self.stack = QStackedWidget()
        # Numbers: one curve per feature.
        self.plot = pg.PlotWidget()
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setLabel("bottom", "step")
        self.legend = self.plot.addLegend(offset=(10, 5), colCount=4)
        self.curves: list[pg.PlotDataItem] = []
        self.line = self.cursor(self.plot.getPlotItem())
        self.stack.addWidget(self.plot)
        # Tokens: a strip of labels.
        strip = QWidget()
        layout = QVBoxLayout(strip)
        self.tokens = QLabel()
        self.tokens.setTextFormat(Qt.TextFormat.RichText)
        self.tokens.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tokens.setStyleSheet("font-family: monospace; font-size: 16pt;")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() + 6)
        layout.addWidget(self.tokens, 1)
        layout.addWidget(self.caption)
        self.stack.addWidget(strip)
        self.setWidget(self.stack)

    def time_plots(self):
        return [self.plot.getPlotItem()]

    @property
    def token_mode(self) -> bool:
        return self.session.sequence.vocabulary is not None

    def on_trace(self):
        sequence = self.session.sequence
        T = self.session.length
        if self.token_mode:
            self.stack.setCurrentIndex(1)
            return
        self.stack.setCurrentIndex(0)
        values = self.session.trace.x[self.session.batch, :T]
        shown = min(values.shape[1], 8)
        while len(self.curves) < shown:
            curve = self.plot.plot([], [])
            cache_static(curve)
            self.curves.append(curve)
        self.legend.clear()
        for k, curve in enumerate(self.curves):
            curve.setVisible(k < shown)
            if k < shown:
                pen = pg.mkPen(pg.intColor(k, hues=max(shown, 6), maxValue=200), width=1)
                curve.setData(np.arange(T), values[:, k], pen=pen)
                self.legend.addItem(curve, sequence.feature_names[k])
        self.plot.setXRange(0, T, padding=0.01)
        shown_values = values[:, :shown]
        low, high = float(shown_values.min()), float(shown_values.max())
        self.plot.setYRange(low, high + 1e-6, padding=0.05)

    def on_step(self, step):
        if not self.token_mode:
            self.line.setValue(step)
            return
        activation = None
        if self.session.selected:
            unit = self.session.selected[0]
            activation = (
                self.session.quantity("hidden")[:, unit] if self.session.layer_trace.output_size > unit else None
            )
        labels = self.session.sequence.batch_labels[self.session.batch]
        start, stop = max(0, step - WINDOW), min(self.session.length, step + WINDOW + 1)
        cells = []
        for t in range(start, stop):
            text = labels[t].replace("&", "&amp;").replace("<", "&lt;").replace(" ", "&nbsp;") or "&nbsp;"
            color = QColor("#ffffff")
            if activation is not None:
                a = float(np.clip(activation[t], -1, 1))
                color = QColor.fromRgbF(1 - max(a, 0) * 0.6, 1 - abs(a) * 0.35, 1 - max(-a, 0) * 0.6)
            if t == step:  # Qt rich text has no borders: the current token is bold, underlined, framed in yellow
                cells.append(
                    f'<span style="background:#ffd400;font-weight:bold;text-decoration:underline">[{text}]</span>'
                )
            else:
                cells.append(f'<span style="background:{color.name()}">{text}</span>')
        self.tokens.setText("".join(cells))
        unit_text = f"coloured by unit {self.session.selected[0]}'s output" if activation is not None else ""
        self.caption.setText(f"step {step}: {labels[step]!r}   {unit_text}")
