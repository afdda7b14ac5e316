"""Stacked (and bidirectional) recurrent networks: ``LSTM`` and the plain tanh ``RNN``."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lstm_viz import environment, limits
from lstm_viz.engine import blas
from lstm_viz.engine.kernel import (
    DirectionRecord,
    InputPart,
    Stage,
    StorageOverflow,
    check_cancel,
    drain,
    lstm_chunks,
    prepare_lstm,
    prepare_rnn,
    rnn_chunks,
    storage_width,
)
from lstm_viz.engine.layer import LSTMLayer
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.rnn_layer import RNNLayer
from lstm_viz.engine.schedule import Watermarks, run_concurrently
from lstm_viz.engine.storage import Feed, Store, allocate, checkpoint_bytes, checkpoints_for
from lstm_viz.engine.trace import LayerTrace, Trace
from lstm_viz.errors import InputError, ModelError

Progress = Callable[[int, int], None]
"""progress(steps_done, steps_total); may be called from the engine's worker threads."""

CONCURRENT_MIN_WORK = 1 << 18
"""Steps x batch x units from which layer directions run in threads (a thread costs ~0.1 ms)."""


@dataclass
class _Plan:
    """Where and how a run stores its trace (decided by ``_Network._check_memory``)."""

    dtype: np.dtype  # the storage dtype
    where: str = "memory"  # or "disk"
    feeds_on_disk: bool = False  # the exact hidden a rounded run feeds the layer above, when huge

    def rounded(self, run_dtype) -> bool:
        """Whether storage rounds the run's values (checkpoints kept, exact hidden fed upwards)."""
        return self.dtype != run_dtype

    def staged(self, run_dtype) -> bool:
        """Whether the kernel computes each chunk into a scratch block before storing it."""
        return self.rounded(run_dtype) or self.where == "disk"


def _interleave(chunks: dict, below: dict, done: dict, reverse: dict, T: int) -> None:
    """Run the directions' chunk generators in one thread, a chunk at a time.

    Each turn resumes, among the directions whose input holds the steps of their next
    chunk, the one that has done the fewest steps (the lowest layer on a tie), so the
    layers of a stack advance together instead of one after the other.
    """

    def covers(key, t0: int, t1: int) -> bool:
        n = done[key]
        return T - n <= t0 if reverse[key] else n >= t1

    pending = {key: next(generator) for key, generator in chunks.items()}  # every direction has >= 1 chunk
    while pending:
        ready = [key for key, (t0, t1) in pending.items() if all(covers(b, t0, t1) for b in below[key])]
        key = min(ready, key=lambda k: done[k])
        try:
            pending[key] = next(chunks[key])
        except StopIteration:
            del pending[key]


def _check_matrix(name: str, value) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{name} is not a numeric array: {exc}") from None
    if array.ndim != 2 or 0 in array.shape:
        raise ModelError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ModelError(f"{name} holds NaN or infinite values")
    return array


def _check_array(name: str, value, dtype) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not a numeric array: {exc}") from None
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise InputError(f"{name} holds NaN or infinite values (first at index {tuple(int(i) for i in bad)})")
    return array


def _check_finite_states(layers: list[LayerTrace], projected: list[bool]) -> None:
    """Refuse a run whose states overflowed (huge inputs times huge weights), naming where.

    A NaN in a state never goes away: the cell carries it (f * NaN, clip(NaN)) and the next
    step's pre-activations take it from h. And the cell cannot reach infinity from finite
    values (|c_t| <= |c_{t-1}| + 1). So the last step computed holds a non-finite value
    whenever any step does, and only it is read, except where a projection can make h
    infinite for a while: those layers are read whole (one pass, no copy). Only when
    something is not finite is the first bad step looked for.
    """
    for index, layer in enumerate(layers):
        for direction in layer.directions():
            last = 0 if direction.reverse_time else direction.hidden.shape[1] - 1
            states = [value for value in (direction.cell, direction.hidden) if value is not None]
            if projected[index]:
                # a float64 sum of float32 values cannot overflow: finite exactly when all are
                fine = all(np.isfinite(value.sum(dtype=np.float64)) for value in states)
            else:
                fine = all(np.isfinite(value[:, last]).all() for value in states)
            if fine:
                continue
            bad = None
            for value in states:
                here = ~np.isfinite(value).all(axis=2)  # (B, T)
                bad = here if bad is None else bad | here
            steps = np.nonzero(bad.any(axis=0))[0]
            t = int(steps[-1] if direction.reverse_time else steps[0])  # the first step computed
            b = int(np.argmax(bad[:, t]))
            side = " (reverse)" if direction.reverse_time else ""
            raise ModelError(
                f"the states became infinite or NaN at step {t} of sequence {b}, layer {index}{side}: "
                "the inputs or weights are too large for float32; scale the inputs or run in float64"
            )


