"""Figures about single units: how long they remember, how often their gates saturate,
what they follow, where they fire, and what the loss loses without them.

- :func:`memory_span`: a value written into the cell at step t is scaled by
  f_{t+1} * ... * f_{t+k} after k more steps (the keep/forget gate). Its span is the k at
  which that product first drops to ``fraction`` or below.
- :func:`saturation`: the share of steps at which each gate is left saturated (below 0.1)
  or right saturated (above 0.9), as in Karpathy, Johnson & Fei-Fei (2015),
  "Visualizing and Understanding Recurrent Networks".
- :func:`unit_correlation`: Pearson's r between each unit and a reference signal.
- :func:`find_units` and :func:`matching_spans`: LSTMVis-style selection (Strobelt et al.
  2018): the units that stay above (or below) a threshold over chosen steps, and every
  maximal run of steps where they do.
- :func:`ablate` and :func:`ablation_ranking`: hold units' cell and hidden state at zero
  from a step on (keep gate and write gate clamped to 0), and rank every unit of a layer
  by how much the mean loss changes without it, all H ablations in one batched run.

NumPy only, like the rest of the engine.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from lstm_viz.engine import blas
from lstm_viz.engine.kernel import check_cancel, prepare_lstm
from lstm_viz.engine.targets import Targets, step_losses
from lstm_viz.engine.trace import LayerTrace, Trace
from lstm_viz.engine.whatif import Clamp, rerun
from lstm_viz.errors import InputError, ModelError
from lstm_viz.vocabulary import GATES

Progress = Callable[[int, int], None]

SPAN_TOLERANCE = 1e-9
"""A kept share within this relative distance of ``fraction`` counts as reached: the
products come from cumulative sums of log f, whose last bits of rounding must not decide
between k and k + 1 (float32 gates carry 6e-8 of their own)."""

MEDIAN_TOLERANCE = 1e-9
"""The Kaplan-Meier survival counts as having reached 0.5 within this distance (it is a
product of fractions, so an exact 0.5 can come out as 0.5000000000000001)."""

_BLOCK_BYTES = 32 << 20
"""Working memory of one block of steps (saturation, correlation)."""

_SPAN_BLOCK_BYTES = 128 << 20
"""The float64 sums of one block of units in :func:`memory_span` (16 units at 10**6 steps:
their rows of a (T, H) float32 array are 64 bytes, a cache line)."""

_TRANSPOSE_STEPS = 1024

_SPAN_THREADS = max(1, min(2, os.cpu_count() or 1))
"""Threads of :func:`memory_span`'s per-unit searches (at most 2, the engine's budget)."""


def _transpose(source: np.ndarray, target: np.ndarray, steps_first: bool) -> None:
    """target[...] = source.T, in blocks of steps (the axis of length T: the first of
    ``source`` when ``steps_first``, else its second) that stay in cache; NumPy's strided
    copy of a whole tall array is several times slower."""
    if steps_first:  # (T, units) -> (units, T)
        for t0 in range(0, source.shape[0], _TRANSPOSE_STEPS):
            target[:, t0 : t0 + _TRANSPOSE_STEPS] = source[t0 : t0 + _TRANSPOSE_STEPS].T
    else:  # (units, T) -> (T, units)
        for t0 in range(0, source.shape[1], _TRANSPOSE_STEPS):
            target[t0 : t0 + _TRANSPOSE_STEPS] = source[:, t0 : t0 + _TRANSPOSE_STEPS].T


def _float_array(name: str, value, ndim: tuple[int, ...]) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # pragma: no cover - asarray accepts almost anything
        raise InputError(f"{name} is not an array: {exc}") from None
    if array.dtype.kind not in "fiub":
        raise InputError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim not in ndim:
        shapes = " or ".join(f"{n}-D" for n in ndim)
        raise InputError(f"{name} must be {shapes}, got shape {array.shape}")
    return array


# -- memory span --------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """How long each unit keeps what it writes (see :func:`memory_span`).

    ``per_step`` (T, H): for a value written at step t, the number of steps k until
    f_{t+1} * ... * f_{t+k} first drops to ``fraction`` or below; where ``censored`` (the
    sequence ends first) it is the number of steps that remained, T - 1 - t, a lower
    bound. Whole numbers, stored as float32 (exact below 2**24 steps; float64 beyond).
    ``per_unit`` (H,): the median span of each unit, the Kaplan-Meier (product-limit)
    estimate, which counts a censored value as "longer than the steps that remained"
    instead of dropping it or taking it at face value; without censoring it is the lower
    median of ``per_step``. ``inf`` where the estimate never reaches one half (more than
    half of the spans are longer than the sequence can show).
    """

    per_step: np.ndarray
    censored: np.ndarray
    per_unit: np.ndarray
    fraction: float


def memory_span(forget, fraction: float = 0.5) -> Span:
    """Memory span of every unit at every step from the keep (forget) gate ``forget`` (T, H).

    Vectorised: per unit the cumulative sum S of log f (in float64), then for every t the
    first i with S[i] <= S[t + 1] + log(fraction), found by ``searchsorted`` of the sorted
    keys in chunks (:func:`_first_reaching`), on up to two threads. For a backward
    direction pass ``forget[::-1]``.
    """
    f = _float_array("forget", forget, (2,))
    T, H = f.shape
    if T == 0 or H == 0:
        raise InputError(f"forget must hold at least one step and one unit, got shape {f.shape}")
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise InputError(f"fraction must be a number between 0 and 1, got {fraction!r}") from None
    if not 0.0 < fraction < 1.0:
        raise InputError(f"fraction must be between 0 and 1 (exclusive), got {fraction}")
    if not np.all(np.isfinite(f)):
        raise InputError("forget holds NaN or infinite values")
    log_fraction = math.log(fraction)
    # One step that keeps less than fraction / e ends every span through it whatever the
    # other factors: flooring log f there changes no answer and keeps the sums small.
    floor = fraction / math.e
    threshold = log_fraction + SPAN_TOLERANCE
    out_dtype = np.float32 if T < (1 << 24) else np.float64
    per_step = np.empty((T, H), out_dtype)
    censored = np.empty((T, H), bool)
    per_unit = np.empty(H)
    block = max(1, min(H, _SPAN_BLOCK_BYTES // (8 * (T + 1))))
    # Buffers made once and reused: fresh large temporaries cost a page fault per 4 kB.
    sums_buffer = np.empty((block, T + 1))
    spans_buffer = np.empty((block, T), np.int64)
    cut_buffer = np.empty((block, T), bool)
    keys = [np.empty(T) for _ in range(_SPAN_THREADS)]
    after = np.arange(1, T + 1, dtype=np.int64)  # t + 1
    remaining = after[::-1] - 1  # T - 1 - t
    for u0 in range(0, H, block):
        u1 = min(H, u0 + block)
        units = u1 - u0
        sums, spans, cut = sums_buffer[:units], spans_buffer[:units], cut_buffer[:units]
        sums[:, 0] = 0.0
        _transpose(f[:, u0:u1], sums[:, 1:], steps_first=True)
        logs = sums[:, 1:]
        np.clip(logs, floor, 1.0, out=logs)
        np.log(logs, out=logs)
        np.cumsum(sums, axis=1, out=sums)  # sums[u, i] = log f_0 + ... + log f_{i-1}
        np.negative(sums, out=sums)  # non-decreasing: log f <= 0 and rounding is monotone

        def unit_spans(k: int, keys: np.ndarray) -> None:
            # the first i with -S[i] >= -(S[t + 1] + threshold): the product over t+1..i-1
            np.subtract(sums[k, 1:], threshold, out=keys)
            _first_reaching(sums[k], keys, spans[k])
            np.subtract(spans[k], after, out=spans[k])  # i - (t + 1) = k
            np.greater(spans[k], remaining, out=cut[k])  # i == T + 1: never dropped before the end
            np.copyto(spans[k], remaining, where=cut[k])
            per_unit[u0 + k] = _kaplan_meier_median(spans[k], cut[k])

        _on_threads(unit_spans, units, keys)
        _transpose(spans, per_step[:, u0:u1], steps_first=False)
        _transpose(cut, censored[:, u0:u1], steps_first=False)
    return Span(per_step, censored, per_unit, fraction)


_SEARCH_CHUNK = 2048
"""Keys per ``searchsorted`` call of :func:`_first_reaching`."""


def _first_reaching(haystack: np.ndarray, keys: np.ndarray, out: np.ndarray) -> None:
    """out[t] = the first i with haystack[i] >= keys[t] (len(haystack) if none), both sorted.

    One ``searchsorted`` over the whole haystack costs a binary search through all of it
    per key (70 ns a key at 10**6 steps, cache misses). The answers are sorted too, so the
    keys go in chunks, each searched in the stretch between the answers of its first and
    last key (found first, with one call): a few kilobytes, in cache.
    """
    n = keys.size
    ends = list(range(_SEARCH_CHUNK, n, _SEARCH_CHUNK)) + [n]
    highs = (np.searchsorted(haystack, keys[np.asarray(ends) - 1], side="left") + 1).tolist()
    low = int(np.searchsorted(haystack, keys[0], side="left"))
    t0 = 0
    for t1, high in zip(ends, highs):
        np.add(np.searchsorted(haystack[low:high], keys[t0:t1], side="left"), low, out=out[t0:t1])
        low = high - 1
        t0 = t1


def _on_threads(work: Callable[[int, np.ndarray], None], count: int, buffers: list[np.ndarray]) -> None:
    """work(k, buffer) for k in range(count), on up to len(buffers) threads (searchsorted
    and the ufuncs release the GIL), each thread with its own buffer."""
    if len(buffers) == 1 or count == 1:
        for k in range(count):
            work(k, buffers[0])
        return

    def share(w: int) -> None:
        for k in range(w, count, len(buffers)):
            work(k, buffers[w])

    with ThreadPoolExecutor(len(buffers)) as pool:
        for future in [pool.submit(share, w) for w in range(len(buffers))]:
            future.result()


def _kaplan_meier_median(spans: np.ndarray, censored: np.ndarray) -> float:
    """The smallest k with Kaplan-Meier survival S(k) <= 1/2 for one unit's spans (T,), or inf.

    A censored value r means the span is longer than r: it is at risk at every k <= r
    (censoring after the events at the same time, the usual convention).
    """
    T = spans.size
    width = int(spans.max()) + 1
    counts = np.bincount(spans * 2 + censored, minlength=2 * width).reshape(width, 2)
    events = counts[:, 0]
    leaving = np.cumsum(counts.sum(axis=1))  # at or before k
    at_risk = T - np.concatenate([[0], leaving[:-1]])
    times = np.flatnonzero(events)
    survival = np.cumprod(1.0 - events[times] / at_risk[times])
    reached = np.flatnonzero(survival <= 0.5 + MEDIAN_TOLERANCE)
    return float(times[reached[0]]) if reached.size else math.inf


# -- saturation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Saturation:
    """Per gate ('forget', 'input', 'output'), each unit's share of steps below ``low``
    (``left``) and above ``high`` (``right``), (H,) each; ``steps`` steps were counted."""

    left: dict[str, np.ndarray]
    right: dict[str, np.ndarray]
    low: float
    high: float
    steps: int


def saturation(layer_trace: LayerTrace, batch: int | None = None, low: float = 0.1, high: float = 0.9) -> Saturation:
    """How often each unit's gates are saturated (strictly below ``low``, strictly above
    ``high``), over sequence ``batch`` of the trace or, with None, over all of them."""
    if not isinstance(layer_trace, LayerTrace) or not layer_trace.is_lstm:
        raise InputError("saturation needs an LSTM layer trace (a tanh RNN has no gates)")
    low, high = float(low), float(high)
    if not 0.0 <= low < high <= 1.0:
        raise InputError(f"need 0 <= low < high <= 1, got low {low} and high {high}")
    B, T, H = layer_trace.forget.shape
    if batch is not None:
        if not -B <= batch < B:
            raise InputError(f"sequence {batch} does not exist (the trace holds {B})")
        batch %= B
    left, right = {}, {}
    for gate in GATES:
        values = getattr(layer_trace, gate)
        if batch is not None:
            values = values[batch : batch + 1]
        below = np.zeros(H, np.int64)
        above = np.zeros(H, np.int64)
        rows = max(1, _BLOCK_BYTES // max(1, H * values.itemsize * values.shape[0]))
        for t0 in range(0, T, rows):
            chunk = values[:, t0 : t0 + rows]
            below += np.count_nonzero(chunk < low, axis=(0, 1))
            above += np.count_nonzero(chunk > high, axis=(0, 1))
        count = values.shape[0] * T
        left[gate], right[gate] = below / count, above / count
    steps = (B if batch is None else 1) * T
    return Saturation(left, right, low, high, steps)


# -- correlation ----------------------------------------------------------------------


def unit_correlation(values, reference, mask=None) -> np.ndarray:
    """Pearson's r between every unit of ``values`` (T, H) and ``reference`` (T,), (H,).

    ``values`` may also be (B, T, H) with ``reference`` (B, T): all sequences count.
    ``mask`` (same shape as ``reference``) keeps only the steps where it is True; steps
    where ``reference`` is NaN (a loss without a target) are always left out. NaN for a
    unit (or a reference) that is constant over the kept steps, or with fewer than two
    steps kept. Computed in float64 in blocks of steps, without warnings.
    """
    v = _float_array("values", values, (2, 3))
    ref = _float_array("reference", reference, (1, 2))
    if ref.shape != v.shape[:-1]:
        raise InputError(f"reference must have shape {v.shape[:-1]} to match values {v.shape}, got {ref.shape}")
    H = v.shape[-1]
    keep = np.isfinite(ref)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != ref.shape:
            raise InputError(f"mask must have shape {ref.shape} like the reference, got {mask.shape}")
        keep &= mask.astype(bool)
    v = v.reshape(-1, H)
    index = np.flatnonzero(keep.reshape(-1))
    r = ref.reshape(-1)[index].astype(np.float64)
    n = index.size
    result = np.full(H, np.nan)
    if n < 2:
        return result
    rows = max(1, _BLOCK_BYTES // (8 * H))
    total = np.zeros(H)
    lowest = np.full(H, np.inf)
    highest = np.full(H, -np.inf)
    for k in range(0, n, rows):
        chunk = v[index[k : k + rows]]
        total += chunk.sum(axis=0, dtype=np.float64)
        np.minimum(lowest, chunk.min(axis=0), out=lowest)
        np.maximum(highest, chunk.max(axis=0), out=highest)
    if not np.all(np.isfinite(total)):
        raise InputError("values hold NaN or infinite values")
    if r.max() == r.min():
        return result
    mean = total / n
    r_centered = r - r.mean()
    cross = np.zeros(H)
    squares = np.zeros(H)
    for k in range(0, n, rows):
        chunk = v[index[k : k + rows]].astype(np.float64)
        chunk -= mean
        cross += r_centered[k : k + rows] @ chunk
        squares += np.einsum("ij,ij->j", chunk, chunk)
    r_squares = float(r_centered @ r_centered)
    varying = (highest > lowest) & (squares > 0.0)
    if r_squares > 0.0:
        result[varying] = np.clip(cross[varying] / np.sqrt(squares[varying] * r_squares), -1.0, 1.0)
    return result


# -- LSTMVis-style selection -----------------------------------------------------------


def _sequences(values) -> np.ndarray:
    v = _float_array("values", values, (2, 3))
    return v[None] if v.ndim == 2 else v


def _condition(block: np.ndarray, threshold: float, above: bool) -> np.ndarray:
    return block > threshold if above else block < threshold


def find_units(
    values,
    threshold: float,
    above: bool = True,
    steps: tuple[int, int] | None = None,
    min_share: float = 1.0,
    *,
    batch: int | None = None,
) -> np.ndarray:
    """The units (sorted indices) whose value stays strictly above (``above``) or below
    ``threshold`` over steps ``steps`` = (a, b), a <= t < b as in a slice (None: every
    step), in at least ``min_share`` of those steps.

    ``values`` (B, T, H) (or (T, H), one sequence); the share counts every (sequence, step)
    pair of the range, or only those of sequence ``batch`` when given.
    """
    v = _sequences(values)
    B, T, H = v.shape
    a, b = (0, T) if steps is None else (int(steps[0]), int(steps[1]))
    if not 0 <= a < b <= T:
        raise InputError(f"steps must be (a, b) with 0 <= a < b <= {T}, got ({a}, {b})")
    if not 0.0 < float(min_share) <= 1.0:
        raise InputError(f"min_share must be in (0, 1], got {min_share}")
    if batch is not None:
        if not -B <= batch < B:
            raise InputError(f"sequence {batch} does not exist (the values hold {B})")
        v = v[[batch]]
    region = v[:, a:b]
    count = np.count_nonzero(_condition(region, float(threshold), above), axis=(0, 1))
    total = region.shape[0] * region.shape[1]
    needed = math.ceil(float(min_share) * total - 1e-9)
    return np.flatnonzero(count >= needed)


def matching_spans(
    values, units: Iterable[int], threshold: float, above: bool = True, min_length: int = 1
) -> list[tuple[int, int, int, int]]:
    """Every maximal run of steps where a unit of ``units`` is strictly above (or below)
    ``threshold``, at least ``min_length`` steps long, in every sequence of ``values``
    (B, T, H): (batch, unit, start, end) with end exclusive, ordered by batch, unit, start."""
    v = _sequences(values)
    B, T, H = v.shape
    units = [int(u) for u in units]
    if any(not 0 <= u < H for u in units):
        raise InputError(f"units must be between 0 and {H - 1}, got {units}")
    if int(min_length) < 1:
        raise InputError(f"min_length must be at least 1, got {min_length}")
    if not units:
        return []
    held = _condition(v[:, :, units], float(threshold), above).transpose(0, 2, 1)  # (B, U, T)
    padded = np.zeros((B, len(units), T + 2), np.int8)
    padded[:, :, 1:-1] = held
    edges = np.diff(padded, axis=2)
    sb, su, starts = np.nonzero(edges == 1)
    _, _, ends = np.nonzero(edges == -1)  # same (b, u) order, one end after each start
    keep = ends - starts >= int(min_length)
    unit_ids = np.asarray(units)[su[keep]]
    return [(int(b), int(u), int(s), int(e)) for b, u, s, e in zip(sb[keep], unit_ids, starts[keep], ends[keep])]


# -- ablation -------------------------------------------------------------------------


def _check_ablation(model, trace: Trace, layer: int, start: int) -> None:
    if getattr(model, "kind", None) != "lstm":
        raise InputError("ablation clamps the keep and write gates; a tanh RNN has none")
    for index in range(model.num_layers):
        entry = model.directions(index)
        if len(entry) > 1 or entry[0].go_backwards:
            raise InputError(
                f"layer {index} runs backwards (bidirectional or go_backwards): an ablation from a step on "
                "re-runs forwards from that step, which a backward direction cannot"
            )
    if len(trace.layers) != model.num_layers:
        raise InputError(f"the trace has {len(trace.layers)} layers, the model {model.num_layers}")
    if not 0 <= layer < model.num_layers:
        raise InputError(f"layer {layer} does not exist (the model has {model.num_layers})")
    if not 0 <= start < trace.length:
        raise InputError(f"start step {start} is outside the sequence (0 to {trace.length - 1})")


def _unit_list(units, H: int, layer: int) -> tuple[int, ...]:
    if isinstance(units, (int, np.integer)):
        units = [units]
    chosen = tuple(sorted({int(u) for u in units}))
    if any(not 0 <= u < H for u in chosen):
        raise InputError(f"layer {layer} has units 0 to {H - 1}; got {list(chosen)}")
    return chosen


def ablate(model, trace: Trace, layer: int, units, start: int = 0) -> Trace:
    """A new trace in which ``units`` of ``layer`` hold cell and hidden state at zero from
    step ``start`` on, in every sequence of ``trace``; the steps before are the trace's.

    Done by clamping the keep (forget) and write (input) gates to 0: c_t = 0 * c_{t-1} +
    0 * g_t = 0 (any cell_clip keeps 0), so h = o * tanh(0) = 0 whatever the read gate and
    its peephole do; with a projection it is the unit's o * tanh(c) that is 0, so the unit
    adds nothing to the projected output. Peepholes and gate_clip act before the clamp.
    Runs :func:`lstm_viz.engine.whatif.rerun` (the float64 reference step). Raises
    InputError for a tanh RNN and for models with a backward layer.
    """
    _check_ablation(model, trace, layer, start)
    chosen = _unit_list(units, trace.layers[layer].hidden_size, layer)
    clamps = [Clamp(layer, "forget", 0.0, start, chosen), Clamp(layer, "input", 0.0, start, chosen)]
    result = rerun(model, trace, start=start, clamps=clamps)
    result.meta["ablation"] = {"layer": layer, "units": list(chosen), "start": start}
    return result


@dataclass(frozen=True)
class AblationRanking:
    """The mean loss of sequence ``batch`` over its ``steps`` steps with a target from
    ``start`` on: ``baseline`` without ablation, ``loss[k]`` with unit k of ``layer``
    ablated, ``change[k] = loss[k] - baseline`` (positive: the unit helps)."""

    layer: int
    start: int
    batch: int
    steps: int
    baseline: float
    loss: np.ndarray
    change: np.ndarray

    def order(self) -> np.ndarray:
        """Units from the one whose ablation raises the loss most to the one it lowers most."""
        return np.argsort(-self.change, kind="stable")


def _chunk_steps(rows: int, width: int, itemsize: int) -> int:
    return int(min(256, max(8, (4 << 20) // max(1, rows * width * itemsize))))


class _BatchedLayer:
    """One layer stepping ``rows`` copies of one state at once, feature-major like the
    kernel (every quantity's block is (units, rows)); row r ablates unit ``ablated[r]``
    for r < len(ablated), the rows after it are not ablated."""

    def __init__(self, layer, dtype, rows: int, h0: np.ndarray, c0: np.ndarray, ablated: range | None, threads):
        self.p = p = prepare_lstm(layer, dtype, [layer.input_size])
        H, Ho = p.hidden, p.out
        self.H, self.Ho, self.rows = H, Ho, rows
        self.R = np.empty((5 * H + Ho, rows), dtype)  # [c, g, f, i, o, h], as the kernel
        self.R[:H] = np.asarray(c0, dtype)[:, None]
        self.R[5 * H :] = np.asarray(h0, dtype)[:, None]
        self.W_rec = np.ascontiguousarray(p.W_h.T)
        self.W_x = p.W_x_parts[0]
        self.rec = np.empty((4 * H, rows), dtype)
        self.pair = np.empty((2 * H, rows), dtype)
        self.tmp = np.empty((H, rows), dtype)
        self.half = np.array(0.5, dtype)
        self.zero_at = None
        if ablated is not None:
            r = np.arange(len(ablated))
            k = np.asarray(ablated)
            self.zero_at = np.concatenate([(2 * H + k) * rows + r, (3 * H + k) * rows + r])  # f and i of unit k
        self.threads = threads

    def project(self, inputs: np.ndarray) -> np.ndarray:
        """(steps, D) shared by every row, or (steps, D, rows): the pre-activations' input
        part plus bias, (steps, 4H) or (steps, 4H, rows) (a strided view)."""
        p = self.p
        if inputs.ndim == 2:
            return (inputs @ self.W_x + p.b)[:, :, None]
        steps, D, rows = inputs.shape
        flat = np.ascontiguousarray(inputs.transpose(0, 2, 1)).reshape(steps * rows, D)
        P = flat @ self.W_x
        P += p.b
        return P.reshape(steps, rows, 4 * self.H).transpose(0, 2, 1)

    def run(self, P: np.ndarray, out: np.ndarray) -> None:
        """Step through P (steps, 4H, rows or 1), writing h into out (steps, Ho, rows)."""
        p, R, H = self.p, self.R, self.H
        H2, H3, H4, H5 = 2 * H, 3 * H, 4 * H, 5 * H
        c, z, c_g, f_i, o, h = R[:H], R[H:H5], R[:H2], R[H2:H4], R[H4:H5], R[H5:]
        sig, tail = R[H2:H5], R[H:H4]
        old, new = self.pair[:H], self.pair[H:]
        rec, pair, tmp, half = self.rec, self.pair, self.tmp, self.half
        flat = R.reshape(-1)
        zero_at = self.zero_at
        dtype = R.dtype
        peep_fi = peep_o = None
        if p.peep_fi is not None:
            peep_fi, peep_o = p.peep_fi[:, :, None], p.peep_o[:, None]
            peep_tmp = np.empty((2, H, self.rows), dtype)
            peep_flat = peep_tmp.reshape(H2, self.rows)
        lo = hi = None
        if p.gate_lo is not None:
            lo, hi = p.gate_lo[:, None], p.gate_hi[:, None]
        cell_hi = None if p.cell_clip is None else np.array(p.cell_clip, dtype)
        W_proj = None if p.W_proj is None else np.ascontiguousarray(p.W_proj.T)
        proj_hi = None if p.proj_clip is None else np.array(p.proj_clip, dtype)
        dot, add, multiply, tanh, minimum, maximum = np.dot, np.add, np.multiply, np.tanh, np.minimum, np.maximum
        with self.threads():
            for j in range(P.shape[0]):
                dot(self.W_rec, h, rec)
                add(P[j], rec, z)
                if peep_fi is not None:
                    multiply(c[None], peep_fi, peep_tmp)
                    add(f_i, peep_flat, f_i)
                if lo is not None:
                    if peep_o is None:
                        minimum(z, hi, out=z)
                        maximum(z, lo, out=z)
                    else:
                        minimum(tail, hi[:H3], out=tail)
                        maximum(tail, lo[:H3], out=tail)
                if peep_o is None:
                    tanh(z, z)
                    multiply(sig, half, sig)
                    add(sig, half, sig)
                else:
                    tanh(tail, tail)
                    multiply(f_i, half, f_i)
                    add(f_i, half, f_i)
                if zero_at is not None:
                    flat[zero_at] = 0.0  # keep and write gates of unit k held at 0 in row k
                multiply(f_i, c_g, pair)
                add(old, new, c)
                if cell_hi is not None:
                    minimum(c, cell_hi, out=c)
                    maximum(c, -cell_hi, out=c)
                if peep_o is not None:
                    multiply(c, peep_o, tmp)
                    add(o, tmp, o)
                    if lo is not None:
                        minimum(o, hi[H3:], out=o)
                        maximum(o, lo[H3:], out=o)
                    tanh(o, o)
                    multiply(o, half, o)
                    add(o, half, o)
                tanh(c, tmp)
                if W_proj is None:
                    multiply(o, tmp, h)
                else:
                    multiply(o, tmp, tmp)
                    dot(W_proj, tmp, h)
                    if proj_hi is not None:
                        minimum(h, proj_hi, out=h)
                        maximum(h, -proj_hi, out=h)
                out[j] = h


class _Part:
    """Some rows of the ranking batch through every layer from the ablated one up, with
    the sum of their losses."""

    def __init__(self, layers: list[_BatchedLayer], chunk: int, dtype):
        self.layers = layers
        self.outputs = [np.empty((chunk, layer.Ho, layer.rows), dtype) for layer in layers]
        self.loss = np.zeros(layers[0].rows)

    def chunk(self, readout, inputs: np.ndarray, picked: np.ndarray, values: np.ndarray, targets: Targets) -> None:
        steps = inputs.shape[0]
        for layer, out in zip(self.layers, self.outputs):
            layer.run(layer.project(inputs), out[:steps])
            inputs = out[:steps]
        if picked.size:
            rows = self.loss.size
            # step_losses is elementwise over its first two axes: given (m, rows, Ho) as
            # views of the (m, Ho, rows) storage, the readout's product needs no transpose
            features = self.outputs[-1][picked].transpose(0, 2, 1)
            wanted = Targets(
                np.broadcast_to(values[:, None], (picked.size, rows, *values.shape[1:])),
                np.ones((picked.size, rows), bool),
                targets.description,
            )
            self.loss += step_losses(readout, features, wanted).sum(axis=0)


def ablation_ranking(
    model,
    trace: Trace,
    layer: int,
    targets: Targets,
    start: int = 0,
    batch: int = 0,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> AblationRanking:
    """For each unit k of ``layer``: the mean loss (:func:`~lstm_viz.engine.targets.step_losses`
    over the steps of sequence ``batch`` that have a target, from ``start`` on) when unit k
    alone is ablated as in :func:`ablate`, and without ablation.

    All H ablations run as one batch of H + 1 copies of the sequence (row k ablates unit
    k, the last row none, so the baseline comes from the same arithmetic), stepping from
    ``start`` in the trace's dtype through ``layer`` and the layers above; nothing is
    recorded, each chunk of steps goes straight to the readout. Large layers run as two
    halves of the rows on two threads. ``progress(done, total)``
    counts steps; ``cancel()`` returning True raises :class:`~lstm_viz.errors.Cancelled`.
    In float32 a change of less than about 1e-6 of the loss is rounding; run the trace in
    float64 to rank units that matter that little.
    """
    _check_ablation(model, trace, layer, start)
    if model.readout is None:
        raise ModelError("ranking units by the loss needs a model with a readout")
    if not 0 <= batch < trace.batch_size:
        raise InputError(f"sequence {batch} does not exist (the trace holds {trace.batch_size})")
    targets.check(model.readout, trace.batch_size, trace.length)
    mask = np.asarray(targets.mask[batch], bool)
    counted = int(np.count_nonzero(mask[start:]))
    if counted == 0:
        raise InputError(f"sequence {batch} has no step with a target from step {start} on ({targets.description})")
    dtype = trace.x.dtype if trace.x.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    T = trace.length
    H = trace.layers[layer].hidden_size
    width = max(5 * model.directions(i)[0].hidden_size + model.directions(i)[0].output_size
                for i in range(layer, model.num_layers))  # fmt: skip
    rows = H + 1
    chunk = _chunk_steps(rows, width, np.dtype(dtype).itemsize)
    # Where the engine would give the step loop two BLAS threads, two halves of the rows
    # run instead, each through every layer on its own thread with one BLAS thread: no
    # hand-off inside every small product (on 2 cores that stalls). Else one thread.
    threads = blas.step_thread_count(rows, trace.layers[layer].output_size, H)
    parallel = 2 if (threads is None or threads >= 2) and (os.cpu_count() or 1) >= 2 else 1
    bounds = [0, (H + 1) // 2, H] if parallel == 2 else [0, H]
    parts = []
    for p, (k0, k1) in enumerate(zip(bounds[:-1], bounds[1:])):
        last = p == len(bounds) - 2
        part_rows = k1 - k0 + last  # the last part also runs the unablated row
        layers = []
        for index in range(layer, model.num_layers):
            lt = trace.layers[index]
            if start == 0:
                h0, c0 = lt.initial_hidden[batch], lt.initial_cell[batch]
            else:
                h0, c0 = lt.hidden[batch, start - 1], lt.cell[batch, start - 1]
            direction = model.directions(index)[0]
            step_threads = (
                contextlib.nullcontext
                if parallel == 2
                else blas.step_threads(part_rows, direction.output_size, direction.hidden_size)
            )
            ablated = range(k0, k1) if index == layer else None
            layers.append(_BatchedLayer(direction, dtype, part_rows, h0, c0, ablated, step_threads))
        parts.append(_Part(layers, chunk, dtype))
    source = trace.layer_input[batch] if layer == 0 else trace.layers[layer - 1].hidden[batch]
    total = T - start
    check_cancel(cancel)
    with contextlib.ExitStack() as context:
        context.enter_context(np.errstate(over="ignore", invalid="ignore"))
        pool = None
        if parallel == 2:
            context.enter_context(blas.single_thread())
            pool = context.enter_context(ThreadPoolExecutor(parallel))
        for t0 in range(start, T, chunk):
            t1 = min(T, t0 + chunk)
            picked = np.flatnonzero(mask[t0:t1])
            values = np.asarray(targets.values[batch, t0:t1])[picked]
            work = [
                functools.partial(part.chunk, model.readout, source[t0:t1], picked, values, targets) for part in parts
            ]
            if pool is None:
                for job in work:
                    job()
            else:
                for future in [pool.submit(job) for job in work]:
                    future.result()
            check_cancel(cancel)
            if progress is not None:
                progress(t1 - start, total)
    total_loss = np.concatenate([part.loss for part in parts])
    if not np.all(np.isfinite(total_loss)):
        raise ModelError(
            "the states became infinite or NaN in the ablation run: the inputs or weights are too large "
            f"for {np.dtype(dtype).name}; run the trace in float64"
        )
    means = total_loss / counted
    baseline = float(means[-1])
    loss = means[:-1]
    return AblationRanking(layer, start, batch, counted, baseline, loss, loss - baseline)
