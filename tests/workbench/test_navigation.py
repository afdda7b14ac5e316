"""The visible time range and "jump to the next event", checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_viz.engine import LSTM
from lstm_viz.engine.sequence import Sequence
from lstm_viz.workbench import Workbench, navigation
from lstm_viz.workbench.loading import Loaded, OpenRequest


def brute_events(values, threshold, direction):
    """Every step s whose value is on the new side of a crossing between s - 1 and s."""
    out = []
    for s in range(1, len(values)):
        a, b = values[s - 1], values[s]
        up = not a > threshold and b > threshold
        down = not a < threshold and b < threshold
        if (direction == "up" and up) or (direction == "down" and down) or (direction == "either" and (up or down)):
            out.append(s)
    return out


@pytest.mark.parametrize("direction", ["up", "down", "either"])
def test_next_and_previous_event_match_a_loop_across_chunk_edges(monkeypatch, direction):
    monkeypatch.setattr(navigation, "CHUNK", 7)  # many chunk edges in a short sequence
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=300)) * 0.1
    values[100] = 0.25  # a value exactly at the threshold: "up" needs to go above it
    events = brute_events(values, 0.25, direction)
    assert len(events) >= 5
    read = lambda t0, t1: values[t0:t1]  # noqa: E731
    for step in range(0, 300, 3):
        after = [s for s in events if s > step]
        before = [s for s in events if s < step]
        found = navigation.next_event(read, 300, step, 0.25, direction)
        assert found == (after[0] if after else None)
        found = navigation.next_event(read, 300, step, 0.25, direction, backwards=True)
        assert found == (before[-1] if before else None)


def test_a_range_is_clamped_to_the_sequence_and_kept_a_few_steps_wide():
    assert navigation.clamp_range(-50, 50, 1000) == (0.0, 100.0)
    assert navigation.clamp_range(950, 1100, 1000) == (850.0, 1000.0)
    assert navigation.clamp_range(10, 10.5, 1000) == (10.0, 10.0 + navigation.MIN_SPAN)
    assert navigation.clamp_range(-5, 5000, 1000) == (0.0, 1000.0)
    assert navigation.clamp_range(0, 1, 2) == (0.0, 2.0)  # shorter than MIN_SPAN: the whole


def test_following_a_step_turns_a_page_of_the_same_width():
    assert navigation.follow((100.0, 200.0), 150, 10_000) == (100.0, 200.0)  # inside: unchanged
    t0, t1 = navigation.follow((100.0, 200.0), 199, 10_000)  # in the margin ahead: next page
    assert (t1 - t0) == 100.0 and t0 < 199 < t1 and 199 - t0 <= 10
    t0, t1 = navigation.follow((1000.0, 1100.0), 400, 10_000)  # behind: the page before
    assert (t1 - t0) == 100.0 and t0 < 400 < t1 and t1 - 400 <= 10
    assert navigation.follow((100.0, 200.0), 40, 10_000) == (0.0, 100.0)  # not before the start
    assert navigation.follow((9_950.0, 10_000.0), 9_999, 10_000) == (9_950.0, 10_000.0)  # the end stays


def opened(length=2000, hidden=6):
    core = Workbench()
    model = LSTM.random(3, [hidden], seed=1)
    x = np.random.default_rng(0).normal(size=(1, length, 3)).astype(np.float32)
    trace = model.run(x)
    core.show(Loaded(model, Sequence(values=x), trace, "random", request=OpenRequest()))
    return core


def test_the_workbench_keeps_the_range_follows_the_step_and_finds_events():
    core = opened()
    seen = []
    core.range_changed.connect(lambda a, b: seen.append((a, b)))
    assert core.time_range == (0.0, 2000.0)
    core.set_time_range(100, 300)
    assert core.time_range == (100.0, 300.0) and seen[-1] == (100.0, 300.0)
    core.set_step(150)
    assert core.time_range == (100.0, 300.0)  # inside: no page turn
    core.set_step(1000)
    t0, t1 = core.time_range
    assert t1 - t0 == 200.0 and t0 <= 1000 < t1 and seen[-1] == (t0, t1)
    # events of the selected unit's keep gate against a loop over the trace
    unit = core.selected[0]
    values = core.quantity("forget")[:, unit]
    threshold = float(np.median(values))
    events = brute_events(values, threshold, "up")
    core.set_step(0)
    found = core.next_event("forget", unit, threshold, "up")
    assert found == events[0]
    core.set_step(found)
    assert core.next_event("forget", unit, threshold, "up") == events[1]
    core.set_step(events[1])
    assert core.next_event("forget", unit, threshold, "up", backwards=True) == events[0]


def test_a_new_sequence_of_another_length_shows_whole():
    core = opened(length=2000)
    core.set_time_range(10, 20)
    other = opened(length=500)
    core.show(other.loaded)
    assert core.time_range == (0.0, 500.0)
