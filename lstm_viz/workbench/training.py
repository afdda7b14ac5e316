"""Training a model while the window shows it: a run with loss curves, snapshots, pause,
cancel; and the loaded sequence as a task of its own. No Qt here.

A :class:`Training` is made from a :class:`TrainSpec` (a built-in task, or the sequence
that is open: predict its next step, or its next character or base), trains with the
engine's trainer (:func:`lstm_viz.engine.train.train`: the same updates as ``lstm-viz
train``) in whatever thread calls :meth:`Training.run`, and records as it goes:

- the training loss of every update, and a held-out loss every ``heldout_every`` updates
  (a fixed batch drawn once, never trained on);
- a :class:`Snapshot` of every parameter every ``snapshot_every`` updates (and of the
  first and the last), kept as float32: an LSTM of 12 units on the adding problem is
  3 KB a snapshot, so hundreds cost a megabyte or two;
- :meth:`model_at` rebuilds the model of any snapshot, to trace a sequence with it (the
  training slider of the window shows every panel at that point of training).

:meth:`pause` holds the run between two updates, :meth:`resume` goes on; the cancel flag
given to :meth:`run` stops it after the current update, and the model keeps what it
learnt so far (``cancelled`` says so).
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass

import numpy as np

from lstm_viz.engine.backprop import iter_parameters
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.tasks import TASKS, Batch, Task, get_task
from lstm_viz.engine.train import readout_loss, train
from lstm_viz.errors import InputError

SEQUENCE = "sequence"  # the task "the sequence that is open"


@dataclass
class TrainSpec:
    """What to train and how. ``task`` is a built-in task's name or :data:`SEQUENCE`."""

    task: str = "adding"
    kind: str = "lstm"  # or "rnn": a tanh RNN of the same size
    hidden: int = 12
    layers: int = 1
    length: int | None = None  # of the task's sequences (for the open sequence: of the pieces cut from it)
    min_length: int | None = None  # adding: a length drawn for each batch, from this to ``length``
    lr: float = 5e-3
    steps: int = 2000
    batch_size: int = 32
    seed: int = 0
    snapshot_every: int = 50
    heldout: int = 256  # sequences of the held-out batch
    heldout_every: int = 25

    def check(self) -> None:
        if self.task != SEQUENCE and self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; the built-in tasks are {', '.join(TASKS)}")
        if self.kind not in ("lstm", "rnn"):
            raise InputError(f"the model is an LSTM or a tanh RNN ('lstm' or 'rnn'), not {self.kind!r}")
        for name, low in (("hidden", 1), ("layers", 1), ("steps", 1), ("batch_size", 1), ("snapshot_every", 1)):
            if int(getattr(self, name)) < low:
                raise InputError(f"{name.replace('_', ' ')} must be at least {low}, got {getattr(self, name)}")
        if not (0 < self.lr < 10) or not np.isfinite(self.lr):
            raise InputError(f"the learning rate must be between 0 and 10, got {self.lr}")


@dataclass
class Snapshot:
    """The parameters after ``update`` updates (float32 copies), and the loss then."""

    update: int
    loss: float
    params: list[np.ndarray]

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.params)


