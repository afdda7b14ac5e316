"""Picking units of a wide layer: by number ("3, 10-20, 40") or the top N by a figure at this step.

``parse_units`` and ``format_units`` are plain functions (tested on their own); ``FIGURES``
are the rankings ("top 16 by ..."), computed from the engine's gate values at the step;
:class:`UnitPicker` is the row of widgets the Units panel and the gate bars put in their
header, with an inline message under it that says what was selected or what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget

EXAMPLE = "3, 10-20, 40"
TOKEN = re.compile(r"^(\d+)(?:-(\d+))?$")


class UnitsError(ValueError):
    """What is wrong with the units typed, in words for the inline message."""


def parse_units(text: str, count: int) -> list[int]:
    """The units ``text`` names, sorted and without repeats, in a layer of ``count`` units.

    Numbers and ranges (both ends included) separated by commas, semicolons or spaces:
    "3, 10-20, 40"; a range may also be written 10–20, 10..20 or 10:20, either way round.
    Raises :class:`UnitsError` naming the first part that is not a unit of the layer.
    """
    cleaned = re.sub(r"\s*(?:-|–|—|\.\.|:)\s*", "-", text.strip())
    parts = [part for part in re.split(r"[,;\s]+", cleaned) if part]
    if not parts:
        raise UnitsError(f"type unit numbers or ranges, e.g. {EXAMPLE}")
    units: set[int] = set()
    for part in parts:
        match = TOKEN.match(part)
        if match is None:
            raise UnitsError(f"{part!r} is not a unit number or a range of them (e.g. {EXAMPLE})")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        low, high = min(low, high), max(low, high)
        if high >= count:
            missing = low if low >= count else high
            raise UnitsError(
                f"unit {missing} does not exist: this layer has {count:,} unit{'s' if count != 1 else ''} "
                f"(0 to {count - 1})"
            )
        units.update(range(low, high + 1))
    return sorted(units)


def format_units(units) -> str:
    """The shortest way to write ``units`` as ``parse_units`` reads it: "3, 10-20, 40"."""
    units = sorted({int(u) for u in units})
    runs: list[str] = []
    k = 0
    while k < len(units):
        j = k
        while j + 1 < len(units) and units[j + 1] == units[j] + 1:
            j += 1
        if j - k >= 2:
            runs.append(f"{units[k]}-{units[j]}")
        else:
            runs.extend(str(u) for u in units[k : j + 1])
        k = j + 1
    return ", ".join(runs)


# -- rankings ---------------------------------------------------------------------------------
def _change(values: dict, step: int) -> np.ndarray:
    """How much the three gates moved since the last step, summed (0 at the first step)."""
    if step == 0:
        return np.zeros(values["forget"].shape[1])
    return sum(np.abs(values[g][step].astype(np.float64) - values[g][step - 1]) for g in ("forget", "input", "output"))


# name: (words in menus, what ranks first, score where larger ranks first)
FIGURES: dict[str, tuple[str, str, Callable[[dict, int], np.ndarray]]] = {
    "change": ("change since the last step", "the units this input moves most", _change),
    "forgetting": ("keep gate, lowest", "the units erasing their memory now", lambda v, t: -v["forget"][t]),
    "writing": ("write gate, highest", "the units writing most into memory now", lambda v, t: v["input"][t]),
}


def top_units(values: dict, step: int, figure: str, n: int) -> np.ndarray:
    """The ``n`` units that rank first by ``figure`` at ``step``, the first first (ties: the
    lower unit number). ``values`` maps "forget", "input", "output" to (T, H) arrays."""
    score = np.asarray(FIGURES[figure][2](values, step), dtype=np.float64)
    n = min(int(n), len(score))
    if n <= 0:
        return np.zeros(0, np.int64)
    if n < len(score):
        # the n best, then only those sorted: far cheaper than sorting every unit of a wide layer
        threshold = np.partition(score, len(score) - n)[len(score) - n]
        candidates = np.flatnonzero(score >= threshold)
    else:
        candidates = np.arange(len(score))
    order = np.lexsort((candidates, -score[candidates]))
    return candidates[order][:n]


class UnitPicker(QWidget):
    """ "Units [3, 10-20, 40]" (Enter selects them) and, with ``top``, "or the top [16] by
    [figure] [Select]", with a message line under them. Shows the current selection while
    the user is not typing in it."""

    def __init__(self, session, top: bool = True, parent=None):
        super().__init__(parent)
        self.session = session
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Select units"))
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(f"e.g. {EXAMPLE}")
        self.edit.setToolTip(
            "Type unit numbers and ranges, e.g. 3, 10-20, 40, and press Enter to select them "
            "(everywhere: bars, trajectories, memory, tables)"
        )
        self.edit.setClearButtonEnabled(True)
        self.edit.returnPressed.connect(self.select_typed)
        self.edit.textEdited.connect(lambda _: self.say(""))
        row.addWidget(self.edit, 2)
        self.top_count = self.top_figure = None
        if top:
            row.addWidget(QLabel("or the top"))
            self.top_count = QSpinBox()
            self.top_count.setRange(1, 256)
            self.top_count.setValue(16)
            row.addWidget(self.top_count)
            row.addWidget(QLabel("by"))
            self.top_figure = QComboBox()
            for key, (words, why, _) in FIGURES.items():
                self.top_figure.addItem(words, key)
                self.top_figure.setItemData(self.top_figure.count() - 1, why, Qt.ItemDataRole.ToolTipRole)
            row.addWidget(self.top_figure)
            self.top_button = QPushButton("Select")
            self.top_button.setToolTip("Select the units that rank first by this figure at the current step")
            self.top_button.clicked.connect(self.select_top)
            row.addWidget(self.top_button)
        outer.addLayout(row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)
        outer.addWidget(self.message)

    def say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c92a2a;" if error else "color: #555;")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_selection(self) -> None:
        """The selection, written as ranges (left alone while the user is typing)."""
        if not self.edit.hasFocus():
            self.edit.setText(format_units(self.session.selected))

    def _count(self) -> int | None:
        if self.session.loaded is None:
            self.say("Open a sequence first.", error=True)
            return None
        return self.session.layer_trace.hidden_size

    def select_typed(self) -> list[int] | None:
        count = self._count()
        if count is None:
            return None
        try:
            units = parse_units(self.edit.text(), count)
        except UnitsError as exc:
            self.say(str(exc), error=True)
            return None
        self.session.select_units(units)
        self.edit.setText(format_units(units))
        self.say(f"{len(units):,} unit{'s' if len(units) != 1 else ''} selected.")
        return units

    def select_top(self) -> list[int] | None:
        count = self._count()
        if count is None:
            return None
        if not self.session.layer_trace.is_lstm:
            self.say("A plain tanh RNN has no gates to rank its units by.", error=True)
            return None
        key = self.top_figure.currentData()
        values = {g: self.session.quantity(g) for g in ("forget", "input", "output")}
        step = self.session.step
        units = [int(u) for u in top_units(values, step, key, self.top_count.value())]
        self.session.select_units(units)
        self.edit.setText(format_units(units))
        words, why, _ = FIGURES[key]
        first = "" if step or key != "change" else " (t = 0 has no last step: every unit ranks equal)"
        self.say(f"Selected the top {len(units)} by {words} at t = {step}: {why}{first}.")
        return units
