"""One colour and one name per quantity, used by every panel."""

from __future__ import annotations

QUANTITY_COLORS = {
    "forget": "#1f77b4",  # keep: blue
    "input": "#ff7f0e",  # write: orange
    "output": "#2ca02c",  # read: green
    "candidate": "#9467bd",  # candidate: purple
    "cell": "#d62728",  # memory cell: red
    "hidden": "#17becf",  # output h_t: teal
    "old": "#6baed6",
    "new": "#fdae6b",
    "tanh_cell": "#e377c2",
}

QUANTITY_LABELS = {
    "forget": "Keep (forget)",
    "input": "Write (input)",
    "output": "Read (output)",
    "candidate": "Candidate",
    "cell": "Memory cell c",
    "hidden": "Output h",
    "old": "Old = keep x c(t-1)",
    "new": "New = write x candidate",
    "tanh_cell": "tanh(c)",
}

GATES = ("forget", "input", "output")
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