class SequenceTask(Task):
    """The open sequence as a task: pieces of ``length`` steps cut from it at random, and
    at every step of a piece the next step to predict: its values (numbers: squared error)
    or its token (text or DNA, one-hot: which token comes next)."""

    name = SEQUENCE

    def __init__(self, sequence, length: int | None = None):
        values = np.asarray(sequence.values, dtype=np.float32)
        lengths = (
            np.full(values.shape[0], values.shape[1])
            if sequence.lengths is None
            else np.asarray(sequence.lengths, dtype=np.int64)
        )
        longest = int(lengths.max()) if len(lengths) else 0
        if longest < 3:
            raise InputError("the open sequence is too short to learn from: it needs at least 3 steps")
        if not np.isfinite(values).all():
            raise InputError("the open sequence has missing or infinite values: fill them before training on it")
        length = min(int(length or min(100, longest - 1)), longest - 1)
        super().__init__(max(length, 2))
        self.values, self.lengths = values, lengths
        self.feature_names = list(sequence.feature_names) or [f"x{k}" for k in range(values.shape[2])]
        one_hot = sequence.vocabulary is not None and len(sequence.vocabulary) == values.shape[2]
        self.kind = "classification" if one_hot else "regression"
        if one_hot:
            self.vocabulary = list(sequence.vocabulary)
            self.output_labels = list(sequence.vocabulary)
            self.description = "Predict the next token of the open sequence."
        else:
            self.output_labels = [f"next {name}" for name in self.feature_names]
            self.description = "Predict the next step of the open sequence."
        self.usable = np.flatnonzero(lengths > self.length)  # sequences long enough for a piece
        if not len(self.usable):
            self.length = int(lengths.max()) - 1
            self.usable = np.flatnonzero(lengths > self.length)

    def batch(self, rng, batch_size):
        B, T = batch_size, self.length
        rows = self.usable[rng.integers(0, len(self.usable), B)]
        starts = rng.integers(0, self.lengths[rows] - T)  # the piece and the step after it fit
        index = starts[:, None] + np.arange(T + 1)[None, :]
        pieces = self.values[rows[:, None], index]  # (B, T + 1, D)
        x = pieces[:, :-1]
        following = pieces[:, 1:]
        mask = np.ones((B, T), np.float32)
        if self.kind == "classification":
            targets = following.argmax(axis=2)
            mask *= following.any(axis=2)  # a step of no known token teaches nothing
            return Batch(np.ascontiguousarray(x), targets, mask)
        return Batch(np.ascontiguousarray(x), np.ascontiguousarray(following), mask)


def make_task(spec: TrainSpec, sequence=None) -> Task:
    if spec.task == SEQUENCE:
        if sequence is None:
            raise InputError("no sequence is open to train on")
        return SequenceTask(sequence, spec.length)
    if spec.min_length is not None and spec.task != "adding":
        raise InputError("only the adding task draws a length for each batch")
    options = {"min_length": spec.min_length} if spec.min_length is not None else {}
    return get_task(spec.task, spec.length, **options)


