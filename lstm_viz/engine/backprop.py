"""Backpropagation through time over a recorded trace.

Given dL/d(output) at every step, returns dL/d(every parameter) and, per layer and
direction, the total gradient with respect to every h_t and c_t. The per-step norms of
those are what shows vanishing (or not vanishing) gradients.

The backward pass reads the forward values from the trace; pre-activations are
recomputed (one GEMM per layer) only when a clamp needs its mask. Work is in the trace's
dtype: use a float64 trace for gradient checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstm_viz.engine.trace import LayerTrace, Trace
from lstm_viz.errors import InputError


@dataclass
class LayerGradients:
    """Gradients of one layer direction.

    ``params`` has the same keys as ``layer.parameters()``; ``hidden`` (B, T, H_out) is the
    total dL/dh_t (from the loss and from later steps), ``cell`` (B, T, H) the total
    dL/dc_t (None for a tanh RNN); ``initial_hidden``/``initial_cell`` are dL/dh_0, dL/dc_0.
    ``reverse`` holds the backward direction of a bidirectional layer.
    """

    params: dict[str, np.ndarray]
    hidden: np.ndarray
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
    """``layers[l]`` per layer (bidirectional: forward with ``.reverse``).

    ``x`` is dL/d(layer 0's input), (B, T, D): the embedded input when the model embeds.
    """

    layers: list[LayerGradients]
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


def _time_major(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(1, 0, 2))


def backward(model, trace: Trace, d_output) -> Gradients:
    """BPTT through ``model`` for a trace it recorded; ``d_output`` is dL/d(trace.output)."""
    d_out = np.asarray(d_output, dtype=trace.output.dtype)
    if d_out.shape != trace.output.shape:
        raise InputError(f"d_output must have the output's shape {trace.output.shape}, got {d_out.shape}")
    if len(trace.layers) != model.num_layers:
        raise InputError(f"trace has {len(trace.layers)} layers but the model has {model.num_layers}")
    layer_grads: list[LayerGradients] = [None] * model.num_layers  # type: ignore[list-item]
    for index in range(model.num_layers - 1, -1, -1):
        lt = trace.layers[index]
        x_in = trace.layer_input if index == 0 else trace.layers[index - 1].layer_output
        directions = model.directions(index)
        d_in = np.zeros(x_in.shape, d_out.dtype)
        grads = []
        offset = 0
        for layer, direction_trace in zip(directions, lt.directions()):
            width = layer.output_size
            dh = d_out[:, :, offset : offset + width]
            offset += width
            if model.kind == "lstm":
                g, dx = _lstm_direction(layer, direction_trace, x_in, dh)
            else:
                g, dx = _rnn_direction(layer, direction_trace, x_in, dh)
            d_in += dx
            grads.append(g)
        if len(grads) == 2:
            grads[0].reverse = grads[1]
        layer_grads[index] = grads[0]
        d_out = d_in
    return Gradients(layer_grads, d_out)


def _step_order(T: int, reverse_time: bool):
    """Steps in reverse order of computation."""
    return range(T) if reverse_time else range(T - 1, -1, -1)


def _lstm_direction(layer, lt: LayerTrace, x_in: np.ndarray, d_hidden: np.ndarray):
    dtype = lt.cell.dtype
    H = layer.hidden_size
    W_x = layer.W_x.astype(dtype)
    W_h = layer.W_h.astype(dtype)
    peep = None if layer.peepholes is None else layer.peepholes.astype(dtype)
    W_proj = None if layer.W_proj is None else layer.W_proj.astype(dtype)
    f, i, g, o, c = (_time_major(a) for a in (lt.forget, lt.input, lt.candidate, lt.output, lt.cell))
    c_prev = _time_major(lt.cell_prev)
    h_prev = _time_major(lt.hidden_prev)
    x = _time_major(x_in)
    dh_ext = _time_major(d_hidden)
    T, B, _ = c.shape
    tanh_c = np.tanh(c)

    gate_mask = None
    if layer.gate_clip is not None:
        z = x @ W_x + h_prev @ W_h + layer.b.astype(dtype)
        z[..., H : 2 * H] += layer.forget_bias
        if peep is not None:
            z[..., :H] += peep[0] * c_prev
            z[..., H : 2 * H] += peep[1] * c_prev
            z[..., 3 * H :] += peep[2] * c
        gate_mask = (np.abs(z) < layer.gate_clip).astype(dtype)
    cell_mask = None
    if layer.cell_clip is not None:
        cell_mask = (np.abs(f * c_prev + i * g) < layer.cell_clip).astype(dtype)
    unprojected = o * tanh_c
    proj_mask = None
    if W_proj is not None and layer.proj_clip is not None:
        proj_mask = (np.abs(unprojected @ W_proj) < layer.proj_clip).astype(dtype)

    DZ = np.empty((T, B, 4 * H), dtype)
    D_hidden = np.empty_like(dh_ext)
    D_cell = np.empty_like(c)
    D_proj = np.empty_like(dh_ext) if W_proj is not None else None
    dh_rec = np.zeros((B, layer.output_size), dtype)
    dc_next = np.zeros((B, H), dtype)
    W_h_T = np.ascontiguousarray(W_h.T)
    W_proj_T = None if W_proj is None else np.ascontiguousarray(W_proj.T)
    for t in _step_order(T, lt.reverse_time):
        dh = dh_ext[t] + dh_rec
        D_hidden[t] = dh
        if W_proj is not None:
            if proj_mask is not None:
                dh = dh * proj_mask[t]
            D_proj[t] = dh
            dm = dh @ W_proj_T
        else:
            dm = dh
        ot, tc = o[t], tanh_c[t]
        dzo = dm * tc * ot * (1 - ot)
        dc = dc_next + dm * ot * (1 - tc * tc)
        if gate_mask is not None:
            dzo *= gate_mask[t, :, 3 * H :]
        if peep is not None:
            dc += dzo * peep[2]
        D_cell[t] = dc
        if cell_mask is not None:
            dc = dc * cell_mask[t]
        ft, it, gt = f[t], i[t], g[t]
        dzi = dc * gt * it * (1 - it)
        dzf = dc * c_prev[t] * ft * (1 - ft)
        dzg = dc * it * (1 - gt * gt)
        dc_next = dc * ft
        dz = DZ[t]
        dz[:, :H], dz[:, H : 2 * H], dz[:, 2 * H : 3 * H], dz[:, 3 * H :] = dzi, dzf, dzg, dzo
        if gate_mask is not None:
            dz[:, : 3 * H] *= gate_mask[t, :, : 3 * H]
        if peep is not None:
            dc_next = dc_next + dz[:, :H] * peep[0] + dz[:, H : 2 * H] * peep[1]
        dh_rec = dz @ W_h_T

    flat = DZ.reshape(T * B, 4 * H)
    params = {
        "W_x": x.reshape(T * B, -1).T @ flat,
        "W_h": h_prev.reshape(T * B, -1).T @ flat,
        "b": flat.sum(axis=0),
    }
    if peep is not None:
        params["peepholes"] = np.stack(
            [
                (DZ[..., :H] * c_prev).sum(axis=(0, 1)),
                (DZ[..., H : 2 * H] * c_prev).sum(axis=(0, 1)),
                (DZ[..., 3 * H :] * c).sum(axis=(0, 1)),
            ]
        )
    if W_proj is not None:
        params["W_proj"] = unprojected.reshape(T * B, H).T @ D_proj.reshape(T * B, -1)
    dx = (flat @ W_x.T).reshape(T, B, -1).transpose(1, 0, 2)
    grads = LayerGradients(
        params=params,
        hidden=D_hidden.transpose(1, 0, 2),
        cell=D_cell.transpose(1, 0, 2),
        initial_hidden=dh_rec,
        initial_cell=dc_next,
    )
    return grads, dx


def _rnn_direction(layer, lt: LayerTrace, x_in: np.ndarray, d_hidden: np.ndarray):
    h = _time_major(lt.hidden)
    dtype = h.dtype
    W_x = layer.W_x.astype(dtype)
    W_h_T = np.ascontiguousarray(layer.W_h.astype(dtype).T)
    h_prev = _time_major(lt.hidden_prev)
    x = _time_major(x_in)
    dh_ext = _time_major(d_hidden)
    T, B, H = h.shape
    DZ = np.empty_like(h)
    D_hidden = np.empty_like(h)
    dh_rec = np.zeros((B, H), dtype)
    for t in _step_order(T, lt.reverse_time):
        dh = dh_ext[t] + dh_rec
        D_hidden[t] = dh
        DZ[t] = dh * (1 - h[t] * h[t])
        dh_rec = DZ[t] @ W_h_T
    flat = DZ.reshape(T * B, H)
    params = {"W_x": x.reshape(T * B, -1).T @ flat, "W_h": h_prev.reshape(T * B, H).T @ flat, "b": flat.sum(axis=0)}
    dx = (flat @ W_x.T).reshape(T, B, -1).transpose(1, 0, 2)
    return LayerGradients(params, D_hidden.transpose(1, 0, 2), None, dh_rec, None), dx
