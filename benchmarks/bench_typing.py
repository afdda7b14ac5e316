"""Latency of type-your-own input: one more character typed, to a repainted window.

    python benchmarks/bench_typing.py [--steps 500] [--units 128] [--repeats 15]

A character model (a random LSTM, H units, over the characters of the shipped Alice text)
has a T-character text in the "Your input" box. Each repeat types one character and
measures from the end of the debounce pause (when the panel sends the text) until every
visible panel has painted the new trace: encoding, the engine's run, every panel's update
and the repaint. Reported with the engine's own run time on the same text, measured in the
same run, as the reference. The debounce pause itself (250 ms) is not included.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    import numpy as np
    from window_setup import PaintCounter, on_screen_viewports, open_window

    from lstm_viz.engine import LSTM
    from lstm_viz.io.sequences import text_sequence
    from lstm_viz.ui.session import Loaded
    from lstm_viz.workbench.resources import RESOURCES

    app, window = open_window("bench-typing")
    text = (RESOURCES / "text" / "alice.txt").read_text(encoding="utf-8")
    vocabulary = sorted(set(text))
    model = LSTM.random(len(vocabulary), [args.units], seed=0)
    model.metadata["vocabulary"] = vocabulary
    start = text[: args.steps - 1]
    sequence = text_sequence(start, vocabulary=vocabulary)
    window.session.set_loaded(Loaded(model, sequence, model.run(sequence.values), "bench"))
    typing = next(p for p in window.panels if p.objectName() == "TypingPanel")
    typing.raise_()
    window.repaint()
    for _ in range(3):
        app.processEvents()
    painted = PaintCounter()
    views = painted.watch(on_screen_viewports(window))

    latencies, engine = [], []
    for k in range(args.repeats):
        typed = start + text[args.steps - 1 + k]
        # the reference: the engine alone on the same text
        t0 = time.perf_counter()
        model.run(text_sequence(typed, vocabulary=vocabulary).values)
        engine.append((time.perf_counter() - t0) * 1000)
        typing.box.setPlainText(typed)
        typing.emit_later.cancel()
        painted.seen.clear()
        t0 = time.perf_counter()
        typing._emit()
        painted.wait(app, views)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert window.session.length == args.steps
    lat, eng = statistics.median(latencies), statistics.median(engine)
    print(
        f"T={args.steps}, H={args.units}, vocabulary {len(vocabulary)}, {args.repeats} repeats,"
        f" {len(views)} panel views"
    )
    print(
        f"typed character to repainted window: median {lat:.1f} ms (min {min(latencies):.1f}, max {max(latencies):.1f})"
        f" + the {typing.emit_later.timeout()} ms typing pause"
    )
    print(f"engine run alone (reference): median {eng:.1f} ms; window work {lat / eng:.1f}x the engine's")
    np.testing.assert_equal(window.session.sequence.length, args.steps)


if __name__ == "__main__":
    main()
