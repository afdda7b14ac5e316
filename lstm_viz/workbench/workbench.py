"""The Workbench: the session's state and the use cases, without Qt.

It owns what is shown (the loaded model, sequence and trace, a what-if run in its place,
the current step, batch sequence, layer and selected units) and announces every change
with `psygnal <https://psygnal.readthedocs.io>`_ signals, so the window, a notebook or a
test can follow it. The window's Qt ``Session`` is a thin adapter that re-emits them.

Use cases that take time (opening files, re-running) come as a :class:`Work`: ``run``
computes a result from a snapshot of the state and may run in a worker thread; ``apply``
shows it, at once and whole, on the thread that owns the Workbench. ``Work.now()`` does
both (scripts, the command line, tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import numpy as np
from psygnal import Signal

from lstm_viz.engine import Trace
from lstm_viz.engine.sequence import Sequence
from lstm_viz.engine.whatif import Clamp
from lstm_viz.errors import InputError, LstmVizError
from lstm_viz.workbench import lod, navigation, why
from lstm_viz.workbench.loading import CancelFlag, Loaded, OpenRequest, Progress, load, plural
from lstm_viz.workbench.streaming import Stream

R = TypeVar("R")
MESSAGE = "Loading and recording every gate…"


@dataclass
class Work(Generic[R]):
    """Long work split in two: ``run(progress, cancel)`` (any thread) and ``apply(result)``."""

    run: Callable[[Progress, CancelFlag], R]
    apply: Callable[[R], None]
    message: str = "Working…"
    quick: bool = False  # small enough to run at once on the caller's thread
    stream: Stream | None = None  # the run in progress, to show while computed (see streaming.py)

    def now(self) -> R:
        result = self.run(lambda done, total: None, lambda: False)
        self.apply(result)
        return result

    def then(self, after: Callable[[R], None]) -> Work[R]:
        """The same work, with ``after(result)`` called once the result is shown."""

        def apply(result):
            self.apply(result)
            after(result)

        return Work(self.run, apply, self.message, self.quick, self.stream)


@dataclass
class WhatIf:
    """A changed run shown in place of the loaded one; the loaded one stays as the original."""

    trace: Trace
    sequence: Sequence
    description: str
    start: int
    clamps: list[Clamp] = field(default_factory=list)
    edits: dict[int, tuple[np.ndarray, str]] = field(default_factory=dict)
    batch: int = 0  # the sequence of the batch the input edits are for
    base: Loaded | None = None  # the load it was computed from: shown only over that one


@dataclass
class Prediction:
    """The readout at one step: values for regression, the top classes for classification."""

    step: int
    kind: str
    values: np.ndarray
    top: list[tuple[str, float]] = field(default_factory=list)

    def describe(self) -> str:
        if self.top:
            label, probability = self.top[0]
            return f"{label!r} ({probability:.2f})"
        return ", ".join(f"{v:.3f}" for v in np.ravel(self.values)[:4])


class Workbench:
    """Session state plus the use cases. Signals (psygnal, emitted on the owner's thread):

    - ``data_changed()``: model, sequence and trace replaced, or a what-if shown or cleared;
    - ``step_changed(step)``; ``selection_changed()``; ``view_changed()`` (layer or batch);
    - ``results_changed(name)``: the result of analysis ``name`` arrived (or was dropped
      because the data changed: then ``results`` no longer has it);
    - ``range_changed(t0, t1)``: the range of steps the time plots show (``time_range``);
    - ``comparison_changed()``: a second model's run was set beside this one or dropped
      (``comparison``; see :mod:`lstm_viz.workbench.compare`);
    - ``note_changed(index)``: the note of the example's walk being read (``note``; -1:
      nothing open is an example).
    """

    data_changed = Signal()
    step_changed = Signal(int)
    selection_changed = Signal()
    view_changed = Signal()
    results_changed = Signal(str)
    range_changed = Signal(float, float)
    comparison_changed = Signal()
    note_changed = Signal(int)

    MAX_DEFAULT_SELECTION = 8

    def __init__(self):
        self.loaded: Loaded | None = None
        self.what_if: WhatIf | None = None
        self.step = 0
        self.batch = 0
        self.layer = 0
        self.selected: list[int] = []
        self.time_range: tuple[float, float] = (0.0, 1.0)  # steps shown by the time plots
        self.comparison = None  # a second model's run on this sequence (compare.Comparison)
        self.note = -1  # the note of the example's walk being read (-1: no example shown)
        self.shown_snapshot: tuple | None = None  # (training, snapshot index) shown, if any
        # the "why" figures of the shown run (see workbench/why.py); dropped when it changes
        self.results: dict[str, tuple[dict, Any]] = {}  # analysis name -> (params, result)
        self.wanted_model: tuple | None = None  # the last model file asked for (see ``open``)
        self._figures: dict[str, Any] = {}
        self.data_changed.connect(self._forget_figures)

    # -- what is shown -------------------------------------------------------------------
    def _shown(self, name: str):
        """``name`` of the what-if run when there is one, else of the loaded data."""
        if self.what_if is not None:
            return getattr(self.what_if, name)
        return None if self.loaded is None else getattr(self.loaded, name)

    @property
    def trace(self) -> Trace | None:
        """The what-if run when there is one, else the loaded trace."""
        return self._shown("trace")

    @property
    def original_trace(self) -> Trace | None:
        """The loaded trace while a what-if run is shown (for ghosts), else None."""
        return None if self.what_if is None or self.loaded is None else self.loaded.trace

    @property
    def model(self):
        return None if self.loaded is None else self.loaded.model

    @property
    def sequence(self) -> Sequence | None:
        """The what-if run's sequence (its input edits) when there is one, else the loaded one."""
        return self._shown("sequence")

    @property
    def layer_trace(self):
        return self.trace.layers[self.layer]

    @property
    def length(self) -> int:
        """Steps of the current sequence of the batch (its real length, padding excluded)."""
        if self.loaded is None:
            return 0
        lengths = self.sequence.lengths
        T = self.trace.length  # a run still being recorded: the part computed
        return min(int(lengths[self.batch]), T) if lengths is not None else T

    def label(self, step: int | None = None) -> str:
        step = self.step if step is None else step
        labels = self.sequence.batch_labels[self.batch]
        return labels[step] if 0 <= step < len(labels) else ""

    def quantity(self, name: str) -> np.ndarray:
        """(T, H) of the current layer and batch sequence, the engine's own numbers."""
        return self.layer_trace.quantity(name)[self.batch]

    def original_quantity(self, name: str) -> np.ndarray | None:
        """(T, H) of the original run while a what-if is shown, else None."""
        original = self.original_trace
        return None if original is None else original.layers[self.layer].quantity(name)[self.batch]

    def summary(self) -> str:
        """One line on what is open: sequences, steps, layers, encoding."""
        if self.loaded is None:
            return "Nothing open yet."
        sequence, sizes = self.loaded.sequence, ", ".join(str(h) for h in self.loaded.model.hidden_sizes)
        storage = self.loaded.trace.meta.get("storage") or {}
        kept = []
        if storage.get("dtype") == "float16":
            kept.append("stored in float16")
        if storage.get("where") == "disk":
            kept.append("recorded to disk")
        return (
            f"{plural(sequence.batch_size, 'sequence')} x {plural(self.length, 'step')} · "
            f"layers of {sizes} units · {sequence.encoding}" + "".join(f" · {k}" for k in kept)
        )

    # -- the "why" figures ----------------------------------------------------------------
    def _forget_figures(self) -> None:
        self._figures.clear()
        names = list(self.results)
        self.results.clear()
        for name in names:
            self.results_changed.emit(name)

    def _figure(self, name: str, compute):
        if name not in self._figures:
            self._figures[name] = compute()
        return self._figures[name]

    @property
    def targets(self):
        """What the model should have output at each step (:class:`Targets`), or None when
        that cannot be known from the input (see :func:`lstm_viz.workbench.why.targets_for`)."""
        if self.loaded is None:
            return None
        return self._figure("targets", lambda: why.targets_for(self.model, self.sequence, self.trace.x))

    @property
    def predictions(self) -> np.ndarray | None:
        """The readout at every step of every sequence, (B, T, K); None without a readout."""
        if self.loaded is None:
            return None
        return self._figure("predictions", lambda: why.predictions(self.model, self.trace))

    @property
    def losses(self) -> np.ndarray | None:
        """The loss at every step, (B, T) (NaN where no target); None without targets."""
        if self.loaded is None:
            return None
        return self._figure("losses", lambda: why.losses(self.model, self.trace, self.targets))

    @property
    def original_figures(self):
        """(predictions, losses) of the loaded run while a what-if is shown, else None."""
        if self.what_if is None or self.loaded is None:
            return None

        def compute():
            loaded = self.loaded
            targets = why.targets_for(loaded.model, loaded.sequence, loaded.trace.x)
            return why.predictions(loaded.model, loaded.trace), why.losses(loaded.model, loaded.trace, targets)

        return self._figure("original", compute)

    def snapshot(self) -> why.Snapshot:
        self._require()
        return why.Snapshot(
            self.model,
            self.trace,
            self.sequence,
            self.targets,
            self.batch,
            self.layer,
            self.step,
            tuple(self.selected),
            self.what_if or self.loaded,
            () if self.what_if is None else tuple(self.what_if.clamps),
        )

    def analyze(self, name: str, params: dict | None = None, key: str | None = None) -> Work:
        """Analysis ``name`` (see :mod:`lstm_viz.workbench.why`) of the shown run with
        ``params``; its result lands in ``results[key]`` (``key`` defaults to the name, a
        panel uses its own) as ``(params, result)``. The layer and sequence it describes
        are the current ones, also recorded in the params as ``layer`` and ``batch``."""
        if name not in why.ANALYSES:
            raise InputError(f"unknown analysis {name!r}; known: {', '.join(sorted(why.ANALYSES))}")
        snapshot = self.snapshot()
        params = {**(params or {}), "layer": snapshot.layer, "batch": snapshot.batch}
        fn = why.ANALYSES[name]
        key = key or name

        def apply(result):
            if (self.what_if or self.loaded) is not snapshot.base:
                return  # the data changed while it ran: the result is about something else
            self.results[key] = (params, result)
            self.results_changed.emit(key)

        return Work(lambda progress, cancel: fn(snapshot, params, progress, cancel), apply, "Computing…")

    # -- replacing the data -----------------------------------------------------------------
    def show(self, loaded: Loaded, keep_selection: bool = False, snapshot: tuple | None = None) -> None:
        """Replace model, sequence and trace at once; keeps the step where it can (and the
        selected units with ``keep_selection``, when the layer still has them). ``snapshot``:
        the (training, index) this is, when it is one (see :meth:`show_training`)."""
        kept = list(self.selected)
        before, sequence = self.length, self.sequence
        shown_example = self.example
        self.shown_snapshot = snapshot
        whole = self.time_range == (0.0, float(max(before, 1)))
        self.loaded = loaded
        self.what_if = None
        self.batch = min(self.batch, loaded.trace.batch_size - 1)
        self.layer = min(self.layer, len(loaded.trace.layers) - 1)
        self.step = int(np.clip(self.step, 0, self.length - 1))
        units = self.layer_trace.hidden_size
        keep = keep_selection and kept and all(u < units for u in kept)
        self.selected = kept if keep else self._default_selection()
        # another sequence, or the whole one shown: the whole (a run still growing stays whole)
        self._whole_range(reset=loaded.sequence is not sequence or whole)
        dropped = self.comparison is not None and loaded.sequence is not sequence
        if dropped:  # B ran on the sequence that was shown
            self.comparison = None
        note = self.note
        if self.example is None:
            self.note = -1
        elif self.example is not shown_example or not 0 <= self.note < len(self.example.walk):
            self.note = 0  # (the same example again, typed over or re-run: the note read stays)
        self.data_changed.emit()
        if self.note != note:
            self.note_changed.emit(self.note)
        if dropped:
            self.comparison_changed.emit()
        self.step_changed.emit(self.step)
        self.range_changed.emit(*self.time_range)

    def show_what_if(self, what_if: WhatIf) -> None:
        """Show a changed run; step, layer and selection stay. A run computed from data that
        has been replaced since (a late result) is not shown."""
        if self.loaded is None or (what_if.base is not None and what_if.base is not self.loaded):
            return
        self.what_if = what_if
        self.data_changed.emit()
        self.step_changed.emit(self.step)

    def clear_what_if(self) -> None:
        if self.what_if is not None:
            self.what_if = None
            self.data_changed.emit()
            self.step_changed.emit(self.step)

    def _default_selection(self) -> list[int]:
        units = self.layer_trace.hidden_size
        if units <= self.MAX_DEFAULT_SELECTION:
            return list(range(units))
        # The units that change most over the sequence are the interesting ones: their
        # extremes read off the cell's level-of-detail pyramid, which the trajectories draw
        # from anyway (at a million steps, a pass over the whole cell costs half a second)
        lt = self.layer_trace
        name = "cell" if lt.is_lstm else "hidden"
        top = lod.quantity_pyramid(lt, name, self.batch, max(self.length, 1))
        level = top.level(len(top.bins) - 1)
        spread = np.nanmax(level.maxs, axis=0).astype(np.float64) - np.nanmin(level.mins, axis=0)
        return sorted(int(u) for u in np.argsort(spread)[::-1][: self.MAX_DEFAULT_SELECTION])

    # -- navigation ---------------------------------------------------------------------------
    @property
    def example(self):
        """The Examples entry shown (see :mod:`lstm_viz.workbench.examples`), or None."""
        return None if self.loaded is None else getattr(self.loaded, "example", None)

    def go_to_note(self, index: int) -> None:
        """Read note ``index`` of the example's walk: the cursor goes to its step and its
        units are selected (a note without units keeps the selection)."""
        example = self.example
        if example is None or not example.walk:
            return
        index = int(np.clip(index, 0, len(example.walk) - 1))
        note = example.walk[index]
        if note.select:
            self.select_units(note.select)
        self.set_step(note.step)
        if index != self.note:
            self.note = index
            self.note_changed.emit(index)

    def next_note(self) -> None:
        if self.example is not None and self.note + 1 < len(self.example.walk):
            self.go_to_note(self.note + 1)

    def previous_note(self) -> None:
        if self.example is not None and self.note > 0:
            self.go_to_note(self.note - 1)

    def set_step(self, step: int) -> None:
        """Go to ``step``; when it is outside the visible time range, the range turns a page
        to show it (see :func:`navigation.follow`)."""
        if self.loaded is None:
            return
        step = int(np.clip(step, 0, self.length - 1))
        if step != self.step:
            self.step = step
            self.step_changed.emit(step)
            shown = navigation.follow(self.time_range, step, self.length)
            if shown != self.time_range:
                self.time_range = shown
                self.range_changed.emit(*shown)

    def set_time_range(self, t0: float, t1: float) -> None:
        """Show steps t0..t1 in every time plot (clamped to the sequence, at least a few steps)."""
        if self.loaded is None:
            return
        shown = navigation.clamp_range(t0, t1, self.length)
        if shown != self.time_range:
            self.time_range = shown
            self.range_changed.emit(*shown)

    def _whole_range(self, reset: bool = False) -> None:
        """The whole sequence when ``reset`` (a sequence of another length was opened) or
        when the visible range no longer fits it; a range that still fits is kept."""
        t0, t1 = self.time_range
        if reset or t1 > self.length:
            self.time_range = (0.0, float(max(self.length, 1)))

    def next_event(
        self, quantity: str, unit: int, threshold: float, direction: str = "either", backwards: bool = False
    ) -> int | None:
        """The next step (the previous one, ``backwards``) where ``unit``'s ``quantity`` in the
        shown layer and sequence crosses ``threshold``; None when there is none."""
        values = self.quantity(quantity)
        return navigation.next_event(
            lambda t0, t1: values[t0:t1, unit], self.length, self.step, threshold, direction, backwards
        )

    def set_layer(self, layer: int) -> None:
        if self.loaded is None or layer == self.layer or not 0 <= layer < len(self.trace.layers):
            return
        self.layer = layer
        self.selected = self._default_selection()
        self.view_changed.emit()
        self.selection_changed.emit()

    def set_batch(self, batch: int) -> None:
        if self.loaded is None or batch == self.batch or not 0 <= batch < self.trace.batch_size:
            return
        self.batch = batch
        self.step = min(self.step, self.length - 1)
        before = self.time_range
        self._whole_range()
        self.view_changed.emit()
        self.step_changed.emit(self.step)
        if self.time_range != before:
            self.range_changed.emit(*self.time_range)

    def select_units(self, units) -> None:
        if self.loaded is None:
            return
        units = sorted({int(u) for u in units if 0 <= int(u) < self.layer_trace.hidden_size})
        if units != self.selected:
            self.selected = units
            self.selection_changed.emit()

    # -- use cases ----------------------------------------------------------------------------
    def open(self, request: OpenRequest, example: Any = None, keep_selection: bool = False) -> Work[Loaded]:
        """Open files (or a random model) as ``request`` says; the rest of the session stays
        (the selected units too with ``keep_selection``, when the layer still has them).

        A model asked for while nothing is open is remembered even when that first open
        fails (a sequence with missing values refused, say): the next sequence opened
        without a model of its own uses it, not a random one."""
        current = self.loaded
        if request.model_path is not None:
            self.wanted_model = (request.model_path, request.model_options)
        elif current is None and request.random is None and self.wanted_model is not None:
            request = replace(request, model_path=self.wanted_model[0], model_options=self.wanted_model[1])

        stream = Stream()
        stream.keep_selection = keep_selection

        def started(loaded):
            loaded.example = example
            stream.started(loaded)

        def run(progress, cancel):
            loaded = load(request, current, progress, cancel, started=started)
            loaded.example = example
            return loaded

        def apply(loaded):
            self.show(loaded, keep_selection=keep_selection or stream.shown > 0)

        return Work(run, apply, MESSAGE, stream=stream)

    def show_part(self, loaded: Loaded, keep_selection: bool = False) -> None:
        """Show the part of a run computed so far (from :meth:`Work.stream`); the finished run
        replaces it, keeping the step, the selection and the visible range."""
        growing = self.loaded is not None and self.loaded.computing is not None
        self.show(loaded, keep_selection=keep_selection or growing)

    def open_example(self, example) -> Work[Loaded]:
        """An example of :mod:`lstm_viz.workbench.examples`: its files, units and step."""
        work = self.open(example.request(), example)

        def apply(loaded):
            self.show(loaded)
            self.go_to_note(0)

        return Work(work.run, apply, work.message)

    def typed(self, text: str | None = None, values=None) -> Work[Loaded]:
        """Run the loaded model on text (or bases) typed by the user, or on edited numbers.
        Raises :class:`InputError` at once when the input cannot be encoded for the model."""
        from lstm_viz.io.sequences import dna_sequence, text_sequence

        loaded = self._require()
        model, current = loaded.model, loaded.sequence
        if text is not None:
            if current.is_dna:
                sequence = dna_sequence(text, rna=current.feature_names[-1] == "U")
            else:
                vocabulary = model.metadata.get("vocabulary") or current.vocabulary
                sequence = text_sequence(text, vocabulary=vocabulary)
            sequence.names = ["typed"]
        else:
            sequence = Sequence(
                np.asarray(values, np.float32)[None],
                feature_names=list(current.feature_names),
                encoding=current.encoding,
                kind=current.kind,
                normalization=current.normalization,
                names=["edited"],
            )
        if sequence.width != model.input_size:
            raise InputError(
                f"the typed sequence has {plural(sequence.width, 'feature')}; the model reads {model.input_size}"
            )

        def run(progress, cancel):
            trace = model.run(sequence.values, progress=progress, cancel=cancel)
            return replace(loaded, sequence=sequence, trace=trace, sequence_path=None)

        def apply(result):
            self.show(result, keep_selection=True)
            if text is not None:
                self.set_step(self.length - 1)  # the character just typed

        return Work(run, apply, "Running on your input…", quick=sequence.length <= 5000)

    def rerun(
        self, clamps: list[Clamp], edits: dict[int, tuple[np.ndarray, str]], batch: int | None = None
    ) -> Work[WhatIf | None]:
        """Re-run the loaded trace from the earliest change with ``clamps`` and input ``edits``
        ({step: (row, label)}) of sequence ``batch`` of the batch (the one shown when None);
        no change restores the original."""
        from lstm_viz.engine.whatif import rerun

        loaded = self._require()
        clamps, edits = list(clamps), dict(edits)
        if not clamps and not edits:
            return Work(lambda progress, cancel: None, lambda _: self.clear_what_if(), quick=True)
        batch = self.batch if batch is None else int(batch)
        if not 0 <= batch < loaded.trace.batch_size:
            raise InputError(f"sequence {batch} is not in the batch (0 to {loaded.trace.batch_size - 1})")
        x = loaded.trace.x.copy()
        batch_labels = [list(labels) for labels in loaded.sequence.batch_labels]
        for step, (row, label) in edits.items():
            if not 0 <= step < x.shape[1]:
                raise InputError(f"step {step} is outside the sequence (0 to {x.shape[1] - 1})")
            x[batch, step] = row
            batch_labels[batch][step] = label
        start = min([c.start for c in clamps] + list(edits))
        model, base = loaded.model, loaded.trace

        def run(progress, cancel):
            trace = rerun(model, base, x, start=start, clamps=clamps)
            sequence = replace(loaded.sequence, values=x, batch_labels=batch_labels, labels=list(batch_labels[0]))
            parts = [c.describe() for c in clamps] + [f"input at t = {t} set to {e[1]!r}" for t, e in edits.items()]
            return WhatIf(trace, sequence, "; ".join(parts), start, clamps, edits, batch, loaded)

        return Work(run, self.show_what_if, "Re-running from the changed step…", quick=x.shape[1] <= 2000)

    def encode_token(self, token: str) -> np.ndarray:
        """The input row one token (a base, a character or word of the vocabulary) becomes in
        the sequence shown; raises InputError for a token the sequence cannot hold."""
        from lstm_viz.io.sequences import encode_token

        if self.sequence is None:
            raise InputError("open a sequence first")
        return encode_token(self.sequence, token)

    def prediction(self, step: int | None = None) -> Prediction | None:
        """The readout at ``step`` of the current batch sequence (None without a readout)."""
        model = self.model
        if model is None or model.readout is None:
            return None
        step = self.step if step is None else int(step)
        features = self.trace.output[self.batch, step]
        values = model.readout.forward(features[None, None])[0, 0]
        top = []
        if model.readout.kind == "classification" and model.readout.labels:
            order = np.argsort(values)[::-1][:5]
            top = [(model.readout.labels[k], float(values[k])) for k in order]
        return Prediction(step, model.readout.kind, values, top)

    def _require(self) -> Loaded:
        if self.loaded is None:
            raise InputError("open a sequence first")
        return self.loaded

    # -- a second model beside this one --------------------------------------------------------
    def compare_with(self, request: OpenRequest | None = None, rnn_seed: int | None = None) -> Work:
        """Run a second model on the sequence shown and match its units to these: the model
        file (or random LSTM) of ``request``, or with ``rnn_seed`` a random tanh RNN of the
        same sizes. Shown as ``comparison`` (``comparison_changed``)."""
        from lstm_viz.workbench import compare

        loaded = self._require()
        model = compare.random_rnn(loaded, rnn_seed) if rnn_seed is not None else None

        def run(progress, cancel):
            return compare.compare(loaded, request, model, progress, cancel)

        def apply(comparison):
            if self.loaded is not loaded:  # the data changed meanwhile
                return
            self.comparison = comparison
            self.comparison_changed.emit()

        return Work(run, apply, "Running the second model…")

    # -- training --------------------------------------------------------------------------------
    def train(self, spec) -> tuple[Any, Work]:
        """A :class:`~lstm_viz.workbench.training.Training` of ``spec`` (on the open sequence
        when its task says so) and the Work that runs it; once done the trained model is
        shown on the sequence it is watched on."""
        from lstm_viz.workbench.training import SEQUENCE, Training, watched_sequence

        training = Training(spec, self.sequence if spec.task == SEQUENCE else None)
        training.watched = watched_sequence(training, self.sequence if spec.task == SEQUENCE else None)

        def run(progress, cancel):
            return training.run_in_child(progress, cancel)  # (a thread would share Python's lock with the window)

        def apply(done):
            if done.snapshots:
                self.show_training(done, len(done.snapshots) - 1)

        return training, Work(run, apply, "Training…")

    def show_training(self, training, index: int) -> None:
        """Show the model of snapshot ``index`` of ``training`` on its watched sequence, in
        every panel (the step and the selected units stay)."""
        snapshot = training.snapshots[index]
        model = training.model_at(index)
        sequence = training.watched
        kind = "LSTM" if training.spec.kind == "lstm" else "tanh RNN"
        self.show(
            Loaded(model, sequence, model.run(sequence.values), f"{kind} after {snapshot.update} updates"),
            keep_selection=True,
            snapshot=(training, index),
        )

    def clear_comparison(self) -> None:
        if self.comparison is not None:
            self.comparison = None
            self.comparison_changed.emit()

    # -- state as plain data ---------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to come back to this view: files and options, step, batch, layer,
        selection, what-if clamps and edits. Plain JSON-able data (see :meth:`restore`)."""
        from lstm_viz.workbench.state import session_state

        return session_state(self)

    def restore(self, state: dict) -> Work:
        """Open what ``state`` (from :meth:`state`) names and come back to its view."""
        from lstm_viz.workbench.state import restore_work

        return restore_work(self, state)


__all__ = ["LstmVizError", "Prediction", "WhatIf", "Work", "Workbench"]
