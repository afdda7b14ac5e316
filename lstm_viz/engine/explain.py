"""The numbers behind one unit at one step: each gate's pre-activation split into its parts.

    z = (input part: x_t @ W_x) + (recurrent part: h_{t-1} @ W_h) + b [+ forget_bias]
        [+ peephole * c]  then [clip to ±gate_clip]  then sigmoid (tanh for the candidate)

Everything is recomputed in float64 by the reference step (:mod:`lstm_viz.engine.reference`)
from the model's weights and the trace's own inputs and previous states, so the parts add
up exactly to the pre-activation whose sigmoid is the recorded gate (to the trace's
precision). Used by the equations panel and the diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstm_viz.engine.reference import lstm_step
from lstm_viz.engine.trace import Trace
from lstm_viz.vocabulary import WEIGHT_BLOCKS


@dataclass
class GateTerms:
    """One gate of one unit at one step."""

    gate: str
    input_part: float
    recurrent_part: float
    bias: float
    forget_bias: float = 0.0
    peephole: float = 0.0  # p * c (c_{t-1} for input/forget, c_t for output)
    clip: float | None = None  # gate_clip, when the model has one
    recorded: float = float("nan")  # the gate as the trace recorded it

    @property
    def total(self) -> float:
        """The pre-activation before any clip."""
        return self.input_part + self.recurrent_part + self.bias + self.forget_bias + self.peephole

    @property
    def clipped(self) -> float:
        z = self.total
        return z if self.clip is None else float(np.clip(z, -self.clip, self.clip))

    @property
    def value(self) -> float:
        """sigmoid (or tanh for the candidate) of the clipped pre-activation, in float64."""
        z = self.clipped
        return float(np.tanh(z)) if self.gate == "candidate" else float(0.5 * (1 + np.tanh(0.5 * z)))


@dataclass
class UnitStep:
    """Every quantity of the tutorial's equations for one unit at one step."""

    layer: int
    unit: int
    step: int
    gates: dict[str, GateTerms] = field(default_factory=dict)
    cell_prev: float = 0.0
    old: float = 0.0
    new: float = 0.0
    cell_unclipped: float = 0.0
    cell: float = 0.0
    cell_clip: float | None = None
    tanh_cell: float = 0.0
    hidden_unprojected: float = 0.0
    hidden: float | None = None  # h_t of this unit (None with a projection: h mixes all units)
    projected: bool = False


def layer_input_at(trace: Trace, layer: int, batch: int, step: int) -> np.ndarray:
    """(D,) what ``layer`` read at ``step``."""
    if layer == 0:
        return trace.layer_input[batch, step]
    below = trace.layers[layer - 1]
    return np.concatenate([d.hidden[batch, step] for d in below.directions()])


def unit_step(model, trace: Trace, *, layer: int, unit: int, step: int, batch: int = 0) -> UnitStep:
    """The tutorial's equations for ``unit`` of forward ``layer`` at ``step``, with numbers."""
    lt = trace.layers[layer]
    entry = model.layers[layer]
    params = entry[0] if isinstance(entry, tuple | list) else entry  # a bidirectional pair: its forward layer
    x = np.asarray(layer_input_at(trace, layer, batch, step), dtype=np.float64)
    previous = step + 1 if lt.reverse_time else step - 1
    if 0 <= previous < trace.length:
        h_prev = np.asarray(lt.hidden[batch, previous], dtype=np.float64)
        c_prev = float(lt.cell[batch, previous, unit])
    else:
        h_prev = np.asarray(lt.initial_hidden[batch], dtype=np.float64)
        c_prev = float(lt.initial_cell[batch, unit])
    c = float(lt.cell[batch, step, unit])
    result = UnitStep(layer=layer, unit=unit, step=step, cell_prev=c_prev, cell=c, cell_clip=lt.cell_clip)
    c_prev_row = np.asarray(lt.cell[batch, previous] if 0 <= previous < trace.length else lt.initial_cell[batch])
    reference = lstm_step(params, x[None], h_prev[None], np.asarray(c_prev_row, dtype=np.float64)[None])
    for gate in WEIGHT_BLOCKS:
        parts = reference.parts[gate]
        peephole = parts.peephole
        result.gates[gate] = GateTerms(
            gate=gate,
            input_part=float(parts.input_part[0, unit]),
            recurrent_part=float(parts.recurrent_part[0, unit]),
            bias=float(parts.bias[unit]),
            forget_bias=parts.forget_bias,
            peephole=0.0 if np.isscalar(peephole) else float(peephole[0, unit]),
            clip=params.gate_clip,
            recorded=float(lt.quantity(gate)[batch, step, unit]),
        )
    g = result.gates
    result.old = g["forget"].recorded * c_prev
    result.new = g["input"].recorded * g["candidate"].recorded
    result.cell_unclipped = result.old + result.new
    result.tanh_cell = float(np.tanh(c))
    result.hidden_unprojected = g["output"].recorded * result.tanh_cell
    result.projected = params.W_proj is not None
    result.hidden = None if result.projected else float(lt.hidden[batch, step, unit])
    return result
