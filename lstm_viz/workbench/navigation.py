"""Moving through a long sequence: the visible time range and "jump to the next event".

Qt-free. The window's time plots all show one range of steps, kept by the Workbench
(``time_range``); these are the rules it follows:

- a range is clamped to the sequence and is never narrower than :data:`MIN_SPAN` steps;
- when the step leaves the visible range (playback, keys, go to), the range pans so the
  step is in view again, keeping its width (a page turn, with a margin of 5%);
- an event is the first step after (or before) the current one where a unit's value
  crosses a threshold, found by a vectorised scan in chunks, so a million steps take
  a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MIN_SPAN = 4.0
"""The narrowest visible range, in steps."""

MARGIN = 0.05
"""Share of the range kept between a followed step and the range's edge."""

CHUNK = 1 << 16
"""Steps scanned at a time when looking for an event."""

DIRECTIONS = {
    "up": "rises above",
    "down": "falls below",
    "either": "crosses",
}


def clamp_range(t0: float, t1: float, length: int) -> tuple[float, float]:
    """(t0, t1) moved and shrunk to lie in [0, length] and at least MIN_SPAN wide (or the
    whole sequence, when it is shorter)."""
    whole = (0.0, float(max(length, 1)))
    span = max(float(t1) - float(t0), min(MIN_SPAN, whole[1]))
    if span >= whole[1]:
        return whole
    t0 = min(max(float(t0), 0.0), whole[1] - span)
    return t0, t0 + span


def follow(visible: tuple[float, float], step: int, length: int) -> tuple[float, float]:
    """The range that shows ``step``: ``visible`` itself when the step is inside it (with
    its margin), else the same width turned over like a page so the step sits near the
    edge it came in from (playback forwards keeps most of the new page ahead)."""
    t0, t1 = visible
    span = t1 - t0
    margin = MARGIN * span
    centre = step + 0.5
    if t0 + margin <= centre <= t1 - margin or span >= length:
        return clamp_range(t0, t1, length)
    if centre > t1 - margin:  # ahead: the step near the left edge of the new page
        return clamp_range(centre - margin, centre - margin + span, length)
    return clamp_range(centre + margin - span, centre + margin, length)


def crossings(values: np.ndarray, threshold: float, direction: str) -> np.ndarray:
    """Boolean (len - 1,): True at k where values[k] -> values[k + 1] crosses ``threshold``
    in ``direction`` ('up': from <= to >, 'down': from >= to <, 'either': both)."""
    above = values > threshold
    below = values < threshold
    up = ~above[:-1] & above[1:]
    down = ~below[:-1] & below[1:]
    if direction == "up":
        return up
    if direction == "down":
        return down
    if direction == "either":
        return up | down
    raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")


def next_event(
    read: Callable[[int, int], np.ndarray],
    length: int,
    step: int,
    threshold: float,
    direction: str = "either",
    backwards: bool = False,
) -> int | None:
    """The first step after ``step`` (before it, ``backwards``) at which the value crosses
    ``threshold``: the step whose value is on the new side. ``read(t0, t1)`` returns the
    values of steps t0..t1 (1-D). None when there is no such step."""
    if backwards:
        end = step  # crossings into steps < step
        while end > 0:
            start = max(0, end - CHUNK)
            values = np.asarray(read(start, end + 1 if end < length else end), dtype=np.float64)
            hits = np.flatnonzero(crossings(values, threshold, direction))
            hits = hits[hits + 1 + start < step]
            if len(hits):
                return int(start + hits[-1] + 1)
            end = start
        return None
    start = step
    while start < length - 1:
        stop = min(length, start + CHUNK + 1)
        values = np.asarray(read(start, stop), dtype=np.float64)
        hits = np.flatnonzero(crossings(values, threshold, direction))
        if len(hits):
            return int(start + hits[0] + 1)
        start = stop - 1
    return None
