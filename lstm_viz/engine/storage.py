"""Where a recorded trace lives: in memory or in a file, in the run's dtype or in float16.

A trace holds every gate and state of every step: a million steps of a 64-unit layer are
1.5 GB in float32. :class:`Store` is the policy a run takes (``LSTM.run(x, store=...)``):

- ``dtype="float16"`` halves the trace. The steps are still computed in the run's dtype
  (float32) in the kernel's scratch row; only the copy into storage rounds, once. A layer
  above reads the exact float32 hidden of the layer below, not the rounded one, so every
  stored value is the float32 run's value rounded once. Every ``CHECKPOINT_STEPS`` steps
  (about) the exact state of each layer direction is kept, so :func:`exact_states` can
  give the exact numbers of any step by re-running at most that many steps.
- ``budget``: a trace larger than it (default: :func:`lstm_viz.limits.max_bytes`, the
  limit that refuses runs without a store) is recorded into a ``np.memmap`` file in a
  fresh temporary folder, which is deleted when the trace is garbage collected and at
  interpreter exit. Written pages are given back to the system as the run goes, so the
  process's memory stays far below the trace's size (the system's page cache aside).
  Refusing then only happens when the disk has not enough free space.

A run without a store keeps the behaviour from before stores existed: the trace in
memory in the run's dtype, refused over the memory limit.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lstm_viz import limits
from lstm_viz.engine import blas
from lstm_viz.engine.kernel import InputPart, chunk_steps, record_lstm, record_rnn, storage_width
from lstm_viz.engine.trace import Checkpoints, Trace
from lstm_viz.errors import InputError

CHECKPOINT_STEPS = 1024
"""Checkpoints are kept every ``max(1, CHECKPOINT_STEPS // chunk)`` chunks: every K steps
with 512 < K <= 1024 (a chunk is at most 1024 steps), so that a re-run from one starts on
the run's own chunk boundaries and gives the run's exact numbers."""

RERUN_CACHE_BYTES = 64 << 20
"""Bytes of re-run segments :func:`exact_states` keeps per trace (stepping through a
segment re-runs it once)."""

STORAGE_DTYPES = ("float16", "float32", "float64")


@dataclass
class Store:
    """How a run stores its trace (``LSTM.run(x, store=Store(...))``).

    ``dtype``: the storage dtype (``"float16"``; None: the run's own). ``budget``: bytes
    from which the trace goes to a file instead of memory (None: the memory limit,
    :func:`lstm_viz.limits.max_bytes`). ``folder``: where the file's temporary folder is
    made (None: :func:`tempfile.gettempdir`).
    """

    dtype: str | None = None
    budget: int | None = None
    folder: str | None = None

    def storage_dtype(self, run_dtype) -> np.dtype:
        """The dtype the trace is stored in for a run in ``run_dtype``."""
        run_dtype = np.dtype(run_dtype)
        if self.dtype is None:
            return run_dtype
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype.name not in STORAGE_DTYPES:
            raise InputError(f"store dtype must be one of {', '.join(STORAGE_DTYPES)}, got {self.dtype!r}")
        if dtype.itemsize > run_dtype.itemsize:
            raise InputError(f"a run in {run_dtype.name} cannot be stored in the wider {dtype.name}")
        return dtype

    def limit(self) -> int:
        """The budget in bytes."""
        if self.budget is None:
            return limits.max_bytes()
        if int(self.budget) <= 0:
            raise InputError(f"the store's budget must be a positive number of bytes, got {self.budget!r}")
        return int(self.budget)

    def base_folder(self) -> str:
        return os.fspath(self.folder) if self.folder is not None else tempfile.gettempdir()


# -- pages ------------------------------------------------------------------------
_PAGE = mmap.PAGESIZE
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


class Pages:
    """The rows of an array mapped from a file or from anonymous memory, whose pages can be
    given back to the system: a file's (shared) pages stay in the file and come back when
    read again; anonymous memory's are freed, so only rows nobody reads again may go."""

    def __init__(self, mapping: mmap.mmap, offset: int, row_bytes: int):
        self.mapping, self.offset, self.row_bytes = mapping, offset, row_bytes

    def span(self, t0: int, t1: int, *, whole_pages_only: bool) -> tuple[int, int]:
        """The page-aligned bytes of rows [t0, t1): the pages they touch, or only those entirely inside."""
        start = self.offset + t0 * self.row_bytes
        stop = self.offset + t1 * self.row_bytes
        if whole_pages_only:
            return -(-start // _PAGE) * _PAGE, stop // _PAGE * _PAGE
        return start // _PAGE * _PAGE, min(len(self.mapping), -(-stop // _PAGE) * _PAGE)

    def give_back(self, start: int, stop: int) -> None:
        """Give back the pages of bytes [start, stop) (page-aligned)."""
        if _DONTNEED is None or stop <= start:
            return
        try:
            self.mapping.madvise(_DONTNEED, start, stop - start)
        except (OSError, ValueError):  # a closed or unusual mapping: the pages stay, nothing breaks
            pass

    def drop(self, t0: int, t1: int) -> None:
        """Give back the pages of written rows [t0, t1) of a file (they stay in the file)."""
        self.give_back(*self.span(t0, t1, whole_pages_only=False))


def _anonymous(shape, dtype) -> tuple[np.ndarray, Pages | None]:
    """A zero-filled array in private anonymous memory whose pages can be freed, else np.empty."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if _DONTNEED is None or not hasattr(mmap, "MAP_PRIVATE") or nbytes == 0:
        return np.empty(shape, dtype), None
    mapping = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE)
    array = np.frombuffer(mapping, dtype=dtype).reshape(shape)
    return array, Pages(mapping, 0, nbytes // shape[0])


class Feed:
    """A lower layer's hidden (T, H_out, B) as the layers above read it, chunk by chunk.

    Each reader (a direction of the layer above, ``readers`` of them) reads every step
    once, forwards or backwards; the pages of the rows every reader is past are given
    back (memory freed for the exact float32 copy a float16 run keeps, pages dropped for
    a file).
    """

    def __init__(self, array: np.ndarray, pages: Pages | None, readers: int):
        self.array = array
        self.pages = pages
        self._covered: list[tuple[int, int] | None] = [None] * readers
        self._given_back: tuple[int, int] | None = None  # bytes
        self._lock = threading.Lock()
        self.readers = [_FeedReader(self, k) for k in range(readers)]

    def _read(self, reader: int, t0: int, t1: int) -> None:
        if self.pages is None:
            return
        with self._lock:
            seen = self._covered[reader]
            self._covered[reader] = (t0, t1) if seen is None else (min(seen[0], t0), max(seen[1], t1))
            if any(c is None for c in self._covered):
                return
            lo = max(c[0] for c in self._covered)
            hi = min(c[1] for c in self._covered)
            start, stop = self.pages.span(lo, hi, whole_pages_only=True) if hi > lo else (0, 0)
            if stop <= start:
                return
            if self._given_back is None:
                self.pages.give_back(start, stop)
            else:  # the rows read by all only grow: give back what is new at either end
                self.pages.give_back(start, self._given_back[0])
                self.pages.give_back(self._given_back[1], stop)
            self._given_back = (start, stop)


class _FeedReader(InputPart):
    def __init__(self, feed: Feed, index: int):
        super().__init__(feed.array, feature_major=True)
        self.feed, self.index = feed, index

    def chunk(self, t0: int, t1: int) -> np.ndarray:
        block = super().chunk(t0, t1)
        if np.may_share_memory(block, self.array):  # a single sequence's rows need no transposing copy
            block = block.copy()  # the rows may go right after
        self.feed._read(self.index, t0, t1)
        return block


# -- allocation -------------------------------------------------------------------
def _remove_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


class Allocation:
    """The storage arrays of one run: in memory, or views of one file in a fresh folder.

    ``arrays`` in the order asked for; ``pages[k]`` gives back array k's written pages
    (disk only, else None). The folder goes with :meth:`bind`'s trace (or at interpreter
    exit), or at once with :meth:`discard` when the run fails.
    """

    def __init__(self, where: str, arrays: list[np.ndarray], pages: list, folder: str | None, path: str | None):
        self.where, self.arrays, self.pages, self.folder, self.path = where, arrays, pages, folder, path
        self._remove = None if folder is None else weakref.finalize(self, _remove_folder, folder)

    def bind(self, trace: Trace) -> None:
        """Delete the folder when ``trace`` is garbage collected (or at interpreter exit)."""
        if self.folder is None:
            return
        self._remove.detach()
        self._remove = weakref.finalize(trace, _remove_folder, self.folder)

    def discard(self) -> None:
        """Delete the folder now (a run that failed or was cancelled)."""
        if self._remove is not None:
            self._remove()

    def scratch(self, shape, dtype, on_disk: bool) -> tuple[np.ndarray, Pages | None]:
        """A run-long work array (the exact hidden a float16 run feeds the layer above)."""
        if not on_disk or self.folder is None:
            return _anonymous(shape, dtype)
        fd, path = tempfile.mkstemp(prefix="scratch-", suffix=".bin", dir=self.folder)
        os.close(fd)
        array = np.memmap(path, dtype=dtype, mode="w+", shape=shape)
        with_pages = Pages(array._mmap, 0, array.nbytes // shape[0]) if hasattr(array, "_mmap") else None
        try:
            os.remove(path)  # the mapping keeps the space until it goes (POSIX)
        except OSError:
            pass  # removed with the folder
        return array, with_pages


def _aligned(nbytes: int) -> int:
    return -(-nbytes // _PAGE) * _PAGE


def allocate(shapes: list[tuple], dtype, where: str, store: Store | None, what: str, extra_disk: int = 0) -> Allocation:
    """Storage for ``shapes`` in ``dtype``, in memory or (``where="disk"``) in one new file.

    Before making the file, the free space of the store's folder is checked against the
    file's size plus ``extra_disk`` bytes; too little raises InputError naming the folder,
    the size needed and the space free.
    """
    dtype = np.dtype(dtype)
    if where == "memory":
        return Allocation("memory", [np.empty(shape, dtype) for shape in shapes], [None] * len(shapes), None, None)
    base = store.base_folder()
    sizes = [int(np.prod(shape)) * dtype.itemsize for shape in shapes]
    total = sum(_aligned(n) for n in sizes)
    needed = total + extra_disk
    try:
        free = shutil.disk_usage(base).free
    except OSError as exc:
        raise InputError(f"{what} goes to disk, but its folder {base} cannot be used: {exc.strerror or exc}") from None
    if needed > free:
        raise InputError(
            f"{what} needs {limits.format_bytes(needed)} on disk in {base}, but only {limits.format_bytes(free)} "
            "is free; free some space, store it in float16 or choose another folder"
        )
    try:
        folder = tempfile.mkdtemp(prefix="lstm-viz-trace-", dir=base)
    except OSError as exc:
        raise InputError(f"{what} goes to disk, but no folder can be made in {base}: {exc.strerror or exc}") from None
    allocation = Allocation("disk", [], [], folder, os.path.join(folder, "trace.bin"))
    try:
        data = np.memmap(allocation.path, dtype=np.uint8, mode="w+", shape=(total,))
        mapping = getattr(data, "_mmap", None)
        offset = 0
        for shape, nbytes in zip(shapes, sizes):
            array = data[offset : offset + nbytes].view(dtype).reshape(shape)
            allocation.arrays.append(array)
            allocation.pages.append(None if mapping is None else Pages(mapping, offset, nbytes // shape[0]))
            offset += _aligned(nbytes)
    except OSError as exc:
        allocation.discard()
        raise InputError(f"{what}: the file {allocation.path} cannot be made: {exc.strerror or exc}") from None
    return allocation


# -- exact states of a float16 trace ---------------------------------------------
class ExactStates(NamedTuple):
    """What a step read, exactly as the run computed it (in the run's dtype)."""

    hidden_prev: np.ndarray  # h_{t-1} (H_out,)
    cell_prev: np.ndarray | None  # c_{t-1} (H,), None for a tanh RNN
    x: np.ndarray  # x_t, the layer's input (D_l,)


def is_rounded(trace: Trace) -> bool:
    """Whether ``trace`` stores rounded values and kept the checkpoints to recover the exact ones."""
    first = trace.layers[0]
    return first.checkpoints is not None and first.hidden.dtype != trace.x.dtype


def exact_states(model, trace: Trace, layer: int, batch: int, step: int, *, reverse: bool = False) -> ExactStates:
    """The exact h_{t-1}, c_{t-1} and x_t of ``step`` of layer ``layer`` (its backward
    direction with ``reverse``) for sequence ``batch``, in the run's dtype.

    For a trace stored in float16 (with checkpoints) the layer is re-run from its nearest
    checkpoint, and for a layer above the first, the layers below from theirs, so its
    input is exact too: at most about :data:`CHECKPOINT_STEPS` steps per layer direction,
    on the run's own chunk boundaries, so the numbers are the run's. Reverse directions
    are supported alike. Any other trace holds the exact values: they are read from it.
    ``model`` must be the model that recorded ``trace``, unchanged.
    """
    direction, T = _direction(trace, layer, reverse), trace.length
    if not 0 <= batch < trace.batch_size or not 0 <= step < T:
        raise InputError(f"no step {step} of sequence {batch} in a trace of {trace.batch_size} x {T} steps")
    previous = step + 1 if direction.reverse_time else step - 1
    inside = 0 <= previous < T
    if is_rounded(trace):
        rerun = _rerun(model, trace)
        rows = rerun.rows(layer, int(reverse), previous, previous + 1)[0] if inside else None
        H = direction.hidden_size
        if rows is None:
            h_prev, c_prev = direction.initial_hidden[batch], _initial_cell(direction, batch)
        elif direction.is_lstm:
            h_prev, c_prev = rows[5 * H :, batch], rows[:H, batch]
        else:
            h_prev, c_prev = rows[:, batch], None
        x = rerun.layer_input(layer, step, step + 1)[0, :, batch]
    else:
        h_prev = direction.hidden[batch, previous] if inside else direction.initial_hidden[batch]
        c_prev = None
        if direction.is_lstm:
            c_prev = direction.cell[batch, previous] if inside else direction.initial_cell[batch]
        x = _stored_input(trace, layer, batch, step)
    copy = np.array
    return ExactStates(copy(h_prev), None if c_prev is None else copy(c_prev), copy(x))


def exact_values(model, trace: Trace, layer: int, batch: int, step: int, *, reverse: bool = False) -> dict:
    """Every recorded quantity of ``step`` exactly as the run computed it: ``forget``,
    ``input``, ``candidate``, ``output``, ``cell``, ``hidden`` (only ``hidden`` for a tanh
    RNN), each (H,) in the run's dtype. Re-run as :func:`exact_states` for a float16 trace."""
    direction = _direction(trace, layer, reverse)
    if not is_rounded(trace):
        names = ("forget", "input", "candidate", "output", "cell", "hidden") if direction.is_lstm else ("hidden",)
        return {name: np.array(getattr(direction, name)[batch, step]) for name in names}
    row = _rerun(model, trace).rows(layer, int(reverse), step, step + 1)[0][:, batch]
    if not direction.is_lstm:
        return {"hidden": np.array(row)}
    H = direction.hidden_size
    blocks = {"cell": 0, "candidate": 1, "forget": 2, "input": 3, "output": 4}
    values = {name: np.array(row[k * H : (k + 1) * H]) for name, k in blocks.items()}
    values["hidden"] = np.array(row[5 * H :])
    return values


def _direction(trace: Trace, layer: int, reverse: bool):
    if not 0 <= layer < len(trace.layers):
        raise InputError(f"layer {layer} does not exist (the trace has {len(trace.layers)})")
    directions = trace.layers[layer].directions()
    if reverse and len(directions) == 1:
        raise InputError(f"layer {layer} has no backward direction")
    return directions[1 if reverse else 0]


def _initial_cell(direction, batch):
    return None if direction.initial_cell is None else direction.initial_cell[batch]


def _stored_input(trace: Trace, layer: int, batch: int, step: int) -> np.ndarray:
    if layer == 0:
        return trace.layer_input[batch, step]
    return np.concatenate([d.hidden[batch, step] for d in trace.layers[layer - 1].directions()])


def _rerun(model, trace: Trace) -> _Rerun:
    versions = tuple(layer.version for layer in model.all_layers())
    with _RERUN_LOCK:
        rerun = getattr(trace, "_rerun", None)
        if rerun is None or rerun.model is not model or rerun.versions != versions:
            rerun = trace._rerun = _Rerun(model, trace, versions)
    return rerun


_RERUN_LOCK = threading.Lock()


class _Rerun:
    """Segments of a float16 trace re-run from their checkpoints, cached (least recently used first out)."""

    def __init__(self, model, trace: Trace, versions: tuple):
        if model.num_layers != len(trace.layers):
            raise InputError(f"the trace has {len(trace.layers)} layers but the model has {model.num_layers}")
        self.model, self.trace, self.versions = model, trace, versions
        self.dtype = trace.x.dtype
        self._cache: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.RLock()

    def layer_input(self, layer: int, a: int, b: int) -> np.ndarray:
        """(b - a, D_l, B) what ``layer`` read at steps [a, b), exactly."""
        if layer == 0:
            return np.ascontiguousarray(self.trace.layer_input[:, a:b].transpose(1, 2, 0), dtype=self.dtype)
        parts = []
        for d, direction in enumerate(self.trace.layers[layer - 1].directions()):
            rows = self.rows(layer - 1, d, a, b)
            parts.append(rows[:, rows.shape[1] - direction.output_size :])
        return np.concatenate(parts, axis=1)

    def rows(self, layer: int, d: int, a: int, b: int) -> np.ndarray:
        """(b - a, width, B) the exact storage rows of direction ``d`` of ``layer`` for steps [a, b)."""
        cp = self.trace.layers[layer].directions()[d].checkpoints
        first, last = sorted((cp.index(a), cp.index(b - 1)))
        pieces = []
        for j in range(first, last + 1):
            lo, hi = cp.segment(j)
            rows = self._segment(layer, d, j)
            pieces.append((lo, rows[max(a, lo) - lo : min(b, hi) - lo]))
        pieces.sort(key=lambda piece: piece[0])
        return pieces[0][1] if len(pieces) == 1 else np.concatenate([rows for _, rows in pieces])

    def _segment(self, layer: int, d: int, j: int) -> np.ndarray:
        key = (layer, d, j)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            rows = self._compute(layer, d, j)
            self._cache[key] = rows
            self._bytes += rows.nbytes
            while self._bytes > RERUN_CACHE_BYTES and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._bytes -= dropped.nbytes
            return rows

    def _compute(self, layer: int, d: int, j: int) -> np.ndarray:
        direction = self.trace.layers[layer].directions()[d]
        cp = direction.checkpoints
        lo, hi = cp.segment(j)
        source = self.model.directions(layer)[d]
        if layer == 0:
            parts = [InputPart(np.ascontiguousarray(self.trace.layer_input[:, lo:hi], dtype=self.dtype), False)]
        else:
            parts = []
            for below, lower in enumerate(self.trace.layers[layer - 1].directions()):
                rows = self.rows(layer - 1, below, lo, hi)
                parts.append(InputPart(rows[:, rows.shape[1] - lower.output_size :], feature_major=True))
        h0 = np.ascontiguousarray(cp.hidden[j].T)
        c0 = None if cp.cell is None else np.ascontiguousarray(cp.cell[j].T)
        B = h0.shape[0]
        record = record_lstm if direction.is_lstm else record_rnn
        kind = "lstm" if direction.is_lstm else "rnn"
        width = storage_width(kind, source.hidden_size, source.output_size)
        if chunk_steps(B, width, self.dtype.itemsize) != cp.chunk:
            raise InputError("the model does not match the trace's checkpoints (layer sizes or batch differ)")
        prepared = self.model._prepared(layer, d, self.dtype)
        # the same BLAS threads as the run that made the trace: a product on one thread and on
        # two may differ in the last bit (OpenBLAS on some CPUs), and these rows must be its own
        if self.trace.meta.get("blas_one_thread"):
            threads, whole = contextlib.nullcontext, blas.single_thread()
        else:
            threads, whole = blas.step_threads(B, source.output_size, source.hidden_size), contextlib.nullcontext()
        with whole, np.errstate(over="ignore", invalid="ignore"):
            result = record(prepared, parts, h0, c0, hi - lo, reverse=cp.reverse, threads=threads)
        return result.rows


def _checkpoint_layout(T: int, B: int, width: int, dtype) -> tuple[int, int, int]:
    """(steps per chunk, chunks between checkpoints, number of checkpoints) of one direction."""
    chunk = chunk_steps(B, width, np.dtype(dtype).itemsize)
    every = max(1, CHECKPOINT_STEPS // chunk)
    chunks = -(-T // chunk)
    return chunk, every, -(-chunks // every)


def checkpoints_for(T: int, B: int, width: int, hidden: int, out: int, dtype, reverse: bool, lstm: bool) -> Checkpoints:
    """Empty checkpoint arrays for one direction of a run (see :data:`CHECKPOINT_STEPS`)."""
    chunk, every, count = _checkpoint_layout(T, B, width, dtype)
    return Checkpoints(
        hidden=np.zeros((count, out, B), dtype),
        cell=np.zeros((count, hidden, B), dtype) if lstm else None,
        chunk=chunk,
        every=every,
        length=T,
        reverse=reverse,
    )


def checkpoint_bytes(T: int, B: int, width: int, hidden: int, out: int, dtype, lstm: bool) -> int:
    """Bytes :func:`checkpoints_for` allocates."""
    count = _checkpoint_layout(T, B, width, dtype)[2]
    return count * B * (out + (hidden if lstm else 0)) * np.dtype(dtype).itemsize
