"""What-if: re-run a recorded trace from one step on with gates clamped or the input edited.

The tutorial's thought experiment (keep = 0, write = 1: the old memory is forgotten and
overwritten) becomes something to try: clamp a gate of some units, or of a whole layer,
to a value from a chosen step on, or change the input at a step, and re-run from there.
Steps before ``start`` are the original trace's; the run continues from its states.

Without clamps the engine's own kernel runs the rest of the sequence (the same numbers a
full run would give). With clamps each step runs the float64 reference step (engine/reference.py),
the equations of DESIGN.md written out; the result is stored in the trace's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_viz.engine.reference import lstm_step
from lstm_viz.engine.trace import LayerTrace, Trace
from lstm_viz.errors import InputError
from lstm_viz.vocabulary import GATES_AND_CANDIDATE, LABELS

CLAMPABLE = GATES_AND_CANDIDATE


@dataclass(frozen=True)
class Clamp:
    """Hold ``gate`` of ``units`` (None: every unit) of ``layer`` at ``value`` from step ``start`` on."""

    layer: int
    gate: str
    value: float
    start: int
    units: tuple[int, ...] | None = None

    def describe(self) -> str:
        """In the window's words: "Keep (forget) of unit 2 in layer 0 held at 0 from t = 5"."""
        who = "every unit" if self.units is None else "unit " + ", ".join(map(str, self.units))
        name = LABELS.get(self.gate, self.gate)
        return f"{name} of {who} in layer {self.layer} held at {self.value:g} from t = {self.start}"


def _check(model, trace: Trace, x: np.ndarray, start: int, clamps) -> None:
    if model.kind != "lstm" and clamps:
        raise InputError("a tanh RNN has no gates to clamp")
    for entry in model._entries:
        if len(entry) > 1 or getattr(entry[0], "go_backwards", False):
            raise InputError(
                "what-if re-runs from a step on, which needs every layer to run forwards; "
                "this model has a backward (bidirectional or go_backwards) layer"
            )
    if x.shape != trace.x.shape:
        raise InputError(f"the edited input has shape {x.shape}, the trace's is {trace.x.shape}")
    if not 0 <= start < trace.length:
        raise InputError(f"start step {start} is outside the sequence (0 to {trace.length - 1})")
    for clamp in clamps:
        if clamp.gate not in CLAMPABLE:
            raise InputError(f"cannot clamp {clamp.gate!r}; choose one of {', '.join(CLAMPABLE)}")
        if not 0 <= clamp.layer < len(trace.layers):
            raise InputError(f"layer {clamp.layer} does not exist (the model has {len(trace.layers)})")
        H = trace.layers[clamp.layer].hidden_size
        if clamp.units is not None and any(not 0 <= u < H for u in clamp.units):
            raise InputError(f"layer {clamp.layer} has units 0 to {H - 1}; got {list(clamp.units)}")
        low, high = (-1.0, 1.0) if clamp.gate == "candidate" else (0.0, 1.0)
        if not low <= clamp.value <= high or not np.isfinite(clamp.value):
            raise InputError(f"{clamp.gate} can only take values in [{low:g}, {high:g}], got {clamp.value}")


def _states_before(trace: Trace, start: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    states = []
    for lt in trace.layers:
        if start == 0:
            states.append((lt.initial_hidden, lt.initial_cell))
        else:
            states.append((lt.hidden[:, start - 1], None if lt.cell is None else lt.cell[:, start - 1]))
    return states


def rerun(model, trace: Trace, x: np.ndarray | None = None, *, start: int, clamps=()) -> Trace:
    """A new trace: ``trace`` up to ``start``, then ``model`` re-run on ``x`` with ``clamps``.

    ``x`` is the whole input (B, T, D) with any edits (default: the trace's own input);
    edits before ``start`` are not seen. Every layer must run forwards.
    """
    x = trace.x if x is None else np.asarray(x, dtype=trace.x.dtype)
    clamps = tuple(clamps)
    _check(model, trace, x, start, clamps)
    dtype = trace.x.dtype
    states = _states_before(trace, start)
    if clamps:
        tail = _clamped_tail(model, x, start, clamps, states)
    else:
        tail = model.run(x[:, start:], [s if model.kind == "lstm" else s[0] for s in states], dtype=dtype).layers
    layers = []
    for original, new in zip(trace.layers, tail):
        parts = {}
        for name in ("forget", "input", "candidate", "output", "cell", "hidden"):
            old = getattr(original, name)
            if old is not None:
                parts[name] = np.concatenate([old[:, :start], getattr(new, name).astype(dtype)], axis=1)
        layers.append(
            LayerTrace(
                **parts,
                initial_hidden=original.initial_hidden,
                initial_cell=original.initial_cell,
                cell_clip=original.cell_clip,
            )
        )
    meta = dict(trace.meta)
    meta["what_if"] = {"start": start, "clamps": [c.describe() for c in clamps]}
    result = Trace(x.copy(), layers, meta)
    if trace.embedded is not None:
        result.embedded = x @ model.embedding.astype(dtype)
    return result


def _clamped_tail(model, x, start, clamps, states) -> list[LayerTrace]:
    """The steps from ``start`` on, one layer trace each, with ``clamps`` applied, run by the
    float64 reference step (:func:`lstm_viz.engine.reference.lstm_step`)."""
    B, T, _ = x.shape
    steps = T - start
    inputs = x[:, start:].astype(np.float64)
    if model.embedding is not None:
        inputs = inputs @ model.embedding
    layers = []
    for index, entry in enumerate(model._entries):
        layer = entry[0]
        H, P = layer.hidden_size, layer.output_size
        h, c = (np.array(s, dtype=np.float64) for s in states[index])
        record = {name: np.empty((B, steps, H)) for name in (*GATES_AND_CANDIDATE, "cell")}
        record["hidden"] = np.empty((B, steps, P))
        mine = [clamp for clamp in clamps if clamp.layer == index]
        input_parts = inputs @ np.asarray(layer.W_x, dtype=np.float64)  # every step at once, as the kernel
        for k in range(steps):
            t = start + k

            def hold(gate, values, t=t):
                for clamp in mine:
                    if t >= clamp.start and clamp.gate == gate:
                        values[:, slice(None) if clamp.units is None else list(clamp.units)] = clamp.value
                return values

            step = lstm_step(layer, None, h, c, hold=hold if mine else None, input_parts=input_parts[:, k])
            h, c = step.hidden, step.cell
            for name in GATES_AND_CANDIDATE:
                record[name][:, k] = step.gate(name)
            record["cell"][:, k] = c
            record["hidden"][:, k] = h
        layers.append(LayerTrace(**record, initial_hidden=None))
        inputs = record["hidden"]
    return layers
