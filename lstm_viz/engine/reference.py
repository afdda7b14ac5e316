"""One LSTM step of DESIGN.md's equations, written out in float64 with readable names.

This is the reference the fast kernel (``kernel.py``) is checked against, and the one
step that what-if re-runs (with gates held at chosen values), the equations panel and
the cell diagram use to show where each number comes from::

    z = x_t @ W_x + h_{t-1} @ W_h + b                  # blocks i, f, g, o
    forget_gate = sigmoid(z_f + forget_bias [+ p_f * c_{t-1}])
    input_gate  = sigmoid(z_i [+ p_i * c_{t-1}])
    candidate   = tanh(z_g)
    old  = forget_gate * c_{t-1};   new = input_gate * candidate
    cell = clip(old + new, cell_clip)
    output_gate = sigmoid(z_o [+ p_o * cell])
    hidden = output_gate * tanh(cell)  [@ W_proj, clipped]

``gate_clip`` (ONNX's ``clip``) clamps each pre-activation after its peephole term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstm_viz.vocabulary import WEIGHT_BLOCKS

PEEPHOLE_ROWS = {"input": 0, "forget": 1, "output": 2}  # rows of LSTMLayer.peepholes


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass
class GateParts:
    """What goes into one gate (arrays of shape (B, H)): its pre-activation's parts, the
    pre-activation, the value after any clip, and the gate's value."""

    input_part: np.ndarray
    recurrent_part: np.ndarray
    bias: np.ndarray
    forget_bias: float
    peephole: np.ndarray | float
    pre_activation: np.ndarray  # the sum of the parts
    clipped: np.ndarray  # after gate_clip (the same array without one)
    value: np.ndarray


@dataclass
class StepValues:
    """Every quantity of one step, (B, H) each (``hidden`` is (B, P) with a projection)."""

    forget_gate: np.ndarray
    input_gate: np.ndarray
    candidate: np.ndarray
    output_gate: np.ndarray
    old: np.ndarray
    new: np.ndarray
    cell_unclipped: np.ndarray
    cell: np.ndarray
    tanh_cell: np.ndarray
    hidden_unprojected: np.ndarray
    hidden: np.ndarray
    parts: dict[str, GateParts]

    def gate(self, name: str) -> np.ndarray:
        """A gate by its code name: forget, input, candidate or output."""
        return {
            "forget": self.forget_gate,
            "input": self.input_gate,
            "candidate": self.candidate,
            "output": self.output_gate,
        }[name]


Hold = Callable[[str, np.ndarray], np.ndarray]


def lstm_step(layer, x_t, h_prev, c_prev, hold: Hold | None = None, input_parts=None) -> StepValues:
    """One step of ``layer`` (an LSTMLayer) in float64.

    ``x_t`` (B, D), ``h_prev`` (B, H_out), ``c_prev`` (B, H). ``hold(gate, values)`` may
    return other values for a gate's activation (what-if clamps); the step goes on with
    them. ``input_parts``: ``x_t @ W_x`` when the caller computed it for many steps at once
    (one matrix product, as the kernel does, gives the kernel's exact float64 numbers).
    """
    h_prev, c_prev = (np.asarray(a, dtype=np.float64) for a in (h_prev, c_prev))
    H = layer.hidden_size
    W_x, W_h, b = (np.asarray(a, dtype=np.float64) for a in (layer.W_x, layer.W_h, layer.b))
    if input_parts is None:
        input_parts = np.asarray(x_t, dtype=np.float64) @ W_x
    recurrent_parts = h_prev @ W_h
    block = {name: slice(k * H, (k + 1) * H) for k, name in enumerate(WEIGHT_BLOCKS)}
    peepholes = None if layer.peepholes is None else np.asarray(layer.peepholes, dtype=np.float64)
    parts: dict[str, GateParts] = {}

    def gate(name: str, cell_seen: np.ndarray | None) -> np.ndarray:
        columns = block[name]
        forget_bias = float(layer.forget_bias) if name == "forget" else 0.0
        peephole = 0.0
        if peepholes is not None and cell_seen is not None:
            peephole = peepholes[PEEPHOLE_ROWS[name]] * cell_seen
        # input part + bias first, then the recurrent part, as the kernel sums them (the kernel
        # folds forget_bias into b, so with one the last bits of float64 rounding may differ)
        pre_activation = (input_parts[:, columns] + b[columns]) + recurrent_parts[:, columns]
        if forget_bias:
            pre_activation = pre_activation + forget_bias
        if peepholes is not None and cell_seen is not None:
            pre_activation = pre_activation + peephole
        clipped = pre_activation
        if layer.gate_clip is not None:
            clipped = np.clip(pre_activation, -layer.gate_clip, layer.gate_clip)
        value = np.tanh(clipped) if name == "candidate" else sigmoid(clipped)
        if hold is not None:
            value = hold(name, value)
        parts[name] = GateParts(
            input_parts[:, columns], recurrent_parts[:, columns], b[columns], forget_bias, peephole,
            pre_activation, clipped, value,
        )  # fmt: skip
        return value

    forget_gate = gate("forget", c_prev)
    input_gate = gate("input", c_prev)
    candidate = gate("candidate", None)
    old = forget_gate * c_prev
    new = input_gate * candidate
    cell_unclipped = old + new
    cell = cell_unclipped if layer.cell_clip is None else np.clip(cell_unclipped, -layer.cell_clip, layer.cell_clip)
    output_gate = gate("output", cell)
    tanh_cell = np.tanh(cell)
    hidden_unprojected = output_gate * tanh_cell
    hidden = hidden_unprojected
    if layer.W_proj is not None:
        hidden = hidden_unprojected @ np.asarray(layer.W_proj, dtype=np.float64)
        if layer.proj_clip is not None:
            hidden = np.clip(hidden, -layer.proj_clip, layer.proj_clip)
    return StepValues(
        forget_gate, input_gate, candidate, output_gate, old, new, cell_unclipped, cell, tanh_cell,
        hidden_unprojected, hidden, parts,
    )  # fmt: skip
