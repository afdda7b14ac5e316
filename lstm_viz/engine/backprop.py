"""Backpropagation through time over a recorded trace.

Given dL/d(output) at every step, returns dL/d(every parameter) and, per layer and
direction, the total gradient with respect to every h_t and c_t. The per-step norms of
those are what shows vanishing (or not vanishing) gradients.

The gradient can also enter lower down: at the output of any layer and at its memory
cells (``backward(model, trace, d_hidden, layer=l, d_cell=...)``). That is how the
gradient of one hidden or cell value of a middle layer with respect to the input is taken.

The backward pass reads the forward values from the trace; pre-activations are
recomputed (one GEMM per block of steps) only when a clamp needs its mask. Per block of
steps, every factor that does not depend on the incoming gradient (gate derivatives,
clamp masks, peephole terms) is computed first in whole-array operations, so the step
loop holds one product with W_h and a handful of element-wise operations. Work is in the
trace's dtype: use a float64 trace for gradient checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lstm_viz.engine import blas
from lstm_viz.engine.trace import LayerTrace, Trace
from lstm_viz.errors import InputError

BLOCK_ELEMENTS = 1 << 20
"""Steps per block of precomputed factors: about this many (steps x batch x units) values."""


@dataclass
class LayerGradients:
    """Gradients of one layer direction.

    ``params`` has the same keys as ``layer.parameters()`` (empty when the parameters were
    not asked for); ``hidden`` (B, T, H_out) is the total dL/dh_t (from the loss and from
    later steps), ``cell`` (B, T, H) the total dL/dc_t (None for a tanh RNN, and both None
    when the states were not asked for); ``initial_hidden``/``initial_cell`` are dL/dh_0,
    dL/dc_0. ``reverse`` holds the backward direction of a bidirectional layer.
    """

    params: dict[str, np.ndarray]
    hidden: np.ndarray | None
    cell: np.ndarray | None
    initial_hidden: np.ndarray
    initial_cell: np.ndarray | None
    reverse: LayerGradients | None = None

    def hidden_norms(self) -> np.ndarray:
        """||dL/dh_t|| per sequence and step, (B, T)."""
        return np.linalg.norm(self.hidden, axis=-1)

    def cell_norms(self) -> np.ndarray:
        """||dL/dc_t|| per sequence and step, (B, T)."""
        return np.linalg.norm(self.cell, axis=-1)


@dataclass
class Gradients:
    """``layers[l]`` per layer (bidirectional: forward with ``.reverse``); None for the
    layers above the one the gradient entered at (they do not influence it).

    ``x`` is dL/d(layer 0's input), (B, T, D): the embedded input when the model embeds.
    """

    layers: list[LayerGradients | None]
    x: np.ndarray
    extra: dict = field(default_factory=dict)

    def parameter_list(self, model) -> list[np.ndarray]:
        """Gradients in the order of ``iter_parameters(model)``."""
        grads = []
        for index in range(model.num_layers):
            for g in _directions(self.layers[index]):
                grads.extend(g.params.values())
        return grads


def _directions(g):
    return [g] if g.reverse is None else [g, g.reverse]


def iter_parameters(model) -> list[np.ndarray]:
    """Every trainable array of the network's layers, in a fixed order."""
    return [p for layer in model.all_layers() for p in layer.parameters().values()]


def backward(
    model,
    trace: Trace,
    d_output,
    *,
    layer: int | None = None,
    d_cell=None,
    parameters: bool = True,
    states: bool = True,
    tick: Callable[[int], None] | None = None,
) -> Gradients:
    """BPTT through ``model`` for a trace it recorded; ``d_output`` is dL/d(trace.output).

    ``layer``: the gradient enters at the output of this layer instead of the top one;
    ``d_output`` is then dL/d(that layer's output), (B, T, H_out) ([forward | backward]
    for a bidirectional layer), and the layers above get None in ``Gradients.layers``.
    ``d_cell``: dL/dc_t added at the memory cells of that layer, (B, T, H) ([forward |
    backward] when bidirectional), on top of what reaches them from ``d_output``.
    ``parameters=False`` skips the parameter gradients and ``states=False`` does not keep
    dL/dh_t and dL/dc_t (for input gradients, which need neither). ``tick(n)`` is called
    after each block of n steps of one layer direction.
    """
    top = model.num_layers - 1 if layer is None else layer
    if not (isinstance(top, (int, np.integer)) and 0 <= top < model.num_layers):
        raise InputError(f"layer must be one of 0..{model.num_layers - 1}, got {layer!r}")
    if len(trace.layers) != model.num_layers:
        raise InputError(f"trace has {len(trace.layers)} layers but the model has {model.num_layers}")
    expected = trace.layers[top].layer_output.shape
    dtype = trace.layers[top].hidden.dtype
    d_out = np.asarray(d_output, dtype=dtype)
    if d_out.shape != expected:
        what = "the output's shape" if layer is None else f"layer {top}'s output shape"
        raise InputError(f"d_output must have {what} {expected}, got {d_out.shape}")
    if d_cell is not None:
        if model.kind != "lstm":
            raise InputError("d_cell needs an LSTM: a tanh RNN has no memory cells")
        d_cell = np.asarray(d_cell, dtype=dtype)
        cells = trace.layers[top].cell.shape[:2] + (sum(lt.hidden_size for lt in trace.layers[top].directions()),)
        if d_cell.shape != cells:
            raise InputError(f"d_cell must have layer {top}'s cell shape {cells}, got {d_cell.shape}")
    layer_grads: list[LayerGradients | None] = [None] * model.num_layers
    for index in range(top, -1, -1):
        grads, d_out = layer_backward(
            model,
            trace,
            index,
            d_out,
            d_cell if index == top else None,
            parameters=parameters,
            states=states,
            tick=tick,
        )
        layer_grads[index] = grads
    return Gradients(layer_grads, d_out)


def layer_backward(
    model,
    trace: Trace,
    index: int,
    d_hidden: np.ndarray,
    d_cell: np.ndarray | None = None,
    *,
    parameters: bool = True,
    states: bool = True,
    inputs: bool = True,
    tick: Callable[[int], None] | None = None,
) -> tuple[LayerGradients, np.ndarray | None]:
    """BPTT through the directions of layer ``index`` alone.

    ``d_hidden`` is dL/d(the layer's output) (B, T, H_out total), ``d_cell`` an optional
    dL/dc_t (B, T, H total). Returns the layer's gradients and dL/d(its input) (None when
    ``inputs`` is False).
    """
    lt = trace.layers[index]
    x_in = trace.layer_input if index == 0 else trace.layers[index - 1].layer_output
    d_in = None
    grads = []
    h_offset = c_offset = 0
    for layer, direction_trace in zip(model.directions(index), lt.directions()):
        dh = d_hidden[:, :, h_offset : h_offset + layer.output_size]
        h_offset += layer.output_size
        if model.kind == "lstm":
            dc = None if d_cell is None else d_cell[:, :, c_offset : c_offset + layer.hidden_size]
            c_offset += layer.hidden_size
            g, dx = lstm_direction_backward(
                layer, direction_trace, x_in, dh, dc, parameters=parameters, states=states, inputs=inputs, tick=tick
            )
        else:
            g, dx = _rnn_direction(layer, direction_trace, x_in, dh, parameters=parameters, states=states, tick=tick)
            dx = dx if inputs else None
        if dx is not None:
            d_in = dx if d_in is None else d_in + dx
        grads.append(g)
    if len(grads) == 2:
        grads[0].reverse = grads[1]
    return grads[0], d_in


def _block_length(batch: int, width: int) -> int:
    return int(min(512, max(8, BLOCK_ELEMENTS // max(1, batch * width))))


def _blocks(T: int, length: int, reverse_time: bool):
    """(start, stop) blocks of steps in reverse order of computation."""
    starts = list(range(0, T, length))
    if not reverse_time:
        starts.reverse()
    return [(s, min(T, s + length)) for s in starts]


def _feature_major(a: np.ndarray, t0: int, t1: int) -> np.ndarray:
    """Steps [t0, t1) of a batch-major (B, T, H) array as (n, H, B): a view without copying
    (the recorded trace is stored that way: every step's (H, B) block contiguous)."""
    return a[:, t0:t1].transpose(1, 2, 0)


def _previous(values: np.ndarray, initial: np.ndarray, t0: int, t1: int, reverse_time: bool) -> np.ndarray:
    """The state each step of [t0, t1) started from, (n, H, B)."""
    T = values.shape[1]
    if reverse_time:
        rows = _feature_major(values, t0 + 1, t1 + 1)
        return np.concatenate([rows, initial.T[None]], axis=0) if t1 == T else rows
    rows = _feature_major(values, max(t0 - 1, 0), t1 - 1)
    return np.concatenate([initial.T[None], rows], axis=0) if t0 == 0 else rows


def lstm_direction_backward(
    layer,
    lt: LayerTrace,
    x_in: np.ndarray,
    d_hidden: np.ndarray,
    d_cell: np.ndarray | None = None,
    *,
    parameters: bool = True,
    states: bool = True,
    inputs: bool = True,
    tick: Callable[[int], None] | None = None,
):
    """BPTT through one LSTM direction. Returns (LayerGradients, dL/dx_in or None).

    Per step, with every factor that does not depend on the gradient computed in advance
    (arrays (units, B), as the trace stores a step)::

        dh    = d_hidden_t + dh_rec                     (total dL/dh_t)
        dm    = W_proj (dh * proj_mask), or dh          (dL/d(o * tanh c))
        dc    = dm * A + dc_next [+ d_cell_t]           (total dL/dc_t)
        dz_o  = dm * O;   dz_ifg = dc * C;   dc_next = dc * F;   dh_rec = W_h dz

    A = o (1 - tanh^2 c) + O p_o; O = tanh c o (1 - o) [* gate mask];
    C = [g i (1-i), c_prev f (1-f), i (1 - g^2)] [* gate mask] [* cell mask];
    F = f [* cell mask] + C_i p_i + C_f p_f.

    dz and dc_next values below the dtype's smallest normal number (1.2e-38 in float32,
    2.2e-308 in float64) are set to 0, as flush-to-zero hardware modes do: a vanishing
    gradient otherwise runs through hundreds of steps of subnormal arithmetic, which is
    about 100 times slower. Once nothing is left to carry and no gradient enters a block
    of steps, the block is exactly 0 and is not computed.
    """
    dtype = lt.cell.dtype
    B, T, H = lt.cell.shape
    W_x = layer.W_x.astype(dtype)
    W_h = np.ascontiguousarray(layer.W_h.astype(dtype))
    b = layer.b.astype(dtype)
    peep = None if layer.peepholes is None else layer.peepholes.astype(dtype)[:, :, None]
    W_proj = None if layer.W_proj is None else np.ascontiguousarray(layer.W_proj.astype(dtype))
    H_out = layer.output_size
    D = x_in.shape[2]
    d_hidden = np.asarray(d_hidden, dtype)

    hidden_out = np.empty((B, T, H_out), dtype) if states else None
    cell_out = np.empty((B, T, H), dtype) if states else None
    dx = np.empty((B, T, D), dtype) if inputs else None
    params: dict[str, np.ndarray] = {}
    if parameters:
        params = {"W_x": np.zeros_like(W_x), "W_h": np.zeros_like(W_h), "b": np.zeros_like(b)}
        if peep is not None:
            params["peepholes"] = np.zeros(layer.peepholes.shape, dtype)
        if W_proj is not None:
            params["W_proj"] = np.zeros_like(W_proj)

    dh_rec = np.zeros((H_out, B), dtype)
    dc_next = np.zeros((H, B), dtype)
    length = _block_length(B, 4 * H)
    need_inputs = parameters or layer.gate_clip is not None
    tiny = np.finfo(dtype).tiny
    with blas.step_threads(B, H_out, H)():
        for t0, t1 in _blocks(T, length, lt.reverse_time):
            n = t1 - t0
            ext_h = np.ascontiguousarray(_feature_major(d_hidden, t0, t1))
            ext_c = None if d_cell is None else np.ascontiguousarray(_feature_major(d_cell, t0, t1), dtype)
            if not (dh_rec.any() or dc_next.any() or ext_h.any() or (ext_c is not None and ext_c.any())):
                # nothing reaches these steps: every gradient of the block is exactly 0
                if inputs:
                    dx[:, t0:t1] = 0
                if states:
                    hidden_out[:, t0:t1] = 0
                    cell_out[:, t0:t1] = 0
                if tick is not None:
                    tick(n)
                continue
            f, i, g, o, c = (_feature_major(a, t0, t1) for a in (lt.forget, lt.input, lt.candidate, lt.output, lt.cell))
            c_prev = _previous(lt.cell, lt.initial_cell, t0, t1, lt.reverse_time)
            h_prev = _previous(lt.hidden, lt.initial_hidden, t0, t1, lt.reverse_time) if need_inputs else None
            x = _feature_major(x_in, t0, t1) if need_inputs else None

            tanh_c = np.tanh(c)
            one_minus = 1 - o
            O = tanh_c * o
            O *= one_minus
            A = tanh_c * tanh_c
            np.subtract(1, A, out=A)
            A *= o
            C = np.empty((n, 3, H, B), dtype)
            np.subtract(1, i, out=one_minus)
            np.multiply(g, i, out=C[:, 0])
            C[:, 0] *= one_minus
            np.subtract(1, f, out=one_minus)
            np.multiply(c_prev, f, out=C[:, 1])
            C[:, 1] *= one_minus
            np.multiply(g, g, out=one_minus)
            np.subtract(1, one_minus, out=one_minus)
            np.multiply(i, one_minus, out=C[:, 2])
            del one_minus
            if layer.gate_clip is not None:
                z = np.matmul(W_x.T, x) + np.matmul(W_h.T, h_prev) + b[:, None]
                z[:, H : 2 * H] += layer.forget_bias
                if peep is not None:
                    z[:, :H] += peep[0] * c_prev
                    z[:, H : 2 * H] += peep[1] * c_prev
                    z[:, 3 * H :] += peep[2] * c
                mask = (np.abs(z) < layer.gate_clip).astype(dtype).reshape(n, 4, H, B)
                O *= mask[:, 3]
                C *= mask[:, :3]
                del z, mask
            if peep is not None:
                A += O * peep[2]
            F = f
            if layer.cell_clip is not None:
                cell_mask = (np.abs(f * c_prev + i * g) < layer.cell_clip).astype(dtype)
                C *= cell_mask[:, None]
                F = f * cell_mask
            if peep is not None:
                F = F + C[:, 0] * peep[0] + C[:, 1] * peep[1]
            proj_mask = None
            if W_proj is not None and layer.proj_clip is not None:
                proj_mask = (np.abs(np.matmul(W_proj.T, o * tanh_c)) < layer.proj_clip).astype(dtype)

            DZ = np.empty((n, 4, H, B), dtype)
            DZ_flat = DZ.reshape(n, 4 * H, B)
            D_hidden = np.empty((n, H_out, B), dtype) if states else None
            D_cell = np.empty((n, H, B), dtype) if states else None
            D_proj = np.empty((n, H_out, B), dtype) if (W_proj is not None and parameters) else None
            order = range(n) if lt.reverse_time else range(n - 1, -1, -1)
            for k in order:
                dh = ext_h[k] + dh_rec
                if states:
                    D_hidden[k] = dh
                if W_proj is not None:
                    if proj_mask is not None:
                        dh *= proj_mask[k]
                    if D_proj is not None:
                        D_proj[k] = dh
                    dm = W_proj @ dh
                else:
                    dm = dh
                dc = dm * A[k]
                dc += dc_next
                if ext_c is not None:
                    dc += ext_c[k]
                if states:
                    D_cell[k] = dc
                dz = DZ[k]
                np.multiply(dm, O[k], out=dz[3])
                np.multiply(C[k], dc, out=dz[:3])
                dc_next = dc * F[k]
                # flush to zero what fell below the smallest normal number (subnormal
                # arithmetic is ~100 times slower), as FTZ hardware modes do
                dz_flat = DZ_flat[k]
                dz_flat[np.abs(dz_flat) < tiny] = 0
                dc_next[np.abs(dc_next) < tiny] = 0
                dh_rec = W_h @ dz_flat

            if inputs:
                dx[:, t0:t1] = np.matmul(W_x, DZ_flat).transpose(2, 0, 1)
            if parameters:
                flat = DZ_flat.transpose(0, 2, 1).reshape(n * B, 4 * H)
                params["W_x"] += x.transpose(0, 2, 1).reshape(n * B, D).T @ flat
                params["W_h"] += h_prev.transpose(0, 2, 1).reshape(n * B, H_out).T @ flat
                params["b"] += flat.sum(axis=0)
                if peep is not None:
                    params["peepholes"] += np.stack(
                        [
                            (DZ[:, 0] * c_prev).sum(axis=(0, 2)),
                            (DZ[:, 1] * c_prev).sum(axis=(0, 2)),
                            (DZ[:, 3] * c).sum(axis=(0, 2)),
                        ]
                    )
                if W_proj is not None:
                    unprojected = (o * tanh_c).transpose(0, 2, 1).reshape(n * B, H)
                    params["W_proj"] += unprojected.T @ D_proj.transpose(0, 2, 1).reshape(n * B, H_out)
            if states:
                hidden_out[:, t0:t1] = D_hidden.transpose(2, 0, 1)
                cell_out[:, t0:t1] = D_cell.transpose(2, 0, 1)
            if tick is not None:
                tick(n)

    grads = LayerGradients(
        params=params,
        hidden=hidden_out,
        cell=cell_out,
        initial_hidden=np.ascontiguousarray(dh_rec.T),
        initial_cell=np.ascontiguousarray(dc_next.T),
    )
    return grads, dx


def _time_major(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(1, 0, 2))


def _step_order(T: int, reverse_time: bool):
    """Steps in reverse order of computation."""
    return range(T) if reverse_time else range(T - 1, -1, -1)


def _rnn_direction(
    layer,
    lt: LayerTrace,
    x_in: np.ndarray,
    d_hidden: np.ndarray,
    *,
    parameters: bool = True,
    states: bool = True,
    tick: Callable[[int], None] | None = None,
):
    h = _time_major(lt.hidden)
    dtype = h.dtype
    W_x = layer.W_x.astype(dtype)
    W_h_T = np.ascontiguousarray(layer.W_h.astype(dtype).T)
    dh_ext = _time_major(np.asarray(d_hidden, dtype))
    T, B, H = h.shape
    derivative = 1 - h * h
    DZ = np.zeros_like(h)
    D_hidden = np.zeros_like(h) if states else None
    dh_rec = np.zeros((B, H), dtype)
    tiny = np.finfo(dtype).tiny
    entering = dh_ext.any(axis=(1, 2))
    # gradient still to enter at the steps computed after t (earlier steps; later ones reversed)
    remaining = np.cumsum(entering[::-1])[::-1] if lt.reverse_time else np.cumsum(entering)
    for t in _step_order(T, lt.reverse_time):
        if not remaining[t] and not dh_rec.any():
            break  # nothing left to carry and nothing enters further on: the rest is 0
        dh = dh_ext[t] + dh_rec
        if states:
            D_hidden[t] = dh
        np.multiply(dh, derivative[t], out=DZ[t])
        DZ[t][np.abs(DZ[t]) < tiny] = 0  # flush to zero, as in the LSTM
        dh_rec = DZ[t] @ W_h_T
    if tick is not None:
        tick(T)
    flat = DZ.reshape(T * B, H)
    params = {}
    if parameters:
        h_prev = _time_major(lt.hidden_prev)
        x = _time_major(x_in)
        params = {"W_x": x.reshape(T * B, -1).T @ flat, "W_h": h_prev.reshape(T * B, H).T @ flat, "b": flat.sum(axis=0)}
    dx = (flat @ W_x.T).reshape(T, B, -1).transpose(1, 0, 2)
    hidden = None if D_hidden is None else D_hidden.transpose(1, 0, 2)
    return LayerGradients(params, hidden, None, dh_rec, None), dx
