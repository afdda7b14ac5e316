"""Your input: type the sequence yourself and watch the trace follow.

For text (and DNA) a box: the trace updates as you type, after a short pause (debounced).
For numbers a small table of the sequence, one row per step: edit a cell, add or remove
rows. The panel never runs the engine: it emits what was typed and the window re-runs.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.ui.panels.base import Paced, Panel, Place

DEBOUNCE_MS = 250
MAX_TABLE_ROWS = 5000  # longer numeric sequences are edited in their files


class TypingPanel(Panel):
    title = "Your input"
    place = Place(tab="WhatIfPanel")
    tour = ("Your own input", "Type text or bases, or edit the numbers: the model re-runs as you type.")

    requests = ("typed_text", "edited_values")

    def build(self):
        self.stack = QStackedWidget()
        # text and DNA
        text_page = QWidget()
        layout = QVBoxLayout(text_page)
        layout.setContentsMargins(6, 4, 6, 4)
        self.hint = QLabel("Type here; the trace follows as you type.")
        layout.addWidget(self.hint)
        self.box = QPlainTextEdit()
        self.box.setPlaceholderText("Type a sequence…")
        self.box.setStyleSheet("font-family: monospace; font-size: 13pt;")
        self.box.textChanged.connect(self._text_changed)
        layout.addWidget(self.box, 1)
        self.stack.addWidget(text_page)
        # numbers
        table_page = QWidget()
        layout = QVBoxLayout(table_page)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(QLabel("Edit the values (one row per step); the trace follows."))
        self.table = QTableWidget(0, 0)
        self.table.itemChanged.connect(self._cell_changed)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.add_row = QPushButton("Add a step")
        self.add_row.clicked.connect(self._add_row)
        self.remove_row = QPushButton("Remove the last step")
        self.remove_row.clicked.connect(self._remove_row)
        buttons.addWidget(self.add_row)
        buttons.addWidget(self.remove_row)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.table_status = QLabel("")
        layout.addWidget(self.table_status)
        self.stack.addWidget(table_page)
        self.setWidget(self.stack)
        # the trace follows a pause in typing, not every key
        self.emit_later = Paced("debounce", self._emit, DEBOUNCE_MS, self)
        self._filling = False
        self._mine = False  # the loaded sequence came from this panel: leave the editor alone
        self._base = np.zeros((0, 0), np.float32)
        self._base_text: dict[tuple[int, int], str] = {}

    # -- following the session ---------------------------------------------------------
    def on_trace(self):
        s = self.session
        if self._mine:
            self._mine = False
            return
        if s.what_if is not None:
            return
        self._filling = True
        try:
            if s.sequence.vocabulary is not None:
                self.stack.setCurrentIndex(0)
                labels = s.sequence.batch_labels[s.batch][: s.length]
                joined = "".join("\n" if label == "\\n" else label for label in labels)
                dna = s.sequence.is_dna
                words = len(labels) > 1 and any(len(label) > 1 for label in labels)
                self.hint.setText(
                    "Type bases (A, C, G, T or IUPAC codes); the trace follows as you type."
                    if dna
                    else "Type here; the trace follows as you type (characters outside the model's vocabulary"
                    " are all-zero)."
                )
                self.box.setEnabled(not words)
                if words:
                    self.hint.setText("This sequence is made of words; type in a text file and open it instead.")
                self.box.setPlainText(joined)
                self.box.moveCursor(QTextCursor.MoveOperation.End)  # typing continues the sequence
            else:
                self.stack.setCurrentIndex(1)
                values = s.trace.x[s.batch, : min(s.length, MAX_TABLE_ROWS)]
                names = s.sequence.feature_names
                self.table.setColumnCount(values.shape[1])
                self.table.setHorizontalHeaderLabels(names[: values.shape[1]])
                self.table.setRowCount(len(values))
                self._number_rows()
                self._base = np.array(values, np.float32)  # exact values behind the rounded text
                self._base_text = {}
                for t, row in enumerate(values):
                    for d, value in enumerate(row):
                        text = f"{value:.6g}"
                        self._base_text[t, d] = text
                        self.table.setItem(t, d, QTableWidgetItem(text))
                editable = s.length <= MAX_TABLE_ROWS and s.trace.batch_size == 1
                self.table.setEnabled(editable)
                self.add_row.setEnabled(editable)
                self.remove_row.setEnabled(editable)
        finally:
            self._filling = False

    def on_step(self, step):
        if self.stack.currentIndex() == 1 and step < self.table.rowCount():
            self.table.blockSignals(True)
            self.table.selectRow(step)
            self.table.blockSignals(False)

    # -- edits ------------------------------------------------------------------------------
    def _text_changed(self):
        if not self._filling:
            self.emit_later()

    def _cell_changed(self, item):
        if not self._filling:
            self.emit_later()

    def _add_row(self):
        rows = self.table.rowCount()
        self._filling = True
        self.table.insertRow(rows)
        self._number_rows()
        for d in range(self.table.columnCount()):
            previous = self.table.item(rows - 1, d) if rows else None
            self.table.setItem(rows, d, QTableWidgetItem(previous.text() if previous else "0"))
        self._filling = False
        self.emit_later()

    def _remove_row(self):
        if self.table.rowCount() > 1:
            self.table.removeRow(self.table.rowCount() - 1)
            self._number_rows()
            self.emit_later()

    def _number_rows(self) -> None:
        """Rows are named by their step, from 0, as everywhere else in the window."""
        self.table.setVerticalHeaderLabels([str(t) for t in range(self.table.rowCount())])

    def table_values(self) -> np.ndarray:
        """The table as numbers; raises ValueError naming the first bad cell."""
        rows, cols = self.table.rowCount(), self.table.columnCount()
        values = np.empty((rows, cols), np.float32)
        for t in range(rows):
            for d in range(cols):
                item = self.table.item(t, d)
                text = item.text().strip() if item is not None else ""
                if self._base_text.get((t, d)) == text:  # untouched: the exact value, not its rounding
                    values[t, d] = self._base[t, d]
                    continue
                try:
                    values[t, d] = float(text)
                except ValueError:
                    name = self.table.horizontalHeaderItem(d).text()
                    raise ValueError(f"step {t}, {name}: {text!r} is not a number") from None
                if not np.isfinite(values[t, d]):
                    raise ValueError(f"step {t}, {self.table.horizontalHeaderItem(d).text()}: {text!r} is not finite")
        return values

    def _emit(self):
        if self.session.loaded is None:
            return
        self._mine = True
        if self.stack.currentIndex() == 0:
            text = self.box.toPlainText()
            if not text:
                self._mine = False
                self.hint.setText("Type at least one character.")
                return
            self.request("typed_text", text)
        else:
            try:
                values = self.table_values()
            except ValueError as exc:
                self._mine = False
                self.table_status.setText(str(exc))
                return
            self.table_status.setText("")
            self.request("edited_values", values)

    def request_failed(self, name: str, message: str) -> None:
        self._mine = False
        (self.hint if self.stack.currentIndex() == 0 else self.table_status).setText(message)

    def settle(self) -> None:
        """Send a pending edit now (for tests and scripts)."""
        self.emit_later.flush()