class Training:
    """One training run (see the module's text). Read ``losses``, ``heldout``,
    ``snapshots`` from any thread while it runs: they only grow."""

    def __init__(self, spec: TrainSpec, sequence=None):
        from lstm_viz.engine import LSTM, RNN

        spec.check()
        self.spec = spec
        self.task = make_task(spec, sequence)
        network = LSTM if spec.kind == "lstm" else RNN
        self.model = network.random(self.task.input_size, [spec.hidden] * spec.layers, seed=spec.seed)
        # the readout made now (the trainer would make it at its first update): the untrained
        # model of the first snapshot predicts too
        self.model.readout = Readout.random(
            self.model.output_size,
            self.task.output_size,
            np.random.default_rng(spec.seed),
            kind=self.task.kind,
            labels=self.task.output_labels,
        )
        self.heldout_batch = self.task.batch(np.random.default_rng(10_000 + spec.seed), spec.heldout)
        self.losses: list[float] = []
        self.heldout: list[tuple[int, float]] = []
        self.snapshots: list[Snapshot] = []
        self.seconds = 0.0
        self.done = False
        self.cancelled = False
        self._running = threading.Event()
        self._running.set()
        self.hold_until = 0.0  # time.monotonic() until which the run waits between updates (see give_way)
        self._next_grant = 0.0
        self._held_since = 0.0

    # -- control (any thread) ----------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def give_way(self, seconds: float) -> None:
        """Wait between updates for ``seconds`` from now, or until :meth:`go_on` (the window
        is busy showing a step: the run and the window share Python's lock, and a step drawn
        while an update runs took twice as long). Never more than half the time: after a
        wait the run is not asked again before it has run as long as it waited, so a window
        stepping without a pause slows the training, it does not stop it."""
        now = time.monotonic()
        if now >= self._next_grant and now >= self.hold_until:
            self._held_since = now
            self.hold_until = now + seconds
            self._next_grant = now + 2 * seconds

    def go_on(self) -> None:
        """The window has drawn what it was waiting for: the run goes on at once."""
        now = time.monotonic()
        if self.hold_until > now:
            self.hold_until = 0.0
            self._next_grant = now + (now - self._held_since)

    @property
    def updates(self) -> int:
        return len(self.losses)

    # -- the run (a worker thread) -----------------------------------------------------------
    def run(self, progress=None, cancel=None) -> Training:
        """Train to ``spec.steps`` updates (or until ``cancel()``); ``progress(done, total)``
        after each update. Returns itself."""
        spec = self.spec
        stop = cancel or (lambda: False)
        self._keep(0, float("nan"))  # the untrained model
        self._measure(0)
        start = time.perf_counter()

        def each(report) -> None:
            self.losses.append(report.loss)
            step = report.step
            if step % spec.heldout_every == 0 or step == spec.steps:
                self._measure(step)
            if step % spec.snapshot_every == 0 or step == spec.steps:
                self._keep(step, report.loss)
            if progress is not None:
                progress(step, spec.steps)
            while not self._running.is_set() and not stop():  # paused: between two updates
                self._running.wait(0.05)
            while time.monotonic() < self.hold_until and not stop():  # the window's turn
                time.sleep(0.002)

        try:
            result = train(
                self.model,
                self.task,
                steps=spec.steps,
                batch_size=spec.batch_size,
                lr=spec.lr,
                seed=spec.seed,
                callback=each,
                cancel=stop,
            )
        finally:
            self.seconds = time.perf_counter() - start
        self.cancelled = result.cancelled
        if self.updates and (not self.snapshots or self.snapshots[-1].update != self.updates):
            self._keep(self.updates, self.losses[-1])  # what it learnt up to the stop
            self._measure(self.updates)
        if self.task.name == SEQUENCE:
            self.model.metadata["task"] = "next step of the open sequence"
        self.model.metadata.setdefault("training", {})["kind"] = spec.kind
        self.done = True
        return self

    def _measure(self, update: int) -> None:
        batch = self.heldout_batch
        loss, _, _ = readout_loss(self.model.readout, self.model.run(batch.x).output, batch)
        self.heldout.append((update, float(loss)))

    def _arrays(self, model) -> list[np.ndarray]:
        return iter_parameters(model) + [model.readout.W, model.readout.b]

    def _keep(self, update: int, loss: float) -> None:
        self.snapshots.append(Snapshot(update, float(loss), [p.astype(np.float32) for p in self._arrays(self.model)]))

    # -- what it learnt ---------------------------------------------------------------------
    def model_at(self, index: int):
        """The model as it was at snapshot ``index`` (a copy: the run goes on unchanged)."""
        snapshot = self.snapshots[index]
        model = copy.deepcopy(self.model)
        for target, saved in zip(self._arrays(model), snapshot.params, strict=True):
            target[...] = saved
        model.touch()
        model.metadata = dict(model.metadata)
        model.metadata["snapshot"] = {"update": snapshot.update, "of": self.spec.steps}
        return model

    def save(self, index: int, path: str) -> str:
        """Save the model of snapshot ``index`` as an lstm-viz model file (``.npz`` added
        when missing); the path written."""
        from lstm_viz.io import save_model

        path = str(path)
        if not path.lower().endswith(".npz"):
            path += ".npz"
        save_model(self.model_at(index), path)
        return path

    def example(self) -> np.ndarray:
        """A sequence to watch the training on: the task's own example (for the open
        sequence, its first sequence)."""
        if self.task.name == SEQUENCE:
            return self.task.values[:1, : int(self.task.lengths[0])]
        return self.task.example(seed=7).x[None]


__all__ = ["SEQUENCE", "Snapshot", "SequenceTask", "TrainSpec", "Training", "make_task"]


WATCHED_STEPS = 5000  # the open sequence is watched on its first steps (each snapshot traces them)


def watched_sequence(training: Training, sequence=None):
    """The sequence the snapshots are shown on: the task's own example (the one the
    Examples menu shows), or the open sequence (its first sequence, at most
    :data:`WATCHED_STEPS` steps)."""
    from lstm_viz.engine.sequence import Sequence

    task = training.task
    if task.name == SEQUENCE:
        if sequence is None:
            raise InputError("the open sequence is needed to show what was learnt on it")
        steps = int(min(task.lengths[0], WATCHED_STEPS))
        labels = list(sequence.batch_labels[0][:steps])
        return Sequence(
            values=np.ascontiguousarray(task.values[:1, :steps]),
            labels=labels,
            feature_names=list(task.feature_names),
            encoding=sequence.encoding,
            vocabulary=None if sequence.vocabulary is None else list(sequence.vocabulary),
            kind=sequence.kind,
        )
    example = task.example(seed=7)
    return Sequence(
        values=example.x[None].astype(np.float32),
        labels=list(example.labels),
        feature_names=list(task.feature_names),
        encoding="one-hot characters" if task.vocabulary is not None else "numeric",
        vocabulary=None if task.vocabulary is None else list(task.vocabulary),
        kind="text" if task.vocabulary is not None else "numbers",
    )
