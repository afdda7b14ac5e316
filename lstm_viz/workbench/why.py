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
from lstm_viz.engine.tasks import TASKS, get_task, next_token_targets
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
    clamps: tuple = ()  # the gate clamps of a what-if shown (the run is not the model's own)


def require_unclamped(snapshot: Snapshot, what: str) -> None:
    """Gradients and re-runs of the model do not know a what-if's clamped gates: refuse
    rather than describe another run than the one shown."""
    if snapshot.clamps:
        raise InputError(
            f"{what} is computed for the model's own run; the run shown has gates held by a what-if. "
            "Restore the original (What if…) to compute it"
        )


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
            found["target"] = (
                f"the target ({targets.description})",
                np.where(targets.mask[batch], targets.values[batch, :, 0], np.nan),
            )
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
    from dataclasses import replace

    from lstm_viz.engine import unit_figures as figures
    from lstm_viz.engine.kernel import check_cancel

    layer_trace = snapshot.trace.layers[snapshot.layer]
    b = snapshot.batch
    T = int(snapshot.sequence.lengths[b]) if snapshot.sequence.lengths is not None else snapshot.trace.length
    span = sat = None
    if layer_trace.is_lstm:
        forget = layer_trace.forget[b, :T]
        fraction = params.get("fraction", 0.5)
        if layer_trace.reverse_time:  # a layer reading backwards keeps toward earlier steps
            span = figures.memory_span(forget[::-1], fraction)
            span = replace(span, per_step=span.per_step[::-1], censored=span.censored[::-1])
        else:
            span = figures.memory_span(forget, fraction)
        check_cancel(cancel)
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

    require_unclamped(snapshot, "The ranking by switching units off")
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


# -- attribution and gradient flow ----------------------------------------------------------

TARGET_CHOICES = {
    "loss": "the loss at this step",
    "prediction": "the prediction at this step",
    "hidden": "h of the first selected unit at this step",
    "cell": "c of the first selected unit at this step",
}
METHOD_CHOICES = {
    "gradient": "gradient",
    "gradient_x_input": "gradient × input",
    "integrated_gradients": "integrated gradients (50 steps)",
    "contextual_decomposition": "contextual decomposition of a span",
}


def make_target(snapshot: Snapshot, kind: str, step: int, unit: int | None = None):
    """The engine's :class:`Target` for a choice of :data:`TARGET_CHOICES` at ``step``:
    a classifier's prediction is the log-probability of the right next token when it is
    known, else of the model's first choice."""
    from lstm_viz.engine.attribution import Target

    model, b = snapshot.model, snapshot.batch
    if kind in ("hidden", "cell"):
        if unit is None:
            raise InputError("select a unit first: the target is its state at this step")
        if kind == "cell" and model.kind != "lstm":
            raise InputError("a tanh RNN has no memory cell; choose h instead")
        return Target(kind, step, b, layer=snapshot.layer, unit=int(unit))
    if model.readout is None:
        raise InputError("this model has no readout, so there is no prediction or loss; choose a unit's h or c")
    targets = snapshot.targets
    if kind == "loss":
        if targets is None:
            raise InputError("no target is known for this model and sequence, so there is no loss to explain")
        if not targets.mask[b, step]:
            raise InputError(f"step {step} has no target (the target is {targets.description})")
        # a classifier's loss is -log p(the right token): its output is that token's
        output = int(targets.values[b, step]) if model.readout.kind == "classification" else 0
        return Target("loss", step, b, output=output)
    output = 0
    if model.readout.kind == "classification":
        if targets is not None and targets.mask[b, step]:
            output = int(targets.values[b, step])
        else:
            features = snapshot.trace.output[b, step].astype(np.float64)
            output = int(np.argmax(model.readout.logits(features[None, None])[0, 0]))
    return Target("prediction", step, b, output=output)


