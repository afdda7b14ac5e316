"""Unit figures: memory span, saturation, correlation, LSTMVis selection and ablation,
each checked against an independent reference (a brute-force loop, exact fractions,
np.corrcoef, hand-made arrays, or separate what-if re-runs)."""

import math
from fractions import Fraction

import numpy as np
import pytest

from lstm_viz import LSTM, RNN
from lstm_viz.engine import unit_figures
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.targets import Targets, step_losses
from lstm_viz.engine.trace import LayerTrace
from lstm_viz.engine.unit_figures import (
    ablate,
    ablation_ranking,
    find_units,
    matching_spans,
    memory_span,
    saturation,
    unit_correlation,
)
from lstm_viz.errors import Cancelled, InputError, ModelError

# -- memory span ------------------------------------------------------------------------


def brute_force_span(f, fraction):
    """Multiply the keep gates one step at a time until the product is <= fraction."""
    T, H = f.shape
    spans = np.zeros((T, H))
    censored = np.zeros((T, H), bool)
    for u in range(H):
        for t in range(T):
            product, span = 1.0, None
            for k in range(1, T - t):
                product *= f[t + k, u]
                if product <= fraction:
                    span = k
                    break
            if span is None:
                spans[t, u], censored[t, u] = T - 1 - t, True
            else:
                spans[t, u] = span
    return spans, censored


def exact_kaplan_meier_median(spans, censored):
    """Product-limit estimate in exact fractions; censored r means 'longer than r'."""
    S = Fraction(1)
    for k in sorted({int(s) for s, c in zip(spans, censored) if not c}):
        at_risk = sum(1 for s in spans if s >= k)
        events = sum(1 for s, c in zip(spans, censored) if s == k and not c)
        S *= 1 - Fraction(events, at_risk)
        if S <= Fraction(1, 2):
            return float(k)
    return math.inf


def random_keep_gates(rng, T, H):
    f = rng.uniform(0.3, 1.0, (T, H))
    f[:, 0] = rng.uniform(0.97, 1.0, T)  # a long memory: spans cross chunks and get censored
    f[rng.random((T, H)) < 0.05] = 1.0
    f[rng.random((T, H)) < 0.03] = 0.0
    f[:, -1] = 1.0  # never forgets: every span censored, median inf
    return f


@pytest.mark.parametrize("fraction", [0.5, 0.2, 0.9])
def test_memory_span_matches_a_brute_force_loop_and_exact_kaplan_meier(monkeypatch, fraction):
    # tiny chunks, blocks and transposes so that every seam of the vectorised code is crossed
    monkeypatch.setattr(unit_figures, "_SEARCH_CHUNK", 7)
    monkeypatch.setattr(unit_figures, "_SPAN_BLOCK_BYTES", 3 * 8 * 91)
    monkeypatch.setattr(unit_figures, "_TRANSPOSE_STEPS", 16)
    f = random_keep_gates(np.random.default_rng(1), 90, 7)
    span = memory_span(f.astype(np.float64), fraction)
    spans, censored = brute_force_span(f, fraction)
    np.testing.assert_array_equal(span.censored, censored)
    np.testing.assert_array_equal(span.per_step, spans)
    for u in range(f.shape[1]):
        assert span.per_unit[u] == exact_kaplan_meier_median(spans[:, u], censored[:, u])
    assert span.per_unit[-1] == math.inf
    assert span.fraction == fraction


@pytest.mark.parametrize("threads", [1, 2])
def test_memory_span_is_the_same_on_one_or_two_threads_and_in_float32(monkeypatch, threads):
    monkeypatch.setattr(unit_figures, "_SPAN_THREADS", threads)
    f = random_keep_gates(np.random.default_rng(2), 3000, 5).astype(np.float32)
    span = memory_span(f)
    spans, censored = brute_force_span(f.astype(np.float64), 0.5)
    np.testing.assert_array_equal(span.per_step, spans)
    np.testing.assert_array_equal(span.censored, censored)
    assert span.per_step.dtype == np.float32


def test_memory_span_hand_cases():
    T = 50
    half = memory_span(np.full((T, 1), 0.5))
    np.testing.assert_array_equal(half.per_step[:-1, 0], 1.0)  # 0.5 after one step
    assert half.censored[-1, 0] and half.per_step[-1, 0] == 0  # nothing left after the last step
    assert half.per_unit[0] == 1.0
    k = math.ceil(math.log(0.5) / math.log(0.9))
    assert k == 7
    slow = memory_span(np.full((T, 1), 0.9))
    np.testing.assert_array_equal(slow.per_step[: T - k, 0], k)  # 0.9**7 = 0.478, 0.9**6 = 0.531
    assert not slow.censored[: T - k].any() and slow.censored[T - k :].all()
    np.testing.assert_array_equal(slow.per_step[T - k :, 0], np.arange(k - 1, -1, -1))  # steps remaining
    assert slow.per_unit[0] == k  # the censored tail is shorter than 7 and does not pull the median down
    # a keep gate of 0 forgets at once; 1 keeps forever
    mixed = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    result = memory_span(mixed)
    np.testing.assert_array_equal(result.per_step, [[1, 2], [1, 1], [0, 0]])
    np.testing.assert_array_equal(result.censored, [[False, True], [True, True], [True, True]])
    np.testing.assert_array_equal(result.per_unit, [1.0, math.inf])


