"""What the window benchmarks share: an offscreen window at 1600x1000 and a way to wait
until the panels on screen have really painted."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LSTM_VIZ_NO_DIALOGS", "1")

from PySide6.QtCore import QEvent, QObject, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsView  # noqa: E402


def open_window(name: str):
    """(app, window): the app's main window with the app's plot options and fresh settings."""
    from lstm_viz.ui.main_window import MainWindow
    from lstm_viz.ui.style import configure_plots

    app = QApplication.instance() or QApplication([])
    configure_plots()
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "lstm-viz", name)
    settings.clear()
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    return app, window


class PaintCounter(QObject):
    """An event filter noting which widgets received a paint event."""

    def __init__(self):
        super().__init__()
        self.seen: set = set()

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.seen.add(obj)
        return False

    def watch(self, widgets) -> list:
        for widget in widgets:
            widget.installEventFilter(self)
        return list(widgets)

    def wait(self, app, widgets, limit: int = 50) -> None:
        """Run the event loop until every one of ``widgets`` has painted since ``seen`` was cleared."""
        rounds = 0
        while not self.seen.issuperset(widgets):
            app.processEvents()
            rounds += 1
            if rounds > limit:
                raise SystemExit(f"only {len(self.seen & set(widgets))} of {len(widgets)} views painted")


def on_screen_viewports(window) -> list:
    """The viewports of the plot views that are on screen (not closed, not behind a tab)."""
    return [v.viewport() for v in window.findChildren(QGraphicsView) if not v.viewport().visibleRegion().isEmpty()]