@analysis("attribution")
def attribution(snapshot: Snapshot, params: dict, progress, cancel):
    """params: ``target`` (a key of :data:`TARGET_CHOICES`), ``step``, ``unit``, ``method``
    (a key of :data:`METHOD_CHOICES`), ``span`` [a, b) for contextual decomposition."""
    from lstm_viz.engine import attribution as engine

    require_unclamped(snapshot, "Attribution")
    target = make_target(snapshot, params["target"], int(params["step"]), params.get("unit"))
    method = params.get("method", "gradient")
    x = snapshot.trace.x
    if method == "contextual_decomposition":
        if snapshot.model.kind != "lstm":
            raise InputError("contextual decomposition is defined for LSTMs; this is a tanh RNN")
        a, b = params.get("span") or (0, target.step + 1)
        return engine.contextual_decomposition(
            snapshot.model, x, (int(a), int(b)), snapshot.batch, progress=progress, cancel=cancel
        ), target
    return engine.attribute(
        snapshot.model,
        x,
        target,
        method,
        targets=snapshot.targets,
        steps=int(params.get("steps", 50)),
        progress=progress,
        cancel=cancel,
    ), target


@dataclass(frozen=True)
class Flow:
    """Gradient flow of one target in the loaded model and in a matched tanh RNN."""

    target: Any  # engine Target
    words: str
    lstm: Any  # engine GradientFlow
    rnn: Any | None  # GradientFlow of the matched RNN (None for an RNN model)
    rnn_words: str
    jacobian: dict[int, np.ndarray]  # selected unit -> ||d c_step[unit] / d c_t|| (T,)


@analysis("gradient_flow")
def gradient_flow(snapshot: Snapshot, params: dict, progress, cancel) -> Flow:
    """params: ``target`` (loss or prediction, else h of the first selected unit), ``step``,
    ``units`` (for the Jacobian norms of the cell)."""
    from dataclasses import replace

    from lstm_viz.engine import attribution as engine
    from lstm_viz.engine.kernel import check_cancel

    require_unclamped(snapshot, "Gradient flow")
    model, step, b = snapshot.model, int(params["step"]), snapshot.batch
    kind = params.get("target", "loss")
    units = [int(u) for u in params.get("units", ())][:8]
    target = make_target(snapshot, kind, step, units[0] if units else None)
    lstm = engine.gradient_flow(model, snapshot.trace, target, targets=snapshot.targets)
    check_cancel(cancel)
    rnn = None
    rnn_words = ""
    if model.kind == "lstm":
        twin = engine.matched_rnn(model)
        if target.kind in ("hidden", "cell"):
            target_rnn = replace(target, kind="hidden", batch=0)
        elif twin.readout is None:
            target_rnn = None
        else:
            target_rnn = replace(target, batch=0)
        if target_rnn is not None:  # the one sequence the target is in, not the whole batch
            targets = snapshot.targets
            if targets is not None:
                targets = Targets(targets.values[b : b + 1], targets.mask[b : b + 1], targets.description)
            run = twin.run(snapshot.trace.x[b : b + 1], dtype=np.float64, cancel=cancel)
            rnn = engine.gradient_flow(twin, run, target_rnn, targets=targets)
            rnn_words = twin.metadata["note"]
    jacobian = {}
    if model.kind == "lstm":
        for unit in units:
            check_cancel(cancel)
            jacobian[unit] = engine.cell_jacobian_norms(model, snapshot.trace, snapshot.layer, [unit], step, b)
    return Flow(target, target.describe(model), lstm, rnn, rnn_words, jacobian)


@dataclass(frozen=True)
class UnitAttribution:
    """Gradient x activation of every unit of one layer for one target (see
    :func:`lstm_viz.engine.attribution.unit_attribution`)."""

    layer: int
    target: Any
    words: str
    values: np.ndarray  # (H_out,)


@analysis("unit_attribution")
def unit_attribution(snapshot: Snapshot, params: dict, progress, cancel) -> UnitAttribution:
    """params: ``step``; the target is the loss there when it is known, else the prediction."""
    from lstm_viz.engine import attribution as engine

    require_unclamped(snapshot, "Attribution to units")
    step = int(params["step"])
    targets = snapshot.targets
    kind = "loss" if targets is not None and targets.mask[snapshot.batch, step] else "prediction"
    target = make_target(snapshot, kind, step)
    values = engine.unit_attribution(snapshot.model, snapshot.trace, target, snapshot.layer, targets=targets)
    return UnitAttribution(snapshot.layer, target, target.describe(snapshot.model), values)