def test_memory_span_rejects_bad_input():
    with pytest.raises(InputError, match="fraction"):
        memory_span(np.full((3, 2), 0.5), 1.0)
    with pytest.raises(InputError, match="2-D"):
        memory_span(np.full((1, 3, 2), 0.5))
    with pytest.raises(InputError, match="NaN"):
        memory_span(np.array([[0.5], [np.nan]]))


# -- saturation -----------------------------------------------------------------------


def gate_trace(forget, input, output):
    forget, input, output = (np.asarray(a, float) for a in (forget, input, output))
    B, T, H = forget.shape
    zeros = np.zeros((B, T, H))
    return LayerTrace(
        hidden=zeros, initial_hidden=np.zeros((B, H)), forget=forget, input=input, candidate=zeros,
        output=output, cell=zeros, initial_cell=np.zeros((B, H)),
    )  # fmt: skip


def test_saturation_counts_strictly_below_low_and_above_high():
    forget = [[[0.05, 0.5], [0.1, 0.95], [0.95, 0.99], [0.9, 0.0]]]  # 0.1 and 0.9 are not saturated
    input = [[[0.5, 0.5]] * 4]
    output = [[[0.0, 1.0], [0.0, 1.0], [0.5, 1.0], [0.5, 0.5]]]
    result = saturation(gate_trace(forget, input, output))
    np.testing.assert_array_equal(result.left["forget"], [1 / 4, 1 / 4])
    np.testing.assert_array_equal(result.right["forget"], [1 / 4, 2 / 4])
    np.testing.assert_array_equal(result.left["input"], [0, 0])
    np.testing.assert_array_equal(result.right["input"], [0, 0])
    np.testing.assert_array_equal(result.left["output"], [2 / 4, 0])
    np.testing.assert_array_equal(result.right["output"], [0, 3 / 4])
    assert result.steps == 4 and (result.low, result.high) == (0.1, 0.9)


def test_saturation_over_one_sequence_or_the_whole_batch():
    forget = np.array([[[0.0], [0.0]], [[1.0], [0.5]]])
    flat = np.full((2, 2, 1), 0.5)
    trace = gate_trace(forget, flat, flat)
    assert saturation(trace, batch=0).left["forget"][0] == 1.0
    assert saturation(trace, batch=1).right["forget"][0] == 0.5
    assert saturation(trace, batch=-1).right["forget"][0] == 0.5
    everything = saturation(trace)
    assert everything.left["forget"][0] == 0.5 and everything.right["forget"][0] == 0.25
    assert everything.steps == 4
    narrow = saturation(trace, low=0.6, high=0.99)
    assert narrow.left["input"][0] == 1.0
    with pytest.raises(InputError, match="low < high"):
        saturation(trace, low=0.9, high=0.1)
    with pytest.raises(InputError, match="sequence 2"):
        saturation(trace, batch=2)
    rnn = RNN.random(2, [3]).run(np.zeros((4, 2))).layers[0]
    with pytest.raises(InputError, match="no gates"):
        saturation(rnn)


# -- correlation ----------------------------------------------------------------------


def test_unit_correlation_is_pearson_r_and_nan_for_constant_units():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=40)
    values = np.column_stack([2 * reference + 1, -reference, rng.normal(size=40), np.full(40, 0.1)])
    r = unit_correlation(values.astype(np.float32), reference)
    assert r[0] == pytest.approx(1.0) and r[1] == pytest.approx(-1.0)
    assert r[2] == pytest.approx(np.corrcoef(values[:, 2], reference)[0, 1], abs=1e-6)
    assert np.isnan(r[3])  # constant (0.1 sums with rounding, yet it is NaN, and no warning)
    assert np.isnan(unit_correlation(values, np.ones(40))).all()  # a constant reference


def test_unit_correlation_masks_steps_and_leaves_out_nan_references():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(2, 30, 3))
    reference = rng.normal(size=(2, 30))
    mask = rng.random((2, 30)) < 0.6
    reference[0, :5] = np.nan  # e.g. a loss at steps without a target
    keep = mask & np.isfinite(reference)
    r = unit_correlation(values, reference, mask)
    for u in range(3):
        assert r[u] == pytest.approx(np.corrcoef(values[..., u][keep], reference[keep])[0, 1])
    assert np.isnan(unit_correlation(values[0], reference[0], np.eye(1, 30, 0, bool)[0])).all()  # one step
    with pytest.raises(InputError, match="reference must have shape"):
        unit_correlation(values, reference[0])


