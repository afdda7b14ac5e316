"""The Qt side of the session: a thin adapter around the Qt-free Workbench.

The :class:`~lstm_viz.workbench.Workbench` owns the state and the use cases; this
QObject re-emits its psygnal signals as Qt signals (``traceChanged``, ``stepChanged``,
``selectionChanged``, ``viewChanged``) for the panels, and carries the panels' requests
(re-run with clamps, typed input...) to whoever handles them (the main window, which runs
them off the GUI thread). Panels read the state through it; nothing here decides how to
load or run anything.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from lstm_viz.errors import LstmVizError
from lstm_viz.ui.worker import Jobs
from lstm_viz.workbench import Workbench
from lstm_viz.workbench.loading import Loaded  # noqa: F401 - re-exported for the window and tests
from lstm_viz.workbench.workbench import WhatIf  # noqa: F401

# What a panel may ask for, with the arguments each request takes. A panel declares the
# ones it makes (``Panel.requests``); the window handles each one.
REQUESTS = {
    "what_if": "re-run from the earliest change with gate clamps and input edits: (clamps, edits)",
    "restore_original": "drop every what-if change and show the loaded run again: ()",
    "typed_text": "run the model on text or bases the user typed: (text,)",
    "edited_values": "run the model on a table of numbers the user edited: (values,)",
    "compare": "choose a second model to run on this sequence beside the open one: ()",
}


class Session(QObject):
    traceChanged = Signal()
    stepChanged = Signal(int)
    selectionChanged = Signal()
    viewChanged = Signal()  # layer or batch sequence changed
    resultsChanged = Signal(str)  # an analysis's result arrived or was dropped (its name)
    rangeChanged = Signal(float, float)  # the steps the time plots show (core.time_range)

    def __init__(self, parent=None, core: Workbench | None = None):
        super().__init__(parent)
        self.core = core or Workbench()
        self.core.data_changed.connect(self.traceChanged.emit)
        self.core.step_changed.connect(self.stepChanged.emit)
        self.core.selection_changed.connect(self.selectionChanged.emit)
        self.core.view_changed.connect(self.viewChanged.emit)
        self.core.results_changed.connect(self.resultsChanged.emit)
        self.core.range_changed.connect(self.rangeChanged.emit)
        self._handlers: dict[str, Callable] = {}
        self.jobs = Jobs(self)  # the analyses the "why" panels ask for, one slot each

    # -- analyses ---------------------------------------------------------------------------
    def compute(
        self, name: str, params: dict | None = None, failed: Callable[[str], None] | None = None, key: str | None = None
    ) -> None:
        """Run analysis ``name`` of the core off the GUI thread; its result arrives with
        ``resultsChanged(key)`` (``key`` defaults to the name). A newer request under the
        same key replaces a running one."""
        key = key or name
        try:
            work = self.core.analyze(name, params, key)
        except LstmVizError as exc:
            if failed is not None:
                failed(str(exc))
            return
        self.jobs.start(key, work, failed)

    # -- requests from panels --------------------------------------------------------------
    def handle(self, name: str, handler: Callable) -> None:
        """Let ``handler(panel, *args)`` carry out request ``name``."""
        if name not in REQUESTS:
            raise KeyError(f"unknown request {name!r}")
        self._handlers[name] = handler

    def request(self, panel, name: str, *args) -> None:
        if name not in getattr(panel, "requests", ()):
            raise KeyError(f"{type(panel).__name__} does not declare the request {name!r}")
        handler = self._handlers.get(name)
        if handler is not None:
            handler(panel, *args)

    def label(self, step: int | None = None) -> str:
        return self.core.label(step)

    def quantity(self, name: str):
        return self.core.quantity(name)

    def original_quantity(self, name: str):
        return self.core.original_quantity(name)

    def set_loaded(self, loaded, keep_selection: bool = False) -> None:
        self.core.show(loaded, keep_selection=keep_selection)

    def set_what_if(self, what_if) -> None:
        self.core.show_what_if(what_if)

    def clear_what_if(self) -> None:
        self.core.clear_what_if()

    def set_step(self, step: int) -> None:
        self.core.set_step(step)

    def set_layer(self, layer: int) -> None:
        self.core.set_layer(layer)

    def set_batch(self, batch: int) -> None:
        self.core.set_batch(batch)

    def select_units(self, units) -> None:
        self.core.select_units(units)


# The Workbench's state, read by the panels through the session (read-only here).
STATE = (
    "loaded", "what_if", "trace", "original_trace", "model", "sequence", "layer_trace", "length", "step", "batch",
    "layer", "selected",
)  # fmt: skip
for _name in STATE:
    setattr(Session, _name, property(lambda self, name=_name: getattr(self.core, name)))
