"""The Session: the one object that owns what is shown.

Model, sequence, trace, current step, the sequence of the batch and the layer being looked
at, and the selected units. Panels read it and react to its signals; the transport only
writes the step. Changing the data replaces everything at once, so the Session is never
half-changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from lstm_viz.engine import Trace
from lstm_viz.engine.sequence import Sequence


@dataclass
class Loaded:
    """What one load produced: all replaced together."""

    model: object
    sequence: Sequence
    trace: Trace
    model_description: str
    model_path: str | None = None
    sequence_path: str | None = None
    example: object | None = None  # the Examples menu entry this came from, with its note

    @property
    def description(self) -> str:
        """What the title bar says: the sequence and the model."""
        name = os.path.basename(self.sequence_path) if self.sequence_path else "sequence"
        return f"{name} · {self.model_description}"


@dataclass
class WhatIf:
    """A changed run shown in place of the loaded one; the loaded one stays as the original."""

    trace: Trace
    sequence: Sequence
    description: str
    start: int


class Session(QObject):
    traceChanged = Signal()
    stepChanged = Signal(int)
    selectionChanged = Signal()
    viewChanged = Signal()  # layer or batch sequence changed

    MAX_DEFAULT_SELECTION = 8

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loaded: Loaded | None = None
        self.step = 0
        self.batch = 0
        self.layer = 0
        self.selected: list[int] = []
        self.what_if: WhatIf | None = None

    # -- data -------------------------------------------------------------------------
    @property
    def trace(self) -> Trace | None:
        """What is shown: the what-if run when there is one, else the loaded trace."""
        if self.what_if is not None:
            return self.what_if.trace
        return None if self.loaded is None else self.loaded.trace

    @property
    def original_trace(self) -> Trace | None:
        """The loaded trace while a what-if run is shown (for ghosts), else None."""
        return None if self.what_if is None or self.loaded is None else self.loaded.trace

    def original_quantity(self, name: str) -> np.ndarray | None:
        """(T, H) of the original run while a what-if is shown, else None."""
        original = self.original_trace
        return None if original is None else original.layers[self.layer].quantity(name)[self.batch]

    def set_what_if(self, what_if: WhatIf) -> None:
        """Show a changed run; step, layer and selection stay."""
        if self.loaded is None:
            return
        self.what_if = what_if
        self.traceChanged.emit()
        self.stepChanged.emit(self.step)

    def clear_what_if(self) -> None:
        if self.what_if is not None:
            self.what_if = None
            self.traceChanged.emit()
            self.stepChanged.emit(self.step)

    @property
    def model(self):
        return None if self.loaded is None else self.loaded.model

    @property
    def sequence(self) -> Sequence | None:
        if self.what_if is not None:
            return self.what_if.sequence
        return None if self.loaded is None else self.loaded.sequence

    def set_loaded(self, loaded: Loaded, keep_selection: bool = False) -> None:
        """Replace model, sequence and trace at once; keeps the step where it can (and the
        selected units with ``keep_selection``, when the layer still has them)."""
        kept = list(self.selected)
        self.loaded = loaded
        self.what_if = None
        self.batch = min(self.batch, loaded.trace.batch_size - 1)
        self.layer = min(self.layer, len(loaded.trace.layers) - 1)
        self.step = int(np.clip(self.step, 0, self.length - 1))
        units = self.layer_trace.hidden_size
        keep = keep_selection and kept and all(u < units for u in kept)
        self.selected = kept if keep else self._default_selection()
        self.traceChanged.emit()
        self.stepChanged.emit(self.step)

    def _default_selection(self) -> list[int]:
        units = self.layer_trace.hidden_size
        if units <= self.MAX_DEFAULT_SELECTION:
            return list(range(units))
        # The units that change most over the sequence are the interesting ones.
        cell = self.layer_trace.cell if self.layer_trace.cell is not None else self.layer_trace.hidden
        spread = np.ptp(cell[self.batch], axis=0)
        return sorted(int(u) for u in np.argsort(spread)[::-1][: self.MAX_DEFAULT_SELECTION])

    # -- views of the data ---------------------------------------------------------------
    @property
    def layer_trace(self):
        return self.trace.layers[self.layer]

    @property
    def length(self) -> int:
        """Steps of the current sequence of the batch (its real length, padding excluded)."""
        if self.loaded is None:
            return 0
        lengths = self.sequence.lengths
        return int(lengths[self.batch]) if lengths is not None else self.trace.length

    def label(self, step: int | None = None) -> str:
        step = self.step if step is None else step
        labels = self.sequence.batch_labels[self.batch]
        return labels[step] if 0 <= step < len(labels) else ""

    def quantity(self, name: str) -> np.ndarray:
        """(T, H) of the current layer and batch sequence, the engine's own numbers."""
        return self.layer_trace.quantity(name)[self.batch]

    # -- navigation ----------------------------------------------------------------------
    def set_step(self, step: int) -> None:
        if self.loaded is None:
            return
        step = int(np.clip(step, 0, self.length - 1))
        if step != self.step:
            self.step = step
            self.stepChanged.emit(step)

    def set_layer(self, layer: int) -> None:
        if self.loaded is None or layer == self.layer or not 0 <= layer < len(self.trace.layers):
            return
        self.layer = layer
        self.selected = self._default_selection()
        self.viewChanged.emit()
        self.selectionChanged.emit()

    def set_batch(self, batch: int) -> None:
        if self.loaded is None or batch == self.batch or not 0 <= batch < self.trace.batch_size:
            return
        self.batch = batch
        self.step = min(self.step, self.length - 1)
        self.viewChanged.emit()
        self.stepChanged.emit(self.step)

    def select_units(self, units) -> None:
        units = sorted({int(u) for u in units if 0 <= int(u) < self.layer_trace.hidden_size})
        if units != self.selected:
            self.selected = units
            self.selectionChanged.emit()
