"""Sequences: every sequence of the batch by name, with its length; type to filter, click to show.

A batch can hold hundreds or thousands of named sequences (a folder of files, FASTA
records, a table's series). They are listed in a view over a model (nothing is rebuilt
per name): a filter box narrows the list as one types, the sequence shown is highlighted,
a click (or Enter) shows another one, and a column header sorts by name or by length.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Panel, Place

CURRENT = QBrush(QColor("#ffe8cc"))  # as the selected units' rows in the unit table
SORT = Qt.ItemDataRole.UserRole  # what a column sorts by: the name, or the length as a number


class SequenceList(QAbstractTableModel):
    """The batch's names and lengths, two columns; the shown sequence's row highlighted."""

    HEADERS = ("sequence", "steps")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.names: list[str] = []
        self.lengths = np.zeros(0, np.int64)
        self.current = -1
        self.bold = QFont()
        self.bold.setBold(True)

    def set_batch(self, names: list[str], lengths) -> None:
        self.beginResetModel()
        self.names = list(names)
        self.lengths = np.asarray(lengths, np.int64)
        self.current = -1
        self.endResetModel()

    def set_current(self, row: int) -> None:
        old, self.current = self.current, row
        for r in {old, row}:
            if 0 <= r < len(self.names):
                self.dataChanged.emit(self.index(r, 0), self.index(r, 1))

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.names)

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else 2

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.names[row] if column == 0 else f"{int(self.lengths[row]):,}"
        if role == SORT:
            return self.names[row].lower() if column == 0 else int(self.lengths[row])
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{self.names[row]}: {int(self.lengths[row]):,} steps (sequence {row} of the batch)"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if row == self.current:
            if role == Qt.ItemDataRole.BackgroundRole:
                return CURRENT
            if role == Qt.ItemDataRole.FontRole:
                return self.bold
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class SequencesPanel(Panel):
    title = "Sequences"
    place = Place(tab="InputPanel")
    tour = (
        "The sequences of the batch",
        "Every sequence of the batch by name, with its length. Type in the box to filter the "
        "names, click one to show it; the one shown is highlighted.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name (type part of it; Enter shows the first match)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self.show_first)
        layout.addWidget(self.search)
        self.list = SequenceList(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.list)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(SORT)
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)  # a thousand rows are laid out from one row's height
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the batch's own order until a header is clicked
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.view.clicked.connect(self.choose)
        self.view.activated.connect(self.choose)  # Enter on a row
        layout.addWidget(self.view, 1)
        self.line = self.text_line()
        layout.addWidget(self.line)
        self.setWidget(container)
        self._names: list[str] | None = None

    # -- data ---------------------------------------------------------------------------------
    def on_trace(self):
        sequence = self.session.sequence
        names, lengths = sequence.names, np.asarray(sequence.lengths)
        if self._names != names or not np.array_equal(self.list.lengths, lengths):
            self._names = list(names)
            self.list.set_batch(names, lengths)
            self.filter(self.search.text())
        batch = self.session.batch
        self.list.set_current(batch)
        here = self.proxy.mapFromSource(self.list.index(batch, 0))
        if here.isValid():
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            self.view.selectionModel().setCurrentIndex(here, flags)
            self.view.scrollTo(here)
        else:
            self.view.clearSelection()
        self._say()

    def _say(self):
        count = len(self.list.names)
        if count == 0:
            self.line.setText("")
            return
        batch = self.session.batch
        steps = int(self.list.lengths[batch])
        shown = f"{self.list.names[batch]} ({steps:,} steps), sequence {batch + 1:,} of {count:,}"
        if count == 1:
            self.line.setText(
                f"Shown: {shown}. A folder of sequence files, a FASTA file with several records or a "
                "table with an id column opens as a batch of several."
            )
            return
        matching = self.proxy.rowCount()
        found = f"; {matching:,} of {count:,} match the filter" if self.search.text() else ""
        self.line.setText(f"Shown: {shown}{found}.")

    def filter(self, text: str):
        self.proxy.setFilterFixedString(text.strip())
        if self.session.loaded is not None and self.list.names:
            self._say()

    # -- choosing ------------------------------------------------------------------------------
    def choose(self, index):
        if index.isValid():
            self.session.set_batch(self.proxy.mapToSource(index).row())

    def show_first(self):
        if self.proxy.rowCount():
            self.choose(self.proxy.index(0, 0))

    # -- for tests -----------------------------------------------------------------------------
    def shown_names(self) -> list[str]:
        """The names listed now, top to bottom."""
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]

    def highlighted(self) -> list[str]:
        """The names drawn as the shown sequence."""
        return [
            self.proxy.index(r, 0).data()
            for r in range(self.proxy.rowCount())
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
        ]
