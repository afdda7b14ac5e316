"""Two models on one sequence: the open model (A) and a second one (B), unit by unit.

B's units are matched to A's by the correlation of their memory cells (the Hungarian
assignment; see :mod:`lstm_viz.workbench.compare`), so row i of B's heatmap is the unit of
B that does most what A's unit i does. Side by side: A's and B's heatmaps of one quantity;
or B − A, their difference. Below: the first selected unit of A over time and its match in
B, and the list of matches with their r.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.ui.lod import LodImage
from lstm_viz.ui.panels.base import Panel, Place, cache_axes, integer_steps, legend_above, unit_ticks
from lstm_viz.ui.style import QUANTITY_LABELS
from lstm_viz.workbench.compare import WEAK
from lstm_viz.workbench.lod import QuantitySource, cached_pyramid, quantity_pyramid

WHAT = (
    ("forget", QUANTITY_LABELS["forget"]),
    ("input", QUANTITY_LABELS["input"]),
    ("output", QUANTITY_LABELS["output"]),
    ("cell", "Memory cell c(t)"),
    ("hidden", "Output h(t)"),
)
GATES = ("forget", "input", "output")


class _Matched:
    """Rows [t0, t1) of B's quantity in A's unit order (a pyramid's source): each of A's
    units gets its match in B, times the sign of their r when ``flip`` (a unit that does
    the same with the opposite sign then looks the same), minus A's with ``minus``."""

    def __init__(self, a, b, match, flip: bool, minus: bool):
        self.a, self.b, self.order = a, b, match.order  # QuantitySources: the traces held weakly
        self.width = len(match.order)
        self.sign = np.where(np.asarray(match.r) < 0, -1.0, 1.0).astype(np.float32) if flip else None
        self.minus = minus

    def __call__(self, t0: int, t1: int) -> np.ndarray:
        matched = self.order >= 0
        out = np.full((t1 - t0, self.width), np.nan, np.float32)
        values = np.asarray(self.b(t0, t1), np.float32)[:, self.order[matched]]
        if self.sign is not None:
            values = values * self.sign[matched]
        if self.minus:
            values = values - np.asarray(self.a(t0, t1), np.float32)[:, matched]
        out[:, matched] = values
        return out


class ComparePanel(Panel):
    title = "Compare two models"
    place = Place(tab="GateHeatmapsPanel")
    remembered = ("what", "mode")
    requests = ("compare",)
    tour = (
        "Two models side by side",
        "Model > Compare with… runs a second model (another checkpoint, another framework's "
        "export, a tanh RNN) on this sequence and matches its units to these by their memory cells.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(4, 2, 4, 2)
        bar = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        bar.addWidget(self.summary, 1)
        self.what = QComboBox()
        for key, words in WHAT:
            self.what.addItem(words, key)
        self.what.currentIndexChanged.connect(lambda _: self._redraw())
        bar.addWidget(self.what)
        self.mode = QComboBox()
        self.mode.addItem("A and B side by side", "both")
        self.mode.addItem("B − A", "difference")
        self.mode.currentIndexChanged.connect(lambda _: self._redraw())
        bar.addWidget(self.mode)
        self.choose = QPushButton("Compare with…")
        self.choose.setToolTip("Open a second model on this sequence (Model > Compare with…)")
        self.choose.clicked.connect(lambda: self.request("compare"))
        bar.addWidget(self.choose)
        self.stop = QPushButton("Stop comparing")
        self.stop.clicked.connect(lambda: self.session.core.clear_comparison())
        bar.addWidget(self.stop)
        layout.addLayout(bar)
        self.pair = QLabel()  # the unit followed below, and its match
        self.pair.setWordWrap(True)  # a long line would widen the panel's column
        self.pages = QStackedWidget()
        self.nothing = QLabel(
            "Nothing to compare yet. Model > Compare with a model file… runs a second model "
            "(another training checkpoint, another framework's export) on this sequence; "
            "Model > Compare with a tanh RNN runs a plain RNN of the same sizes."
        )
        self.nothing.setWordWrap(True)
        self.pages.addWidget(self.nothing)
        body = QWidget()
        body_layout = QHBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        self.graphics = pg.GraphicsLayoutWidget()
        left.addWidget(self.graphics, 1)
        left.addWidget(self.pair)
        body_layout.addLayout(left, 3)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["A", "B", "r"])
        self.table.setToolTip("Each unit of A, the unit of B matched to it, and the correlation r of the two")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for col, width in enumerate((38, 38, 52)):
            self.table.setColumnWidth(col, width)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setFixedWidth(150)
        self.table.cellClicked.connect(lambda row, _col: self.session.select_units([row]))
        body_layout.addWidget(self.table, 1)
        self.pages.addWidget(body)
        layout.addWidget(self.pages, 1)
        self.plots, self.images, self.cursors = {}, {}, []
        for row, key in enumerate(("A", "B")):
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": self.step_axis()})
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            cache_axes(plot)
            image = LodImage()
            plot.addItem(image)
            self.cursors.append(self.cursor(plot))
            plot.getAxis("bottom").named = False
            plot.hideAxis("bottom")  # one time axis, under the curves
            self.plots[key], self.images[key] = plot, image
        self.bars = {}
        for row, key in enumerate(("A", "B")):  # in a column of their own: the three plots stay aligned in time
            self.bars[key] = pg.ColorBarItem(
                values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=12
            )
            self.bars[key].setImageItem(self.images[key])
            self.graphics.addItem(self.bars[key], row=row, col=1)
        self.lines = self.graphics.addPlot(row=2, col=0, axisItems={"bottom": self.step_axis()})
        self.lines.setMouseEnabled(x=True, y=False)
        self.lines.setClipToView(True)
        self.lines.setDownsampling(auto=True, mode="peak")
        self.lines.hideButtons()
        cache_axes(self.lines)
        legend_above(self.lines, 2)
        self.curve_a = self.lines.plot([], [], pen=pg.mkPen("#1f77b4", width=2), name="A")
        self.curve_b = self.lines.plot(
            [], [], pen=pg.mkPen("#d62728", width=2, style=pg.QtCore.Qt.PenStyle.DashLine), name="B"
        )
        self.cursors.append(self.cursor(self.lines))
        for plot in (*self.plots.values(), self.lines):
            plot.getAxis("left").setWidth(52)
        self.setWidget(container)
        self.session.core.comparison_changed.connect(self._comparison_changed)

    def time_plots(self):
        return [self.plots["A"], self.plots["B"], self.lines]

    def _comparison_changed(self):
        if self._built and not self._offscreen():
            self._redraw()
        else:
            self._stale_trace = True

    def on_trace(self):
        self._redraw()

    def on_selection(self):
        self._draw_lines()

    def on_step(self, step: int):
        for line in self.cursors:
            line.setValue(step + 0.5 if line is not self.cursors[-1] else step)

    # -- drawing ----------------------------------------------------------------------------
    def _redraw(self):
        core = self.session.core
        comparison = core.comparison
        self.stop.setEnabled(comparison is not None)
        if comparison is None or core.loaded is None:
            self.pages.setCurrentIndex(0)
            self.summary.setText("A: the open model. B: none yet.")
            return
        self.pages.setCurrentIndex(1)
        layer = core.layer
        match = comparison.match(layer)
        b_layers = comparison.loaded.trace.layers
        if match is None:
            self.summary.setText(f"B ({comparison.description}) has no layer {layer}.")
            for image in self.images.values():
                image.clear_source()
            return
        la, lb = core.loaded.trace.layers[layer], b_layers[layer]
        both = la.is_lstm and lb.is_lstm
        model = self.what.model()
        for row, (key, _) in enumerate(WHAT):  # a tanh RNN has no gates and no cell: its output only
            model.item(row).setEnabled(both or key == "hidden")
        if not both and self.what.currentData() != "hidden":
            self.what.blockSignals(True)
            self.what.setCurrentIndex(self.what.findData("hidden"))
            self.what.blockSignals(False)
        what = self.what.currentData()
        T, batch = core.length, core.batch
        quantity = "memory cells c(t)" if match.quantity == "cell" else "outputs h(t)"
        self.summary.setText(
            f"<b>A</b>: {core.loaded.model_description} &nbsp; <b>B</b>: {comparison.description} "
            "(each row of B's heatmap: the unit matched to A's unit of that row)<br>"
            f"B's units matched to A's by the correlation of their {quantity} (Hungarian assignment): "
            f"mean |r| = <b>{match.quality:.2f}</b> over {int((match.order >= 0).sum())} pairs"
            + (f" — a weak match (below {WEAK:g}): most pairs do different things" if match.weak else "")
        )
        gates = what in GATES
        levels = (0.0, 1.0) if gates else self._symmetric(la, lb, what, batch, T)
        a_pyramid = quantity_pyramid(la, what, batch, T)
        difference = self.mode.currentData() == "difference"
        H = a_pyramid.width
        flip = not gates  # a state of the opposite sign is the same state; a gate is not
        b_source = QuantitySource(lb, what, batch)
        source = _Matched(QuantitySource(la, what, batch), b_source, match, flip, minus=difference)
        # cached on B's trace: gone with the comparison
        key = ("compare", layer, what, batch, flip, difference, a_pyramid.source.source.where)
        b_pyramid = cached_pyramid(b_source.owner, key, source, T, H)
        flipped = flip and bool((np.asarray(match.r) < 0).any())
        colors = "viridis" if gates else "CET-D1"
        self.images["A"].set_source(a_pyramid, None, levels=levels)
        self._colors("A", colors, levels, "A")
        if difference:  # A above, B - A below, on a scale of its own
            top = b_pyramid.level(len(b_pyramid.bins) - 1)
            span = (
                float(np.nanmax(np.abs(np.concatenate([top.mins.ravel(), top.maxs.ravel()])))) if top.mins.size else 0.0
            )
            span = span if np.isfinite(span) and span > 0 else 1.0
            self.images["B"].set_source(b_pyramid, None, levels=(-span, span))
            self._colors("B", "CET-D1", (-span, span), "B − A")
        else:
            self.images["B"].set_source(b_pyramid, None, levels=levels)
            self._colors("B", colors, levels, "B")
        self.summary.setText(self.summary.text() + (" · B's signs flipped where r &lt; 0" if flipped else ""))
        for plot in self.plots.values():
            plot.setYRange(0, H, padding=0)
            plot.getAxis("left").setTicks(unit_ticks(H, offset=0.5, most=3))
            integer_steps(plot, T)
        integer_steps(self.lines, T)
        self._fill_table(match)
        self._draw_lines()

    def _symmetric(self, la, lb, what, batch, T):
        top = max(
            float(np.nanmax(np.abs(la.quantity(what)[batch, :T]))),
            float(np.nanmax(np.abs(lb.quantity(what)[batch, :T]))),
        )
        top = top if top > 0 else 1.0
        return (-top, top)

    def _colors(self, key, name, levels, label):
        colors = pg.colormap.get(name)
        self.images[key].setLookupTable(colors.getLookupTable(nPts=256))
        self.bars[key].setColorMap(colors)
        self.bars[key].setLevels(levels)
        self.bars[key].axis.setTicks([[(v, f"{v:.2g}") for v in levels]])
        self.plots[key].setLabel("left", label)

    def _fill_table(self, match):
        self.table.setRowCount(len(match.order))
        for i, (j, r) in enumerate(zip(match.order, match.r)):
            cells = (str(i), "—" if j < 0 else str(int(j)), "—" if j < 0 else f"{r:+.2f}")
            for col, text in enumerate(cells):
                self.table.setItem(i, col, QTableWidgetItem(text))

    def _draw_lines(self):
        core = self.session.core
        comparison = core.comparison
        if comparison is None or core.loaded is None or not core.selected:
            self.curve_a.setData([], [])
            self.curve_b.setData([], [])
            return
        match = comparison.match(core.layer)
        if match is None:
            return
        unit = core.selected[0]
        what = match.quantity
        T, batch = core.length, core.batch
        steps = np.arange(T)
        self.curve_a.setData(steps, core.loaded.trace.layers[core.layer].quantity(what)[batch, :T, unit])
        partner = int(match.order[unit]) if unit < len(match.order) else -1
        name = "memory cell c(t)" if what == "cell" else "output h(t)"
        if partner < 0:
            self.curve_b.setData([], [])
            self.pair.setText(f"A's unit {unit} has no match in B (B has fewer units).")
            return
        b = comparison.loaded.trace.layers[core.layer].quantity(what)[batch, :T, partner]
        r = float(match.r[unit])
        self.curve_b.setData(steps, b if r >= 0 else -b)
        flipped = ", its sign flipped" if r < 0 else ""
        self.pair.setText(
            f"Below: the {name} of A's unit {unit} (solid) and of its match, B's unit {partner} "
            f"(dashed{flipped}): r = {r:+.2f}. Click a row of the list to follow another unit."
        )

    # -- for tests --------------------------------------------------------------------------
    def shown_rows(self, key: str) -> np.ndarray:
        """The image ``key`` ("A" or "B") shows now, rows by units (for tests)."""
        return np.asarray(self.images[key].image)
