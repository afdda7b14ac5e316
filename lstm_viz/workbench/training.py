"""Training a model while the window shows it: a run with loss curves, snapshots, pause,
cancel; and the loaded sequence as a task of its own. No Qt here.

A :class:`Training` is made from a :class:`TrainSpec` (a built-in task, or the sequence
that is open: predict its next step, or its next character or base), trains with the
engine's trainer (:func:`lstm_viz.engine.train.train`: the same updates as ``lstm-viz
train``) in whatever thread calls :meth:`Training.run`, or in a child process with
:meth:`Training.run_in_child` (the window's way: a thread would share Python's lock with
the window), and records as it goes:

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

import contextlib
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
        where = f"{sequence.source}: " if getattr(sequence, "source", None) else ""  # the file, when it has one
        if longest < 3:
            raise InputError(
                f"{where}the open sequence is too short to learn from: {longest} steps, it needs at least 3"
            )
        if not np.isfinite(values).all():
            raise InputError(f"{where}the open sequence has missing or infinite values: fill them before training")
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
        self._sequence = sequence  # (a run in a child process makes its own task from it)
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

    # -- control (any thread) ----------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

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

    # -- the run in a child process (the window's) ------------------------------------------------
    def run_in_child(self, progress=None, cancel=None) -> Training:
        """As :meth:`run`, in a child process: the same updates (the child makes this run
        again from its spec and seed), while this thread only takes in what it sends (each
        update's loss, the held-out losses, the snapshots, then the trained parameters).
        A window's thread and a training thread share Python's lock: a step drawn while an
        update ran waited for it; a process shares nothing. Pause, resume and cancel work
        as in :meth:`run`."""
        stop = cancel or (lambda: False)
        context = _context()
        receive, send = context.Pipe(duplex=False)
        running, cancelled = context.Event(), context.Event()
        running.set()
        child = context.Process(
            target=_child_run,
            args=(self.spec, self._sequence, send, running, cancelled),
            name="lstm-viz training",
            daemon=True,
        )
        start = time.perf_counter()
        child.start()
        send.close()  # (the child holds its end: when it ends, recv sees the end)
        finished = None
        try:
            while finished is None:
                if stop():
                    cancelled.set()
                    running.set()
                if self.paused and running.is_set():
                    running.clear()
                elif not self.paused and not running.is_set():
                    running.set()
                if not receive.poll(0.05):
                    if not child.is_alive() and not receive.poll(0):
                        raise InputError(f"the training stopped unexpectedly (exit code {child.exitcode})")
                    continue
                try:
                    kind, payload = receive.recv()
                except EOFError:
                    raise InputError(f"the training stopped unexpectedly (exit code {child.exitcode})") from None
                if kind == "progress":
                    losses, heldout, snapshots = payload
                    self.heldout.extend(heldout)
                    self.snapshots.extend(snapshots)
                    self.losses.extend(losses)  # last: a reader seeing N updates finds their snapshots
                    if progress is not None:
                        progress(self.updates, self.spec.steps)
                elif kind == "error":
                    raise InputError(payload)
                else:
                    finished = payload
        finally:
            if child.is_alive():
                cancelled.set()
                running.set()
                child.join(5)
                if child.is_alive():
                    child.kill()
            child.join(1)
            receive.close()
            self.seconds = time.perf_counter() - start
        params, metadata, was_cancelled = finished
        for target, learnt in zip(self._arrays(self.model), params, strict=True):
            target[...] = learnt
        self.model.touch()
        self.model.metadata = metadata
        self.cancelled = was_cancelled
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


# -- the child process ------------------------------------------------------------------------
SEND_EVERY = 0.05  # seconds between the child's reports (a few hundred updates a second in each)


def _context():
    """Children forked from a server process started once, with the engine imported (a
    window's process has Qt's threads: forking it is not safe; a fresh interpreter for each
    run would take a third of a second)."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():  # (Windows): a fresh interpreter
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lstm_viz.workbench.training"])
    return context


def warm_up() -> None:
    """Start the server the training children are forked from (in the background of a
    dialog, so the first run starts at once)."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _child_run(spec, sequence, send, running, cancelled) -> None:
    """The child: the same run as Training.run, reporting what it adds every SEND_EVERY
    seconds (and at every snapshot), then the trained parameters."""
    try:
        training = Training(spec, sequence)
        training._running = running  # the window's pause and resume: Training.run waits on it
        sent = [0, 0, 0]  # losses, held-out losses and snapshots sent so far
        last = [time.perf_counter()]

        def report(force=False):
            lists = (training.losses, training.heldout, training.snapshots)
            now = time.perf_counter()
            if not force and now - last[0] < SEND_EVERY and len(training.snapshots) == sent[2]:
                return
            last[0] = now
            send.send(("progress", tuple(items[start:] for items, start in zip(lists, sent, strict=True))))
            sent[:] = [len(items) for items in lists]

        def progress(done, total):
            report()

        from lstm_viz.engine import blas

        # a small model's products gain nothing from a second BLAS thread, whose waiting
        # spins on the core the window draws on: held to one, as its step loop would be
        small = blas.step_thread_count(spec.batch_size, spec.hidden, spec.hidden) == 1
        with blas.single_thread() if small else contextlib.nullcontext():
            training.run(progress, cancelled.is_set)
        report(force=True)
        send.send(("done", (training._arrays(training.model), training.model.metadata, training.cancelled)))
    except Exception as exc:  # noqa: BLE001 - said to the window, which shows it
        send.send(("error", str(exc) or type(exc).__name__))
    finally:
        send.close()


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
