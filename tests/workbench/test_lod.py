"""Level-of-detail pyramids: every level against a brute-force reduction, growth, exact raw
values, memory, the trace's quantities computed chunk by chunk, the cache, the row order."""

import gc
import warnings

import numpy as np
import pytest

from lstm_viz import LSTM
from lstm_viz.workbench import lod
from lstm_viz.workbench.lod import Pyramid, cluster_order, quantity_pyramid


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 2048 steps (of 3 float32 columns: levels up to 2048 steps a bin), so that
    short arrays cross many chunk edges."""
    monkeypatch.setattr(lod, "CHUNK_BYTES", 4 * 3 * 2048)


def data(T, W, seed=0, bounded=False):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=(T, W)), axis=0).astype(np.float32)
    return np.tanh(x / 10).astype(np.float32) if bounded else x


def brute(x, bins):
    """Min, max and mean of each bin, NaN left out (NaN for a bin of NaN only)."""
    n = -(-len(x) // bins)
    chunks = [x[i * bins : (i + 1) * bins].astype(np.float64) for i in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins
        return (
            np.array([np.nanmin(c, axis=0) for c in chunks]),
            np.array([np.nanmax(c, axis=0) for c in chunks]),
            np.array([np.nanmean(c, axis=0) for c in chunks]),
        )


def check_level(level, x, dtype):
    lo, hi, mean = brute(x, level.bins)
    if dtype == np.float32:
        np.testing.assert_array_equal(level.mins, lo.astype(np.float32))
        np.testing.assert_array_equal(level.maxs, hi.astype(np.float32))
        np.testing.assert_allclose(level.means, mean, rtol=1e-6, atol=1e-6)
    else:  # float16: min rounded down, max up, by at most one step of float16
        assert (level.mins <= lo).all() and (level.maxs >= hi).all()

        def ulp(v):
            return np.spacing(np.abs(v).astype(np.float16)).astype(np.float64)

        assert (lo - level.mins <= ulp(lo)).all() and (level.maxs - hi <= ulp(hi)).all()
        np.testing.assert_allclose(level.means, mean, atol=1e-3)


@pytest.mark.parametrize("T", [1, 31, 33, 1000, 10007])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_every_level_is_the_brute_force_reduction(T, dtype, small_chunks):
    x = data(T, 3, seed=T, bounded=dtype == np.float16)
    pyramid = Pyramid(lambda t0, t1: x[t0:t1], T, 3, dtype=dtype)
    assert pyramid.bins[0] == (32 if dtype == np.float16 else 128)
    assert pyramid.bins[-1] == 2048 and len(pyramid.bins) == (4 if dtype == np.float16 else 3)
    for k in range(len(pyramid.bins)):
        check_level(pyramid.level(k), x, dtype)


def test_growing_gives_what_one_build_gives(small_chunks):
    x = data(9001, 4)
    whole = Pyramid(lambda t0, t1: x[t0:t1], len(x), 4)
    reads = []

    def source(t0, t1):
        reads.append((t0, t1))
        return x[t0:t1]

    grown = Pyramid(source, 5, 4)
    for length in (6, 130, 131, 2000, 2001, 7777, 9001):
        grown.extend(length)
    for k in range(len(whole.bins)):
        for a, b in zip(whole.level(k), grown.level(k)):
            np.testing.assert_array_equal(a, b)
    # whole chunks are read once; only the chunk that was partial is read again
    final = {r for r in reads if r[1] - r[0] == grown.chunk}
    assert len(final) == len([r for r in reads if r[1] - r[0] == grown.chunk])
    assert sum(b - a for a, b in reads) < len(x) + 7 * grown.chunk


def test_raw_values_come_back_exactly_when_zoomed_in():
    x = data(100_000, 5)
    pyramid = Pyramid(lambda t0, t1: x[t0:t1], len(x), 5)
    got = pyramid.columns(41_000, 41_050, max_columns=300, units=[3, 1])
    assert got.steps == 1
    np.testing.assert_array_equal(got.starts, np.arange(41_000, 41_050))
    for values in (got.mins, got.maxs, got.means):
        np.testing.assert_array_equal(values, x[41_000:41_050][:, [3, 1]])
    np.testing.assert_array_equal(pyramid.at(12_345, [2]), x[12_345, [2]])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_columns_are_the_brute_force_reduction_of_their_steps(dtype):
    T = 250_001
    x = data(T, 3, seed=1, bounded=dtype == np.float16)
    pyramid = Pyramid(lambda t0, t1: x[t0:t1], T, 3, dtype=dtype)
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(40):
        t0 = int(rng.integers(0, T - 10))
        t1 = int(rng.integers(t0 + 1, T + 1))
        width = int(rng.integers(20, 1500))
        got = pyramid.columns(t0, t1, width, units=[2, 0])
        seen.add(got.steps)
        assert len(got.starts) <= width + 1
        assert got.starts[0] <= t0 and got.starts[-1] + got.steps >= t1  # the range is covered
        for k, start in enumerate(got.starts):
            chunk = x[start : min(start + got.steps, T)][:, [2, 0]].astype(np.float64)
            exact = dtype == np.float32 or got.steps < pyramid.bins[0]
            if exact:
                np.testing.assert_array_equal(got.mins[k], chunk.min(axis=0).astype(np.float32))
                np.testing.assert_array_equal(got.maxs[k], chunk.max(axis=0).astype(np.float32))
            else:
                assert (got.mins[k] <= chunk.min(axis=0)).all() and (got.maxs[k] >= chunk.max(axis=0)).all()
                np.testing.assert_allclose(got.mins[k], chunk.min(axis=0), atol=1e-3)
            np.testing.assert_allclose(got.means[k], chunk.mean(axis=0), rtol=1e-5, atol=1e-3 if not exact else 1e-5)
    # raw values, bins reduced from them, and bins of the levels were all asked for
    assert 1 in seen and min(seen - {1}) < pyramid.bins[0] and max(seen) >= pyramid.bins[0]


def test_nan_steps_are_left_out_and_all_nan_bins_stay_empty(small_chunks):
    T = 5000
    x = data(T, 2)
    x[:3000] = np.nan  # NaN appears only from the first chunks on...
    x[3100:3105, 0] = np.nan
    x[4000, 1] = np.nan
    pyramid = Pyramid(lambda t0, t1: x[t0:t1], T, 2)
    for k in range(len(pyramid.bins)):
        level = pyramid.level(k)
        lo, hi, mean = brute(x, level.bins)
        np.testing.assert_array_equal(level.mins, lo.astype(np.float32))
        np.testing.assert_array_equal(level.maxs, hi.astype(np.float32))
        np.testing.assert_allclose(level.means, mean, rtol=1e-6)
    got = pyramid.columns(0, T, 40)
    assert np.isnan(got.means[0]).all()
    late = np.where(np.arange(T)[:, None] < 4000, 0.0, x).astype(np.float32)  # ... and only late
    pyramid = Pyramid(lambda t0, t1: late[t0:t1], T, 2)
    np.testing.assert_allclose(pyramid.level(0).means, brute(late, pyramid.bins[0])[2], rtol=1e-6)


def test_a_sparse_target_is_one_column_with_its_value():
    T = 1_000_000
    target = np.full(T, np.nan, np.float32)
    target[T - 1] = 0.75
    pyramid = Pyramid(lambda t0, t1: target[t0:t1], T, 1)
    got = pyramid.columns(0, T, 1000)
    finite = np.flatnonzero(np.isfinite(got.means[:, 0]))
    assert len(finite) == 1 and got.means[finite[0], 0] == got.mins[finite[0], 0] == 0.75
    assert pyramid.range() == (0.75, 0.75)


def test_the_pyramid_takes_at_most_seven_percent_of_the_quantity():
    T, W = 200_000, 64
    for dtype, expected in ((np.float16, 0.0625), (np.float32, 0.03125)):
        x = data(T, W, bounded=dtype == np.float16)
        pyramid = Pyramid(lambda t0, t1: x[t0:t1], T, W, dtype=dtype)
        share = pyramid.nbytes / x.nbytes
        assert share <= 0.07 and share <= expected * 1.01, (dtype, share)


def test_float16_statistics_switch_to_float32_for_large_values(small_chunks):
    x = np.ones((3000, 1), np.float32)
    x[2500] = 1e6
    pyramid = Pyramid(lambda t0, t1: x[t0:t1], len(x), 1, dtype=np.float16)
    assert pyramid.dtype == np.float32 and pyramid.range() == (1.0, 1e6)


def test_trace_quantities_are_computed_chunk_by_chunk_bit_for_bit():
    model = LSTM.random(3, [5], seed=1, bidirectional=True)
    x = np.random.default_rng(0).normal(size=(2, 300, 3)).astype(np.float32)
    trace = model.run(x)
    for lt in trace.layers[0].directions():
        for name in ("forget", "cell", "hidden", "tanh_cell", "hidden_unprojected", "new", "old", "cell_unclipped"):
            source = lod.QuantitySource(lt, name, 1)
            full = lt.quantity(name)[1]
            for t0, t1 in ((0, 300), (0, 7), (7, 300), (100, 101), (299, 300)):
                np.testing.assert_array_equal(source(t0, t1), full[t0:t1], err_msg=f"{name} {t0}:{t1}")
                np.testing.assert_array_equal(source(t0, t1, units=np.array([4, 0])), full[t0:t1][:, [4, 0]])


def test_a_pyramid_is_built_once_per_trace_and_dropped_with_it():
    trace = LSTM.random(2, [4], seed=0).run(np.zeros((1, 50, 2), np.float32))
    lt = trace.layers[0]
    first = quantity_pyramid(lt, "forget", 0, 50)
    assert quantity_pyramid(lt, "forget", 0, 50) is first
    assert first.dtype == np.float16 and quantity_pyramid(lt, "cell", 0, 50).dtype == np.float32
    owner = id(lod.steps_owner(lt.forget)[0])
    assert owner in lod._CACHE
    del trace, lt, first
    gc.collect()
    assert owner not in lod._CACHE


def test_the_shown_head_of_a_trace_being_recorded_extends_one_pyramid():
    """A recording shows views of its first n steps, new ones at every showing: they share
    the pyramid of the whole arrays, which grows with them."""
    from lstm_viz.workbench.streaming import head

    trace = LSTM.random(2, [6], seed=3).run(np.random.default_rng(1).normal(size=(1, 5000, 2)).astype(np.float32))
    shown = [head(trace, n) for n in (300, 1200, 5000)]
    pyramids = [quantity_pyramid(t.layers[0], "tanh_cell", 0, t.length) for t in shown]
    assert pyramids[0] is pyramids[1] is pyramids[2] and pyramids[0].length == 5000
    whole = Pyramid(lod.QuantitySource(trace.layers[0], "tanh_cell", 0), 5000, 6, dtype=np.float16)
    for k in range(len(whole.bins)):
        for a, b in zip(whole.level(k), pyramids[0].level(k)):
            np.testing.assert_array_equal(a, b)
    assert quantity_pyramid(trace.layers[0], "tanh_cell", 0, 5000) is pyramids[0]  # and the finished trace


def test_a_cached_pyramid_grows_with_a_trace_being_recorded():
    values = data(3000, 2)
    owner = np.zeros(1)  # stands for the trace
    calls = []

    def source(t0, t1):
        calls.append((t0, t1))
        return values[t0:t1]

    pyramid = lod.cached_pyramid(owner, "v", source, 1000, 2)
    again = lod.cached_pyramid(owner, "v", source, 3000, 2)
    assert again is pyramid and pyramid.length == 3000
    np.testing.assert_array_equal(pyramid.level(0).maxs, brute(values, 128)[1].astype(np.float32))


def test_cluster_order_puts_units_with_similar_time_courses_together():
    rng = np.random.default_rng(4)
    courses = rng.normal(size=(3, 400))
    group = np.repeat([0, 1, 2], [7, 5, 9])
    units = courses[group] + 0.3 * rng.normal(size=(len(group), 400))
    shuffle = rng.permutation(len(group))
    order = cluster_order(units[shuffle])
    assert sorted(order) == list(range(len(group)))
    labels = group[shuffle][order]
    assert (np.diff(labels) != 0).sum() == 2  # three runs: each group in one block


def test_cluster_order_of_a_small_case_by_hand():
    # rows 0 and 2 move together, 1 and 3 together: the order keeps each pair adjacent
    t = np.linspace(0, 6, 50)
    rows = np.array([np.sin(t), np.cos(t), np.sin(t) + 0.01 * t, np.cos(t) * 2, np.zeros_like(t)])
    order = list(cluster_order(rows))
    assert abs(order.index(0) - order.index(2)) == 1 and abs(order.index(1) - order.index(3)) == 1
    assert order.index(4) in (0, 4)  # the flat row correlates with nothing: joined last


def test_curves_asking_one_unit_each_share_one_reduction_with_the_same_answers():
    """A panel's curves ask one unit each; with ``among`` (the units of all of them) the
    pyramid works them out together once, and each answer is what asking alone gives."""
    T, W = 300_000, 12
    x = data(T, W, seed=5)
    reads = []

    def source(t0, t1, units=None):
        reads.append(units)
        return x[t0:t1] if units is None else x[t0:t1][:, units]

    pyramid = Pyramid(source, T, W)
    among = np.array([1, 4, 7, 9])
    for t0, t1, width in ((0, T, 800), (1000, 9000, 700), (5000, 5600, 800), (0, 200_000, 64)):
        alone = [pyramid.columns(t0, t1, width, units=[u]) for u in among]
        reads.clear()
        together = [pyramid.columns(t0, t1, width, units=[u], among=among) for u in among]
        for a, b in zip(alone, together):
            assert a.steps == b.steps
            np.testing.assert_array_equal(a.starts, b.starts)
            for got, want in ((b.mins, a.mins), (b.maxs, a.maxs)):
                np.testing.assert_array_equal(got, want)
            np.testing.assert_allclose(b.means, a.means, rtol=1e-6)
        assert len(reads) <= 1  # the source read once (or, from the pyramid's levels, not at all)
    # a unit outside ``among`` is answered alone, and right
    odd = pyramid.columns(1000, 9000, 700, units=[2], among=among)
    np.testing.assert_array_equal(odd.mins, pyramid.columns(1000, 9000, 700, units=[2]).mins)


@pytest.mark.parametrize("direction", [-1, 1])
def test_float16_statistics_round_outwards_to_the_nearest_float16_beyond(direction):
    """Every finite float16, the float32 values just either side of it and both zeros:
    a bin's min is stored as the largest float16 not above it, its max as the smallest not
    below it (as NumPy's nextafter would step), bit for bit."""
    every = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16).view(np.float16)
    every = every[np.isfinite(every)].astype(np.float32)
    values = np.concatenate(
        [every, np.nextafter(every, np.float32(np.inf)), np.nextafter(every, np.float32(-np.inf))]
        + [np.float32([0.0, -0.0, 1e-9, -1e-9, 3e-8, -3e-8, 65504.0, -65504.0, 0.1, -0.1])]
    )
    got = lod._rounded(values, np.float16, direction, False)
    nearest = values.astype(np.float16)
    back = nearest.astype(np.float32)
    wrong = back > values if direction < 0 else back < values
    towards = np.array(-np.inf if direction < 0 else np.inf, dtype=np.float16)
    with np.errstate(over="ignore"):  # +-65504 steps to +-inf
        expected = np.where(wrong, np.nextafter(nearest, towards), nearest)
    assert np.array_equal(got.view(np.int16), expected.view(np.int16))
    stored = got.astype(np.float32)
    assert (stored <= values).all() if direction < 0 else (stored >= values).all()
    # tight: the next float16 inwards is on the wrong side of the value
    with np.errstate(over="ignore"):
        inward = np.nextafter(got, np.array(np.inf if direction < 0 else -np.inf, dtype=np.float16)).astype(np.float32)
    assert (inward > values).all() if direction < 0 else (inward < values).all()
