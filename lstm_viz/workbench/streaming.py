"""Showing a run while the engine records it.

The engine fills a trace whose arrays exist from the start (``LSTM.run(started=...)``
hands it over before the first step) and advances ``trace.computed``, the number of
leading steps every layer has finished. A :class:`Stream` receives that trace on the
worker's thread and, asked on the owner's thread at each progress report, says when to
show more of it: the first frame as soon as a few steps are done, then when the computed
part has grown fourfold (at most every :data:`SOONEST` seconds) or :data:`INTERVAL` seconds
have passed. Each showing costs the window 0.05-0.3 s (every panel redraws; more for
wide layers), taken from the engine's time: a few showings, early ones while they are
cheap, and never so close that showing takes more than :data:`SHARE` of the time between
two (the owner reports what each one cost, :meth:`Stream.took`). What is shown is
:func:`head`, views of the first n steps (nothing is copied), so every panel works on it
as on a finished trace.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np

from lstm_viz.engine.trace import LayerTrace, Trace

INTERVAL = 3.0
"""Seconds between two showings of a growing trace (sooner when it has grown fourfold)."""

SOONEST = 0.5
"""Seconds at least between two showings."""

SHARE = 0.05
"""At most this share of the time between two showings goes to showing (at 1,024 units a
showing takes about 0.25 s: one every 5 s)."""

FIRST_STEPS = 256
"""Steps enough for a first frame (fewer when the sequence is shorter)."""


def _head_layer(layer: LayerTrace, n: int) -> LayerTrace:
    head = LayerTrace.__new__(LayerTrace)
    head.__dict__.update(layer.__dict__)
    for name, value in layer.__dict__.items():
        if isinstance(value, np.ndarray) and value.ndim == 3:
            setattr(head, name, value[:, :n])
    if layer.reverse is not None:
        head.reverse = _head_layer(layer.reverse, n)
    return head


def head(trace: Trace, n: int) -> Trace:
    """The first ``n`` steps of ``trace``: the same object kind, every (B, T, ...) array a view."""
    shown = Trace.__new__(Trace)
    shown.__dict__.update(trace.__dict__)
    shown.x = trace.x[:, :n]
    shown.layers = [_head_layer(layer, n) for layer in trace.layers]
    shown.meta = dict(trace.meta)
    if trace.embedded is not None:
        shown.embedded = trace.embedded[:, :n]
    if "computed" in trace.__dict__:
        shown.computed = n
    return shown


class Stream:
    """The trace being recorded by one open, and when to show how much of it.

    ``started(loaded)`` is called on the worker's thread with the :class:`Loaded` whose
    trace the engine is filling; :meth:`due` (owner's thread) returns a Loaded of the part
    computed so far when it is time to show it, else None.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self.loaded = None
        self.shown = 0  # steps shown so far
        self.last = 0.0  # when they were shown
        self.cost = 0.0  # seconds the last showing took (see took())
        self.keep_selection = False  # the first showing keeps the selected units (a reload)

    def started(self, loaded) -> None:
        with self._lock:
            self.loaded = loaded

    @property
    def total(self) -> int:
        return 0 if self.loaded is None else self.loaded.trace.length

    def computed(self) -> int:
        with self._lock:
            loaded = self.loaded
        if loaded is None:
            return 0
        return int(getattr(loaded.trace, "computed", 0))

    def due(self):
        """The part to show now (a Loaded with ``computing`` set), or None."""
        n = self.computed()
        total = self.total
        if n <= self.shown or n >= total:
            return None  # nothing new, or finished: the finished run is shown whole
        if self.shown == 0:
            if n < min(FIRST_STEPS, total):
                return None
        else:
            waited = self.clock() - self.last
            if waited < max(SOONEST, self.cost / SHARE) or (n < 4 * self.shown and waited < INTERVAL):
                return None
        self.shown, self.last = n, self.clock()
        return replace(self.loaded, trace=head(self.loaded.trace, n), computing=(n, total))

    def took(self, seconds: float) -> None:
        """The showing just returned by :meth:`due` took ``seconds`` of the owner's time:
        the next one waits at least ``seconds / SHARE`` after it."""
        self.cost = max(0.0, float(seconds))

    def cancelled(self):
        """What to keep after a cancel: the part shown (a Loaded), or None when nothing was
        shown (the previous session is still on screen)."""
        if self.shown == 0:
            return None
        n = max(self.shown, min(self.computed(), self.total))
        return replace(self.loaded, trace=head(self.loaded.trace, n), computing=None, cut=(n, self.total))
