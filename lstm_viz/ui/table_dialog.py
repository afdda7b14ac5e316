"""The import step for tables: a preview of the first rows and a role per column.

The window calls :func:`ask_table_options` when the user opens a CSV/TSV file: it
inspects the file (:func:`lstm_viz.io.tables.inspect_table`), shows
:class:`TableImportDialog` with the roles the file suggests already chosen (so a plain
numeric file needs only OK), remembers the choices for that file in ``QSettings`` and
returns them as :class:`~lstm_viz.io.tables.TableOptions` (None when cancelled).
"""

from __future__ import annotations

import hashlib
import json
import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.errors import InputError
from lstm_viz.io.tables import TableOptions, TablePreview, inspect_table

ROLE_TEXT = {
    "time": "time",
    "id": "series id",
    "feature": "feature",
    "categorical": "categorical",
    "ignore": "ignore",
}
ROLE_HELP = {
    "time": "labels the steps (dates stay dates)",
    "id": "splits the rows into one sequence per value, named by it",
    "feature": "a number per step",
    "categorical": "one-hot features named column=value",
    "ignore": "left out",
}
FILL_TEXT = {
    None: "refuse them (report the first)",
    "previous": "fill with the previous value",
    "zero": "fill with 0",
    "mean": "fill with the column's mean",
    "drop": "drop those rows",
}
NORMALIZE_TEXT = {
    "none": "none (the values as written)",
    "zscore": "z-score (mean 0, standard deviation 1)",
    "minmax": "min-max (0 to 1)",
}
ROLE_ROW, WHY_ROW, FIRST_DATA_ROW = 0, 1, 2
SETTINGS_GROUP = "table_import"
IGNORED = QColor("#a0a0a0")
HINT_STYLE = "color: #8a4b00; background: #fff4e0; border: 1px solid #f0c080; border-radius: 3px; padding: 4px;"


def _settings_key(path) -> str:
    absolute = os.path.abspath(os.fspath(path))
    return f"{SETTINGS_GROUP}/{hashlib.sha1(absolute.encode('utf-8', 'surrogateescape')).hexdigest()[:20]}"


def remembered_options(settings: QSettings, path) -> TableOptions | None:
    """The choices last made for the file at ``path`` (by its absolute path), or None."""
    raw = settings.value(_settings_key(path))
    if not raw:
        return None
    try:
        data = json.loads(str(raw))
        if data.get("path") != os.path.abspath(os.fspath(path)):
            return None
        return TableOptions.from_dict(data["options"])
    except (ValueError, KeyError, TypeError, AttributeError, InputError):
        return None  # a damaged entry is forgotten, not an error


def remember_options(settings: QSettings, path, options: TableOptions) -> None:
    """Keep ``options`` for the file at ``path`` (by its absolute path)."""
    data = {"path": os.path.abspath(os.fspath(path)), "options": options.to_dict()}
    settings.setValue(_settings_key(path), json.dumps(data))
    settings.sync()


