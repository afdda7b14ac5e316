"""The numbers behind one unit at one step: each gate's pre-activation split into its parts.

    z = (input part: x_t @ W_x) + (recurrent part: h_{t-1} @ W_h) + b [+ forget_bias]
        [+ peephole * c]  then [clip to ±gate_clip]  then sigmoid (tanh for the candidate)

Everything is recomputed in float64 by the reference step (:mod:`lstm_viz.engine.reference`)
from the model's weights and the trace's own inputs and previous states, so the parts add
up exactly to the pre-activation whose sigmoid is the recorded gate (to the trace's
precision). A trace stored in float16 holds rounded states: its step's exact inputs,
states and gates are re-computed from the nearest checkpoint instead
(:func:`lstm_viz.engine.storage.exact_states`), so the figures are the float32 run's.
Used by the equations panel and the diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstm_viz.engine.reference import lstm_step
from lstm_viz.engine.storage import exact_states, exact_values, is_rounded
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
    """The tutorial's equations for ``unit`` of forward ``layer`` at ``step``, with numbers.

    For a trace stored rounded (float16), the inputs, previous states and recorded values
    are the run's exact ones, re-computed from the nearest checkpoint.
    """
    lt = trace.layers[layer]
    entry = model.layers[layer]
    params = entry[0] if isinstance(entry, tuple | list) else entry  # a bidirectional pair: its forward layer
    if is_rounded(trace):
        exact = exact_states(model, trace, layer, batch, step)
        x, h_prev, c_prev_row = exact.x, exact.hidden_prev, exact.cell_prev
        recorded = exact_values(model, trace, layer, batch, step)
    else:
        x = layer_input_at(trace, layer, batch, step)
        previous = step + 1 if lt.reverse_time else step - 1
        inside = 0 <= previous < trace.length
        h_prev = lt.hidden[batch, previous] if inside else lt.initial_hidden[batch]
        c_prev_row = lt.cell[batch, previous] if inside else lt.initial_cell[batch]
        recorded = {name: getattr(lt, name)[batch, step] for name in (*WEIGHT_BLOCKS, "cell", "hidden")}
    x = np.asarray(x, dtype=np.float64)
    h_prev = np.asarray(h_prev, dtype=np.float64)
    c_prev = float(c_prev_row[unit])
    c = float(recorded["cell"][unit])
    result = UnitStep(layer=layer, unit=unit, step=step, cell_prev=c_prev, cell=c, cell_clip=lt.cell_clip)
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
            recorded=float(recorded[gate][unit]),
        )
    g = result.gates
    result.old = g["forget"].recorded * c_prev
    result.new = g["input"].recorded * g["candidate"].recorded
    result.cell_unclipped = result.old + result.new
    result.tanh_cell = float(np.tanh(c))
    result.hidden_unprojected = g["output"].recorded * result.tanh_cell
    result.projected = params.W_proj is not None
    result.hidden = None if result.projected else float(recorded["hidden"][unit])
    return result
