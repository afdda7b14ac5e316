"""Which inputs one number of a run depends on, and how its gradient travels back in time.

A :class:`Target` names one scalar of a recorded run: a prediction of the readout (the
value for regression, log p(class) for classification), the loss at a step, or one hidden
or cell value of any layer. For it this module computes

- :func:`input_gradient`: dTarget/dx for every step and feature of the target's sequence,
  by backpropagation through time in float64 (exact up to rounding);
- :func:`attribute`: the gradient, gradient x input, or integrated gradients
  (Sundararajan, Taly & Yan, ICML 2017) with Gauss-Legendre quadrature along the
  straight path from a baseline, all path points in one batched run (float32 by default,
  float64 on request), and the completeness error of that quadrature;
- :func:`contextual_decomposition`: Murdoch, Liu & Yu's split (ICLR 2018, "Beyond Word
  Importance") of every cell, hidden state and readout logit into the part that comes from
  a span of input steps (beta) and the rest (gamma);
- :func:`gradient_flow` and :func:`cell_jacobian_norms`: how large dTarget/dc_t,
  dTarget/dh_t and d c_T / d c_t are at every step, for LSTMs and, through
  :func:`matched_rnn`, for a plain tanh RNN of the same sizes.

Steps are 0-based; every per-step result is (T,) or (T, D) for the target's sequence.
NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from lstm_viz import limits
from lstm_viz.engine.backprop import backward, lstm_direction_backward
from lstm_viz.engine.kernel import check_cancel, storage_width
from lstm_viz.engine.network import RNN
from lstm_viz.engine.readout import Readout, softmax
from lstm_viz.engine.rnn_layer import RNNLayer
from lstm_viz.engine.targets import Targets, loss_gradient, step_losses
from lstm_viz.engine.trace import LayerTrace, Trace
from lstm_viz.errors import InputError

TARGET_KINDS = ("prediction", "loss", "hidden", "cell")
METHODS = ("gradient", "gradient_x_input", "integrated_gradients")
QUADRATURE = "Gauss-Legendre"
"""Integrated gradients' rule: ``steps`` Gauss-Legendre nodes on [0, 1] (exact for
polynomials of degree 2 * steps - 1 along the path; the error of a smooth path integrand
falls faster than any power of ``steps``)."""

Progress = Callable[[int, int], None]


# -- the target ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One scalar of a recorded run.

    ``kind``:
      - ``"prediction"``: readout output ``output`` at ``step``: the value for a
        regression readout, the log-probability (nats) of class ``output`` for a classifier;
      - ``"loss"``: the loss at ``step`` as :func:`~lstm_viz.engine.targets.step_losses`
        computes it (needs a :class:`~lstm_viz.engine.targets.Targets`);
      - ``"hidden"`` / ``"cell"``: unit ``unit`` of layer ``layer`` at ``step``. For a
        bidirectional layer units count [forward | backward], as in ``layer_output``.
    ``batch`` is the sequence of the batch.
    """

    kind: str
    step: int
    batch: int = 0
    output: int = 0
    layer: int = 0
    unit: int = 0

    def __post_init__(self):
        if self.kind not in TARGET_KINDS:
            raise InputError(f"target kind must be one of {TARGET_KINDS}, got {self.kind!r}")
        for name in ("step", "batch", "output", "layer", "unit"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise InputError(f"target {name} must be a non-negative integer, got {value!r}")
            object.__setattr__(self, name, int(value))

    def describe(self, model=None) -> str:
        """In words: "log p('e') at t = 12", "the loss at t = 29", "h of unit 4 in layer 0 at t = 7".

        With the model the readout's kind and labels are used; without it a prediction
        reads "prediction k at t = s"."""
        where = f"at t = {self.step}" + (f" in sequence {self.batch}" if self.batch else "")
        if self.kind == "loss":
            return f"the loss {where}"
        if self.kind in ("hidden", "cell"):
            letter = "h" if self.kind == "hidden" else "c"
            return f"{letter} of unit {self.unit} in layer {self.layer} {where}"
        readout = getattr(model, "readout", None)
        if readout is None:
            return f"prediction {self.output} {where}"
        label = None
        if readout.labels is not None and self.output < len(readout.labels):
            label = repr(readout.labels[self.output])
        if readout.kind == "classification":
            return f"log p({label if label is not None else f'class {self.output}'}) {where}"
        if label is not None:
            return f"the prediction {label} {where}"
        if readout.output_size == 1:
            return f"the prediction {where}"
        return f"prediction {self.output} {where}"


def _forward_only(model) -> bool:
    """Whether no direction reads the sequence from its end (so step t sees only x[:t+1])."""
    for index in range(model.num_layers):
        directions = model.directions(index)
        if len(directions) == 2 or getattr(directions[0], "go_backwards", False):
            return False
    return True


def _check_target(model, target: Target, batch: int, length: int, targets: Targets | None) -> None:
    if not isinstance(target, Target):
        raise InputError(f"target must be a Target, got {type(target).__name__}")
    if target.batch >= batch:
        raise InputError(f"target sequence {target.batch} is out of range: the input holds {batch} sequence(s)")
    if target.step >= length:
        raise InputError(
            f"target step {target.step} is out of range: the sequence has {length} steps (0..{length - 1})"
        )
    if target.kind in ("prediction", "loss"):
        if model.readout is None:
            raise InputError(f"{target.describe()} needs a readout, and this model has none")
        if target.kind == "prediction" and target.output >= model.readout.output_size:
            raise InputError(f"readout output {target.output} is out of range: it has {model.readout.output_size}")
        if target.kind == "loss":
            if targets is None:
                raise InputError("a loss target needs the Targets (what the model should have said)")
            targets.check(model.readout, batch, length)
            if not targets.mask[target.batch, target.step]:
                raise InputError(f"step {target.step} has no target: {targets.description} is not defined there")
        return
    if target.layer >= model.num_layers:
        raise InputError(f"layer {target.layer} is out of range: the model has {model.num_layers} layer(s)")
    directions = model.directions(target.layer)
    if target.kind == "cell":
        if model.kind != "lstm":
            raise InputError("a cell target needs an LSTM: a tanh RNN has no memory cells")
        width = sum(d.hidden_size for d in directions)
    else:
        width = sum(d.output_size for d in directions)
    if target.unit >= width:
        raise InputError(f"unit {target.unit} is out of range: layer {target.layer} has {width} {target.kind} units")


# -- traces of one sequence --------------------------------------------------------------


def _slice_direction(lt: LayerTrace, rows: slice, steps: slice) -> LayerTrace:
    def cut(a):
        return None if a is None else a[rows, steps]

    return LayerTrace(
        hidden=cut(lt.hidden),
        initial_hidden=lt.initial_hidden[rows],
        forget=cut(lt.forget),
        input=cut(lt.input),
        candidate=cut(lt.candidate),
        output=cut(lt.output),
        cell=cut(lt.cell),
        initial_cell=None if lt.initial_cell is None else lt.initial_cell[rows],
        cell_clip=lt.cell_clip,
        reverse_time=lt.reverse_time,
    )


def _slice_trace(trace: Trace, batch: int, stop: int) -> Trace:
    rows, steps = slice(batch, batch + 1), slice(0, stop)
    layers = []
    for lt in trace.layers:
        parts = [_slice_direction(d, rows, steps) for d in lt.directions()]
        if len(parts) == 2:
            parts[0].reverse = parts[1]
        layers.append(parts[0])
    sliced = Trace(trace.x[rows, steps], layers, trace.meta)
    sliced.embedded = None if trace.embedded is None else trace.embedded[rows, steps]
    return sliced


def _trace_state(model, trace: Trace, batch: int) -> list:
    """The initial state ``trace`` started sequence ``batch`` from, in model.run's format, float64."""
    state = []
    for lt in trace.layers:
        parts = []
        for d in lt.directions():
            h0 = np.asarray(d.initial_hidden[batch : batch + 1], np.float64)
            parts.append(
                (h0,) if d.initial_cell is None else (h0, np.asarray(d.initial_cell[batch : batch + 1], np.float64))
            )
        state.append(parts[0] if len(parts) == 1 else tuple(parts))
    return state


def _sequence64(model, trace: Trace, batch: int, stop: int) -> Trace:
    """Steps [0, stop) of sequence ``batch`` of ``trace`` in float64: a view of a float64
    trace, else the sequence run again in float64 from the same initial state."""
    if len(trace.layers) != model.num_layers:
        raise InputError(f"trace has {len(trace.layers)} layers but the model has {model.num_layers}")
    if trace.layers[0].hidden.dtype == np.float64:
        return _slice_trace(trace, batch, stop)
    return model.run(trace.x[batch : batch + 1, :stop], _trace_state(model, trace, batch), dtype=np.float64)


def _pick_state(state, batch: int):
    """Row ``batch`` of an initial state in model.run's format (nested pairs of arrays)."""
    if state is None:
        return None
    if isinstance(state, (list, tuple)):
        return type(state)(_pick_state(part, batch) for part in state)
    array = np.asarray(state, dtype=np.float64)
    return array[None] if array.ndim == 1 else array[batch : batch + 1]


def _tile_state(state, rows: int):
    if state is None:
        return None
    if isinstance(state, (list, tuple)):
        return type(state)(_tile_state(part, rows) for part in state)
    return np.repeat(np.asarray(state), rows, axis=0)


def _step_targets(targets: Targets, batch: int, step: int, rows: int) -> Targets:
    """The target of one step of one sequence, repeated for ``rows`` rows, (rows, 1[, K])."""
    values = np.repeat(targets.values[batch : batch + 1, step : step + 1], rows, axis=0)
    mask = np.ones((rows, 1), bool)
    return Targets(values, mask, targets.description)


# -- the target's value and its gradient at the network --------------------------------------


def _values(model, trace: Trace, target: Target, targets: Targets | None) -> np.ndarray:
    """The target's value for every row of ``trace`` (float64, (R,)); ``target.batch``
    indexes ``targets`` only."""
    s = target.step
    if target.kind == "hidden":
        return np.asarray(trace.layers[target.layer].layer_output[:, s, target.unit], np.float64)
    if target.kind == "cell":
        cells = np.concatenate([d.cell[:, s] for d in trace.layers[target.layer].directions()], axis=1)
        return np.asarray(cells[:, target.unit], np.float64)
    readout: Readout = model.readout
    features = np.asarray(trace.output[:, s : s + 1], np.float64)
    if target.kind == "loss":
        rows = features.shape[0]
        return step_losses(readout, features, _step_targets(targets, target.batch, s, rows))[:, 0]
    logits = readout.logits(features)[:, 0]
    if readout.kind == "classification":
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        return logits[:, target.output] - log_norm
    return logits[:, target.output]


def _injection(model, trace: Trace, target: Target, targets: Targets | None):
    """(layer, d_hidden, d_cell): where and what dTarget/d(state) enters, for every row,
    in the trace's dtype."""
    s = target.step
    B, S = trace.x.shape[:2]
    dtype = trace.layers[0].hidden.dtype
    if target.kind in ("hidden", "cell"):
        lt = trace.layers[target.layer]
        d_hidden = np.zeros(lt.layer_output.shape, dtype)
        d_cell = None
        if target.kind == "hidden":
            d_hidden[:, s, target.unit] = 1.0
        else:
            d_cell = np.zeros((B, S, sum(d.hidden_size for d in lt.directions())), dtype)
            d_cell[:, s, target.unit] = 1.0
        return target.layer, d_hidden, d_cell
    readout: Readout = model.readout
    W = readout.W.astype(np.float64)
    features = np.asarray(trace.output[:, s : s + 1], np.float64)
    d_hidden = np.zeros(trace.output.shape, dtype)
    if target.kind == "loss":
        step = _step_targets(targets, target.batch, s, B)
        for row in range(B):
            d_hidden[row, s] = loss_gradient(readout, features, step, row, 0)[row, 0]
    else:
        d_logits = np.zeros((B, readout.output_size))
        d_logits[:, target.output] = 1.0
        if readout.kind == "classification":
            d_logits -= softmax(readout.logits(features)[:, 0])
        d_hidden[:, s] = d_logits @ W.T
    return model.num_layers - 1, d_hidden, None


def _raw_input_gradient(model, trace: Trace, target: Target, targets, tick=None) -> np.ndarray:
    """dTarget/dx for every row of ``trace``, (R, S, D) w.r.t. the raw input."""
    layer, d_hidden, d_cell = _injection(model, trace, target, targets)
    grads = backward(model, trace, d_hidden, layer=layer, d_cell=d_cell, parameters=False, states=False, tick=tick)
    dx = np.asarray(grads.x, np.float64)
    if model.embedding is not None:
        dx = dx @ model.embedding.T
    return dx


def target_value(model, trace: Trace, target: Target, targets: Targets | None = None) -> float:
    """The target's value in ``trace`` (computed in float64 from the recorded states)."""
    _check_target(model, target, trace.batch_size, trace.length, targets)
    one = _slice_trace(trace, target.batch, trace.length)
    return float(_values(model, one, replace(target, batch=0), _local_targets(targets, target))[0])


def input_gradient(model, trace: Trace, target: Target, *, targets: Targets | None = None) -> np.ndarray:
    """dTarget/dx, (T, D), for the target's sequence of ``trace``, w.r.t. the raw input.

    Exact backpropagation through time in float64: a float32 trace's sequence is run again
    in float64 first, from the input and initial state the trace recorded (so at those
    float32 values). With an embedding, x is the one-hot
    (or any) input and the gradient is d/d(embedded) @ embedding.T. For a model without
    backward-reading layers the steps after the target's step are exactly 0 and are not
    computed at all.
    """
    _check_target(model, target, trace.batch_size, trace.length, targets)
    T = trace.length
    stop = target.step + 1 if _forward_only(model) else T
    one = _sequence64(model, trace, target.batch, stop)
    result = np.zeros((T, model.input_size))
    result[:stop] = _raw_input_gradient(model, one, replace(target, batch=0), _local_targets(targets, target))[0]
    return result


def _local_targets(targets: Targets | None, target: Target) -> Targets | None:
    """The targets of the target's sequence alone, for a one-sequence trace (row 0)."""
    if targets is None:
        return None
    b = target.batch
    return Targets(targets.values[b : b + 1], targets.mask[b : b + 1], targets.description)


# -- attributions ------------------------------------------------------------------------


@dataclass
class Attribution:
    """How much each input feature at each step accounts for the target.

    ``values`` (T, D) per step and feature; ``per_step`` (T,) their sum over features.
    ``target_value`` is the target at x. For integrated gradients ``baseline_value`` is the
    target at the baseline and ``completeness_error`` = values.sum() - (target_value -
    baseline_value), the quadrature's (and rounding's) error; both None otherwise.
    """

    values: np.ndarray
    per_step: np.ndarray
    target_value: float
    method: str
    target: Target
    baseline_value: float | None = None
    completeness_error: float | None = None
    steps: int | None = None
    quadrature: str | None = None


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``steps``-point Gauss-Legendre rule on [0, 1] (weights sum to 1)."""
    nodes, weights = np.polynomial.legendre.leggauss(int(steps))
    return (nodes + 1.0) / 2.0, weights / 2.0


def integrate_path(gradient_at: Callable[[np.ndarray], np.ndarray], x, baseline, steps: int = 50) -> np.ndarray:
    """Integrated gradients of any function given its gradient: (x - baseline) * the
    Gauss-Legendre average of gradient_at(baseline + a (x - baseline)) over a in [0, 1].

    ``gradient_at`` takes a stack of points (P, ...) and returns their gradients (P, ...).
    :func:`attribute` does the same with the model's batched runs."""
    x = np.asarray(x, np.float64)
    baseline = np.asarray(baseline, np.float64)
    alphas, weights = gauss_legendre(steps)
    points = baseline[None] + alphas.reshape((-1,) + (1,) * x.ndim) * (x - baseline)[None]
    grads = np.asarray(gradient_at(points), np.float64)
    return (x - baseline) * np.tensordot(weights, grads, axes=1)


class _Meter:
    """progress(done, total) and cancel() over several runs and backward passes."""

    def __init__(self, progress: Progress | None, cancel: Callable[[], bool] | None, total: int):
        self.progress, self.cancel, self.total, self.done = progress, cancel, max(1, int(total)), 0

    def run(self):
        offset = self.done

        def report(done, total):
            self.done = offset + done
            if self.progress is not None:
                self.progress(min(self.done, self.total), self.total)

        return report

    def tick(self, n: int) -> None:
        self.done += n
        check_cancel(self.cancel)
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def _directions_count(model, top: int | None = None) -> int:
    last = model.num_layers - 1 if top is None else top
    return sum(len(model.directions(i)) for i in range(last + 1))


def _target_layer(model, target: Target) -> int:
    return target.layer if target.kind in ("hidden", "cell") else model.num_layers - 1


def _row_bytes(model, steps: int, itemsize: int) -> int:
    """Bytes one sequence of ``steps`` steps takes in a run plus its input-gradient pass: the
    recorded states, the injected gradient, each layer's input gradient, the embedded
    input, and the float64 path point with its cast copy."""
    width = sum(storage_width(model.kind, d.hidden_size, d.output_size) for d in model.all_layers())
    width += model.output_size + model.layer_input_size
    width += sum(sum(d.output_size for d in model.directions(i)) for i in range(model.num_layers - 1))
    if model.embedding is not None:
        width += model.layer_input_size
    return steps * (itemsize * width + (8 + itemsize) * model.input_size)


def attribute(
    model,
    x,
    target: Target,
    method: str,
    *,
    steps: int = 50,
    baseline=None,
    targets: Targets | None = None,
    initial_state=None,
    dtype=np.float32,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Attribution:
    """Attribute ``target`` to the input steps and features of its sequence of ``x``.

    ``x`` (T, D) or (B, T, D) as for ``model.run`` (one-hot rows for a text model);
    ``initial_state`` as for ``model.run`` (for the whole batch). ``method``:

    - ``"gradient"``: dTarget/dx (always float64, as :func:`input_gradient`);
    - ``"gradient_x_input"``: dTarget/dx * x (float64);
    - ``"integrated_gradients"``: (x - x0) * integral over a in [0, 1] of
      dTarget/dx(x0 + a (x - x0)), with the baseline x0 (default zeros: for one-hot text
      the all-zero vector, "no character") and ``steps`` Gauss-Legendre nodes on [0, 1].
      All nodes, x and x0 run as one batch (split only when the memory limit asks for
      it) in ``dtype``: float32 by default, as every run of the engine (half the time and
      memory of float64; its rounding, about 1e-7 of the target's change, shows in the
      completeness error), float64 for checks. ``completeness_error`` reports
      sum(values) - (f(x) - f(x0)): with 50 nodes it is at rounding level for smooth paths
      and shrinks geometrically with ``steps`` on steep ones.

    Steps after the target's step are exactly 0 for models that read forward only (and are
    not computed). ``progress(done, total)`` and ``cancel()`` behave as in ``model.run``
    (:class:`~lstm_viz.errors.Cancelled` when cancel() returns True).
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    x = model.check_input(x, np.float64)
    B, T, D = x.shape
    _check_target(model, target, B, T, targets)
    b = target.batch
    stop = target.step + 1 if _forward_only(model) else T
    sequence = x[b, :stop]
    state = _pick_state(initial_state, b)
    local = replace(target, batch=0)
    local_targets = _local_targets(targets, target)
    below = _directions_count(model, _target_layer(model, target))
    per_pass = stop * (_directions_count(model) + below)

    if method != "integrated_gradients":
        meter = _Meter(progress, cancel, per_pass)
        one = model.run(sequence[None], state, dtype=np.float64, progress=meter.run(), cancel=cancel)
        meter.done = stop * _directions_count(model)
        value = float(_values(model, one, local, local_targets)[0])
        grad = _raw_input_gradient(model, one, local, local_targets, tick=meter.tick)[0]
        values = np.zeros((T, D))
        values[:stop] = grad if method == "gradient" else grad * sequence
        return Attribution(values, values.sum(axis=1), value, method, target)

    steps = int(steps)
    if steps < 1:
        raise InputError(f"integrated gradients needs at least 1 step, got {steps}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InputError(f"dtype must be float32 or float64, got {dtype}")
    if baseline is None:
        base = np.zeros((stop, D))
    else:
        base = np.asarray(baseline, dtype=np.float64)
        if base.shape != (T, D):
            raise InputError(f"the baseline must have the sequence's shape {(T, D)}, got {base.shape}")
        if not np.all(np.isfinite(base)):
            raise InputError("the baseline holds NaN or infinite values")
        base = base[:stop]
    alphas, weights = gauss_legendre(steps)
    # With an embedding the path is run in the embedded space (the same path, mapped by
    # the linear embedding): never (points x steps x vocabulary) one-hot arrays.
    embedding = model.embedding
    core = model if embedding is None else type(model)(model.layers, readout=model.readout)
    start_in = base if embedding is None else base @ embedding
    difference = sequence - base
    difference_in = difference if embedding is None else difference @ embedding
    # rows: x, the baseline, then the path points; x and the baseline only give f's values
    row_alpha = np.concatenate([[1.0, 0.0], alphas])
    row_weight = np.concatenate([[0.0, 0.0], weights])
    rows = len(row_alpha)
    per_row = _row_bytes(core, stop, dtype.itemsize)
    fitting = int(max(1, min(rows, limits.max_bytes() // max(1, per_row))))
    chunk = -(-rows // -(-rows // fitting))  # as many rows per run as fit, in even runs
    starts = list(range(0, rows, chunk))
    meter = _Meter(progress, cancel, per_pass * len(starts))
    total = np.zeros((stop, core.input_size))
    endpoint_values = np.zeros(2)
    for start in starts:
        index = np.arange(start, min(rows, start + chunk))
        points = start_in[None] + row_alpha[index, None, None] * difference_in[None]
        batch_state = _tile_state(state, len(index))
        run = core.run(points, batch_state, dtype=dtype, progress=meter.run(), cancel=cancel)
        del points
        meter.done = (start // chunk) * per_pass + stop * _directions_count(model)
        ends = index < 2
        if ends.any():
            endpoint_values[index[ends]] = _values(core, run, local, local_targets)[ends]
        layer, d_hidden, d_cell = _injection(core, run, local, local_targets)
        d_hidden[ends] = 0.0
        if d_cell is not None:
            d_cell[ends] = 0.0
        grads = backward(
            core, run, d_hidden, layer=layer, d_cell=d_cell, parameters=False, states=False, tick=meter.tick
        )
        del run, d_hidden, d_cell
        for row, weight in zip(grads.x, row_weight[index]):
            if weight:
                total += weight * row.astype(np.float64)
        del grads
    if embedding is not None:
        total = total @ embedding.T
    values = np.zeros((T, D))
    values[:stop] = difference * total
    f_x, f_base = float(endpoint_values[0]), float(endpoint_values[1])
    return Attribution(
        values,
        values.sum(axis=1),
        f_x,
        method,
        target,
        baseline_value=f_base,
        completeness_error=float(values.sum() - (f_x - f_base)),
        steps=steps,
        quadrature=QUADRATURE,
    )


# -- contextual decomposition ---------------------------------------------------------------


@dataclass
class LayerDecomposition:
    """One layer's states split into beta (from the span) and gamma (the rest), (T, units).

    A bidirectional layer's units are [forward | backward], as in ``layer_output``."""

    beta_cell: np.ndarray
    gamma_cell: np.ndarray
    beta_hidden: np.ndarray
    gamma_hidden: np.ndarray

    @property
    def cell(self) -> np.ndarray:
        return self.beta_cell + self.gamma_cell

    @property
    def hidden(self) -> np.ndarray:
        return self.beta_hidden + self.gamma_hidden


@dataclass
class Decomposition:
    """Contextual decomposition of one sequence for the input steps ``span`` = [a, b).

    ``layers[l]`` per layer; ``beta_logits`` + ``gamma_logits`` (T, K) are the readout's
    logits (before any softmax), its bias counted in gamma; None without a readout."""

    span: tuple[int, int]
    batch: int
    layers: list[LayerDecomposition]
    beta_logits: np.ndarray | None
    gamma_logits: np.ndarray | None

    @property
    def logits(self) -> np.ndarray | None:
        return None if self.beta_logits is None else self.beta_logits + self.gamma_logits


def _split_two(function, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """function(a + b) split as the two-player Shapley value (CD's split of tanh)."""
    fa, fb, fab = function(np.stack([a, b, a + b]))
    return 0.5 * (fa + (fab - fb)), 0.5 * (fb + (fab - fa))


def _cd_direction(layer, beta_in, gamma_in, in_span, h0, c0, reverse, tick):
    """CD through one LSTM direction: beta/gamma of c and h at every step, (T, H), (T, H_out)."""
    T = beta_in.shape[0]
    H = layer.hidden_size
    W_h = layer.W_h
    XB = beta_in @ layer.W_x
    XG = gamma_in @ layer.W_x
    bias = layer.b.copy()
    bias[H : 2 * H] += layer.forget_bias
    clip = layer.gate_clip
    peep = layer.peepholes
    # sigmoid(z) = 0.5 + 0.5 tanh(z / 2): the i, f and g blocks as one a * tanh(s z) + d
    scale = np.concatenate([np.full(2 * H, 0.5), np.ones(H)])
    shift = np.concatenate([np.full(2 * H, 0.5), np.zeros(H)])

    def gates(z):
        if clip is not None:
            z = np.clip(z, -clip, clip)
        return scale * np.tanh(scale * z) + shift

    def clip_cell(v):
        return np.clip(v, -layer.cell_clip, layer.cell_clip)

    def clip_proj(v):
        return np.clip(v, -layer.proj_clip, layer.proj_clip)

    bias3 = bias[: 3 * H]
    from_bias = gates(bias3)
    bi, bf, bg = from_bias[:H], from_bias[H : 2 * H], from_bias[2 * H :]
    bias_product = bi * bg
    H_out = layer.output_size
    out = {name: np.empty((T, H)) for name in ("beta_cell", "gamma_cell")}
    out.update({name: np.empty((T, H_out)) for name in ("beta_hidden", "gamma_hidden")})
    hidden = np.zeros((2, H_out))  # rows: beta, gamma
    hidden[1] = h0
    cell = np.zeros((2, H))
    cell[1] = c0
    both = np.empty((3, 3 * H))  # pre-activations from beta, from gamma, from both (each + bias)
    order = range(T - 1, -1, -1) if reverse else range(T)
    for count, t in enumerate(order):
        z = hidden @ W_h
        z[0] += XB[t]
        z[1] += XG[t]
        if peep is not None:
            z[:, :H] += peep[0] * cell
            z[:, H : 2 * H] += peep[1] * cell
        both[:2] = z[:, : 3 * H]
        both[2] = both[0] + both[1]
        both += bias3
        g3 = gates(both)
        own = g3[2] - from_bias
        apart = g3[0] - g3[1]
        rel = 0.5 * (own + apart)
        irr = 0.5 * (own - apart)
        ri, rf, rg = rel[:H], rel[H : 2 * H], rel[2 * H :]
        ii, if_, ig = irr[:H], irr[H : 2 * H], irr[2 * H :]
        cb, cg = cell
        beta_c = ri * (rg + bg) + bi * rg + (rf + bf) * cb
        gamma_c = ii * (rg + ig + bg) + (ri + bi) * ig + (rf + if_ + bf) * cg + if_ * cb
        if in_span[t]:
            beta_c += bias_product
        else:
            gamma_c += bias_product
        if layer.cell_clip is not None:
            beta_c, gamma_c = _split_two(clip_cell, beta_c, gamma_c)
        zo = z[0, 3 * H :] + z[1, 3 * H :] + bias[3 * H :]
        if peep is not None:
            zo += peep[2] * (beta_c + gamma_c)
        if clip is not None:
            zo = np.clip(zo, -clip, clip)
        o = 0.5 + 0.5 * np.tanh(0.5 * zo)
        tb, tg = _split_two(np.tanh, beta_c, gamma_c)
        m = np.stack([o * tb, o * tg])
        if layer.W_proj is not None:
            m = m @ layer.W_proj
            if layer.proj_clip is not None:
                m = np.stack(_split_two(clip_proj, m[0], m[1]))
        hidden = m
        cell = np.stack([beta_c, gamma_c])
        out["beta_cell"][t], out["gamma_cell"][t] = beta_c, gamma_c
        out["beta_hidden"][t], out["gamma_hidden"][t] = hidden
        if (count + 1) % 256 == 0 or count + 1 == T:
            tick((count % 256) + 1)
    return out


def contextual_decomposition(
    model,
    x,
    span: tuple[int, int],
    batch: int = 0,
    *,
    initial_state=None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Decomposition:
    """Contextual decomposition (Murdoch, Liu & Yu, ICLR 2018) of sequence ``batch`` of x.

    Every cell c_t and hidden h_t of every layer is split into beta (what the input steps
    in ``span`` = [a, b) contribute) and gamma (the rest: the other steps, the biases, the
    initial state), with beta + gamma equal to the model's own value (to rounding). As in
    the authors' code: each gate is a sum of a beta part, a gamma part and the bias inside
    a nonlinearity, split by the Shapley value of the beta and gamma parts with the bias's
    own value sigma(b) kept apart; i * g and f * c_{t-1} are multiplied out, the terms
    purely from beta parts and the beta x bias terms going to beta, every term with a
    gamma part to gamma, and the bias x bias term sigma(b_i) tanh(b_g) to beta at the steps
    inside the span and to gamma outside it; tanh(c) is split by the two-player Shapley
    value and the read gate o is used whole. (The authors' code reads its span as [a, b]
    for the inputs and [a, b) for that bias term; here it is [a, b) for both.) So a span of
    all steps leaves gamma exactly 0 and an empty span leaves beta exactly 0, and for a
    forward model beta is 0 before step a.

    Stacked layers read the decomposed output of the layer below (its beta feeds beta);
    the embedding is linear. Beyond the paper, these LSTMLayer options are decomposed the
    same way: forget_bias (part of the bias), peepholes (linear in the cell's parts, added
    to the pre-activation's parts), gate_clip (inside the gate's nonlinearity), cell_clip
    and proj_clip (two-player Shapley split, as tanh), the projection (linear), go_backwards
    and bidirectional layers (each direction in its own order; units [forward | backward]).
    A tanh RNN is refused (InputError). Float64; one sequence; (T, units) arrays.
    """
    if model.kind != "lstm":
        raise InputError("contextual decomposition is defined for LSTM models, not a tanh RNN")
    x = model.check_input(x, np.float64)
    B, T, _ = x.shape
    if not isinstance(batch, (int, np.integer)) or not 0 <= batch < B:
        raise InputError(f"sequence {batch!r} is out of range: the input holds {B} sequence(s)")
    try:
        a, b = (int(v) for v in span)
    except (TypeError, ValueError):
        raise InputError(f"span must be a pair of steps (a, b), got {span!r}") from None
    if not 0 <= a <= b <= T:
        raise InputError(f"span [{a}, {b}) must lie within the sequence's steps [0, {T}) with a <= b")
    inputs = x[batch]
    if model.embedding is not None:
        inputs = inputs @ model.embedding
    in_span = np.zeros(T, bool)
    in_span[a:b] = True
    beta_in = np.where(in_span[:, None], inputs, 0.0)
    gamma_in = np.where(in_span[:, None], 0.0, inputs)
    states = model._initial_states(_pick_state(initial_state, int(batch)), 1, np.float64)
    meter = _Meter(progress, cancel, T * _directions_count(model))
    layers = []
    for index in range(model.num_layers):
        directions = model.directions(index)
        parts = []
        for d, layer in enumerate(directions):
            reverse = d == 1 or (len(directions) == 1 and layer.go_backwards)
            h0, c0 = states[index][d]
            parts.append(_cd_direction(layer, beta_in, gamma_in, in_span, h0[0], c0[0], reverse, meter.tick))
        joined = {name: np.concatenate([p[name] for p in parts], axis=1) for name in parts[0]}
        layers.append(LayerDecomposition(**joined))
        beta_in, gamma_in = joined["beta_hidden"], joined["gamma_hidden"]
    beta_logits = gamma_logits = None
    if model.readout is not None:
        W = model.readout.W
        beta_logits = beta_in @ W
        gamma_logits = gamma_in @ W + model.readout.b
    return Decomposition((a, b), int(batch), layers, beta_logits, gamma_logits)


# -- gradient flow ----------------------------------------------------------------------------


@dataclass
class GradientFlow:
    """Per layer, ||dTarget/dh_t|| and ||dTarget/dc_t|| at every step, (T,) each.

    The derivatives are total ones (every path from the state to the target); norms are
    over the layer's units ([forward | backward] together). ``cell[l]`` is None for a tanh
    RNN. Layers above the target's layer and (for forward models) steps after the target's
    step are 0."""

    target: Target
    hidden: list[np.ndarray]
    cell: list[np.ndarray | None]


def gradient_flow(model, trace: Trace, target: Target, *, targets: Targets | None = None) -> GradientFlow:
    """How large the gradient of ``target`` is at every state of its sequence (float64 BPTT)."""
    _check_target(model, target, trace.batch_size, trace.length, targets)
    T = trace.length
    stop = target.step + 1 if _forward_only(model) else T
    one = _sequence64(model, trace, target.batch, stop)
    local = replace(target, batch=0)
    layer, d_hidden, d_cell = _injection(model, one, local, _local_targets(targets, target))
    grads = backward(model, one, d_hidden, layer=layer, d_cell=d_cell, parameters=False)
    hidden, cell = [], []
    for index in range(model.num_layers):
        h = np.zeros(T)
        c = None if model.kind != "lstm" else np.zeros(T)
        g = grads.layers[index]
        if g is not None:
            parts = [g] if g.reverse is None else [g, g.reverse]
            h[:stop] = np.sqrt(sum(np.sum(p.hidden[0] ** 2, axis=1) for p in parts))
            if c is not None:
                c[:stop] = np.sqrt(sum(np.sum(p.cell[0] ** 2, axis=1) for p in parts))
        hidden.append(h)
        cell.append(c)
    return GradientFlow(target, hidden, cell)


def unit_attribution(model, trace: Trace, target: Target, layer: int, *, targets: Targets | None = None) -> np.ndarray:
    """Gradient x activation of each unit of ``layer``'s output for ``target``, (H_out,).

    sum over the steps t of (dTarget/dh_t)[u] * h_t[u], the derivatives total ones (float64
    BPTT, as :func:`gradient_flow`) over the target's sequence: to first order, how much
    the target would change were the unit's output scaled down to nothing at every step
    at once. Zero for the units of a layer above the target's."""
    _check_target(model, target, trace.batch_size, trace.length, targets)
    if not 0 <= layer < model.num_layers:
        raise InputError(f"layer {layer} does not exist (the model has {model.num_layers})")
    stop = target.step + 1 if _forward_only(model) else trace.length
    one = _sequence64(model, trace, target.batch, stop)
    local = replace(target, batch=0)
    where, d_hidden, d_cell = _injection(model, one, local, _local_targets(targets, target))
    grads = backward(model, one, d_hidden, layer=where, d_cell=d_cell, parameters=False)
    g = grads.layers[layer]
    width = one.layers[layer].layer_output.shape[2]
    if g is None:
        return np.zeros(width)
    d = g.hidden[0] if g.reverse is None else np.concatenate([g.hidden[0], g.reverse.hidden[0]], axis=1)
    return np.sum(d * np.asarray(one.layers[layer].layer_output[0], np.float64), axis=0)


def cell_jacobian_norms(model, trace: Trace, layer: int, units, final_step: int, batch: int = 0) -> np.ndarray:
    """||d c_final[units] / d c_t||_F for every step t, (T,), of sequence ``batch``.

    c_final is layer ``layer``'s cell at ``final_step``; c_t all of that layer's cells at
    step t. The derivative is the total one (BPTT in float64): through c_{t+1} and through
    h_t = o_t tanh(c_t) and everything after it. It is 0 after ``final_step`` for a forward
    direction (before it for a backward one); at ``final_step`` it is sqrt(len(units)).
    ``units`` count [forward | backward] for a bidirectional layer.
    """
    if model.kind != "lstm":
        raise InputError("cell Jacobians need an LSTM: a tanh RNN has no memory cells")
    if not isinstance(layer, (int, np.integer)) or not 0 <= layer < model.num_layers:
        raise InputError(f"layer {layer!r} is out of range: the model has {model.num_layers} layer(s)")
    B, T = trace.batch_size, trace.length
    if not isinstance(batch, (int, np.integer)) or not 0 <= batch < B:
        raise InputError(f"sequence {batch!r} is out of range: the trace holds {B} sequence(s)")
    if not isinstance(final_step, (int, np.integer)) or not 0 <= final_step < T:
        raise InputError(f"final step {final_step!r} is out of range: the sequence has {T} steps")
    directions = model.directions(layer)
    width = sum(d.hidden_size for d in directions)
    units = [units] if isinstance(units, (int, np.integer)) else list(units)
    if not units or any(not isinstance(u, (int, np.integer)) or not 0 <= u < width for u in units):
        raise InputError(f"units must be a non-empty list of cells in 0..{width - 1}, got {units!r}")
    stop = final_step + 1 if _forward_only(model) else T
    one = _sequence64(model, trace, int(batch), stop)
    lt_all = one.layers[layer].directions()
    x_in = one.layer_input if layer == 0 else one.layers[layer - 1].layer_output
    squares = np.zeros(T)
    offset = 0
    for params, lt in zip(directions, lt_all):
        H = params.hidden_size
        mine = [u - offset for u in units if offset <= u < offset + H]
        offset += H
        if not mine:
            continue
        steps = slice(final_step, stop) if lt.reverse_time else slice(0, final_step + 1)
        S = steps.stop - steps.start
        last = 0 if lt.reverse_time else S - 1
        per_row = S * (2 * H + params.output_size + params.input_size) * 8 * 3
        chunk = int(max(1, min(len(mine), (limits.max_bytes() // 4) // max(1, per_row))))
        for start in range(0, len(mine), chunk):
            rows = mine[start : start + chunk]
            R = len(rows)
            view = _broadcast_direction(lt, steps, R)
            x_rows = np.broadcast_to(x_in[:, steps], (R, S, x_in.shape[2]))
            d_hidden = np.broadcast_to(np.zeros((1, 1, params.output_size)), (R, S, params.output_size))
            d_cell = np.zeros((R, S, H))
            d_cell[np.arange(R), last, rows] = 1.0
            grads, _ = lstm_direction_backward(params, view, x_rows, d_hidden, d_cell, parameters=False, inputs=False)
            squares[steps] += np.sum(grads.cell**2, axis=(0, 2))
    return np.sqrt(squares)


def _broadcast_direction(lt: LayerTrace, steps: slice, rows: int) -> LayerTrace:
    """Steps ``steps`` of a one-sequence direction, seen ``rows`` times along the batch."""

    def widen(a):
        return np.broadcast_to(a[:, steps], (rows,) + a[:, steps].shape[1:])

    return LayerTrace(
        hidden=widen(lt.hidden),
        initial_hidden=np.broadcast_to(lt.initial_hidden, (rows, lt.initial_hidden.shape[1])),
        forget=widen(lt.forget),
        input=widen(lt.input),
        candidate=widen(lt.candidate),
        output=widen(lt.output),
        cell=widen(lt.cell),
        initial_cell=np.broadcast_to(lt.initial_cell, (rows, lt.initial_cell.shape[1])),
        cell_clip=lt.cell_clip,
        reverse_time=lt.reverse_time,
    )


# -- a tanh RNN to compare with ----------------------------------------------------------------


def _spectral_norm(matrix: np.ndarray) -> float:
    return float(np.linalg.norm(matrix, 2)) if matrix.size else 0.0


def _scaled_gaussian(rng: np.random.Generator, shape: tuple[int, int], norm: float) -> np.ndarray:
    matrix = rng.standard_normal(shape)
    return matrix * (norm / _spectral_norm(matrix))


def matched_rnn(model, seed: int = 0) -> RNN:
    """An untrained tanh RNN shaped like ``model``, for comparing gradient flow.

    Same input size (and the same embedding), the same number of layers, units per layer
    and bidirectional pairs. Each RNN layer's input weights W_x (D, H) and recurrent weights
    W_h (H, H) are Gaussian random matrices scaled to exactly the spectral norm (largest
    singular value) of the corresponding LSTM layer's candidate-block weights, W_x[:, g]
    and W_h[:, g]; biases are zero. (A layer above a projected LSTM layer reads H units, not
    P.) The LSTM's readout is reused when the RNN's output width equals its input width;
    otherwise the RNN has no readout. Reproducible from ``seed``. The window labels it
    "untrained tanh RNN, weights scaled to this LSTM's candidate weights".
    """
    if model.kind != "lstm":
        raise InputError("matched_rnn needs an LSTM model")
    rng = np.random.default_rng(seed)
    entries = []
    width = model.layer_input_size
    for index in range(model.num_layers):
        made = []
        for layer in model.directions(index):
            g = layer.gate_block("candidate")
            H = layer.hidden_size
            W_x = _scaled_gaussian(rng, (width, H), _spectral_norm(layer.W_x[:, g]))
            W_h = _scaled_gaussian(rng, (H, H), _spectral_norm(layer.W_h[:, g]))
            made.append(RNNLayer(W_x, W_h, np.zeros(H)))
        entries.append(made[0] if len(made) == 1 else tuple(made))
        width = sum(layer.hidden_size for layer in model.directions(index))
    readout = None
    if model.readout is not None and model.readout.input_size == width:
        readout = model.readout.copy()
    metadata = {
        "matched_to": repr(model),
        "seed": int(seed),
        "note": "untrained tanh RNN, weights scaled to this LSTM's candidate weights",
    }
    return RNN(entries, readout=readout, embedding=model.embedding, metadata=metadata)
