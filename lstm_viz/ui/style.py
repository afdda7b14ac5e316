"""The window's look: colours and names of the quantities (from :mod:`lstm_viz.vocabulary`),
plot options, the icon."""

from __future__ import annotations

import sys

from lstm_viz.vocabulary import COLORS as QUANTITY_COLORS
from lstm_viz.vocabulary import GATES
from lstm_viz.vocabulary import LABELS as QUANTITY_LABELS

BACKGROUND = "w"
FOREGROUND = "#333333"


def configure_plots() -> None:
    """pyqtgraph's global options as every window of the app uses them (call once, early)."""
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", background=BACKGROUND, foreground=FOREGROUND, antialias=True)


def app_icon():
    """The application's icon (the window, the task bar, the desktop entry)."""
    from PySide6.QtGui import QIcon

    from lstm_viz.workbench.resources import resource

    return QIcon(str(resource("icons", "lstm-viz.svg")))


__all__ = ["GATES", "QUANTITY_COLORS", "QUANTITY_LABELS", "app_icon", "configure_plots"]


def quiet_offscreen() -> None:
    """Drop the offscreen platform's notes that it cannot do what only a window manager
    does ("This plugin does not support raise()", "...propagateSizeHints()"): printed for
    every panel, they buried real messages in notebooks and headless runs. Every other
    message goes on as Qt would print it."""
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.platformName() != "offscreen":
        return

    def handler(kind, context, message):
        if message.startswith("This plugin does not support"):
            return
        previous(kind, context, message) if previous is not None else print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    _HANDLERS.append(handler)  # kept alive


_HANDLERS: list = []
