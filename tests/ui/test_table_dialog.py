"""The table import step: detected roles pre-filled, choices reflected, remembered per file."""

import datetime as dt

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from lstm_viz.io.tables import TableOptions, inspect_table, read_table
from lstm_viz.ui.table_dialog import (
    TableImportDialog,
    ask_table_options,
    remember_options,
    remembered_options,
)


@pytest.fixture
def store(tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    return settings


@pytest.fixture
def stock(tmp_path):
    lines = ["symbol,date,price"]
    for symbol, days in (("AAPL", 6), ("GOOG", 4), ("MSFT", 5)):
        lines += [f"{symbol},{dt.date(2024, 1, 1) + dt.timedelta(days=k)},{100 + k}" for k in range(days)]
    path = tmp_path / "stock.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dialog_for(qtbot, path, options=None):
    dialog = TableImportDialog(path, inspect_table(path), options)
    qtbot.addWidget(dialog)
    return dialog


def roles_shown(dialog):
    return {box.objectName().split(":", 1)[1]: box.currentData() for box in dialog.role_boxes}


def test_detected_roles_are_pre_filled_and_ok_keeps_them(qtbot, stock):
    dialog = dialog_for(qtbot, stock)
    assert roles_shown(dialog) == {"symbol": "id", "date": "time", "price": "feature"}
    assert dialog.summary_label.text() == "3 sequences (AAPL, GOOG, MSFT) of up to 6 steps, 1 feature; time: date"
    assert dialog.table.item(1, 0).text() == "named 'symbol': 3 series"
    assert dialog.table.item(2, 1).text() == "2024-01-01"  # the first data row under the role and why rows
    options = dialog.options()
    assert options.roles == {} and options.fill is None and options.normalize == "none"
    assert read_table(stock, options).names == ["AAPL", "GOOG", "MSFT"]


def test_changing_roles_and_boxes_changes_options_and_summary(qtbot, stock):
    dialog = dialog_for(qtbot, stock)
    dialog.set_role("symbol", "categorical")
    assert dialog.options().roles == {"symbol": "categorical"}
    assert (
        dialog.summary_label.text() == "1 sequence of 15 steps, 4 features (1 numeric, symbol: 3 one-hot); time: date"
    )
    dialog.set_role("price", "time")  # the one time column moves: date is detected again, as ignored dates
    assert roles_shown(dialog) == {"symbol": "categorical", "date": "ignore", "price": "time"}
    assert dialog.options().roles == {"symbol": "categorical", "price": "time"}
    assert dialog.table.item(1, 2).text() == "your choice (detected: feature)"
    dialog.normalize_box.setCurrentIndex(dialog.normalize_box.findData("zscore"))
    dialog.fill_box.setCurrentIndex(dialog.fill_box.findData("drop"))
    assert dialog.options().normalize == "zscore" and dialog.options().fill == "drop"
    dialog.set_role("symbol", "ignore")
    assert "no numeric column" in dialog.summary_label.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_the_scale_hint_shows_until_normalised(qtbot, stock):
    dialog = dialog_for(qtbot, stock)
    dialog.show()
    assert dialog.hint_label.isVisible()
    assert dialog.hint_label.text().startswith("The values reach 105 (column price)")
    dialog.normalize_box.setCurrentIndex(dialog.normalize_box.findData("minmax"))
    assert not dialog.hint_label.isVisible()


def test_choices_are_remembered_per_file(qtbot, stock, store, tmp_path):
    assert remembered_options(store, stock) is None
    chosen = TableOptions(roles={"symbol": "ignore"}, fill="previous", normalize="zscore")
    remember_options(store, stock, chosen)
    assert remembered_options(store, stock) == chosen
    assert remembered_options(store, tmp_path / "other.csv") is None

    def accept():
        dialog = next(w for w in qtbot_widgets() if isinstance(w, TableImportDialog))
        assert roles_shown(dialog)["symbol"] == "ignore"
        assert dialog.fill_box.currentData() == "previous" and dialog.normalize_box.currentData() == "zscore"
        dialog.set_role("price", "feature")
        dialog.accept()

    def qtbot_widgets():
        from PySide6.QtWidgets import QApplication

        return QApplication.topLevelWidgets()

    QTimer.singleShot(0, accept)
    options = ask_table_options(None, stock, store)
    assert options.roles == {"symbol": "ignore", "price": "feature"} and options.fill == "previous"
    assert remembered_options(store, stock) == options

    def cancel():
        dialog = next(w for w in qtbot_widgets() if isinstance(w, TableImportDialog) and w.isVisible())
        dialog.set_role("symbol", "id")
        dialog.done(QDialog.DialogCode.Rejected)

    QTimer.singleShot(0, cancel)
    assert ask_table_options(None, stock, store) is None
    assert remembered_options(store, stock) == options  # a cancelled dialog changes nothing


def test_remembered_roles_of_columns_gone_are_dropped(qtbot, stock, store):
    remember_options(store, stock, TableOptions(roles={"ticker": "id", "price": "feature"}))
    store.setValue("table_import/damaged", "{not json")

    def accept():
        from PySide6.QtWidgets import QApplication

        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, TableImportDialog) and w.isVisible())
        dialog.accept()

    QTimer.singleShot(0, accept)
    assert ask_table_options(None, stock, store).roles == {"price": "feature"}
