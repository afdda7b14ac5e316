"""A window on the built-in demo, with its settings in a temporary file."""

import pytest
from PySide6.QtCore import QSettings

from lstm_viz.ui.main_window import MainWindow
from lstm_viz.ui.style import configure_plots


@pytest.fixture
def settings(tmp_path):
    configure_plots()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    store.clear()
    return store


@pytest.fixture
def empty_window(qtbot, settings, monkeypatch):
    """The window as it first shows, before anything is open."""
    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    return win


@pytest.fixture
def window(empty_window):
    empty_window.open_demo(wait=True)
    return empty_window


def panel(window, name):
    return next(p for p in window.panels if p.objectName() == name)