class _Network:
    """Shared machinery of LSTM and RNN: layers, validation, running, gradients."""

    layer_type: type = LSTMLayer
    kind = "lstm"

    def __init__(
        self,
        layers: Sequence,
        *,
        readout: Readout | None = None,
        embedding=None,
        metadata: dict | None = None,
    ):
        entries = []
        for index, entry in enumerate(layers):
            directions = tuple(entry) if isinstance(entry, (tuple, list)) else (entry,)
            if len(directions) not in (1, 2):
                raise ModelError(
                    f"layer {index}: a bidirectional entry is a pair (forward, backward), got {len(directions)} layers"
                )
            for direction in directions:
                if not isinstance(direction, self.layer_type):
                    raise ModelError(
                        f"layer {index}: expected {self.layer_type.__name__}, got {type(direction).__name__}"
                    )
            if len(directions) == 2 and directions[0].input_size != directions[1].input_size:
                raise ModelError(
                    f"layer {index}: forward and backward directions read different input widths "
                    f"({directions[0].input_size} and {directions[1].input_size})"
                )
            entries.append(directions)
        if not entries:
            raise ModelError("a network needs at least one layer")
        for index in range(1, len(entries)):
            below = sum(d.output_size for d in entries[index - 1])
            if entries[index][0].input_size != below:
                raise ModelError(
                    f"layer {index} expects input width {entries[index][0].input_size} but layer {index - 1} "
                    f"outputs {below}"
                )
        self._entries = entries
        self.readout = readout
        if readout is not None and readout.input_size != self.output_size:
            raise ModelError(
                f"readout expects {readout.input_size} features but the network outputs {self.output_size}"
            )
        self.embedding = None
        if embedding is not None:
            embedding = _check_matrix("embedding", embedding)
            if embedding.shape[1] != self.layer_input_size:
                raise ModelError(
                    f"embedding vectors have {embedding.shape[1]} features but layer 0 reads {self.layer_input_size}"
                )
            self.embedding = embedding
        self.metadata = dict(metadata or {})
        self.initial_state = None
        """A state the model file came with (ONNX initial_h/initial_c), for ``run(x, model.initial_state)``."""
        self._cache: dict = {}

    # -- structure ----------------------------------------------------------------
    @property
    def layers(self) -> list:
        """Each entry a layer, or a (forward, backward) pair for a bidirectional layer."""
        return [d[0] if len(d) == 1 else d for d in self._entries]

    @property
    def num_layers(self) -> int:
        return len(self._entries)

    def directions(self, index: int) -> tuple:
        """The layer(s) of entry ``index``: (layer,) or (forward, backward)."""
        return self._entries[index]

    def is_bidirectional(self, index: int) -> bool:
        return len(self._entries[index]) == 2

    @property
    def input_size(self) -> int:
        """Features per input step: the vocabulary size with an embedding, else layer 0's D."""
        return self.layer_input_size if self.embedding is None else self.embedding.shape[0]

    @property
    def layer_input_size(self) -> int:
        """D, the width layer 0 reads (after any embedding)."""
        return self._entries[0][0].input_size

    @property
    def hidden_sizes(self) -> list[int]:
        return [d[0].hidden_size for d in self._entries]

    @property
    def output_size(self) -> int:
        return sum(d.output_size for d in self._entries[-1])

    def all_layers(self) -> list:
        return [layer for entry in self._entries for layer in entry]

    def touch(self) -> None:
        """Call after changing parameters in place."""
        for layer in self.all_layers():
            layer.touch()
        self._cache.clear()

    def __repr__(self) -> str:
        parts = []
        for entry in self._entries:
            parts.append(repr(entry[0]) if len(entry) == 1 else f"Bidirectional({entry[0]!r}, {entry[1]!r})")
        return f"{type(self).__name__}([{', '.join(parts)}])"

    # -- running ------------------------------------------------------------------
    def _prepared(self, index: int, direction: int, dtype):
        layer = self._entries[index][direction]
        if index == 0:
            splits = [layer.input_size]
        else:
            splits = [d.output_size for d in self._entries[index - 1]]
        key = (index, direction, np.dtype(dtype).str, layer.version)
        prepared = self._cache.get(key)
        if prepared is None:
            for name, value in layer.parameters().items():
                if not np.all(np.isfinite(value)):
                    where = f"layer {index}" + (" (reverse)" if direction else "")
                    raise ModelError(f"{where}: {name} holds NaN or infinite values")
            prepare = prepare_lstm if self.kind == "lstm" else prepare_rnn
            self._cache = {k: v for k, v in self._cache.items() if k[:3] != key[:3]}
            prepared = self._cache[key] = prepare(layer, dtype, splits)
        return prepared

    def check_input(self, x, dtype=np.float32) -> np.ndarray:
        """Validate x and return it as (B, T, D) in ``dtype``."""
        x = _check_array("input", x, dtype)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise InputError(f"input must be (T, D) or (B, T, D), got shape {x.shape}")
        B, T, D = x.shape
        if B == 0:
            raise InputError("input holds no sequences (batch size 0)")
        if T == 0:
            raise InputError("input sequence is empty (0 timesteps)")
        if D != self.input_size:
            raise InputError(
                f"input has {D} features per step but the model's first layer expects {self.input_size}; "
                "use a sequence with that many features or a model made for this one"
            )
        return x

    def _initial_states(self, initial_state, B: int, dtype) -> list[list[tuple]]:
        if initial_state is None:
            initial_state = [None] * self.num_layers
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != self.num_layers:
            raise InputError(f"initial_state must be a list with one entry per layer ({self.num_layers})")
        states = []
        for index, (entry, given) in enumerate(zip(self._entries, initial_state)):
            if given is None:
                given = [None] * len(entry)
            elif len(entry) == 1:
                given = [given]
            elif not (isinstance(given, (list, tuple)) and len(given) == 2):
                raise InputError(
                    f"initial_state[{index}] of a bidirectional layer must be ((h0, c0), (h0_reverse, c0_reverse))"
                )
            per_direction = []
            for direction, (layer, state) in enumerate(zip(entry, given)):
                where = f"initial_state[{index}]" + ("[1] (reverse)" if direction else "")
                per_direction.append(self._one_state(layer, state, B, dtype, where))
            states.append(per_direction)
        return states

    def _one_state(self, layer, state, B, dtype, where):
        zeros_h = np.zeros((B, layer.output_size), dtype)
        zeros_c = np.zeros((B, layer.hidden_size), dtype) if self.kind == "lstm" else None
        if state is None:
            return zeros_h, zeros_c
        if self.kind == "lstm":
            if not (isinstance(state, (list, tuple)) and len(state) == 2):
                raise InputError(f"{where} must be a pair (h0, c0)")
            h0, c0 = state
        else:
            h0, c0 = (state[0] if isinstance(state, (list, tuple)) else state), None
        h0 = _check_array(f"{where} h0", h0, dtype)
        h0 = h0[None] if h0.ndim == 1 else h0
        if h0.shape != zeros_h.shape:
            raise InputError(f"{where} h0 must be (B, H_out) = {zeros_h.shape}, got {h0.shape}")
        if c0 is not None:
            c0 = _check_array(f"{where} c0", c0, dtype)
            c0 = c0[None] if c0.ndim == 1 else c0
            if c0.shape != zeros_c.shape:
                raise InputError(f"{where} c0 must be (B, H) = {zeros_c.shape}, got {c0.shape}")
        else:
            c0 = zeros_c
        return np.ascontiguousarray(h0), (None if c0 is None else np.ascontiguousarray(c0))

    def run(
        self,
        x,
        initial_state=None,
        *,
        dtype=np.float32,
        progress: Progress | None = None,
        cancel: Callable[[], bool] | None = None,
        store: Store | None = None,
        started: Callable[[Trace], None] | None = None,
    ) -> Trace:
        """Run the network on x, (T, D) or (B, T, D), recording every gate and state.

        ``initial_state``: one entry per layer, ``(h0, c0)`` with shapes (B, H_out) and
        (B, H), or for a bidirectional layer ``((h0, c0), (h0_reverse, c0_reverse))``;
        None (or a None entry) is a zero state. ``dtype`` float32 (default) or float64.
        ``progress(done, total)`` is called after each chunk of timesteps; ``cancel()``
        returning True stops the run with :class:`~lstm_viz.errors.Cancelled`.

        ``store`` (:class:`~lstm_viz.engine.storage.Store`): the trace in float16, or in a
        file when larger than a budget; without one the trace is kept in memory in
        ``dtype`` and a run over the memory limit is refused. ``started(trace)`` is called
        from the running thread once the storage exists, before the first step, with the
        trace being filled: ``trace.computed`` steps of it are final, growing chunk by
        chunk (the layers of a stack then advance together).
        """
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise InputError(f"dtype must be float32 or float64, got {dtype}")
        x = self.check_input(x, dtype)
        embedded = None
        if self.embedding is not None:
            embedded = x @ self.embedding.astype(dtype)
        B, T, _ = x.shape
        plan = self._check_memory(B, T, dtype, store)
        states = self._initial_states(initial_state, B, dtype)
        keys = [(index, d) for index, entry in enumerate(self._entries) for d in range(len(entry))]
        shapes = [(T, self._width(*key), B) for key in keys]
        what = self._recording(B, T)
        feed_bytes = self._feed_bytes(B, T, dtype, plan) if plan.feeds_on_disk else 0
        allocation = allocate(shapes, plan.dtype, plan.where, store, what, extra_disk=feed_bytes)
        try:
            return self._record(x, embedded, states, dtype, plan, allocation, progress, cancel, started)
        except BaseException:
            allocation.discard()
            raise

    def _record(self, x, embedded, states, dtype, plan, allocation, progress, cancel, started) -> Trace:
        """Record into ``allocation``'s arrays (one per layer direction) as ``plan`` says."""
        B, T, _ = x.shape
        keys = [(index, d) for index, entry in enumerate(self._entries) for d in range(len(entry))]
        storage = dict(zip(keys, allocation.arrays))
        pages = dict(zip(keys, allocation.pages))
        reverse = {key: self._reverse(*key) for key in keys}
        rounded, staged = plan.rounded(dtype), plan.staged(dtype)
        trace = self._empty_trace(x, embedded, states, dtype, plan, allocation, storage)
        layers = trace.layers

        total = T * len(keys)
        concurrent = self._run_concurrently(B, T)
        if concurrent:  # BLAS on one thread (see below): a re-run from the checkpoints does the same
            trace.meta["blas_one_thread"] = True
        marks = Watermarks(T)
        lock = threading.Lock()
        done = 0
        steps_done = dict.fromkeys(keys, 0)
        streams = not any(reverse.values())  # a backward direction finishes step 0 last

        def tick_for(key):
            def tick(n):
                nonlocal done
                with lock:
                    done += n
                    so_far = done
                    steps_done[key] += n
                    if streams:
                        trace.computed = min(steps_done.values())
                if concurrent:
                    marks.check()
                    marks.advance(key, n)
                check_cancel(cancel)
                if progress is not None:
                    progress(so_far, total)

            return tick

        record = lstm_chunks if self.kind == "lstm" else rnn_chunks
        parts_below = [InputPart(x if embedded is None else embedded, feature_major=False)]
        below: list = []
        chunks, needs = {}, {}
        for index, entry in enumerate(self._entries):
            readers_above = len(self._entries[index + 1]) if index + 1 < self.num_layers else 0
            feeds = []
            for d, layer in enumerate(entry):
                key = (index, d)
                marks.register(key, reverse=reverse[key])
                width = self._width(index, d)
                out = storage[key][:, width - layer.output_size :]  # what the layer above reads
                h0, c0 = states[index][d]
                kwargs = dict(reverse=reverse[key], tick=tick_for(key), storage=storage[key])
                if staged:
                    stage = kwargs["stage"] = Stage(
                        limit=float(np.finfo(plan.dtype).max),
                        written=None if pages[key] is None else pages[key].drop,
                        label=f"layer {index}" + (" (reverse)" if d else ""),
                    )
                    checkpoints = layers[index].directions()[d].checkpoints
                    if checkpoints is not None:
                        stage.checkpoint_hidden, stage.checkpoint_cell = checkpoints.hidden, checkpoints.cell
                        stage.every = checkpoints.every
                    if readers_above and rounded:  # the layer above reads the exact hidden, not the rounded one
                        shape = (T, layer.output_size, B)
                        stage.exact, exact_pages = allocation.scratch(shape, dtype, plan.feeds_on_disk)
                        out = Feed(stage.exact, exact_pages, readers_above)
                    elif readers_above:  # on disk: pages are given back once the layer above has read them
                        out = Feed(out, pages[key], readers_above)
                if concurrent:
                    kwargs["threads"] = contextlib.nullcontext
                    if below:
                        kwargs["ready"] = functools.partial(marks.wait, below)
                else:
                    kwargs["threads"] = blas.step_threads(B, layer.output_size, layer.hidden_size)
                parts = [part.readers[d] if isinstance(part, Feed) else part for part in parts_below]
                chunks[key] = record(self._prepared(index, d, dtype), parts, h0, c0, T, **kwargs)
                needs[key] = below
                feeds.append(out if isinstance(out, Feed) else InputPart(out, feature_major=True))
            below = [(index, d) for d in range(len(entry))]
            parts_below = feeds

        if started is not None:
            started(trace)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflowing states are refused below
                if concurrent:
                    with blas.single_thread():
                        run_concurrently([functools.partial(drain, c) for c in chunks.values()], marks)
                elif self.num_layers > 1 and (started is not None or staged):
                    # streamed: every layer's first steps come early; staged: the exact hidden
                    # fed upwards (or the file's pages) is read while it is fresh, then let go
                    _interleave(chunks, needs, steps_done, reverse, T)
                else:
                    for generator in chunks.values():
                        drain(generator)
        except StorageOverflow as exc:
            raise self._overflow_error(exc, dtype, plan.dtype) from None
        if not staged:  # a staged run checked every chunk as it stored it
            _check_finite_states(layers, [getattr(entry[0], "W_proj", None) is not None for entry in self._entries])
        trace.computed = T
        return trace

    def _empty_trace(self, x, embedded, states, dtype, plan: _Plan, allocation, storage: dict) -> Trace:
        """The trace before the first step: its arrays are the storage the run fills."""
        B, T, _ = x.shape
        layers = []
        for index, entry in enumerate(self._entries):
            traces = []
            for d, layer in enumerate(entry):
                h0, c0 = states[index][d]
                initial_cell = None if c0 is None else np.array(c0, dtype=dtype)
                reverse = self._reverse(index, d)
                record = DirectionRecord(
                    storage[(index, d)], layer.hidden_size, np.array(h0, dtype=dtype), initial_cell, reverse,
                    is_lstm=self.kind == "lstm",
                )  # fmt: skip
                traces.append(self._layer_trace(record, layer))
                if plan.rounded(dtype):
                    traces[-1].checkpoints = checkpoints_for(
                        T, B, self._width(index, d), layer.hidden_size, layer.output_size, dtype, reverse,
                        self.kind == "lstm",
                    )  # fmt: skip
            if len(traces) == 2:
                traces[0].reverse = traces[1]
            layers.append(traces[0])
        where = {"where": plan.where, "dtype": plan.dtype.name}
        if plan.where == "disk":
            where["path"] = allocation.path
        trace = Trace(x, layers, {"model": repr(self), "dtype": dtype.name, "storage": where})
        trace.embedded = embedded
        allocation.bind(trace)
        trace.computed = 0
        return trace

    @staticmethod
    def _overflow_error(exc: StorageOverflow, dtype, storage_dtype) -> ModelError:
        where = f"at step {exc.step} of sequence {exc.batch}, {exc.label}"
        if not exc.finite:
            return ModelError(
                f"the states became infinite or NaN {where}: the inputs or weights are too large for float32; "
                "scale the inputs or run in float64"
            )
        limit = float(np.finfo(storage_dtype).max)
        return ModelError(
            f"a state reached {exc.value:.6g} {where}, beyond what {storage_dtype.name} holds (±{limit:g}); "
            f"store the trace in {np.dtype(dtype).name}"
        )

    def _width(self, index: int, direction: int) -> int:
        layer = self._entries[index][direction]
        return storage_width(self.kind, layer.hidden_size, layer.output_size)

    def _reverse(self, index: int, direction: int) -> bool:
        entry = self._entries[index]
        return bool(direction) or (len(entry) == 1 and getattr(entry[0], "go_backwards", False))

    def _recording(self, B: int, T: int) -> str:
        return f"recording {B} x {T} steps through layers of {self.hidden_sizes} units"

    def _feed_bytes(self, B: int, T: int, dtype, plan: _Plan) -> int:
        """Most bytes the exact hidden fed to the layers above can take at once in a rounded run.

        The layer above takes each chunk soon after it is stored (in one thread the layers
        take turns; in threads, as far as the layer below runs ahead), so the copy stays
        small, except when a direction runs backwards: then a lower layer's whole output waits.
        """
        if not plan.rounded(dtype) or self.num_layers == 1:
            return 0
        if not any(self._reverse(i, d) for i, entry in enumerate(self._entries) for d in range(len(entry))):
            return 0
        lower = [layer.output_size for entry in self._entries[:-1] for layer in entry]
        return B * T * sum(lower) * np.dtype(dtype).itemsize

    def _check_memory(self, B: int, T: int, dtype, store: Store | None = None) -> _Plan:
        """Decide where the trace goes, before allocating it.

        Without a store: in memory, and a trace over the memory limit is refused. With one:
        in its dtype, in memory when the trace (and the exact hidden a float16 run feeds
        upwards) fits its budget, else in a file (refused only when the disk is too full).
        """
        dtype = np.dtype(dtype)
        width = sum(storage_width(self.kind, layer.hidden_size, layer.output_size) for layer in self.all_layers())
        embedded = 0 if self.embedding is None else self.layer_input_size
        if store is None:
            needed = B * T * (width + embedded) * dtype.itemsize
            limits.check(needed, self._recording(B, T))
            return _Plan(dtype)
        plan = _Plan(store.storage_dtype(dtype))
        needed = B * T * (width * plan.dtype.itemsize + embedded * dtype.itemsize)
        if plan.rounded(dtype):
            lstm = self.kind == "lstm"
            needed += sum(
                checkpoint_bytes(T, B, self._width(i, d), layer.hidden_size, layer.output_size, dtype, lstm)
                for i, entry in enumerate(self._entries)
                for d, layer in enumerate(entry)
            )
        feeds = self._feed_bytes(B, T, dtype, plan)
        budget = store.limit()
        if needed + feeds > budget:
            plan.where = "disk"
            plan.feeds_on_disk = feeds > budget
        return plan

    def _run_concurrently(self, B: int, T: int) -> bool:
        """Whether to run layer directions in threads: several of them and enough work."""
        forced = environment.layer_threads()
        if forced is not None:
            return forced
        directions = sum(len(entry) for entry in self._entries)
        work = T * B * sum(layer.hidden_size for layer in self.all_layers())
        return directions > 1 and (os.cpu_count() or 1) > 1 and work >= CONCURRENT_MIN_WORK

    @staticmethod
    def _layer_trace(rec, layer) -> LayerTrace:
        def batch_major(a):
            return a.transpose(2, 0, 1)

        if not rec.is_lstm:
            return LayerTrace(hidden=batch_major(rec.rows), initial_hidden=rec.initial_hidden, reverse_time=rec.reverse)
        return LayerTrace(
            cell=batch_major(rec.block(0)),
            candidate=batch_major(rec.block(1)),
            forget=batch_major(rec.block(2)),
            input=batch_major(rec.block(3)),
            output=batch_major(rec.block(4)),
            hidden=batch_major(rec.hidden),
            initial_hidden=rec.initial_hidden,
            initial_cell=rec.initial_cell,
            cell_clip=layer.cell_clip,
            reverse_time=rec.reverse,
        )

    def predict(self, trace: Trace) -> np.ndarray:
        """The readout's output for every step of ``trace``, (B, T, K)."""
        if self.readout is None:
            raise ModelError("this model has no readout")
        return self.readout.forward(trace.output)

    # -- gradients ----------------------------------------------------------------
    def backward(self, trace: Trace, d_output):
        """Backpropagation through time for a trace this model recorded.

        ``d_output`` is dL/d(trace.output), (B, T, output_size). Returns
        :class:`~lstm_viz.engine.backprop.Gradients`: every parameter's gradient and the
        total dL/dh_t and dL/dc_t of every layer at every step.
        """
        from lstm_viz.engine.backprop import backward

        return backward(self, trace, d_output)

    # -- construction -------------------------------------------------------------
    def copy(self):
        layers = [entry[0].copy() if len(entry) == 1 else (entry[0].copy(), entry[1].copy()) for entry in self._entries]
        readout = None if self.readout is None else self.readout.copy()
        return type(self)(layers, readout=readout, embedding=self.embedding, metadata=dict(self.metadata))


