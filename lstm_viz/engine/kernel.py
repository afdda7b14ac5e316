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

Storage is feature-major: gates (T, 4H, B), cell (T, H, B), hidden (T, H_out, B), so
every quantity's block at a step is contiguous for any batch size (a single sequence
runs on 1-D views). The trace exposes batch-major (B, T, H) views of it, so recording
costs no copy.
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

MAX_CHUNK_STEPS = 1024
"""Upper bound on a chunk, so progress and cancel are checked often on small models."""


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
    """Feature-major storage of one recorded direction: every step is a (features, B) block.

    Keeping B last makes each gate's block at a step contiguous for any batch size, so the
    per-step ufuncs never copy operands; the trace sees (B, T, H) views of it.
    """

    gates: np.ndarray | None  # (T, 4H, B), internal order i, f, o, g; None for a tanh RNN
    cell: np.ndarray | None  # (T, H, B)
    hidden: np.ndarray  # (T, H_out, B)
    initial_hidden: np.ndarray  # (B, H_out)
    initial_cell: np.ndarray | None  # (B, H)
    reverse: bool


def _chunk_steps(batch: int, width: int, itemsize: int) -> int:
    return int(min(MAX_CHUNK_STEPS, max(8, CHUNK_BYTES // max(1, batch * width * itemsize))))


def _chunks(T: int, size: int, reverse: bool):
    starts = list(range(0, T, size))
    if reverse:
        starts.reverse()
    for t0 in starts:
        yield t0, min(T, t0 + size)


def _project_chunk(Z, t0, t1, parts, weights, bias, scratch):
    """Z[t0:t1] (steps, F, B) = sum_k parts[k] @ weights[k] + bias, one GEMM per part."""
    steps, F, B = Z[t0:t1].shape
    rows = steps * B
    if B == 1:
        target = Z[t0:t1].reshape(rows, F)
    else:
        target = scratch[:rows]
    np.matmul(parts[0].chunk(t0, t1), weights[0], out=target)
    for part, W in zip(parts[1:], weights[1:]):
        target += part.chunk(t0, t1) @ W
    target += bias
    if B != 1:
        np.copyto(Z[t0:t1], target.reshape(steps, B, F).transpose(0, 2, 1))


def _vector(a: np.ndarray, batched: bool) -> np.ndarray:
    """A per-unit vector shaped to broadcast against a (units,) or (units, B) block."""
    return np.ascontiguousarray(a[..., None] if batched else a)


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
    H2, H3, H4 = 2 * H, 3 * H, 4 * H
    batched = B != 1
    Z = np.empty((T, H4, B), dtype)
    C = np.empty((T, H, B), dtype)
    Hs = np.empty((T, Ho, B), dtype)
    if batched:
        Zs, Cs, Hss = Z, C, Hs
        h_prev, c_prev = np.ascontiguousarray(h0.T, dtype), np.ascontiguousarray(c0.T, dtype)
        W_rec = np.ascontiguousarray(p.W_h.T)  # (4H, H_out): rec = W_rec @ h_prev
    else:
        Zs, Cs, Hss = Z.reshape(T, H4), C.reshape(T, H), Hs.reshape(T, Ho)
        h_prev, c_prev = np.array(h0[0], dtype), np.array(c0[0], dtype)
        W_rec = p.W_h  # (H_out, 4H): rec = h_prev @ W_rec
    rec = np.empty(Zs.shape[1:], dtype)
    tmp = np.empty(Cs.shape[1:], dtype)
    half = np.array(0.5, dtype)
    peep_if = peep_o = peep_tmp = None
    if p.peep_if is not None:
        peep_if = _vector(p.peep_if, batched)
        peep_o = _vector(p.peep_o, batched)
        peep_tmp = np.empty((2, *tmp.shape), dtype)
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
    simple = peep_if is None and lo is None
    dot, add, multiply, tanh = np.dot, np.add, np.multiply, np.tanh
    minimum, maximum = np.minimum, np.maximum
    chunk_size = _chunk_steps(B, H4, Z.itemsize)
    scratch = np.empty((chunk_size * B, H4), dtype) if batched or len(parts) > 1 else None
    for t0, t1 in _chunks(T, chunk_size, reverse):
        _project_chunk(Z, t0, t1, parts, p.W_x_parts, p.b, scratch)
        for t in range(t1 - 1, t0 - 1, -1) if reverse else range(t0, t1):
            z = Zs[t]
            c = Cs[t]
            if batched:
                dot(W_rec, h_prev, rec)
            else:
                dot(h_prev, W_rec, rec)
            add(z, rec, z)
            if simple:
                tanh(z, z)
                sig = z[:H3]
                multiply(sig, half, sig)
                add(sig, half, sig)
                o = z[H2:H3]
            else:
                zif = z[:H2]
                if peep_if is not None:
                    multiply(c_prev, peep_if, peep_tmp)
                    add(zif, peep_tmp.reshape(zif.shape), zif)
                zg = z[H3:]
                if lo is not None:
                    if peep_o is None:
                        minimum(z, hi, out=z)
                        maximum(z, lo, out=z)
                    else:
                        minimum(zif, hi[:H2], out=zif)
                        maximum(zif, lo[:H2], out=zif)
                        minimum(zg, hi[H3:], out=zg)
                        maximum(zg, lo[H3:], out=zg)
                o = z[H2:H3]
                if peep_o is None:
                    tanh(z, z)
                    sig = z[:H3]
                else:
                    tanh(zif, zif)
                    tanh(zg, zg)
                    sig = zif
                multiply(sig, half, sig)
                add(sig, half, sig)
            multiply(z[H:H2], c_prev, c)
            multiply(z[:H], z[H3:], tmp)
            add(c, tmp, c)
            if cell_hi is not None:
                minimum(c, cell_hi, out=c)
                maximum(c, cell_lo, out=c)
            if peep_o is not None:
                multiply(c, peep_o, tmp)
                add(o, tmp, o)
                if lo is not None:
                    minimum(o, hi[H2:H3], out=o)
                    maximum(o, lo[H2:H3], out=o)
                tanh(o, o)
                multiply(o, half, o)
                add(o, half, o)
            tanh(c, tmp)
            h = Hss[t]
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
    batched = B != 1
    Hs = np.empty((T, H, B), dtype)
    if batched:
        Hss, h_prev, W_rec = Hs, np.ascontiguousarray(h0.T, dtype), np.ascontiguousarray(p.W_h.T)
    else:
        Hss, h_prev, W_rec = Hs.reshape(T, H), np.array(h0[0], dtype), p.W_h
    rec = np.empty(Hss.shape[1:], dtype)
    chunk_size = _chunk_steps(B, H, Hs.itemsize)
    scratch = np.empty((chunk_size * B, H), dtype) if batched or len(parts) > 1 else None
    for t0, t1 in _chunks(T, chunk_size, reverse):
        _project_chunk(Hs, t0, t1, parts, p.W_x_parts, p.b, scratch)
        for t in range(t1 - 1, t0 - 1, -1) if reverse else range(t0, t1):
            h = Hss[t]
            if batched:
                np.dot(W_rec, h_prev, rec)
            else:
                np.dot(h_prev, W_rec, rec)
            np.add(h, rec, h)
            np.tanh(h, h)
            h_prev = h
        if tick is not None:
            tick(t1 - t0)
    return DirectionRecord(None, None, Hs, np.array(h0, dtype=dtype), None, reverse)


def check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")
