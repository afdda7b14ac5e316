"""File > Export data… and File > Export for LSTMVis…: the numbers out of the window.

What is written is made by :mod:`lstm_viz.workbench.data_out` (no Qt); this module asks
what and where, and runs the long ones (a whole trace, LSTMVis's files) in a worker with a
progress dialog and Cancel, so the window stays usable.
"""

from __future__ import annotations

import os

from lstm_viz.workbench import Work

SCOPES = (("step", "At this step"), ("sequence", "Over the whole sequence"))


def panels_with_numbers(window) -> list:
    """The open panels (on screen or behind a tab) whose numbers can be exported, in the
    window's order."""
    return [p for p in window.panels if not p.isHidden() and type(p).numbers is not _base_numbers()]


def _base_numbers():
    from lstm_viz.ui.panels.base import Panel

    return Panel.numbers


class DataDialog:
    """What (the whole trace, or a panel's numbers), at this step or over the sequence,
    then where; CSV or Parquet by the file name."""

    def __init__(self, window):
        from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel

        self.window = window
        self.dialog = QDialog(window)
        self.dialog.setWindowTitle("Export data")
        form = QFormLayout(self.dialog)
        self.what = QComboBox()
        self.what.addItem("The whole trace: every layer, unit and step", None)
        for panel in panels_with_numbers(window):
            behind = " (behind a tab)" if panel._offscreen() else ""
            self.what.addItem(f"The numbers of {panel.title}{behind}", panel.objectName())
        form.addRow("Export", self.what)
        self.scope = QComboBox()
        for key, text in SCOPES:
            self.scope.addItem(text, key)
        self.scope.setCurrentIndex(1)
        form.addRow("Steps", self.scope)
        self.note = QLabel()
        self.note.setWordWrap(True)
        form.addRow(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.dialog.accept)
        buttons.rejected.connect(self.dialog.reject)
        form.addRow(buttons)
        self.what.currentIndexChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        whole = self.what.currentData() is None
        self.scope.setEnabled(not whole)
        if whole:
            core = self.window.session.core
            from lstm_viz.workbench.data_out import table_rows, trace_columns

            rows = table_rows(core.trace, core.sequence)
            columns = len(trace_columns(core.trace, core.sequence, core.predictions, core.losses))
            self.note.setText(
                f"{rows:,} rows (a step of a sequence each) x {columns:,} columns. "
                "CSV or Parquet (smaller, typed) as the file's name says."
            )
        else:
            self.note.setText("CSV or Parquet as the file's name says.")

    def run(self) -> None:
        from PySide6.QtWidgets import QDialog

        from lstm_viz.ui.export import ask_export_path

        if self.dialog.exec() != QDialog.DialogCode.Accepted:
            self.window.activateWindow()
            return
        name = self.what.currentData()
        filters = [("CSV table", ".csv"), ("Parquet table", ".parquet")]
        path = ask_export_path(self.window, "Export data", name, "trace", filters)
        if path:
            self.window.export_data(path, panel=name, scope=self.scope.currentData())


def trace_work(core, path: str) -> tuple[Work, int]:
    """Write the whole trace to ``path`` in a worker; and the table's number of columns."""
    from lstm_viz.workbench.data_out import table_rows, trace_columns, write_trace_table

    trace, sequence = core.trace, core.sequence
    predictions, losses = core.predictions, core.losses  # computed here, read there
    columns = len(trace_columns(trace, sequence, predictions, losses))

    def run(progress, cancel):
        return write_trace_table(path, trace, sequence, predictions, losses, progress, cancel)

    def apply(rows):
        pass

    message = f"Writing {os.path.basename(path)} ({table_rows(trace, sequence):,} rows x {columns:,} columns)…"
    return Work(run, apply, message), columns


def lstmvis_work(core, folder: str) -> Work:
    from lstm_viz.workbench.data_out import write_lstmvis

    trace, sequence = core.trace, core.sequence
    name = os.path.basename(os.path.normpath(folder)) or "lstm-viz"
    description = f"{core.summary()} (written by lstm-viz)"

    def run(progress, cancel):
        return write_lstmvis(folder, trace, sequence, name=name, description=description)

    return Work(run, lambda config: None, f"Writing LSTMVis files to {name}…")
