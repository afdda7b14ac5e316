"""Time to advance one step and repaint every default panel, offscreen at 1600x1000.

    python benchmarks/bench_window.py [--units 256] [--steps 10000] [--frames 300]

A random LSTM with H units runs over T steps (a single sequence); then, for each frame,
the Session's step advances by one and the whole window repaints synchronously. Target:
median under 8 ms and p95 under 12 ms. Also prints the start-up time to a painted window
with the built-in demo (measured in a fresh process).
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
        "from lstm_viz.ui.app import parse\n"
        "import pyqtgraph as pg\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QSettings\n"
        "app = QApplication([])\n"
        "pg.setConfigOptions(imageAxisOrder='row-major', background='w', foreground='#333', antialias=True)\n"
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
    args = parser.parse_args()

    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from lstm_viz.engine import LSTM
    from lstm_viz.io.sequences import Sequence
    from lstm_viz.ui.main_window import MainWindow
    from lstm_viz.ui.session import Loaded

    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(imageAxisOrder="row-major", background="w", foreground="#333", antialias=True)
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "lstm-viz", "bench")
    settings.clear()
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    x = np.random.default_rng(0).normal(size=(1, args.steps, 8)).astype(np.float32)
    model = LSTM.random(8, [args.units], seed=0)
    trace = model.run(x)
    window.session.set_loaded(Loaded(model, Sequence(x), trace, "benchmark"))
    window.repaint()
    app.processEvents()
    times = []
    start_step = args.steps // 3
    for k in range(args.frames):
        t0 = time.perf_counter()
        window.session.set_step(start_step + k)
        window.repaint()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    median = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"H={args.units}, T={args.steps:,}, {args.frames} frames at 1600x1000 offscreen")
    print(f"step + repaint: median {median:.2f} ms, p95 {p95:.2f} ms, min {times[0]:.2f}, max {times[-1]:.2f}")
    starts = sorted(startup_seconds() for _ in range(3))
    print(
        f"start-up to a painted window with the demo: median {starts[1]:.2f} s "
        f"(min {starts[0]:.2f}, max {starts[2]:.2f})"
    )


if __name__ == "__main__":
    main()
