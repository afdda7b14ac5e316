"""The recording forward pass of one layer direction.

Speed comes from doing as little as possible per timestep:

- the input projection x @ W_x + b of a whole chunk of timesteps is one GEMM written
  straight into the trace's gate storage;
- per step there is one small GEMM (h_{t-1} @ W_h) and about ten in-place ufunc calls,
  all into preallocated buffers, with no allocation;
- internally the gate columns are reordered to [g, f, i, o] (candidate first, so that
  one scratch row [c, g, f, i, o, h] holds [c, g] next to [f, i] and old and new come
  from one multiply) and the sigmoid columns of every weight are pre-scaled by 0.5
  (exact in binary floating point), so that sigmoid(z) = 0.5 * tanh(z / 2) + 0.5 and all
  four gates take one ``tanh`` call. This form is also overflow-free for any |z|.

The readable float64 step of the same equations is :func:`lstm_viz.engine.reference.lstm_step`;
tests/engine/test_reference.py checks that both give the same numbers with every option.

Storage is feature-major: gates (T, 4H, B), cell (T, H, B), hidden (T, H_out, B), so
every quantity's block at a step is contiguous for any batch size (a single sequence
runs on 1-D views). The trace exposes batch-major (B, T, H) views of it, so recording
costs no copy.

A direction runs chunk by chunk (:func:`lstm_chunks` is a generator that stops before
each chunk, so one thread can interleave the layers of a stack); :func:`record_lstm`
runs it to the end. With a :class:`Stage`, the steps of a chunk are computed into a
scratch block of the run's dtype and then copied at once into storage of another dtype
(float16) or in a file, the exact hidden handed to the layer above and the exact state
kept every few chunks (checkpoints).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np

from lstm_viz.errors import Cancelled

# Internal column order: candidate, forget, input, output (canonical is i, f, g, o).
_CANONICAL_TO_INTERNAL = (2, 1, 0, 3)

CHUNK_BYTES = 1 << 20
"""Target size of one chunk of gate storage; keeps a chunk's input projection in cache."""

MAX_CHUNK_STEPS = 1024
"""Upper bound on a chunk, so progress and cancel are checked often on small models."""


