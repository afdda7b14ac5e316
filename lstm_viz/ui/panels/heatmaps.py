"""Gate heatmaps: units x time images of the three gates and the candidate, with the cursor.

Each image holds only the visible steps' columns, about one per pixel (level-of-detail
pyramids, ``lstm_viz.ui.lod``): a column of several steps shows their mean (or their max or
min, as chosen). Hover and clicks read the trace itself at the step under the mouse.
Rows are the units of the shown sequence, or one unit in every sequence of the batch.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lstm_viz.ui.lod import LodImage
from lstm_viz.ui.panels.analysis import Analyses
from lstm_viz.ui.panels.base import (
    Markers,
    Panel,
    Place,
    RowText,
    cache_axes,
    cache_static,
    integer_steps,
    unit_ticks,
)
from lstm_viz.ui.style import GATES, QUANTITY_LABELS
from lstm_viz.workbench.lod import across_pyramid, cached, cluster_order, profiles, quantity_pyramid

QUANTITIES = (*GATES, "candidate")  # the three gates, then the candidate


ORDERS = {
    "unit": "unit number",
    "span": "memory span",
    "keep_open": "keep gate open (> 0.9)",
    "correlation": "|r| (Unit figures)",
    "ablation": "loss rise when off",
    "attribution": "attribution (this step)",
    "clustered": "similar units together (clustered)",
}

ROWS = {
    "units": "units of this sequence",
    "sequences": "this unit across sequences",
}

# What a pixel column shows when it covers several steps (zoomed out).
STATS = {
    "mean": "mean of its steps",
    "max": "max of its steps",
    "min": "min of its steps",
}


class _ClickableImage(LodImage):
    """A heatmap that reports the step and row under the mouse in data coordinates (the
    image's own pixels are columns of several steps when zoomed out)."""

    def __init__(self, panel, name):
        super().__init__()
        self.panel, self.name = panel, name
        self.setAcceptHoverEvents(True)

    def _where(self, event) -> tuple[int, int]:
        point = self.mapToView(event.pos())
        return int(np.floor(point.x())), int(np.floor(point.y()))

    def mouseClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            step, row = self._where(event)
            self.panel.clicked(step, row, event.modifiers())
            event.accept()

    def hoverEvent(self, event):
        if event.isExit():
            self.panel.hover(None)
        else:
            step, row = self._where(event)
            self.panel.hover((self.name, step, row))


NAME_CHARS = 14
"""Characters of a sequence's name written beside its row (longer names are cut with an
ellipsis: a long file name would squeeze the heatmaps)."""


def elide(name: str, chars: int) -> str:
    return name if len(name) <= chars else name[: chars - 1] + "…"


class GateHeatmapsPanel(Panel):
    title = "Gate heatmaps (units x time)"
    remembered = ("rows_by", "order_by", "stat")
    place = Place(below="GateBarsPanel", height=52, front=True)
    tour = (
        "Every gate over time",
        "Rows are units, columns are steps: bright means open. A "
        "click selects that unit and jumps to that step; hover for the exact value.",
    )

    def numbers(self, scope: str):
        from lstm_viz.workbench.data_out import quantity_table

        return quantity_table(self.session.core, QUANTITIES, None, scope)

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.info = RowText("Click a row to select that unit; hover for exact values.")
        self.info.setFixedHeight(self.info.sizeHint().height())
        self.rnn_note = QLabel("A plain tanh RNN has no gates: its output h(t) is in the trajectories.")
        self.rnn_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rnn_note.setWordWrap(True)
        self.rnn_note.setStyleSheet("color: #555;")
        self.rnn_note.setVisible(False)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.rnn_note, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.info, 1)
        bottom.addWidget(QLabel("Rows"))
        self.rows_by = QComboBox()
        for key, words in ROWS.items():
            self.rows_by.addItem(words, key)
        self.rows_by.setToolTip("Rows are the units of the shown sequence, or the first selected unit in each sequence")
        self.rows_by.currentIndexChanged.connect(lambda _: self._order_changed())
        bottom.addWidget(self.rows_by)
        self.order_label = QLabel("by")
        bottom.addWidget(self.order_label)
        self.order_by = QComboBox()
        for key, words in ORDERS.items():
            self.order_by.addItem(words, key)
        self.order_by.currentIndexChanged.connect(lambda _: self._order_changed())
        bottom.addWidget(self.order_by)
        self.stat = QComboBox()
        for key, words in STATS.items():
            self.stat.addItem(words, key)
        self.stat.setToolTip("What a pixel column shows when it covers several steps (zoomed out)")
        self.stat.currentIndexChanged.connect(lambda _: self._stat_changed())
        bottom.addWidget(self.stat)
        layout.addLayout(bottom)
        self.order = None  # row r shows unit order[r]; None: by unit number
        self.pyramids = {}  # quantity -> the pyramid its image draws (and hover reads)
        self.across_unit = None  # the unit shown across sequences, None: rows are units
        self.analyses = Analyses(
            self, ("unit_figures", "ablation_ranking", "unit_attribution"), self._figures_arrived, self._figures_failed
        )
        layout.addWidget(self.analyses.strip)
        self.plots, self.images, self.cursors, self.marks = {}, {}, {}, {}
        gate_map = pg.colormap.get("viridis")
        diverging = pg.colormap.get("CET-D1")
        for row, name in enumerate(QUANTITIES):
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": self.step_axis()})
            # two lines, so both names fit beside a short heatmap ("Keep" over "(forget)")
            plot.setLabel("left", QUANTITY_LABELS[name].replace(" (", "<br>("), **{"font-size": "8pt"})
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            cache_axes(plot)
            image = _ClickableImage(self, name)
            cache_static(image)
            image.setLookupTable((diverging if name == "candidate" else gate_map).getLookupTable(nPts=256))
            plot.addItem(image)
            levels = (-1.0, 1.0) if name == "candidate" else (0.0, 1.0)
            colors = diverging if name == "candidate" else gate_map
            bar = pg.ColorBarItem(values=levels, colorMap=colors, interactive=False, width=12)
            bar.setImageItem(image, insert_in=plot)
            bar.axis.setTicks([[(v, f"{v:g}") for v in (levels[0], sum(levels) / 2, levels[1])]])
            self.cursors[name] = self.cursor(plot)
            # a small orange arrow at each selected row: readable on every colour map, apart on close rows
            mark = Markers(size=8, pen=pg.mkPen("#fff", width=1), brush="#e8590c", arrow=True)
            mark.setZValue(20)
            plot.addItem(mark, ignoreBounds=True)
            self.plots[name], self.images[name], self.marks[name] = plot, image, mark
        # the marks stay at the left edge: moved, not redrawn (every plot shows the core's range)
        self.plots[QUANTITIES[0]].vb.sigXRangeChanged.connect(lambda *_: self._move_marks())
        for name in QUANTITIES[:-1]:  # one time axis, under the last heatmap
            # (ticks of their own cost each a redraw of their ticks at every zoom or pan frame)
            axis = self.plots[name].getAxis("bottom")
            axis.named = False
            self.plots[name].hideAxis("bottom")
        self.setWidget(container)

    def time_plots(self):
        return [self.plots[name] for name in QUANTITIES]  # a wheel or drag over any of them moves time

    # -- row order -------------------------------------------------------------------------
    def _figure(self, name: str):
        """Analysis ``name`` for the shown layer and sequence: this panel's own, or the Unit
        figures panel's (the same figures), whichever is there."""
        core = self.session.core
        for key in (self.analyses.key(name), f"UnitsPanel/{name}"):
            entry = core.results.get(key)
            if entry is not None and entry[0].get("layer") == core.layer and entry[0].get("batch") == core.batch:
                return entry[1]
        return None

    def unit_order(self):
        """The units in row order (row 0 is drawn at the bottom): the one with the largest
        figure ends at the top. None: by unit number, or the figure is not computed yet."""
        key = self.order_by.currentData()
        if key == "unit":
            return None
        if key == "clustered":
            return self.clustered_order()
        if key == "ablation":
            ranking = self._figure("ablation_ranking")
            return None if ranking is None else ranking.order()[::-1]  # the most needed on top
        if key == "attribution":  # |gradient x activation| for the prediction or loss at the step asked
            found = self._figure("unit_attribution")
            return None if found is None else np.argsort(np.abs(found.values), kind="stable")
        figures = self._figure("unit_figures")
        if figures is None:
            return None
        if key == "span":
            if figures.span is None:
                return None
            values = figures.span.per_unit
        elif key == "keep_open":  # saturation: the share of steps the keep gate is held open
            if figures.saturation is None:
                return None
            values = figures.saturation.right["forget"]
        else:  # correlation: the strongest (either sign) on top
            if figures.correlation is None:
                return None
            values = np.abs(np.nan_to_num(figures.correlation, nan=0.0))
        return np.argsort(values, kind="stable")  # ascending: the largest ends on top

    def clustered_order(self) -> np.ndarray:
        """Units with similar gate time courses next to each other: average-linkage
        clustering on the correlation of their four gates over time (each as at most 256
        means of its steps), in the dendrogram's leaf order. Computed once per trace,
        layer and sequence."""
        s = self.session
        lt, batch, T = s.layer_trace, s.batch, s.length

        def compute():
            return cluster_order(profiles([quantity_pyramid(lt, name, batch, T) for name in QUANTITIES], T))

        return cached(lt, ("clustered_order", batch, T), compute)

    def across(self) -> bool:
        """Rows are the sequences of the batch (one unit in each), not the units."""
        return self.rows_by.currentData() == "sequences" and self.session.trace.batch_size > 1

    def _ask_order(self) -> bool:
        """Ask for the figure the rows are ordered by when it is missing; True if asked."""
        key = self.order_by.currentData()
        core = self.session.core
        if key == "attribution" and self._figure("unit_attribution") is None:
            if core.model.readout is None:
                self.info.setText("This model has no readout: no prediction or loss to attribute to its units.")
                return False
            if not self.session.jobs.running(self.analyses.key("unit_attribution")):
                self.analyses.ask("unit_attribution", {"step": core.step}, "Attributing to the units…")
            return True
        if key == "ablation" and self._figure("ablation_ranking") is None:
            if core.targets is None:
                self.info.setText("No target is known for this sequence, so there is no loss to rank by.")
                return False
            if not self.session.jobs.running(self.analyses.key("ablation_ranking")):
                self.analyses.ask("ablation_ranking", {"start": 0}, "Switching off each unit…")
            return True
        if key in ("span", "keep_open", "correlation") and self._figure("unit_figures") is None:
            readout = core.model.readout
            reference = "target" if core.targets is not None and readout.kind == "regression" else ""
            if not self.session.jobs.running(self.analyses.key("unit_figures")):
                self.analyses.ask("unit_figures", {"reference": reference}, "Measuring the units…")
            return True
        return False

    def _stat_changed(self):
        for image in self.images.values():
            image.set_stat(self.stat.currentData())

    def _order_changed(self):
        if self.session.loaded is None:
            return
        if self.across():
            self._refresh()
            return
        if self.order_by.currentData() == "attribution":  # for the step shown now
            self.session.core.results.pop(self.analyses.key("unit_attribution"), None)
        if not self._ask_order():
            self._refresh()

    def _figures_arrived(self, name, result):
        if self.order_by.currentData() != "unit" and self.session.loaded is not None:
            self._refresh()

    def _figures_failed(self, name, message):
        self.info.setText(message.splitlines()[0])

    def on_trace(self):
        T = self.session.length
        lt = self.session.layer_trace
        batches = self.session.trace.batch_size
        self.rows_by.setEnabled(batches > 1)
        # the whole view hidden for an RNN (hiding the plots inside it left them squeezed into
        # a corner when an LSTM came back: its layout does not lay hidden items out again)
        self.graphics.setVisible(lt.is_lstm)
        self.rnn_note.setVisible(not lt.is_lstm)
        if not lt.is_lstm:
            self.info.setText("")
            return
        across = self.across()
        self.order_by.setEnabled(not across)
        self.order_label.setEnabled(not across)
        for plot in self.plots.values():
            integer_steps(plot, T)
        if across:
            self._show_across()
            return
        self.across_unit = None
        self.info.setText("Click a row to select that unit; hover for exact values.")
        self.order = self.unit_order()
        if self.order is None and self.order_by.currentData() != "unit":
            self._ask_order()  # after a new load or another layer: the figure is computed again
        stat = self.stat.currentData()
        for name in QUANTITIES:
            pyramid = quantity_pyramid(lt, name, self.session.batch, T)
            self.pyramids[name] = pyramid
            levels = (-1.0, 1.0) if name == "candidate" else (0.0, 1.0)
            # Rows are units (in row order), columns are the visible steps.
            self.images[name].stat = stat
            self.images[name].set_source(pyramid, self.order, levels=levels)
            H = pyramid.width
            self.plots[name].setYRange(0, H, padding=0)
            # rows are units: name them at their middles (at most 3 names: the heatmaps are short)
            ticks = unit_ticks(H, offset=0.5, most=3)
            if self.order is not None:  # the unit in that row, not the row's number
                ticks = [[(y, str(int(self.order[int(y - 0.5)]))) for y, _ in level] for level in ticks]
            self.plots[name].getAxis("left").setTicks(ticks)
        self._align_axes()
        key = self.order_by.currentData()
        figures = self._figure("unit_figures")
        if key == "correlation" and figures is not None and figures.correlation is None:
            self.info.setText("Rows by |r| need a reference: choose what to correlate with in Unit figures.")
        found = self._figure("unit_attribution")
        if key == "attribution" and found is not None:
            self.info.setText(f"Rows by |gradient × activation| for {found.words}; the largest on top.")

    def _show_across(self) -> None:
        """Rows are the sequences of the batch, each the first selected unit over time."""
        s = self.session
        lt = s.layer_trace
        unit = s.selected[0] if s.selected else 0
        self.across_unit = unit
        self.order = None
        names = s.sequence.names
        B = s.trace.batch_size
        stat = self.stat.currentData()
        for name in QUANTITIES:
            pyramid = across_pyramid(lt, name, unit, s.sequence.lengths)
            self.pyramids[name] = pyramid
            levels = (-1.0, 1.0) if name == "candidate" else (0.0, 1.0)
            self.images[name].stat = stat
            self.images[name].set_source(pyramid, None, levels=levels)
            self.plots[name].setYRange(0, B, padding=0)
            every = max(1, -(-B // 3))
            ticks = [(b + 0.5, elide(names[b], NAME_CHARS)) for b in range(0, B, every)]
            self.plots[name].getAxis("left").setTicks([ticks])  # whole names: hover or the Sequences panel
        self._align_axes()
        self.info.setText(f"Rows are the sequences, each unit {unit}'s gates; click a row to show that sequence.")

    def _align_axes(self) -> None:
        """The four left axes as wide as the widest: the x-linked views then start and end
        at the same pixels, and a step is at the same place in every heatmap."""
        from PySide6.QtGui import QFontMetricsF

        axes = [plot.getAxis("left") for plot in self.plots.values()]
        widths = []
        for axis in axes:
            metrics = QFontMetricsF(axis.style.get("tickFont") or axis.font())
            labels = [text for level in (axis._tickLevels or []) for _, text in level]
            axis.textWidth = max([metrics.horizontalAdvance(text) for text in labels] + [0.0])
            axis.setWidth(None)  # what it needs for its own labels and name
            widths.append(axis.maximumWidth())
        for axis in axes:
            axis.setWidth(int(np.ceil(max(widths))))

    def on_selection(self):
        if not self.session.layer_trace.is_lstm:
            return
        if self.across():
            unit = self.session.selected[0] if self.session.selected else 0
            if unit != self.across_unit:
                self._show_across()
            rows = np.array([self.session.batch], dtype=float) + 0.5
        else:
            selected = self.session.selected
            everyone = len(selected) == self.session.layer_trace.hidden_size
            rows = np.array([] if everyone else [self.row_of(u) for u in selected], dtype=float) + 0.5
        self.marked_rows = rows  # all selected: nothing to point at
        self._place_marks()

    def _place_marks(self) -> None:
        rows = getattr(self, "marked_rows", np.zeros(0))
        for mark in self.marks.values():
            mark.setData(x=np.zeros(len(rows)), y=rows)
        self._move_marks()

    def _move_marks(self) -> None:
        left = self.plots[QUANTITIES[0]].vb.viewRange()[0][0]
        for mark in self.marks.values():
            mark.setPos(max(left, 0.0), 0.0)

    def on_step(self, step):
        for cursor in self.cursors.values():
            cursor.setValue(step + 0.5)

    def row_of(self, unit: int) -> int:
        return unit if self.order is None else int(np.flatnonzero(self.order == unit)[0])

    def unit_of(self, row: int) -> int:
        if self.order is None or not 0 <= row < len(self.order):
            return row
        return int(self.order[row])

    def clicked(self, step, row, modifiers):
        if row < 0 or step < 0:
            return
        if self.across_unit is not None:  # a row is a sequence: show it
            if row < self.session.trace.batch_size:
                self.session.set_batch(row)
                self.session.set_step(min(step, self.session.length - 1))
            return
        unit = self.unit_of(row)
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            units = set(self.session.selected) ^ {unit}
        else:
            units = {unit}
        self.session.select_units(units)
        self.session.set_step(step)

    def value(self, name: str, step: int, row: int) -> float | None:
        """The trace's own value under the mouse (not the image's, which may be a column of
        many steps): the gate of the unit (or, across sequences, the sequence) in ``row``."""
        pyramid = self.pyramids.get(name)
        if pyramid is None or not 0 <= step < pyramid.length:
            return None
        if self.across_unit is not None:
            if not 0 <= row < pyramid.width:
                return None
            value = float(pyramid.at(step, [row])[0])
            return None if np.isnan(value) else value
        unit = self.unit_of(row)
        if not 0 <= unit < pyramid.width:
            return None
        return float(pyramid.at(step, [unit])[0])

    def hover(self, where):
        if where is None or self.session.loaded is None:
            return
        name, step, row = where
        value = self.value(name, step, row)
        if value is None:
            return
        if self.across_unit is not None:
            sequence = self.session.sequence.names[row]
            text = f"{QUANTITY_LABELS[name]} · {sequence} · unit {self.across_unit} · t = {step} · {value:.4f}"
        else:
            label = self.session.label(step)
            unit = self.unit_of(row)
            text = f"{QUANTITY_LABELS[name]} · unit {unit} · t = {step} ({label!r}) · {value:.4f}"
        self.info.setText(text)
        self.hover_text = text
