"""A run shown while it is recorded: what is shown is exactly the finished run's first steps."""

from __future__ import annotations

import os

import numpy as np

from lstm_viz.engine import LSTM
from lstm_viz.engine.sequence import Sequence
from lstm_viz.workbench import Workbench, streaming
from lstm_viz.workbench.loading import Loaded, OpenRequest
from lstm_viz.workbench.options import RandomSpec


def test_head_is_views_of_the_first_steps():
    model = LSTM.random(3, [5, 4], seed=0, bidirectional=False)
    x = np.random.default_rng(0).normal(size=(2, 50, 3)).astype(np.float32)
    trace = model.run(x)
    part = streaming.head(trace, 20)
    assert part.length == 20 and part.x.shape == (2, 20, 3)
    for whole, shown in zip(trace.layers, part.layers):
        for name in ("forget", "input", "candidate", "output", "cell", "hidden"):
            np.testing.assert_array_equal(getattr(shown, name), getattr(whole, name)[:, :20])
            assert np.shares_memory(getattr(shown, name), getattr(whole, name))  # nothing copied
        np.testing.assert_array_equal(shown.initial_cell, whole.initial_cell)
    np.testing.assert_array_equal(part.layers[1].at(1, 19)["cell_prev"], trace.layers[1].cell[1, 18])


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def fake_loaded(total):
    model = LSTM.random(2, [3], seed=0)
    x = np.zeros((1, total, 2), np.float32)
    trace = model.run(x)
    trace.computed = 0
    return Loaded(model, Sequence(values=x), trace, "random")


def test_the_first_frame_comes_early_then_when_doubled_or_after_the_interval():
    clock = Clock()
    stream = streaming.Stream(clock)
    assert stream.due() is None  # not started
    loaded = fake_loaded(100_000)
    stream.started(loaded)
    loaded.trace.computed = 100
    assert stream.due() is None  # fewer than FIRST_STEPS
    loaded.trace.computed = 1024
    part = stream.due()
    assert part.trace.length == 1024 and part.computing == (1024, 100_000)
    loaded.trace.computed = 1500
    assert stream.due() is None  # neither grown fourfold nor late
    clock.now = streaming.INTERVAL + 0.1
    assert stream.due().trace.length == 1500
    loaded.trace.computed = 6000  # fourfold, but too soon after the last showing
    assert stream.due() is None
    clock.now += streaming.SOONEST
    assert stream.due().trace.length == 6000
    loaded.trace.computed = 100_000  # finished: the whole run is shown by the open's result
    assert stream.due() is None
    kept = stream.cancelled()
    assert kept.trace.length == 100_000 and kept.cut == (100_000, 100_000)


def test_opening_a_long_sequence_shows_growing_parts_equal_to_the_finished_run(tmp_path):
    path = tmp_path / "long.npy"
    np.save(path, np.random.default_rng(2).normal(size=(30_000, 3)).astype(np.float32))
    core = Workbench()
    work = core.open(OpenRequest(sequence_path=str(path), random=RandomSpec(sizes=(16, 8), seed=1)))
    parts = []

    def progress(done, total):
        part = work.stream.due()
        if part is not None:
            parts.append(part)
            core.show_part(part)
            assert core.length == part.trace.length and core.loaded.computing is not None

    streaming_interval, soonest = streaming.INTERVAL, streaming.SOONEST
    try:
        streaming.INTERVAL = streaming.SOONEST = 0.0  # show at every report, to see many parts
        result = work.run(progress, lambda: False)
    finally:
        streaming.INTERVAL, streaming.SOONEST = streaming_interval, soonest
    work.apply(result)
    assert len(parts) >= 2
    lengths = [p.trace.length for p in parts]
    assert lengths == sorted(lengths) and lengths[-1] < 30_000
    for part in parts:
        n = part.trace.length
        for whole, shown in zip(result.trace.layers, part.trace.layers):
            np.testing.assert_array_equal(shown.hidden, whole.hidden[:, :n])
            np.testing.assert_array_equal(shown.cell, whole.cell[:, :n])
    assert core.length == 30_000 and core.loaded.computing is None
    assert core.time_range == (0.0, 30_000.0)  # the whole, shown from the first part on, stays whole


def test_float16_storage_rounds_once_and_says_what_is_lost(tmp_path):
    path = tmp_path / "seq.npy"
    np.save(path, np.random.default_rng(3).normal(size=(3000, 3)).astype(np.float32))
    core = Workbench()
    request = OpenRequest(sequence_path=str(path), random=RandomSpec(sizes=(8,), seed=2))
    exact = core.open(request).now().trace
    from dataclasses import replace

    half = core.open(replace(request, store_dtype="float16")).now()
    assert half.trace.layers[0].cell.dtype == np.float16
    np.testing.assert_array_equal(half.trace.layers[0].cell, exact.layers[0].cell.astype(np.float16))
    cell = exact.layers[0].cell.astype(np.float64)
    error = np.abs(half.trace.layers[0].cell.astype(np.float64) - cell)
    assert np.all(error <= np.maximum(np.abs(cell) * 2**-11, 2**-25))  # what the note promises
    assert any("half precision (float16)" in note and "0.05%" in note for note in half.notes)
    assert half.request.store_dtype == "float16"


def test_a_trace_over_the_budget_is_recorded_to_disk_and_says_so(tmp_path, monkeypatch):
    from lstm_viz import limits

    path = tmp_path / "seq.npy"
    np.save(path, np.random.default_rng(3).normal(size=(5000, 3)).astype(np.float32))
    core = Workbench()
    with limits.using("1M"):  # the trace is 5000 x 6 x 32 x 4 bytes = 3.8 MB
        loaded = core.open(OpenRequest(sequence_path=str(path), random=RandomSpec(sizes=(32,), seed=2))).now()
    storage = loaded.trace.meta["storage"]
    assert storage["where"] == "disk" and os.path.exists(storage["path"])
    assert any("temporary file on disk" in note for note in loaded.notes)
    reference = loaded.model.run(np.load(path)[None])
    np.testing.assert_array_equal(loaded.trace.layers[0].hidden, reference.layers[0].hidden)


def test_a_costly_showing_spaces_out_the_next_ones():
    clock = Clock()
    stream = streaming.Stream(clock)
    loaded = fake_loaded(300_000)
    stream.started(loaded)
    loaded.trace.computed = 1000
    assert stream.due().trace.length == 1000
    stream.took(0.25)  # a wide layer's showing: the next one not before 0.25 / SHARE = 5 s
    wait = 0.25 / streaming.SHARE
    assert wait > streaming.INTERVAL
    loaded.trace.computed = 50_000  # grown fiftyfold
    clock.now = wait - 0.01
    assert stream.due() is None
    clock.now = wait + 0.01
    assert stream.due().trace.length == 50_000
    stream.took(0.01)  # cheap again: back to the usual schedule
    loaded.trace.computed = 200_000  # fourfold
    clock.now += streaming.SOONEST + 0.01
    assert stream.due().trace.length == 200_000