def _permute_columns(a: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [a[..., k * hidden : (k + 1) * hidden] for k in _CANONICAL_TO_INTERNAL]
    return np.concatenate(blocks, axis=-1)


@dataclass
class PreparedLSTM:
    """A layer's parameters cast to one dtype, in the internal [g, f, i, o], half-scaled form."""

    W_x_parts: list[np.ndarray]
    W_h: np.ndarray
    b: np.ndarray
    peep_fi: np.ndarray | None  # (2, H) half-scaled p_f, p_i
    peep_o: np.ndarray | None  # (H,) half-scaled p_o
    gate_lo: np.ndarray | None  # (4H,) clamp bounds in the half-scaled space
    gate_hi: np.ndarray | None
    cell_clip: float | None
    W_proj: np.ndarray | None
    proj_clip: float | None
    hidden: int
    out: int


def prepare_lstm(layer, dtype, input_splits: Sequence[int]) -> PreparedLSTM:
    """Cast and reorder ``layer``'s parameters; ``input_splits`` are the widths of the input parts."""
    h = layer.hidden_size
    scale = np.concatenate([np.ones(h), np.full(3 * h, 0.5)])
    b = layer.b.copy()
    b[h : 2 * h] += layer.forget_bias
    W_x = _permute_columns(layer.W_x, h) * scale
    bounds = np.cumsum([0, *input_splits])
    W_x_parts = [np.ascontiguousarray(W_x[bounds[k] : bounds[k + 1]], dtype=dtype) for k in range(len(input_splits))]
    peep_fi = peep_o = None
    if layer.peepholes is not None:
        peep_fi = np.ascontiguousarray(layer.peepholes[[1, 0]] * 0.5, dtype=dtype)
        peep_o = np.ascontiguousarray(layer.peepholes[2] * 0.5, dtype=dtype)
    gate_lo = gate_hi = None
    if layer.gate_clip is not None:
        gate_hi = (layer.gate_clip * scale).astype(dtype)
        gate_lo = -gate_hi
    return PreparedLSTM(
        W_x_parts=W_x_parts,
        W_h=np.ascontiguousarray(_permute_columns(layer.W_h, h) * scale, dtype=dtype),
        b=np.ascontiguousarray(_permute_columns(b, h) * scale, dtype=dtype),
        peep_fi=peep_fi,
        peep_o=peep_o,
        gate_lo=gate_lo,
        gate_hi=gate_hi,
        cell_clip=layer.cell_clip,
        W_proj=None if layer.W_proj is None else np.ascontiguousarray(layer.W_proj, dtype=dtype),
        proj_clip=layer.proj_clip,
        hidden=h,
        out=layer.output_size,
    )


@dataclass
class PreparedRNN:
    W_x_parts: list[np.ndarray]
    W_h: np.ndarray
    b: np.ndarray
    hidden: int
    out: int


def prepare_rnn(layer, dtype, input_splits: Sequence[int]) -> PreparedRNN:
    bounds = np.cumsum([0, *input_splits])
    return PreparedRNN(
        W_x_parts=[
            np.ascontiguousarray(layer.W_x[bounds[k] : bounds[k + 1]], dtype=dtype) for k in range(len(input_splits))
        ],
        W_h=np.ascontiguousarray(layer.W_h, dtype=dtype),
        b=np.ascontiguousarray(layer.b, dtype=dtype),
        hidden=layer.hidden_size,
        out=layer.hidden_size,
    )


class InputPart:
    """One part of a layer's input, read in chunks of timesteps as (steps * B, D) rows.

    ``array`` is batch-major (B, T, D) for the network input, or a lower layer's
    feature-major hidden storage (T, D, B).
    """

    def __init__(self, array: np.ndarray, feature_major: bool):
        self.array = array
        self.feature_major = feature_major
        self.width = array.shape[1] if feature_major else array.shape[2]

    def chunk(self, t0: int, t1: int) -> np.ndarray:
        if self.feature_major:
            block = self.array[t0:t1].transpose(0, 2, 1)
        else:
            block = self.array[:, t0:t1].transpose(1, 0, 2)
        return np.ascontiguousarray(block).reshape(-1, self.width)


@dataclass
class DirectionRecord:
    """Storage of one recorded direction: one row per step, features first, batch last.

    LSTM rows are [c, g, f, i, o, h] (cell, candidate, forget, input, output gates, hidden
    after projection): ``rows`` is (T, 5H + H_out, B). A tanh RNN's rows are just h.
    Keeping B last makes every quantity's block at a step contiguous for any batch size;
    the trace sees (B, T, H) views of it, so recording copies nothing.
    """

    rows: np.ndarray
    hidden_size: int
    initial_hidden: np.ndarray  # (B, H_out)
    initial_cell: np.ndarray | None  # (B, H)
    reverse: bool
    is_lstm: bool = True

    def block(self, k: int, width: int | None = None) -> np.ndarray:
        """Feature block k of width H (or ``width``) for all steps, (T, width, B)."""
        H = self.hidden_size
        return self.rows[:, k * H : k * H + (width or H)]

    @property
    def hidden(self) -> np.ndarray:
        """(T, H_out, B) hidden storage, also the next layer's input."""
        return self.rows[:, 5 * self.hidden_size :] if self.is_lstm else self.rows


def chunk_steps(batch: int, width: int, itemsize: int) -> int:
    """Steps per chunk for rows of ``width`` features of ``itemsize`` bytes (the run's dtype)."""
    return int(min(MAX_CHUNK_STEPS, max(8, CHUNK_BYTES // max(1, batch * width * itemsize))))


class StorageOverflow(Exception):
    """A state that storage cannot hold: not finite, or beyond the storage dtype's range.

    Raised by a staged direction after the chunk holding it; ``label`` names the layer
    direction. ``finite`` tells whether the computed value itself was finite (only the
    storage's narrower dtype could not hold it).
    """

    def __init__(self, step: int, batch: int, value: float, label: str):
        super().__init__(f"state {value} at step {step} of sequence {batch}, {label}")
        self.step, self.batch, self.value, self.label = step, batch, value, label
        self.finite = bool(np.isfinite(value))


@dataclass
class Stage:
    """Where a staged direction's rows go after each chunk.

    The chunk's steps are computed into a scratch block in the run's dtype (the
    recurrence never reads storage back), then: the states (cell and hidden) are checked
    against ``limit`` (the largest magnitude the storage dtype holds; NaN and infinities
    always fail), the block is cast and copied into storage at once, its hidden columns
    are copied into ``exact`` (the run-dtype hidden the layer above reads, when storage
    rounds it) and ``written(t0, t1)`` is called (a file-backed storage gives the pages
    back). ``checkpoint_hidden`` (n, H_out, B) and ``checkpoint_cell`` (n, H, B) receive
    the state each chunk ``j * every`` (in the order the direction runs) starts from.
    ``label`` names the direction in errors. (Storing in a second thread while the next
    chunk runs was measured slower on a busy 2-core machine: the hand-offs cost more than
    the cast, which writing half the bytes largely pays for.)
    """

    limit: float = float("inf")
    exact: np.ndarray | None = None
    written: Callable[[int, int], None] | None = None
    checkpoint_hidden: np.ndarray | None = None
    checkpoint_cell: np.ndarray | None = None
    every: int = 1
    label: str = ""

    def checkpoint(self, index: int, h: np.ndarray, c: np.ndarray | None) -> None:
        """Keep the state chunk ``index`` starts from, when it is a checkpoint's."""
        if self.checkpoint_hidden is None or index % self.every:
            return
        j = index // self.every
        self.checkpoint_hidden[j] = h.reshape(self.checkpoint_hidden.shape[1:])
        if c is not None:
            self.checkpoint_cell[j] = c.reshape(self.checkpoint_cell.shape[1:])

    def store(self, target: np.ndarray, t0: int, block: np.ndarray, states, hidden, reverse: bool) -> None:
        """Check the states of ``block`` (the rows of steps t0..), then copy it into ``target``."""
        for columns in states:
            part = block[:, columns]
            if not (-self.limit <= part.min() and part.max() <= self.limit):
                self._overflow(block, states, t0, reverse)
        t1 = t0 + block.shape[0]
        np.copyto(target[t0:t1], block, casting="unsafe")
        if self.exact is not None:
            exact = self.exact.reshape(target.shape[0], -1, *target.shape[2:])
            np.copyto(exact[t0:t1], block[:, hidden])
        if self.written is not None:
            self.written(t0, t1)

    def _overflow(self, block: np.ndarray, states, t0: int, reverse: bool):
        """Raise :class:`StorageOverflow` for the first step computed whose states do not fit."""
        parts = [block[:, columns] for columns in states]
        if block.ndim == 2:  # a single sequence: (steps, units) -> (steps, units, 1)
            parts = [part[..., None] for part in parts]
        bad = [~(np.abs(part) <= self.limit) for part in parts]  # NaN compares False
        steps = np.nonzero(np.logical_or.reduce([b.any(axis=(1, 2)) for b in bad]))[0]
        k = int(steps[-1] if reverse else steps[0])
        part, where = next((p, b[k]) for p, b in zip(parts, bad) if b[k].any())
        unit, batch = np.argwhere(where)[0]
        raise StorageOverflow(t0 + k, int(batch), float(part[k, unit, batch]), self.label)


def drain(chunks: Generator) -> DirectionRecord:
    """Run a direction's chunk generator (:func:`lstm_chunks`, :func:`rnn_chunks`) to the end."""
    while True:
        try:
            next(chunks)
        except StopIteration as end:
            return end.value


def _chunks(T: int, size: int, reverse: bool):
    starts = list(range(0, T, size))
    if reverse:
        starts.reverse()
    for t0 in starts:
        yield t0, min(T, t0 + size)


def _project_chunk(P, t0, t1, parts, weights, bias, scratch):
    """P[:steps] (steps, F[, B]) = sum_k parts[k] @ weights[k] + bias for steps t0..t1."""
    steps = t1 - t0
    batched = P.ndim == 3
    target = scratch[: steps * P.shape[2]] if batched else P[:steps]
    np.matmul(parts[0].chunk(t0, t1), weights[0], out=target)
    for part, W in zip(parts[1:], weights[1:]):
        target += part.chunk(t0, t1) @ W
    target += bias
    if batched:
        B, F = P.shape[2], P.shape[1]
        np.copyto(P[:steps], target.reshape(steps, B, F).transpose(0, 2, 1))


def _vector(a: np.ndarray, batched: bool) -> np.ndarray:
    """A per-unit vector shaped to broadcast against a (units,) or (units, B) block."""
    return np.ascontiguousarray(a[..., None] if batched else a)


def record_lstm(p: PreparedLSTM, parts: Sequence[InputPart], h0: np.ndarray, c0: np.ndarray, T: int, **options):
    """Run one LSTM direction over T steps, recording every gate and state (see :func:`lstm_chunks`)."""
    return drain(lstm_chunks(p, parts, h0, c0, T, **options))


def lstm_chunks(
    p: PreparedLSTM,
    parts: Sequence[InputPart],
    h0: np.ndarray,
    c0: np.ndarray,
    T: int,
    *,
    reverse: bool = False,
    tick: Callable[[int], None] | None = None,
    threads=contextlib.nullcontext,
    storage: np.ndarray | None = None,
    ready: Callable[[int, int], None] | None = None,
    stage: Stage | None = None,
) -> Generator[tuple[int, int], None, DirectionRecord]:
    """Run one LSTM direction over T steps, recording every gate and state.

    A generator: it yields (t0, t1) before computing each chunk of steps (whoever drives
    it resumes it once the input parts hold those steps) and returns the
    :class:`DirectionRecord`. ``h0`` (B, H_out) and ``c0`` (B, H) are the initial state;
    ``tick(n)`` is called after every chunk with the number of steps done in it (it may
    raise ``Cancelled``); ``threads`` is a context manager factory that sets BLAS threads
    for the step loop; ``storage`` is a preallocated (T, 5H + H_out, B) array to fill;
    ``ready(t0, t1)`` blocks until the input parts hold steps t0..t1 (when layers run
    concurrently); ``stage`` routes the rows through a scratch block (:class:`Stage`).

    Each step is computed in one scratch row R = [c, g, f, i, o, h] whose sub-views are
    made once, then copied into the storage: the pair [f, i] * [c_prev, g] gives old and
    new in one multiply, and no view is created per step.
    """
    dtype = p.W_h.dtype
    B = h0.shape[0]
    H, Ho = p.hidden, p.out
    H2, H3, H4, H5 = 2 * H, 3 * H, 4 * H, 5 * H
    batched = B != 1
    width = H5 + Ho
    S = np.empty((T, width, B), dtype) if storage is None else storage
    if batched:
        rows = S
        R = np.empty((width, B), dtype)
        R[:H], R[H5:] = c0.T, h0.T
        W_rec = np.ascontiguousarray(p.W_h.T)  # (4H, H_out): rec = W_rec @ h
    else:
        rows = S.reshape(T, width)
        R = np.empty(width, dtype)
        R[:H], R[H5:] = c0[0], h0[0]
        W_rec = p.W_h  # (H_out, 4H): rec = h @ W_rec
    c, z, c_g, f_i, o, h = R[:H], R[H:H5], R[:H2], R[H2:H4], R[H4:H5], R[H5:]
    sig = R[H2:H5]  # f, i, o
    tail = R[H:H4]  # g, f, i (activated before o when the output gate peeks at c_t)
    pair = np.empty(f_i.shape, dtype)
    old, new = pair[:H], pair[H:]
    rec = np.empty(z.shape, dtype)
    tmp = np.empty(c.shape, dtype)
    half = np.array(0.5, dtype)
    peep_fi = peep_o = peep_tmp = c_b = None
    if p.peep_fi is not None:
        peep_fi = _vector(p.peep_fi, batched)
        peep_o = _vector(p.peep_o, batched)
        peep_tmp = np.empty((2, *c.shape), dtype)
        peep_flat = peep_tmp.reshape(f_i.shape)
        c_b = c[None]
    lo = hi = None
    if p.gate_lo is not None:
        lo, hi = _vector(p.gate_lo, batched), _vector(p.gate_hi, batched)
    cell_lo = cell_hi = None
    if p.cell_clip is not None:
        cell_hi = np.array(p.cell_clip, dtype)
        cell_lo = -cell_hi
    W_proj = proj_lo = proj_hi = None
    if p.W_proj is not None:
        W_proj = np.ascontiguousarray(p.W_proj.T) if batched else p.W_proj
        if p.proj_clip is not None:
            proj_hi = np.array(p.proj_clip, dtype)
            proj_lo = -proj_hi
    simple = peep_fi is None and lo is None and cell_hi is None and W_proj is None
    dot, add, multiply, tanh = np.dot, np.add, np.multiply, np.tanh
    minimum, maximum = np.minimum, np.maximum
    chunk_size = chunk_steps(B, width, np.dtype(dtype).itemsize)
    P = np.empty((chunk_size, H4, B) if batched else (chunk_size, H4), dtype)
    scratch = np.empty((chunk_size * B, H4), dtype) if batched else None
    block = None if stage is None else np.empty((chunk_size, *rows.shape[1:]), dtype)
    states = (slice(0, H), slice(H5, width))
    for index, (t0, t1) in enumerate(_chunks(T, chunk_size, reverse)):
        yield t0, t1
        if ready is not None:
            ready(t0, t1)
        if stage is not None:
            stage.checkpoint(index, h, c)
        _project_chunk(P, t0, t1, parts, p.W_x_parts, p.b, scratch)
        n = t1 - t0
        out = rows[t0:t1] if block is None else block[:n]
        steps = range(n - 1, -1, -1) if reverse else range(n)
        with threads():
            if simple:
                _simple_steps(steps, P, out, R, W_rec, rec, pair, tmp, half, batched)
            else:
                for t in steps:
                    if batched:
                        dot(W_rec, h, rec)
                    else:
                        dot(h, W_rec, rec)
                    add(P[t], rec, z)
                    if peep_fi is not None:
                        multiply(c_b, peep_fi, peep_tmp)
                        add(f_i, peep_flat, f_i)
                    if lo is not None:
                        if peep_o is None:
                            minimum(z, hi, out=z)
                            maximum(z, lo, out=z)
                        else:
                            minimum(tail, hi[:H3], out=tail)
                            maximum(tail, lo[:H3], out=tail)
                    if peep_o is None:
                        tanh(z, z)
                        multiply(sig, half, sig)
                        add(sig, half, sig)
                    else:
                        tanh(tail, tail)
                        multiply(f_i, half, f_i)
                        add(f_i, half, f_i)
                    multiply(f_i, c_g, pair)
                    add(old, new, c)
                    if cell_hi is not None:
                        minimum(c, cell_hi, out=c)
                        maximum(c, cell_lo, out=c)
                    if peep_o is not None:
                        multiply(c, peep_o, tmp)
                        add(o, tmp, o)
                        if lo is not None:
                            minimum(o, hi[H3:], out=o)
                            maximum(o, lo[H3:], out=o)
                        tanh(o, o)
                        multiply(o, half, o)
                        add(o, half, o)
                    tanh(c, tmp)
                    if W_proj is None:
                        multiply(o, tmp, h)
                    else:
                        multiply(o, tmp, tmp)
                        if batched:
                            dot(W_proj, tmp, h)
                        else:
                            dot(tmp, W_proj, h)
                        if proj_hi is not None:
                            minimum(h, proj_hi, out=h)
                            maximum(h, proj_lo, out=h)
                    out[t] = R
        if stage is not None:
            stage.store(rows, t0, out, states, states[1], reverse)
        if tick is not None:
            tick(n)
    return DirectionRecord(S, H, np.array(h0, dtype=dtype), np.array(c0, dtype=dtype), reverse)


def _simple_steps(steps, P, rows, R, W_rec, rec, pair, tmp, half, batched):
    """The hot loop for layers without peepholes, clamps or projection.

    Ten NumPy calls a step on views made once; ``R`` is the scratch row [c, g, f, i, o, h]
    (each a (units,) vector, or (units, B) for a batch, whose recurrent product is
    ``W_rec @ h`` instead of ``h @ W_rec``). ``steps`` index the chunk: ``P[k]`` is step
    k's input projection and ``rows[k]`` receives its row.
    """
    H = tmp.shape[0]
    c, z, c_g, f_i, o, h = R[:H], R[H : 5 * H], R[: 2 * H], R[2 * H : 4 * H], R[4 * H : 5 * H], R[5 * H :]
    sig = R[2 * H : 5 * H]
    old, new = pair[:H], pair[H:]
    dot, add, multiply, tanh = np.dot, np.add, np.multiply, np.tanh
    if steps.step == 1:
        pairs = zip(steps, P)
    else:
        pairs = ((t, P[t]) for t in steps)
    for t, p_t in pairs:
        if batched:
            dot(W_rec, h, rec)
        else:
            dot(h, W_rec, rec)
        add(p_t, rec, z)
        tanh(z, z)
        multiply(sig, half, sig)
        add(sig, half, sig)
        multiply(f_i, c_g, pair)
        add(old, new, c)
        tanh(c, tmp)
        multiply(o, tmp, h)
        rows[t] = R


def record_rnn(p: PreparedRNN, parts: Sequence[InputPart], h0: np.ndarray, c0, T: int, **options):
    """Run one tanh-RNN direction over T steps (see :func:`rnn_chunks`)."""
    return drain(rnn_chunks(p, parts, h0, c0, T, **options))


def rnn_chunks(
    p: PreparedRNN,
    parts: Sequence[InputPart],
    h0: np.ndarray,
    c0,
    T: int,
    *,
    reverse: bool = False,
    tick: Callable[[int], None] | None = None,
    threads=contextlib.nullcontext,
    storage: np.ndarray | None = None,
    ready: Callable[[int, int], None] | None = None,
    stage: Stage | None = None,
) -> Generator[tuple[int, int], None, DirectionRecord]:
    """Run one tanh-RNN direction: h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b).

    Arguments as :func:`lstm_chunks`; ``storage`` is (T, H, B).
    """
    dtype = p.W_h.dtype
    B = h0.shape[0]
    H = p.hidden
    batched = B != 1
    S = np.empty((T, H, B), dtype) if storage is None else storage
    if batched:
        rows, h, W_rec = S, np.ascontiguousarray(h0.T, dtype), np.ascontiguousarray(p.W_h.T)
    else:
        rows, h, W_rec = S.reshape(T, H), np.array(h0[0], dtype), p.W_h
    rec = np.empty(h.shape, dtype)
    chunk_size = chunk_steps(B, H, np.dtype(dtype).itemsize)
    P = np.empty((chunk_size, H, B) if batched else (chunk_size, H), dtype)
    scratch = np.empty((chunk_size * B, H), dtype) if batched else None
    block = None if stage is None else np.empty((chunk_size, *rows.shape[1:]), dtype)
    everything = slice(None)
    for index, (t0, t1) in enumerate(_chunks(T, chunk_size, reverse)):
        yield t0, t1
        if ready is not None:
            ready(t0, t1)
        if stage is not None:
            stage.checkpoint(index, h, None)
        _project_chunk(P, t0, t1, parts, p.W_x_parts, p.b, scratch)
        n = t1 - t0
        out = rows[t0:t1] if block is None else block[:n]
        with threads():
            for t in range(n - 1, -1, -1) if reverse else range(n):
                if batched:
                    np.dot(W_rec, h, rec)
                else:
                    np.dot(h, W_rec, rec)
                h = out[t]
                np.add(P[t], rec, h)
                np.tanh(h, h)
        if stage is not None:  # h stays a row of the block: the next chunk reads it before writing any
            stage.store(rows, t0, out, (everything,), everything, reverse)
        if tick is not None:
            tick(n)
    return DirectionRecord(S, H, np.array(h0, dtype=dtype), None, reverse, is_lstm=False)


def storage_width(kind: str, hidden: int, out: int) -> int:
    """Features per step row: [c, g, f, i, o, h] for an LSTM, h for a tanh RNN."""
    return 5 * hidden + out if kind == "lstm" else hidden


def check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")
