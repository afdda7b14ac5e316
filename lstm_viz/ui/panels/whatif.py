"""What-if: clamp a gate or edit the input, re-run from that step, compare with the original.

The tutorial's thought experiment (keep = 0, write = 1: the old memory is forgotten and
overwritten) is one click. Clamps hold a gate of the selected units, or of every unit of
the layer, at a value from a chosen step on; an edit changes the input at the current step
(a value per feature for numbers, a character for text, a base for DNA). The re-run starts
at the earliest change; the trajectory and memory panels show the original ghosted, and
the units whose memory changed most are listed here. "Restore original" undoes it all.

The panel never runs the engine: it sends the ``what_if`` and ``restore_original`` requests
and the window has the application core run them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.engine.whatif import Clamp
from lstm_viz.errors import InputError
from lstm_viz.ui.panels.base import Panel, Place
from lstm_viz.ui.style import QUANTITY_LABELS
from lstm_viz.vocabulary import GATES_AND_CANDIDATE

GATE_CHOICES = GATES_AND_CANDIDATE
TOP = 10  # units listed as changed most


class WhatIfPanel(Panel):
    title = "What if…"
    remembered = ("gate", "who", "value", "start")
    place = Place(tab="InputPanel")
    tour = (
        "What if…",
        "Hold a gate at a value from a step on, or change the input, and re-run: the "
        "original stays as a ghost. Try keep = 0, write = 1: the old memory is forgotten and overwritten.",
    )

    requests = ("what_if", "restore_original")

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(6, 4, 6, 4)
        grid = QGridLayout()
        grid.addWidget(QLabel("Clamp"), 0, 0)
        self.gate = QComboBox()
        for gate in GATE_CHOICES:
            self.gate.addItem(QUANTITY_LABELS[gate], gate)
        self.gate.currentIndexChanged.connect(self._gate_changed)
        grid.addWidget(self.gate, 0, 1)
        grid.addWidget(QLabel("of"), 0, 2)
        self.who = QComboBox()
        self.who.addItem("the selected units", "selected")
        self.who.addItem("every unit of the layer", "all")
        grid.addWidget(self.who, 0, 3)
        grid.addWidget(QLabel("to"), 0, 4)
        self.value = QDoubleSpinBox()
        self.value.setDecimals(2)
        self.value.setSingleStep(0.1)
        self.value.setRange(0.0, 1.0)
        grid.addWidget(self.value, 0, 5)
        grid.addWidget(QLabel("from step"), 0, 6)
        self.start = QSpinBox()
        self.start.setToolTip("Follows the current step; change it to start elsewhere")
        grid.addWidget(self.start, 0, 7)
        self.add = QPushButton("Clamp and re-run")
        self.add.clicked.connect(self.add_clamp)
        grid.addWidget(self.add, 0, 8)
        self.tutorial = QPushButton("Try it: keep = 0, write = 1 from here")
        self.tutorial.setToolTip(
            "The tutorial's thought experiment: the selected units forget their memory and take the candidate"
        )
        self.tutorial.clicked.connect(self.try_tutorial)
        grid.addWidget(self.tutorial, 1, 0, 1, 4)
        grid.addWidget(QLabel("Input at this step"), 1, 4, 1, 2)
        self.edit = QLineEdit()
        self.edit.returnPressed.connect(self.apply_edit)
        grid.addWidget(self.edit, 1, 6, 1, 2)
        self.apply = QPushButton("Change and re-run")
        self.apply.clicked.connect(self.apply_edit)
        grid.addWidget(self.apply, 1, 8)
        layout.addLayout(grid)
        lists = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("Changes"))
        self.changes = QListWidget()
        left.addWidget(self.changes, 1)
        self.restore = QPushButton("Restore original")
        self.restore.clicked.connect(self.restore_original)
        left.addWidget(self.restore)
        lists.addLayout(left, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Memory changed most (click to select)"))
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["unit", "largest |Δc|", "Δc at the end"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellClicked.connect(lambda row, _: self.session.select_units([int(self.table.item(row, 0).text())]))
        right.addWidget(self.table, 1)
        lists.addLayout(right, 1)
        layout.addLayout(lists, 1)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.setWidget(container)
        self.clamps: list[Clamp] = []
        self.edits: dict[int, tuple[np.ndarray, str]] = {}
        self.changed: list[tuple[int, float, float]] = []
        self._before: tuple[list, dict, int] = ([], {}, 0)

    # -- reacting to the session -----------------------------------------------------------
    def on_trace(self):
        s = self.session
        if s.what_if is None:  # a new load (or a restore) starts clean
            self.clamps, self.edits = [], {}
            self.changes.clear()
        else:  # the changes shown are the core's, whichever panel asked for them
            self.clamps, self.edits = list(s.what_if.clamps), dict(s.what_if.edits)
            self.changes.clear()
            for clamp in self.clamps:
                self.changes.addItem(clamp.describe())
            for step, (_, label) in self.edits.items():
                self.changes.addItem(f"input at t = {step} set to {label!r}")
        self.start.setRange(0, max(0, s.length - 1))
        self.tutorial.setEnabled(s.layer_trace.is_lstm)
        self.add.setEnabled(s.layer_trace.is_lstm)
        self.restore.setEnabled(s.what_if is not None)
        self._changed_most()

    def on_step(self, step):
        self.start.setValue(step)
        s = self.session
        x = s.trace.x[s.batch, step]
        if s.sequence.vocabulary is not None:
            self.edit.setPlaceholderText("a base (A, C, G, T …)" if self._dna() else "one character or word")
            self.edit.setText(s.label(step))
        else:
            self.edit.setPlaceholderText(f"{len(x)} numbers, comma-separated")
            self.edit.setText(", ".join(f"{v:.6g}" for v in x))

    def _dna(self) -> bool:
        return self.session.sequence.is_dna

    def _gate_changed(self):
        if self.gate.currentData() == "candidate":
            self.value.setRange(-1.0, 1.0)
        else:
            self.value.setRange(0.0, 1.0)

    # -- asking for a re-run -------------------------------------------------------------------
    def _units(self):
        if self.who.currentData() == "all":
            return None
        return tuple(self.session.selected)

    def add_clamp(self):
        self._add_clamps([(self.gate.currentData(), float(self.value.value()))])

    def try_tutorial(self):
        """The tutorial's thought experiment: keep = 0 and write = 1 from the chosen step."""
        self._add_clamps([("forget", 0.0), ("input", 1.0)])

    def _add_clamps(self, settings) -> None:
        s = self.session
        if s.loaded is None:
            return
        units = self._units()
        if units == ():
            self.status.setText("Select a unit first (click a heatmap row or a bar), or clamp every unit.")
            return
        self._remember()
        for gate, value in settings:
            clamp = Clamp(s.layer, gate, value, int(self.start.value()), units)
            self.clamps.append(clamp)
            self.changes.addItem(clamp.describe())
        self._request()

    def apply_edit(self):
        s = self.session
        if s.loaded is None:
            return
        step = s.step
        text = self.edit.text().strip()
        try:
            if s.sequence.vocabulary is not None:
                token = self.edit.text() if self.edit.text() == " " else text
                if self._dna():
                    token = token.upper()
                row, label = s.core.encode_token(token), token
            else:
                numbers = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
                if len(numbers) != s.trace.x.shape[2] or not np.all(np.isfinite(numbers)):
                    raise InputError(f"give {s.trace.x.shape[2]} finite numbers, comma-separated")
                row, label = np.array(numbers, np.float32), ", ".join(f"{v:g}" for v in numbers)
        except (InputError, ValueError) as exc:
            self.status.setText(f"Input at t = {step}: {exc}")
            return
        self._remember()
        self.edits[step] = (row, label)
        self.changes.addItem(f"input at t = {step} set to {label!r}")
        self._request()

    def _request(self):
        self.status.setText("Re-running…")
        self.request("what_if", list(self.clamps), dict(self.edits))

    def restore_original(self):
        self.clamps, self.edits = [], {}
        self.changes.clear()
        self.status.setText("")
        self.request("restore_original")

    def _remember(self) -> None:
        """What to go back to if the re-run about to be asked for fails."""
        self._before = (list(self.clamps), dict(self.edits), self.changes.count())

    def request_failed(self, name: str, message: str) -> None:
        """The window could not run the request: take back the changes it asked for and say why."""
        self.clamps, self.edits, count = self._before
        while self.changes.count() > count:
            self.changes.takeItem(self.changes.count() - 1)
        self.status.setText(message)

    # -- comparing ------------------------------------------------------------------------------
    def _changed_most(self):
        s = self.session
        original = s.original_quantity("cell") if s.layer_trace.is_lstm else s.original_quantity("hidden")
        self.table.setRowCount(0)
        self.changed = []
        if original is None:
            if s.what_if is None:
                self.status.setText("")
            return
        now = s.quantity("cell" if s.layer_trace.is_lstm else "hidden")[: s.length]
        diff = now - original[: s.length]
        largest = np.abs(diff).max(axis=0)
        order = np.argsort(largest)[::-1][:TOP]
        self.changed = [(int(u), float(largest[u]), float(diff[-1, u])) for u in order]
        self.table.setRowCount(len(self.changed))
        for row, (unit, big, end) in enumerate(self.changed):
            for col, text in enumerate((str(unit), f"{big:.4f}", f"{end:+.4f}")):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.status.setText(
            f"Re-ran from t = {s.what_if.start}. Ghosted lines in the trajectories and memory panels are the original."
        )