# -- LSTMVis selection ------------------------------------------------------------------


def test_find_units_keeps_units_above_or_below_over_the_step_range():
    values = np.array(
        [
            [[0.9, 0.1, 0.6], [0.8, 0.2, 0.4], [0.7, 0.9, 0.6], [0.1, 0.9, 0.6]],
            [[0.9, 0.1, 0.6], [0.6, 0.9, 0.6], [0.9, 0.9, 0.6], [0.9, 0.9, 0.6]],
        ]
    )
    np.testing.assert_array_equal(find_units(values, 0.5, steps=(0, 3)), [0])
    np.testing.assert_array_equal(find_units(values, 0.5, steps=(0, 3), min_share=5 / 6), [0, 2])
    np.testing.assert_array_equal(find_units(values, 0.5, steps=(2, 4), batch=1), [0, 1, 2])
    np.testing.assert_array_equal(find_units(values, 0.5, steps=(2, 4)), [1, 2])
    np.testing.assert_array_equal(find_units(values, 0.5, above=False, steps=(0, 1)), [1])
    np.testing.assert_array_equal(find_units(values, 0.6), [])  # strictly above
    np.testing.assert_array_equal(find_units(values[0], 0.05, steps=(0, 4)), [0, 1, 2])  # one sequence (T, H)
    with pytest.raises(InputError, match="steps"):
        find_units(values, 0.5, steps=(3, 3))


def test_matching_spans_are_the_maximal_runs_in_every_sequence():
    values = np.zeros((2, 8, 3))
    values[0, 0:2, 1] = 1  # at the start
    values[0, 4:8, 1] = 1  # to the end
    values[0, 3, 2] = 1
    values[1, 2:5, 2] = 1
    values[1, 6, 2] = 1
    assert matching_spans(values, [1, 2], 0.5) == [
        (0, 1, 0, 2), (0, 1, 4, 8), (0, 2, 3, 4), (1, 2, 2, 5), (1, 2, 6, 7),
    ]  # fmt: skip
    assert matching_spans(values, [2, 1], 0.5, min_length=2) == [(0, 1, 0, 2), (0, 1, 4, 8), (1, 2, 2, 5)]
    below = matching_spans(values, [0, 2], 0.5, above=False, min_length=4)
    assert below == [(0, 0, 0, 8), (0, 2, 4, 8), (1, 0, 0, 8)]
    assert matching_spans(values, [], 0.5) == []
    with pytest.raises(InputError, match="units"):
        matching_spans(values, [3], 0.5)


# -- ablation -------------------------------------------------------------------------

RICH = dict(peepholes=True, proj_sizes=[3, None], cell_clip=0.9, gate_clip=2.5, forget_bias=0.7)


def model_and_targets(kind="regression", seed=0, **options):
    model = LSTM.random(3, [5, 4], seed=seed, **options)
    rng = np.random.default_rng(seed)
    model.readout = Readout.random(model.output_size, 3, rng, kind=kind)
    x = rng.normal(size=(2, 25, 3)) * 2
    mask = rng.random((2, 25)) < 0.7
    values = rng.integers(0, 3, (2, 25)) if kind == "classification" else rng.normal(size=(2, 25, 3))
    return model, x, Targets(values, mask, "random targets")


def mean_loss(model, trace, targets, batch, start):
    return np.nanmean(step_losses(model.readout, trace.output, targets)[batch, start:])


@pytest.mark.parametrize(
    "options, kind, threads",
    [({}, "regression", "1"), (RICH, "regression", "1"), ({}, "classification", "1"), (RICH, "regression", "2")],
    ids=["plain", "rich", "cls", "rich-two-threads"],
)
def test_the_batched_ranking_equals_one_ablation_per_unit(monkeypatch, options, kind, threads):
    monkeypatch.setenv("LSTM_VIZ_BLAS_THREADS", threads)  # "2": two halves of the rows on two threads
    parts = []
    original = unit_figures._Part

    def counted_part(*args):
        parts.append(original(*args))
        return parts[-1]

    monkeypatch.setattr(unit_figures, "_Part", counted_part)
    model, x, targets = model_and_targets(kind, **options)
    trace = model.run(x, dtype=np.float64)
    start, batch = 6, 1
    for layer in (0, 1):
        ranking = ablation_ranking(model, trace, layer, targets, start=start, batch=batch)
        assert ranking.baseline == pytest.approx(mean_loss(model, trace, targets, batch, start), abs=1e-10)
        assert ranking.steps == np.count_nonzero(targets.mask[batch, start:])
        H = trace.layers[layer].hidden_size
        separate = [mean_loss(model, ablate(model, trace, layer, [k], start), targets, batch, start) for k in range(H)]
        np.testing.assert_allclose(ranking.loss, separate, rtol=0, atol=1e-10)
        np.testing.assert_allclose(ranking.change, ranking.loss - ranking.baseline, rtol=0, atol=0)
        assert np.abs(ranking.change).max() > 1e-4  # the ablations do change the loss
        assert list(ranking.order()) == list(np.argsort(-ranking.change, kind="stable"))
        assert len(parts) == (2 if threads == "2" else 1)
        parts.clear()


