"""The figures behind the "why" panels, as use cases of the core.

Two kinds. Cheap figures of the shown run (its targets, predictions and per-step losses)
are computed once per run when first asked for and kept until the data changes. Figures
that take time (attribution, gradient flow, ablation, ...) are *analyses*: a panel asks
for one by name with plain parameters, the core returns a :class:`Work` that computes it
from a snapshot of the state (in a worker), and ``apply`` stores the result under the
name and announces it with ``results_changed(name)``. A result computed from data that
has been replaced since is dropped, like a late what-if.

Analyses are registered here with :func:`analysis`; each is a function
``(snapshot, params, progress, cancel) -> result``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_viz.engine.targets import Targets, step_losses
from lstm_viz.engine.tasks import TASKS, next_token_targets, get_task
from lstm_viz.errors import InputError
from lstm_viz.vocabulary import RECORDED


def targets_for(model, sequence, x: np.ndarray) -> Targets | None:
    """What the model should have output at each step of x (B, T, D), when that can be
    known from the input: a built-in task's own targets, or the next token for a model
    that reads and predicts the same one-hot vocabulary. None otherwise."""
    readout = getattr(model, "readout", None)
    if readout is None:
        return None
    task_name = model.metadata.get("task")
    if task_name in TASKS and task_name != "text":
        task = get_task(task_name)
        if x.shape[2] == task.input_size and readout.output_size == task.output_size:
            values, mask = task.targets(x)
            return Targets(values, mask, task.target_description)
    vocabulary = getattr(sequence, "vocabulary", None)
    if (
        readout.kind == "classification"
        and readout.labels is not None
        and vocabulary is not None
        and list(vocabulary) == list(readout.labels)
        and x.shape[2] == len(vocabulary)
    ):
        values, mask = next_token_targets(x)
        return Targets(values, mask, "the next character" if sequence.is_text else "the next token")
    return None


@dataclass(frozen=True)
class Snapshot:
    """What an analysis reads: fixed when it starts, whatever the window does meanwhile."""

    model: Any
    trace: Any
    sequence: Any
    targets: Targets | None
    batch: int
    layer: int
    step: int
    selected: tuple[int, ...]
    base: Any  # the Loaded (or WhatIf) it was computed from


Analysis = Callable[[Snapshot, dict, Callable, Callable], Any]
ANALYSES: dict[str, Analysis] = {}


def analysis(name: str):
    """Register ``fn(snapshot, params, progress, cancel) -> result`` as analysis ``name``."""

    def register(fn: Analysis) -> Analysis:
        ANALYSES[name] = fn
        return fn

    return register


def predictions(model, trace) -> np.ndarray | None:
    """The readout at every step, (B, T, K): values, or probabilities for a classifier."""
    if getattr(model, "readout", None) is None:
        return None
    return model.readout.forward(trace.output.astype(np.float64))


def losses(model, trace, targets: Targets | None) -> np.ndarray | None:
    """The loss at every step, (B, T), NaN where there is no target; None without targets."""
    if targets is None or getattr(model, "readout", None) is None:
        return None
    return step_losses(model.readout, trace.output, targets)


def readout_arrays(model, trace, targets: Targets | None) -> tuple[dict[str, np.ndarray], dict]:
    """What a saved trace carries besides the recorded states: the readout's ``prediction``
    (B, T, K) at every step, and with targets the ``target`` (B, T, K) values or (B, T)
    class ids, ``target_mask`` (B, T) and ``loss`` (B, T, NaN where no target); plus the
    words for the trace's meta."""
    shown = predictions(model, trace)
    if shown is None:
        return {}, {}
    readout = model.readout
    arrays = {"prediction": shown.astype(np.float32)}
    meta = {
        "prediction": {
            "kind": readout.kind,
            "labels": readout.labels,
            "values": "probabilities" if readout.kind == "classification" else "values",
        }
    }
    if targets is not None:
        arrays["target"] = targets.values.astype(np.int64 if readout.kind == "classification" else np.float32)
        arrays["target_mask"] = targets.mask.astype(bool)
        arrays["loss"] = losses(model, trace, targets).astype(np.float32)
        meta["prediction"]["target"] = targets.description
        meta["prediction"]["loss"] = "cross-entropy in nats" if readout.kind == "classification" else "squared error"
    return arrays, meta