class TableImportDialog(QDialog):
    """A preview of a table with one role box per column, missing values and normalisation.

    ``options`` are the choices to start from (remembered ones, or the command line's);
    columns they do not mention show their detected role. :meth:`options` returns what
    the user chose, with only the roles that differ from detection (or were set
    explicitly) in ``roles``, so detection keeps working for the rest.
    """

    def __init__(self, path, preview: TablePreview, options: TableOptions | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = os.fspath(path)
        self.preview = preview
        start = TableOptions.coerce(options)
        names = set(preview.names)
        self._chosen: dict[str, str] = {k: v for k, v in start.roles.items() if k in names}
        self._start = start
        self.setWindowTitle(f"Open table: {os.path.basename(self.path)}")
        self.setObjectName("tableImportDialog")

        layout = QVBoxLayout(self)
        about = QLabel(self._about())
        about.setObjectName("tableAbout")
        about.setWordWrap(True)
        layout.addWidget(about)
        help_text = QLabel("Choose what each column is. The roles the file suggests are already set.")
        help_text.setStyleSheet("color: #555555;")
        layout.addWidget(help_text)

        self.table = QTableWidget(self)
        self.table.setObjectName("tablePreview")
        self._fill_table()
        layout.addWidget(self.table, 1)

        form = QFormLayout()
        self.fill_box = QComboBox(self)
        self.fill_box.setObjectName("fillBox")
        for value, text in FILL_TEXT.items():
            self.fill_box.addItem(text, value)
        self.fill_box.setCurrentIndex(list(FILL_TEXT).index(start.fill))
        missing = sum(c.missing for c in preview.columns if c.role in ("feature", "categorical"))
        self.missing_label = QLabel(
            f"Missing values ({missing:,} in the columns used):" if missing else "Missing values (none):"
        )
        form.addRow(self.missing_label, self.fill_box)
        self.normalize_box = QComboBox(self)
        self.normalize_box.setObjectName("normalizeBox")
        for value, text in NORMALIZE_TEXT.items():
            self.normalize_box.addItem(text, value)
        self.normalize_box.setCurrentIndex(list(NORMALIZE_TEXT).index(start.normalize))
        form.addRow("Normalisation:", self.normalize_box)
        layout.addLayout(form)
        if not missing:
            self.fill_box.setToolTip("The file has no missing value in the columns used")

        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("tableSummary")
        self.summary_label.setWordWrap(True)
        bold = QFont(self.summary_label.font())
        bold.setBold(True)
        self.summary_label.setFont(bold)
        layout.addWidget(self.summary_label)
        self.hint_label = QLabel(self)
        self.hint_label.setObjectName("tableHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet(HINT_STYLE)
        layout.addWidget(self.hint_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout.addLayout(row)

        self.fill_box.currentIndexChanged.connect(self._update)
        self.normalize_box.currentIndexChanged.connect(self._update)
        self._apply_detection()
        self._update()
        for k in range(self.table.columnCount()):  # room for the reasons too
            self.table.resizeColumnToContents(k)
            width = max(self.table.columnWidth(k), self.role_boxes[k].sizeHint().width() + 4)
            self.table.setColumnWidth(k, min(width, 260))
        self.resize(self._good_size())

    # -- building ---------------------------------------------------------------------
    def _about(self) -> str:
        p = self.preview
        delimiter = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}.get(p.delimiter, repr(p.delimiter))
        decimal = ", decimal commas" if p.decimal == "," else ""
        return (
            f"<b>{os.path.basename(self.path)}</b>: {p.row_count:,} rows, {len(p.columns)} columns "
            f"({delimiter}-separated, {p.encoding}{decimal}). The first {len(p.rows)} rows:"
        )

    def _fill_table(self) -> None:
        p = self.preview
        table = self.table
        table.setColumnCount(len(p.columns))
        table.setRowCount(FIRST_DATA_ROW + len(p.rows))
        table.setHorizontalHeaderLabels([c.name for c in p.columns])
        table.setVerticalHeaderLabels(["role", "why"] + [str(k + 1) for k in range(len(p.rows))])
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setWordWrap(False)
        rows = table.verticalHeader()
        rows.setDefaultSectionSize(table.fontMetrics().height() + 8)
        table.horizontalHeader().setStretchLastSection(True)
        self.role_boxes: list[QComboBox] = []
        small = QFont(table.font())
        small.setItalic(True)
        for k, column in enumerate(p.columns):
            box = QComboBox(table)
            box.setObjectName(f"role:{column.name}")
            for i, (role, text) in enumerate(ROLE_TEXT.items()):
                box.addItem(text, role)
                box.setItemData(i, ROLE_HELP[role], Qt.ItemDataRole.ToolTipRole)
            box.setToolTip(f"{column.name}: {column.dtype}, {column.missing} missing")
            box.activated.connect(lambda _index, k=k: self._role_chosen(k))
            table.setCellWidget(ROLE_ROW, k, box)
            self.role_boxes.append(box)
            why = QTableWidgetItem("")
            why.setFont(small)
            why.setForeground(QBrush(QColor("#666666")))
            table.setItem(WHY_ROW, k, why)
            for r, row in enumerate(p.rows):
                item = QTableWidgetItem(row[k] if k < len(row) else "")
                if column.dtype in ("integer", "number"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(FIRST_DATA_ROW + r, k, item)
        table.resizeColumnsToContents()
        for k in range(len(p.columns)):
            width = max(table.columnWidth(k), self.role_boxes[k].sizeHint().width() + 4)
            table.setColumnWidth(k, min(width, 260))
        table.setRowHeight(ROLE_ROW, max(self.role_boxes[0].sizeHint().height(), rows.defaultSectionSize()) + 2)

    def _good_size(self):
        table = self.table
        header = table.verticalHeader().sizeHint().width()
        width = header + sum(table.columnWidth(k) for k in range(table.columnCount())) + 60
        rows = min(table.rowCount(), 14)
        height = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(rows)) + 250
        from PySide6.QtCore import QSize

        return QSize(max(640, min(width, 1300)), max(420, min(height, 900)))

    # -- reacting ---------------------------------------------------------------------
    def _role_chosen(self, k: int) -> None:
        name = self.preview.columns[k].name
        role = self.role_boxes[k].currentData()
        if role in ("time", "id"):  # only one of each: a new choice replaces an old one
            for other, chosen in list(self._chosen.items()):
                if chosen == role and other != name:
                    del self._chosen[other]
        self._chosen[name] = role
        self._apply_detection()
        self._update()

    def _apply_detection(self) -> None:
        """Set every box to the role used: the chosen one, else what detection gives now."""
        try:
            roles = self.preview.roles(TableOptions(roles=dict(self._chosen)))
        except (InputError, ValueError):
            return
        for k, column in enumerate(self.preview.columns):
            role, reason = roles[column.name]
            box = self.role_boxes[k]
            box.blockSignals(True)
            box.setCurrentIndex(list(ROLE_TEXT).index(role))
            box.blockSignals(False)
            if reason == "chosen":
                reason = f"your choice (detected: {column.detected})"
            item = self.table.item(WHY_ROW, k)
            item.setText(reason)
            item.setToolTip(reason)
            colour = IGNORED if role == "ignore" else QColor("#202020")
            for r in range(FIRST_DATA_ROW, self.table.rowCount()):
                cell = self.table.item(r, k)
                if cell is not None:
                    cell.setForeground(QBrush(colour))

    def _update(self) -> None:
        options = self.options()
        self.summary_label.setText(self.preview.summary(options))
        hint = self.preview.hint(options)
        self.hint_label.setText(hint[0].upper() + hint[1:] + "." if hint else "")
        self.hint_label.setVisible(bool(hint))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            from lstm_viz.io.tables import _plan

            _plan(self.preview._frame, options)
            ok.setEnabled(True)
            ok.setToolTip("")
        except Exception as exc:  # noqa: BLE001 - any refusal disables OK and is shown in the summary
            ok.setEnabled(False)
            ok.setToolTip(str(getattr(exc, "detail", exc)))

    # -- result -----------------------------------------------------------------------
    def options(self) -> TableOptions:
        """The choices: roles set by the user, missing-value handling, normalisation."""
        return TableOptions(
            roles=dict(self._chosen),
            fill=self.fill_box.currentData(),
            normalize=self.normalize_box.currentData(),
            delimiter=self._start.delimiter,
            encoding=self._start.encoding,
            decimal=self._start.decimal,
        )

    def set_role(self, name: str, role: str) -> None:
        """Choose ``role`` for column ``name``, as picking it in its box does."""
        k = self.preview.names.index(name)
        self.role_boxes[k].setCurrentIndex(list(ROLE_TEXT).index(role))
        self._role_chosen(k)


def ask_table_options(parent: QWidget | None, path, settings: QSettings) -> TableOptions | None:
    """Inspect the table at ``path``, ask for its reading options, remember and return them.

    Starts from the choices remembered for this file. None when the user cancels. Bad
    files raise :class:`~lstm_viz.errors.FileFormatError` before any dialog shows.
    """
    remembered = remembered_options(settings, path) or TableOptions()
    base = TableOptions(
        fill=remembered.fill,
        normalize=remembered.normalize,
        delimiter=remembered.delimiter,
        encoding=remembered.encoding,
        decimal=remembered.decimal,
    )
    preview = inspect_table(path, base)
    names = set(preview.names)
    start = base.with_roles({k: v for k, v in remembered.roles.items() if k in names})
    dialog = TableImportDialog(path, preview, start, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    options = dialog.options()
    remember_options(settings, path, options)
    return options