class LSTM(_Network):
    """A stack of LSTM layers (DESIGN.md's ``LSTM(layers)``).

    An entry of ``layers`` is an :class:`LSTMLayer` or a (forward, backward) pair whose
    output is [forward | backward] along features.
    """

    layer_type = LSTMLayer
    kind = "lstm"

    @classmethod
    def random(
        cls,
        input_size: int,
        hidden_sizes: Sequence[int] | int,
        seed: int = 0,
        *,
        bidirectional: bool = False,
        proj_sizes: Sequence[int | None] | None = None,
        peepholes: bool = False,
        **options,
    ) -> LSTM:
        """A randomly initialised stack (PyTorch's uniform init), reproducible from ``seed``."""
        rng = np.random.default_rng(seed)
        sizes = [hidden_sizes] if isinstance(hidden_sizes, int) else list(hidden_sizes)
        if not sizes or any(int(h) <= 0 for h in sizes) or int(input_size) <= 0:
            raise ModelError(f"sizes must be positive: input {input_size}, hidden {sizes}")
        projs = list(proj_sizes) if proj_sizes is not None else [None] * len(sizes)
        layers = []
        width = int(input_size)
        for h, p in zip(sizes, projs):
            make = lambda: LSTMLayer.random(width, int(h), rng, proj_size=p, peepholes=peepholes, **options)  # noqa: E731
            entry = (make(), make()) if bidirectional else make()
            layers.append(entry)
            width = (p or int(h)) * (2 if bidirectional else 1)
        return cls(layers)


class RNN(_Network):
    """A stack of plain tanh RNN layers with the same API as :class:`LSTM`, for comparison."""

    layer_type = RNNLayer
    kind = "rnn"

    @classmethod
    def random(cls, input_size: int, hidden_sizes, seed: int = 0, *, bidirectional: bool = False) -> RNN:
        rng = np.random.default_rng(seed)
        sizes = [hidden_sizes] if isinstance(hidden_sizes, int) else list(hidden_sizes)
        if not sizes or any(int(h) <= 0 for h in sizes) or int(input_size) <= 0:
            raise ModelError(f"sizes must be positive: input {input_size}, hidden {sizes}")
        layers = []
        width = int(input_size)
        for h in sizes:
            make = lambda: RNNLayer.random(width, int(h), rng)  # noqa: E731
            layers.append((make(), make()) if bidirectional else make())
            width = int(h) * (2 if bidirectional else 1)
        return cls(layers)