def require_targets(snapshot: Snapshot) -> Targets:
    if snapshot.targets is None:
        raise InputError("no target is known for this model and sequence, so there is no loss to explain")
    return snapshot.targets


# -- analyses -------------------------------------------------------------------------------


def references(model, sequence, trace, targets: Targets | None, batch: int) -> dict[str, tuple[str, np.ndarray]]:
    """What a unit's figures can be correlated with, for one sequence: key -> (words, (T,)).

    Every input feature (for one-hot text: "this step is 'x'" for the most frequent few),
    the target (regression), the loss per step."""
    x = trace.x[batch]
    found: dict[str, tuple[str, np.ndarray]] = {}
    names = list(sequence.feature_names)
    if sequence.vocabulary is not None:
        counts = x.sum(axis=0)
        for d in np.argsort(counts)[::-1][:12]:
            if counts[d] > 0:
                found[f"feature:{d}"] = (f"this step is {names[d]!r}", x[:, d])
    else:
        for d in range(min(x.shape[1], 32)):
            found[f"feature:{d}"] = (f"input {names[d]}", x[:, d])
    if targets is not None and model.readout is not None:
        if model.readout.kind == "regression":
            found["target"] = (f"the target ({targets.description})", np.where(targets.mask[batch], targets.values[batch, :, 0], np.nan))
        loss = losses(model, trace, targets)
        found["loss"] = ("the loss", loss[batch])
    return found


@dataclass(frozen=True)
class UnitFigures:
    """Per unit of one layer, over one sequence: memory span, saturation, a correlation."""

    layer: int
    batch: int
    span: Any  # engine.unit_figures.Span (None for a tanh RNN)
    saturation: Any  # engine.unit_figures.Saturation (None for a tanh RNN)
    correlation: np.ndarray | None  # (H,) Pearson r of the unit's cell (h for an RNN) with the reference
    reference: str | None  # the reference in words
    quantity: str  # what was correlated: "cell" or "hidden"


@analysis("unit_figures")
def unit_figures(snapshot: Snapshot, params: dict, progress, cancel) -> UnitFigures:
    """params: ``reference`` (a key of :func:`references`, optional), ``fraction`` (0.5)."""
    from lstm_viz.engine import unit_figures as figures

    layer_trace = snapshot.trace.layers[snapshot.layer]
    b = snapshot.batch
    T = int(snapshot.sequence.lengths[b]) if snapshot.sequence.lengths is not None else snapshot.trace.length
    span = sat = None
    if layer_trace.is_lstm:
        forget = layer_trace.forget[b, :T]
        span = figures.memory_span(forget[::-1] if layer_trace.reverse_time else forget, params.get("fraction", 0.5))
        sat = figures.saturation(one_sequence(layer_trace, b, T), 0)
    correlation = words = None
    quantity = "cell" if layer_trace.is_lstm else "hidden"
    key = params.get("reference")
    if key:
        found = references(snapshot.model, snapshot.sequence, snapshot.trace, snapshot.targets, b)
        if key not in found:
            raise InputError(f"unknown reference {key!r} for this sequence")
        words, values = found[key]
        correlation = figures.unit_correlation(getattr(layer_trace, quantity)[b, :T], values[:T])
    return UnitFigures(snapshot.layer, b, span, sat, correlation, words, quantity)


def one_sequence(layer_trace, batch: int, length: int):
    """One sequence of an LSTM layer trace as a trace of its own, its padding cut off
    (views, no copies: for per-sequence figures)."""
    from lstm_viz.engine.trace import LayerTrace

    parts = {name: getattr(layer_trace, name)[batch : batch + 1, :length] for name in RECORDED}
    return LayerTrace(**parts, initial_hidden=layer_trace.initial_hidden[batch : batch + 1])


@analysis("ablation_ranking")
def ablation_ranking(snapshot: Snapshot, params: dict, progress, cancel):
    """Every unit of the layer switched off (c and h held at 0) from ``start`` on, one at a
    time: how much the loss changes. params: ``start`` (default 0)."""
    from lstm_viz.engine.unit_figures import ablation_ranking as rank

    targets = require_targets(snapshot)
    return rank(
        snapshot.model,
        snapshot.trace,
        snapshot.layer,
        targets,
        start=int(params.get("start", 0)),
        batch=snapshot.batch,
        progress=progress,
        cancel=cancel,
    )
