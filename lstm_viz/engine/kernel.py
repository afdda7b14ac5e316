"""The recording forward pass of one layer direction.

Speed comes from doing as little as possible per timestep:

- the input projection x @ W_x + b of a whole chunk of timesteps is one GEMM written
  straight into the trace's gate storage;
- per step there is one small GEMM (h_{t-1} @ W_h) and about ten in-place ufunc calls,
  all into preallocated buffers, with no allocation;
- internally the gate columns are reordered to [i, f, o, g] and the sigmoid columns of
  every weight are pre-scaled by 0.5 (exact in binary floating point), so that
  sigmoid(z) = 0.5 * tanh(z / 2) + 0.5 and all four gates take one ``tanh`` call. This form
  is also overflow-free for any |z|.

Storage is time-major: gates (T, B, 4H), cell (T, B, H), hidden (T, B, H_out). The trace
exposes batch-major (B, T, H) views of it, so recording costs no copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lstm_viz.errors import Cancelled

# Internal column order: input, forget, output (the sigmoid gates), then candidate.
_CANONICAL_TO_INTERNAL = (0, 1, 3, 2)

CHUNK_BYTES = 1 << 20
"""Target size of one chunk of gate storage; keeps a chunk's input projection in cache."""


def _permute_columns(a: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [a[..., k * hidden : (k + 1) * hidden] for k in _CANONICAL_TO_INTERNAL]
    return np.concatenate(blocks, axis=-1)


@dataclass
class PreparedLSTM:
    """A layer's parameters cast to one dtype in the internal [i, f, o, g], half-scaled form."""

    W_x_parts: list[np.ndarray]
    W_h: np.ndarray
    b: np.ndarray
    peep_if: np.ndarray | None  # (2, H) half-scaled p_i, p_f
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
    scale = np.concatenate([np.full(3 * h, 0.5), np.ones(h)])
    b = layer.b.copy()
    b[h : 2 * h] += layer.forget_bias
    W_x = _permute_columns(layer.W_x, h) * scale
    bounds = np.cumsum([0, *input_splits])
    W_x_parts = [np.ascontiguousarray(W_x[bounds[k] : bounds[k + 1]], dtype=dtype) for k in range(len(input_splits))]
    peep_if = peep_o = None
    if layer.peepholes is not None:
        peep_if = np.ascontiguousarray(layer.peepholes[:2] * 0.5, dtype=dtype)
        peep_o = np.ascontiguousarray(layer.peepholes[2] * 0.5, dtype=dtype)
    gate_lo = gate_hi = None
    if layer.gate_clip is not None:
        gate_hi = (layer.gate_clip * scale).astype(dtype)
        gate_lo = -gate_hi
    return PreparedLSTM(
        W_x_parts=W_x_parts,
        W_h=np.ascontiguousarray(_permute_columns(layer.W_h, h) * scale, dtype=dtype),
        b=np.ascontiguousarray(_permute_columns(b, h) * scale, dtype=dtype),
        peep_if=peep_if,
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
        W_x_parts=[np.ascontiguousarray(layer.W_x[bounds[k] : bounds[k + 1]], dtype=dtype) for k in range(len(input_splits))],
        W_h=np.ascontiguousarray(layer.W_h, dtype=dtype),
        b=np.ascontiguousarray(layer.b, dtype=dtype),
        hidden=layer.hidden_size,
        out=layer.hidden_size,
    )


class InputPart:
    """One part of a layer's input, read in time-major chunks.

    ``array`` is batch-major (B, T, D) for the network input or time-major (T, B, D) for a
    lower layer's output.
    """

    def __init__(self, array: np.ndarray, time_major: bool):
        self.array = array
        self.time_major = time_major
        self.width = array.shape[2]

    def chunk(self, t0: int, t1: int) -> np.ndarray:
        if self.time_major:
            block = self.array[t0:t1]
        else:
            block = self.array[:, t0:t1].transpose(1, 0, 2)
        return np.ascontiguousarray(block).reshape(-1, self.width)


@dataclass
class DirectionRecord:
    """Time-major storage of one recorded direction."""

    gates: np.ndarray | None  # (T, B, 4H), internal order i, f, o, g; None for a tanh RNN
    cell: np.ndarray | None  # (T, B, H)
    hidden: np.ndarray  # (T, B, H_out)
    initial_hidden: np.ndarray  # (B, H_out)
    initial_cell: np.ndarray | None  # (B, H)
    reverse: bool


def _chunk_steps(batch: int, width: int, itemsize: int) -> int:
    return max(8, CHUNK_BYTES // max(1, batch * width * itemsize))


def _chunks(T: int, size: int, reverse: bool):
    starts = list(range(0, T, size))
    if reverse:
        starts.reverse()
    for t0 in starts:
        yield t0, min(T, t0 + size)


def record_lstm(
    p: PreparedLSTM,
    parts: Sequence[InputPart],
    h0: np.ndarray,
    c0: np.ndarray,
    T: int,
    *,
    reverse: bool = False,
    tick: Callable[[int], None] | None = None,
) -> DirectionRecord:
    """Run one LSTM direction over T steps, recording every gate and state.

    ``h0`` (B, H_out) and ``c0`` (B, H) are the initial state; ``tick(n)`` is called after
    every chunk with the number of steps done in it (it may raise ``Cancelled``).
    """
    dtype = p.W_h.dtype
    B = h0.shape[0]
    H, Ho = p.hidden, p.out
    H2, H3 = 2 * H, 3 * H
    Z = np.empty((T, B, 4 * H), dtype)
    C = np.empty((T, B, H), dtype)
    Hs = np.empty((T, B, Ho), dtype)
    rec = np.empty((B, 4 * H), dtype)
    tmp = np.empty((B, H), dtype)
    peep_tmp = np.empty((B, 2, H), dtype) if p.peep_if is not None else None
    h_prev = np.array(h0, dtype=dtype, order="C")
    c_prev = np.array(c0, dtype=dtype, order="C")
    W_h = p.W_h
    peep_if, peep_o = p.peep_if, p.peep_o
    lo, hi = p.gate_lo, p.gate_hi
    W_proj, cell_clip, proj_clip = p.W_proj, p.cell_clip, p.proj_clip
    simple = peep_if is None and lo is None
    matmul, add, multiply, tanh, clip = np.matmul, np.add, np.multiply, np.tanh, np.clip
    chunk_size = _chunk_steps(B, 4 * H, Z.itemsize)
    scratch = None
    for t0, t1 in _chunks(T, chunk_size, reverse):
        Zc = Z[t0:t1].reshape(-1, 4 * H)
        matmul(parts[0].chunk(t0, t1), p.W_x_parts[0], out=Zc)
        for part, W in zip(parts[1:], p.W_x_parts[1:]):
            if scratch is None or scratch.shape[0] < Zc.shape[0]:
                scratch = np.empty_like(Zc)
            s = scratch[: Zc.shape[0]]
            matmul(part.chunk(t0, t1), W, out=s)
            add(Zc, s, out=Zc)
        add(Zc, p.b, out=Zc)
        steps = range(t1 - 1, t0 - 1, -1) if reverse else range(t0, t1)
        for t in steps:
            z = Z[t]
            c = C[t]
            matmul(h_prev, W_h, out=rec)
            add(z, rec, out=z)
            if simple:
                tanh(z, out=z)
                sig = z[:, :H3]
                multiply(sig, 0.5, out=sig)
                add(sig, 0.5, out=sig)
            else:
                zif = z[:, :H2]
                if peep_if is not None:
                    multiply(c_prev[:, None, :], peep_if, out=peep_tmp)
                    add(zif, peep_tmp.reshape(B, H2), out=zif)
                zg = z[:, H3:]
                if lo is not None:
                    if peep_o is None:
                        clip(z, lo, hi, out=z)
                    else:
                        clip(zif, lo[:H2], hi[:H2], out=zif)
                        clip(zg, lo[H3:], hi[H3:], out=zg)
                if peep_o is None:
                    tanh(z, out=z)
                    sig = z[:, :H3]
                else:
                    tanh(zif, out=zif)
                    tanh(zg, out=zg)
                    sig = zif
                multiply(sig, 0.5, out=sig)
                add(sig, 0.5, out=sig)
            multiply(z[:, H:H2], c_prev, out=c)
            multiply(z[:, :H], z[:, H3:], out=tmp)
            add(c, tmp, out=c)
            if cell_clip is not None:
                clip(c, -cell_clip, cell_clip, out=c)
            o = z[:, H2:H3]
            if peep_o is not None:
                multiply(c, peep_o, out=tmp)
                add(o, tmp, out=o)
                if lo is not None:
                    clip(o, lo[H2:H3], hi[H2:H3], out=o)
                tanh(o, out=o)
                multiply(o, 0.5, out=o)
                add(o, 0.5, out=o)
            tanh(c, out=tmp)
            h = Hs[t]
            if W_proj is None:
                multiply(o, tmp, out=h)
            else:
                multiply(o, tmp, out=tmp)
                matmul(tmp, W_proj, out=h)
                if proj_clip is not None:
                    clip(h, -proj_clip, proj_clip, out=h)
            h_prev = h
            c_prev = c
        if tick is not None:
            tick(t1 - t0)
    return DirectionRecord(Z, C, Hs, np.array(h0, dtype=dtype), np.array(c0, dtype=dtype), reverse)


def record_rnn(
    p: PreparedRNN,
    parts: Sequence[InputPart],
    h0: np.ndarray,
    c0,
    T: int,
    *,
    reverse: bool = False,
    tick: Callable[[int], None] | None = None,
) -> DirectionRecord:
    """Run one tanh-RNN direction: h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)."""
    dtype = p.W_h.dtype
    B = h0.shape[0]
    H = p.hidden
    Hs = np.empty((T, B, H), dtype)
    rec = np.empty((B, H), dtype)
    h_prev = np.array(h0, dtype=dtype, order="C")
    chunk_size = _chunk_steps(B, H, Hs.itemsize)
    scratch = None
    for t0, t1 in _chunks(T, chunk_size, reverse):
        Zc = Hs[t0:t1].reshape(-1, H)
        np.matmul(parts[0].chunk(t0, t1), p.W_x_parts[0], out=Zc)
        for part, W in zip(parts[1:], p.W_x_parts[1:]):
            if scratch is None or scratch.shape[0] < Zc.shape[0]:
                scratch = np.empty_like(Zc)
            s = scratch[: Zc.shape[0]]
            np.matmul(part.chunk(t0, t1), W, out=s)
            np.add(Zc, s, out=Zc)
        np.add(Zc, p.b, out=Zc)
        steps = range(t1 - 1, t0 - 1, -1) if reverse else range(t0, t1)
        for t in steps:
            h = Hs[t]
            np.matmul(h_prev, p.W_h, out=rec)
            np.add(h, rec, out=h)
            np.tanh(h, out=h)
            h_prev = h
        if tick is not None:
            tick(t1 - t0)
    return DirectionRecord(None, None, Hs, np.array(h0, dtype=dtype), None, reverse)


def check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")
