"""Unit figures: which units keep, which are stuck, which matter, which follow what.

At the top, units are selected by number ("3, 10-20, 40", checked against the layer's
size) or as the top N by a figure at this step (see :mod:`lstm_viz.ui.unit_picker`).
Under it, a table of the current layer's units over the shown sequence: memory span (how
many steps a value written survives to half its size, from the keep gate), the share of
steps each gate spends shut (< 0.1) or open (> 0.9), the correlation of the unit's cell
with a chosen reference (an input feature, the target, the loss), and on demand how much
the loss rises when the unit is switched off. Click a column to sort, a row to select the unit
(Ctrl+click adds it). Below, "Find units" selects the units whose gate or state stays
above or below a threshold over a range of steps, and lists where it holds.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.ui.panels.analysis import Analyses
from lstm_viz.ui.panels.base import Panel, Place, cache_static, integer_steps, points
from lstm_viz.ui.unit_picker import UnitPicker
from lstm_viz.vocabulary import LABELS

SHORT = {"forget": "keep", "input": "write", "output": "read"}
SELECTED = QBrush(QColor("#ffe8cc"))
FIND_QUANTITIES = ("forget", "input", "output", "candidate", "cell", "hidden")


class NumberItem(QTableWidgetItem):
    """A cell that shows ``text`` and sorts by ``value`` (NaN last)."""

    def __init__(self, value: float, text: str):
        super().__init__(text)
        self.value = float(value)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)

    def __lt__(self, other):
        a, b = self.value, getattr(other, "value", float("nan"))
        if np.isnan(a) or np.isnan(b):
            return not np.isnan(a) and np.isnan(b)
        return a < b


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


class UnitsPanel(Panel):
    title = "Unit figures"
    remembered = ("reference", "find_quantity", "find_above", "find_threshold")
    place = Place(tab="GuidePanel")
    tour = (
        "Which units do what",
        "Every unit of the layer in a table: how long it keeps what it writes, how often "
        "its gates are shut or open, what it follows, and how much the loss rises without "
        "it. Sort by any column; click a row to select the unit.",
    )

    requests = ("what_if",)

    COLUMNS = (
        ("unit", "unit number"),
        ("span", "memory span: median steps until a value written has halved (keep gate)"),
        ("keep shut", "share of steps with the keep gate below 0.1"),
        ("keep open", "share of steps with the keep gate above 0.9"),
        ("write shut", "share of steps with the write gate below 0.1"),
        ("write open", "share of steps with the write gate above 0.9"),
        ("read shut", "share of steps with the read gate below 0.1"),
        ("read open", "share of steps with the read gate above 0.9"),
        ("r", "Pearson correlation of the unit's cell with the chosen reference"),
        ("Δ loss off", "how much the mean loss rises when the unit is switched off (c and h held at 0)"),
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        # units by number ("3, 10-20, 40") or the top N by a figure at this step
        self.picker = UnitPicker(self.session, top=True)
        layout.addWidget(self.picker)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Correlate with"))
        self.reference = QComboBox()
        self.reference.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.reference.setMinimumContentsLength(12)
        self.reference.currentIndexChanged.connect(lambda _: self._ask_figures())
        bar.addWidget(self.reference, 1)
        layout.addLayout(bar)
        bar = QHBoxLayout()  # a second row: the re-runs
        self.rank = QPushButton("Rank by switching off")
        self.rank.setToolTip("Switch off each unit in turn (c and h held at 0) and measure the loss")
        self.rank.clicked.connect(self.ask_ablation)
        bar.addWidget(self.rank)
        self.switch_off = QPushButton("Switch off selected")
        self.switch_off.setToolTip(
            "Hold the selected units' memory cell and output at 0 from the current step on (keep and write "
            "gates clamped to 0) and re-run: the predictions panel shows what changes"
        )
        self.switch_off.clicked.connect(self.switch_off_selected)
        bar.addWidget(self.switch_off)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.analyses = Analyses(self, ("unit_figures", "ablation_ranking"), self.on_result, self.on_failed)
        layout.addWidget(self.analyses.strip)
        self.table = QTableWidget(0, len(self.COLUMNS))
        for k, (name, tip) in enumerate(self.COLUMNS):
            item = QTableWidgetItem(name)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(k, item)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the transport keys stay the window's
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.cellClicked.connect(self.clicked_row)
        # the table, and the memory span over time of the selected units (how long what they
        # write at each step lasts), as two pages: a short panel has room for one
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.table, "Every unit")
        self.span_plot = self.curves_over_time(legend_columns=4)
        self.span_plot.setLabel("left", "memory span (steps)")
        self.span_curves: list = []
        self.pages.addTab(self.span_plot, "Memory span over time")
        self.pages.currentChanged.connect(lambda _: self._draw_spans())
        layout.addWidget(self.pages, 1)
        find = QHBoxLayout()
        find.addWidget(QLabel("Find units whose"))
        self.find_quantity = QComboBox()
        for name in FIND_QUANTITIES:
            self.find_quantity.addItem(LABELS[name], name)
        find.addWidget(self.find_quantity)
        self.find_above = QComboBox()
        self.find_above.addItems(["stays above", "stays below"])
        find.addWidget(self.find_above)
        self.find_threshold = QDoubleSpinBox()
        self.find_threshold.setRange(-100, 100)
        self.find_threshold.setDecimals(3)
        self.find_threshold.setSingleStep(0.05)
        self.find_threshold.setValue(0.9)
        find.addWidget(self.find_threshold)
        find.addStretch(1)
        layout.addLayout(find)
        find = QHBoxLayout()  # a second row: where, and the button
        find.addWidget(QLabel("from t ="))
        self.find_from = QSpinBox()
        find.addWidget(self.find_from)
        find.addWidget(QLabel("to"))
        self.find_to = QSpinBox()
        find.addWidget(self.find_to)
        self.find_button = QPushButton("Find")
        self.find_button.clicked.connect(self.find)
        find.addWidget(self.find_button)
        find.addStretch(1)
        layout.addLayout(find)
        self.note = self.text_line()
        layout.addWidget(self.note)
        self.setWidget(container)
        self.figures = None
        self.ranking = None
        self._rows: dict[int, list] = {}  # each unit's items, wherever sorting puts them
        self._painted: set[int] = set()  # the units whose rows are drawn as selected

    def time_plots(self):
        return [self.span_plot.getPlotItem()]

    def describe(self, x: float, y: float) -> str | None:
        step = int(round(x))
        figures = self.figures
        if figures is None or figures.span is None or not 0 <= step < figures.span.per_step.shape[0]:
            return None
        parts = []
        for unit in self.session.selected[:8]:
            k = figures.span.per_step[step, unit]
            more = " or more (the sequence ends first)" if figures.span.censored[step, unit] else ""
            parts.append(f"unit {unit}: {k:g}{more}")
        return f"written at t = {step}, halved after: " + "; ".join(parts)

    def _draw_spans(self):
        figures = self.figures
        units = self.session.selected[:8]
        for curve in self.span_curves:
            curve.setVisible(False)
        if figures is None or figures.span is None:
            self.show_legend([])
            return
        steps = np.arange(figures.span.per_step.shape[0])
        entries = []
        for k, unit in enumerate(units):
            while len(self.span_curves) <= k:
                curve = self.span_plot.plot([], [])
                cache_static(curve)
                self.span_curves.append(curve)
            color = pg.intColor(k, hues=max(len(units), 8), values=1, maxValue=220)
            curve = self.span_curves[k]
            curve.setData(
                steps, figures.span.per_step[:, unit], pen=pg.mkPen(color, width=1), **points(len(steps), color)
            )
            curve.setVisible(True)
            entries.append((curve, f"unit {unit}"))
        self.show_legend(entries)
        if units:
            high = float(figures.span.per_step[:, units].max())
            self.span_plot.setYRange(0, max(high, 1.0) * 1.05, padding=0)

    def on_step(self, step):
        self.line.setValue(step)

    # -- asking -----------------------------------------------------------------------------
    def on_trace(self):
        core = self.session.core
        self.analyses.forget()  # what ran for the layer or sequence shown before
        self.figures = self.ranking = None
        keep = self.reference.currentData()
        found = core_references(core)
        self.reference.blockSignals(True)
        self.reference.clear()
        self.reference.addItem("(nothing)", "")
        for key, (words, _) in found.items():
            self.reference.addItem(words, key)
        index = self.reference.findData(keep) if keep else -1
        if index < 0:
            index = self.reference.findData("target")
        self.reference.setCurrentIndex(max(index, 0))
        self.reference.blockSignals(False)
        self.rank.setEnabled(core.targets is not None and core.layer_trace.is_lstm)
        self.rank.setToolTip(
            "Switch off each unit in turn (c and h held at 0) and measure the loss"
            if core.targets is not None
            else "No target is known for this sequence, so there is no loss to compare"
        )
        self.switch_off.setEnabled(core.layer_trace.is_lstm)
        if core.what_if is not None and core.what_if.clamps:
            self.note.setText(f"Shown: the run with {core.what_if.description}. Restore it in What if….")
        last = max(0, self.session.length - 1)
        self.span_plot.setXRange(0, self.session.length, padding=0.01)
        integer_steps(self.span_plot, self.session.length)
        for box in (self.find_from, self.find_to):
            box.setRange(0, last)
        self.find_from.setValue(0)
        self.find_to.setValue(last)
        self.table.setRowCount(0)
        self._rows, self._painted = {}, set()  # the items are gone with their rows
        if core.what_if is None:
            self.note.setText("")
        self._ask_figures()

    def params(self) -> dict:
        core = self.session.core
        return {"layer": core.layer, "batch": core.batch, "reference": self.reference.currentData() or ""}

    def _ask_figures(self):
        if self.session.loaded is None:
            return
        self.analyses.ask("unit_figures", self.params(), "Measuring the units…")

    def ask_ablation(self):
        core = self.session.core
        self.analyses.ask(
            "ablation_ranking",
            {"layer": core.layer, "batch": core.batch, "start": 0},
            f"Switching off each of {core.layer_trace.hidden_size} units…",
        )

    def switch_off_selected(self):
        """Ablate the selected units from the current step on, as a what-if (added to any
        changes already made, so the What if… panel lists and undoes them all)."""
        from lstm_viz.engine.whatif import Clamp

        core = self.session.core
        if not core.selected or not core.layer_trace.is_lstm:
            self.note.setText("Select the units to switch off first (click their rows).")
            return
        units, step = tuple(core.selected), core.step
        clamps = [Clamp(core.layer, gate, 0.0, step, units) for gate in ("forget", "input")]
        before = [] if core.what_if is None else list(core.what_if.clamps)
        edits = {} if core.what_if is None else dict(core.what_if.edits)
        self.note.setText(
            f"Switching off unit{'s' if len(units) > 1 else ''} {', '.join(map(str, units))} from t = {step}…"
        )
        self.request("what_if", before + clamps, edits)

    def request_failed(self, name: str, message: str) -> None:
        self.note.setText(message.splitlines()[0])

    def on_result(self, name, result):
        if name == "unit_figures":
            self.figures = result
            self.fill()
        elif name == "ablation_ranking":
            self.ranking = result
            self.fill()
            if result is not None:  # the answer to "which units matter" comes first
                self.table.sortByColumn(9, Qt.SortOrder.DescendingOrder)
                self._note_ranking(result)

    def _note_ranking(self, result):
        best = int(result.order()[0])
        if result.change[best] > 0:
            self.note.setText(
                f"Switching off unit {best} raises the mean loss most: from {result.baseline:.4g} "
                f"to {result.loss[best]:.4g} over {result.steps} steps with a target."
            )
        else:
            self.note.setText(
                f"Switching off any one unit does not raise the mean loss ({result.baseline:.4g} over "
                f"{result.steps} steps with a target); the largest change is {result.change[best]:+.3g}."
            )

    def on_failed(self, name, message):
        self.note.setText(message.splitlines()[0])

    # -- the table ----------------------------------------------------------------------------
    def fill(self):
        figures = self.figures
        if figures is None or figures.layer != self.session.core.layer:
            return
        H = self.session.layer_trace.hidden_size
        if self.ranking is not None and len(self.ranking.change) != H:
            self.ranking = None
        self.table.setSortingEnabled(False)
        self.table.setRowCount(H)
        self._rows = {}
        for u in range(H):
            row = [NumberItem(u, str(u))]
            if figures.span is not None:
                span = figures.span.per_unit[u]
                row.append(NumberItem(span, "longer than the sequence" if np.isinf(span) else f"{span:g}"))
                for gate in ("forget", "input", "output"):
                    row.append(NumberItem(figures.saturation.left[gate][u], percent(figures.saturation.left[gate][u])))
                    row.append(
                        NumberItem(figures.saturation.right[gate][u], percent(figures.saturation.right[gate][u]))
                    )
            else:
                row.extend(NumberItem(np.nan, "–") for _ in range(7))
            r = np.nan if figures.correlation is None else figures.correlation[u]
            row.append(NumberItem(r, "" if np.isnan(r) else f"{r:+.2f}"))
            change = np.nan if self.ranking is None else self.ranking.change[u]
            row.append(NumberItem(change, "" if np.isnan(change) else f"{change:+.4g}"))
            for k, item in enumerate(row):
                self.table.setItem(u, k, item)
            self._rows[u] = row
        self.table.setSortingEnabled(True)
        self._painted = set()  # new items: none drawn as selected yet
        self.table.horizontalHeaderItem(8).setToolTip(
            "Pearson correlation of the unit's "
            + ("cell" if figures.quantity == "cell" else "output h")
            + (f" with {figures.reference}" if figures.reference else "")
        )
        self.on_selection()

    def on_selection(self):
        self.picker.show_selection()
        self._draw_spans()
        # only the rows whose state changed are repainted: a layer of a thousand units has ten
        # thousand cells, too many to touch on every click
        selected = set(self.session.selected)
        for unit in self._painted ^ selected:
            brush = SELECTED if unit in selected else QBrush()
            for cell in self._rows.get(unit, ()):
                cell.setBackground(brush)
        self._painted = selected & self._rows.keys()

    def unit_at_row(self, row: int) -> int | None:
        item = self.table.item(row, 0)
        return None if item is None else int(item.value)

    def clicked_row(self, row: int, column: int):
        unit = self.unit_at_row(row)
        if unit is not None:
            self.select_unit(unit, QApplication.keyboardModifiers())

    def shown_values(self, column: int) -> list[str]:
        """The texts of a column from top to bottom, as sorted on screen."""
        return [self.table.item(r, column).text() for r in range(self.table.rowCount())]

    # -- finding units --------------------------------------------------------------------------
    def find(self):
        from lstm_viz.engine.unit_figures import find_units, matching_spans

        core = self.session.core
        name = self.find_quantity.currentData()
        if name != "hidden" and not core.layer_trace.is_lstm:
            self.note.setText("A tanh RNN has only its output h to search.")
            return
        values = core.layer_trace.quantity(name)
        above = self.find_above.currentIndex() == 0
        threshold = self.find_threshold.value()
        a, b = sorted((self.find_from.value(), self.find_to.value()))
        units = [int(u) for u in find_units(values, threshold, above=above, steps=(a, b + 1))]
        word = "above" if above else "below"
        where = " in every sequence of the batch" if values.shape[0] > 1 else ""
        if not units:
            self.note.setText(
                f"No unit's {LABELS[name].lower()} stays {word} {threshold:g} from t = {a} to {b}{where}."
            )
            return
        self.session.select_units(units)
        spans = matching_spans(values, units, threshold, above, min_length=max(2, (b - a + 1) // 4))
        spans.sort(key=lambda run: run[2] - run[3])  # the longest first
        several = values.shape[0] > 1
        listed = "; ".join(
            (f"sequence {seq}, " if several else "") + f"unit {u}: t = {s}–{e - 1}" for seq, u, s, e in spans[:12]
        )
        more = f" and {len(spans) - 12} more" if len(spans) > 12 else ""
        self.note.setText(
            f"{len(units)} unit{'s' if len(units) != 1 else ''} ({', '.join(map(str, units[:16]))}) whose "
            f"{LABELS[name].lower()} stays {word} {threshold:g} from t = {a} to {b}{where}, now selected. "
            f"Longest runs: {listed}{more}."
        )


def core_references(core) -> dict:
    from lstm_viz.workbench.why import references

    return references(core.model, core.sequence, core.trace, core.targets, core.batch)