@pytest.mark.parametrize("options", [{}, RICH], ids=["plain", "rich"])
def test_an_ablated_unit_holds_zero_and_the_past_and_the_layers_below_are_unchanged(options):
    model, x, _ = model_and_targets(**options)
    trace = model.run(x, dtype=np.float64)
    start, units = 9, [1, 3]
    after = ablate(model, trace, 0, units, start)
    old, new = trace.layers[0], after.layers[0]
    np.testing.assert_array_equal(new.cell[:, start:, units], 0.0)
    np.testing.assert_array_equal(new.hidden_unprojected[:, start:, units], 0.0)  # o * tanh(0)
    np.testing.assert_array_equal(new.forget[:, start:, units], 0.0)
    np.testing.assert_array_equal(new.input[:, start:, units], 0.0)
    assert np.abs(old.cell[:, start:, units]).min() > 0
    for name in ("forget", "input", "candidate", "output", "cell", "hidden"):
        for a, b in zip(trace.layers, after.layers):
            np.testing.assert_array_equal(getattr(b, name)[:, :start], getattr(a, name)[:, :start])
    others = [0, 2, 4]  # at the first ablated step they only saw the unchanged h_{start-1}
    np.testing.assert_allclose(new.cell[:, start, others], old.cell[:, start, others], rtol=0, atol=1e-12)
    assert np.abs(new.cell[:, start + 1 :, others] - old.cell[:, start + 1 :, others]).max() > 1e-3
    above = np.abs(after.layers[1].hidden[:, start:] - trace.layers[1].hidden[:, start:]).max()
    assert above > 1e-3  # the layer above sees the change
    assert after.meta["ablation"] == {"layer": 0, "units": units, "start": start}
    # ablating the upper layer leaves the lower one alone (what-if recomputes it from
    # start with the float64 reference step: the same numbers to rounding)
    upper = ablate(model, trace, 1, 2, start)
    np.testing.assert_allclose(upper.layers[0].hidden, trace.layers[0].hidden, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(upper.layers[1].hidden[:, start:, 2], 0.0)


def test_the_float32_ranking_follows_the_float64_one():
    model, x, targets = model_and_targets()
    fast = ablation_ranking(model, model.run(x), 0, targets, start=3)
    exact = ablation_ranking(model, model.run(x, dtype=np.float64), 0, targets, start=3)
    np.testing.assert_allclose(fast.change, exact.change, rtol=0, atol=1e-4)


def test_ranking_reports_progress_and_can_be_cancelled(monkeypatch):
    monkeypatch.setattr(unit_figures, "_chunk_steps", lambda rows, width, itemsize: 8)
    model, x, targets = model_and_targets()
    trace = model.run(x)
    seen = []
    ablation_ranking(model, trace, 1, targets, start=5, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(8, 20), (16, 20), (20, 20)]
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        ablation_ranking(model, trace, 0, targets, cancel=cancel)
    assert len(calls) == 3  # stopped after the second chunk


def test_what_cannot_be_ablated_says_why():
    model, x, targets = model_and_targets()
    trace = model.run(x)
    both = LSTM.random(3, [4], bidirectional=True)
    with pytest.raises(InputError, match="backwards"):
        ablate(both, both.run(x), 0, [0])
    backwards = LSTM.random(3, [4], go_backwards=True)
    with pytest.raises(InputError, match="backwards"):
        ablation_ranking(backwards, backwards.run(x), 0, targets)
    rnn = RNN.random(3, [4])
    with pytest.raises(InputError, match="tanh RNN"):
        ablate(rnn, rnn.run(x), 0, [0])
    with pytest.raises(InputError, match="units 0 to 4"):
        ablate(model, trace, 0, [5])
    with pytest.raises(InputError, match="layer 2"):
        ablate(model, trace, 2, [0])
    with pytest.raises(InputError, match="start step 25"):
        ablation_ranking(model, trace, 0, targets, start=25)
    none = Targets(targets.values, np.zeros((2, 25), bool), "nothing")
    with pytest.raises(InputError, match="no step with a target"):
        ablation_ranking(model, trace, 0, none)
    bare = LSTM.random(3, [5, 4])
    with pytest.raises(ModelError, match="readout"):
        ablation_ranking(bare, bare.run(x), 0, targets)
