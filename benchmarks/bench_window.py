"""Time to advance one step and repaint every default panel, offscreen at 1600x1000.

    python benchmarks/bench_window.py [--units 256] [--steps 10000] [--frames 300]

``--front AttributionPanel,GradientFlowPanel`` measures with those panels on screen
instead of the default ones in their tabs (with "follow the step" off: their analysis runs
in a worker once stepping pauses, which is not part of a frame).

A random LSTM with H units runs over T steps (a single sequence); then, for each frame,
the Session's step advances by one and the event loop runs until every panel's view has
received its paint event for that step (checked by counting paint events on each view's
viewport): this is the frame playback produces. Target: median under 8 ms and p95 under
12 ms. Also reported: the same frame followed by a forced synchronous repaint of the whole
window (menus, toolbar and all, even what did not change), as an upper bound; and the
start-up time to a painted window with the built-in demo (measured in a fresh process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def startup_seconds() -> float:
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from lstm_viz.cli import window_parser\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QSettings\n"
        "app = QApplication([])\n"
        "from lstm_viz.ui.style import configure_plots; configure_plots()\n"
        "from lstm_viz.ui.main_window import MainWindow\n"
        "s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, 'lstm-viz', 'bench'); s.clear()\n"
        "w = MainWindow(s); w.resize(1600, 1000); w.open_demo(wait=True); w.show(); w.repaint(); app.processEvents()\n"
        "print(time.perf_counter() - t0, flush=True)\n"
        "import os; os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--front", default="", help="panels (object names, comma-separated) to bring to the front of their tabs first"
    )
    args = parser.parse_args()

    import numpy as np
    import pyqtgraph as pg
    from window_setup import PaintCounter, on_screen_viewports, open_window

    from lstm_viz.engine import LSTM
    from lstm_viz.io.sequences import Sequence
    from lstm_viz.ui.session import Loaded

    app, window = open_window("bench")
    x = np.random.default_rng(0).normal(size=(1, args.steps, 8)).astype(np.float32)
    model = LSTM.random(8, [args.units], seed=0)
    trace = model.run(x)
    window.session.set_loaded(Loaded(model, Sequence(x), trace, "benchmark"))
    for name in filter(None, args.front.split(",")):
        front = next(p for p in window.panels if p.objectName() == name)
        front.raise_()
        # what is timed is the panels' own work per step; a "why" panel that follows the
        # step recomputes in a worker once stepping pauses, which is not a frame's work
        if hasattr(front, "follow"):
            front.follow.setChecked(False)
    window.repaint()
    app.processEvents()
    painted = PaintCounter()
    views = painted.watch(on_screen_viewports(window))
    # Views with nothing that changes per step (a scatter of per-unit figures, the weights)
    # do not repaint on a step: the frame waits for the ones that do.
    for step in (1, 2):
        painted.seen.clear()
        window.session.set_step(step)
        for _ in range(20):
            app.processEvents()
    views = [v for v in views if v in painted.seen]

    # The reference, measured in the same run: plain pyqtgraph, 32 full-length curves of
    # the same trace in a 1600x1000 plot with a cursor moved every frame (the issue's
    # "about 16 ms a step").
    reference = pg.PlotWidget()
    reference.resize(1600, 1000)
    for u in range(32):
        reference.plot(np.arange(args.steps), trace.layers[0].cell[0, :, u], pen=pg.intColor(u, 32), antialias=False)
    ref_line = pg.InfiniteLine(angle=90)
    reference.addItem(ref_line)
    reference.show()
    app.processEvents()
    painted.watch([reference.viewport()])

    def frame(step: int, forced: bool) -> float:
        painted.seen.clear()
        t0 = time.perf_counter()
        window.session.set_step(step)
        painted.wait(app, views)
        if forced:
            window.repaint()
        return (time.perf_counter() - t0) * 1000

    def reference_frame(step: int) -> float:
        painted.seen.clear()
        t0 = time.perf_counter()
        ref_line.setValue(step)
        painted.wait(app, [reference.viewport()])
        return (time.perf_counter() - t0) * 1000

    # The first frames after loading build the cached pictures of curves and images.
    first = [frame(args.steps // 3 + k, False) for k in range(3)]
    natural, forced, plain = [], [], []
    step = args.steps // 3 + 3
    # Interleaved in blocks, so machine noise falls on all three alike.
    for _block in range(5):
        for _ in range(args.frames // 5):
            step += 1
            natural.append(frame(step, False))
        for _ in range(args.frames // 5):
            step += 1
            forced.append(frame(step, True))
        for _ in range(max(3, args.frames // 50)):
            step += 1
            plain.append(reference_frame(step))

    def summary(times: list[float]) -> tuple[float, str]:
        times = sorted(times)
        median = statistics.median(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        return median, f"median {median:.2f} ms, p95 {p95:.2f} ms, min {times[0]:.2f}, max {times[-1]:.2f}"

    print(f"H={args.units}, T={args.steps:,}, {args.frames} frames at 1600x1000 offscreen, {len(views)} panel views")
    print("first 3 frames after loading (they build the cached pictures): " + ", ".join(f"{t:.0f} ms" for t in first))
    ref_median, ref_text = summary(plain)
    for label, times in (("step + every panel painted", natural), ("same + forced full-window repaint", forced)):
        median, text = summary(times)
        print(f"{label}: {text} ({median / ref_median:.2f}x the reference)")
    print(f"reference, plain pyqtgraph, 32 curves + cursor: {ref_text}")
    starts = sorted(startup_seconds() for _ in range(3))
    print(
        f"start-up to a painted window with the demo: median {starts[1]:.2f} s "
        f"(min {starts[0]:.2f}, max {starts[2]:.2f})"
    )


if __name__ == "__main__":
    main()
