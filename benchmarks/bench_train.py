"""Training in the window against ``lstm-viz train`` on the command line, and the window's
step repaint while it trains.

    python benchmarks/bench_train.py [--repeat 3] [--steps 3000] [--threads 1]

Case: the adding problem, an LSTM of 12 units, sequences of 30 steps, Adam at 0.005, the
demo's budget of updates. Each measurement is a fresh process, alternated:

- ``cli``: ``lstm-viz train --task adding --length 30 --hidden 12 ...`` as its command
  function runs it (the task, the model, the updates and the saved file), timed around
  the command (not the interpreter's start);
- ``window``: the offscreen window on its demo, the Training panel's Start with the same
  choices (a second after the process that trains is warmed up, as the Train dialog does
  when it opens), timed from Start to the end of training while the window's event loop runs
  (the loss curves drawn five times a second, the held-out loss every 25 updates,
  snapshots every 50); then the trained model shown;
- ``steps``: in the same window, step repaints (a step moved, every view on screen
  painted) with nothing else running, then while the model trains: one step after the
  other, and a step every 40 ms (a held arrow key's repeat).

Prints medians (min, max) and the window / command line ratio of each pair.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def child_cli(steps: int) -> dict:
    from lstm_viz.cli import main

    out = os.path.join(tempfile.mkdtemp(), "adding.npz")
    args = ["train", "--task", "adding", "--length", "30", "--hidden", "12", "--steps", str(steps)]
    args += ["--lr", "0.005", "--seed", "0", "-o", out, "--quiet"]
    t0 = time.perf_counter()
    main(args)
    return {"seconds": time.perf_counter() - t0}


def child_window(steps: int, measure_steps: bool) -> dict:
    sys.path.insert(0, HERE)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from window_setup import PaintCounter, on_screen_viewports, open_window

    from lstm_viz.workbench.training import TrainSpec

    app, window = open_window("bench-train")
    window.open_demo(wait=True)
    for _ in range(20):
        app.processEvents()
    panel = window.training_panel()
    panel.show()
    panel.raise_()
    panel.ensure_built()
    for _ in range(20):
        app.processEvents()
    result = {}

    def repaints(count: int, while_training: bool, pace: float = 0.0) -> list[float]:
        painted = PaintCounter()
        views = painted.watch(on_screen_viewports(window))
        times = []
        for _ in range(count):
            if while_training and panel.job is None:
                break
            painted.seen.clear()
            step = (window.session.step + 1) % window.session.length
            t0 = time.perf_counter()
            window.session.set_step(step)
            painted.wait(app, [v for v in views if v.isVisible()][:2], limit=100000)
            times.append((time.perf_counter() - t0) * 1000)
            app.processEvents()
            while time.perf_counter() < t0 + pace:  # paced: the next step after ``pace`` seconds
                app.processEvents()
                time.sleep(0.001)
        return times

    if measure_steps:
        result["idle"] = repaints(60, False)
    spec = TrainSpec(task="adding", kind="lstm", hidden=12, length=30, lr=0.005, steps=steps, seed=0)
    from lstm_viz.workbench.training import warm_up

    warm_up()  # as Model > Train… does when its dialog opens; a second for the choices
    wait_until = time.perf_counter() + 1.0
    while time.perf_counter() < wait_until:
        app.processEvents()
        time.sleep(0.01)
    loop = QEventLoop()
    t0 = time.perf_counter()
    panel.start([spec])
    panel.job.finished.connect(loop.quit)
    if measure_steps:
        result["training"] = repaints(200, True)
        result["training_paced"] = repaints(100, True, pace=0.04)
    if panel.job is not None and panel.job.isRunning():
        keep_alive = QTimer(interval=50)  # (as an application's loop: woken by its timers)
        keep_alive.start()
        loop.exec()
    result["seconds"] = time.perf_counter() - t0
    QApplication.processEvents()
    result["updates"] = panel.trainings[0].updates
    return result


def run_child(args: list) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(args)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(values, unit="", digits=2) -> str:
    values = sorted(values)
    return f"{statistics.median(values):.{digits}f}{unit} (min {values[0]:.{digits}f}, max {values[-1]:.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--threads", default="1", help="BLAS threads of each child (1, 2 or 1,2)")
    args = parser.parse_args()
    if args.child:
        kind, *rest = json.loads(args.child)
        result = child_cli(*rest) if kind == "cli" else child_window(*rest)
        print(json.dumps(result))
        return
    for threads in args.threads.split(","):
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = threads
        print(f"\n== adding, LSTM of 12 units, length 30, {args.steps:,} updates; BLAS threads {threads} ==")
        cli, window, idle, training, paced = [], [], [], [], []
        for k in range(args.repeat):  # alternated: the machine's noise falls on both
            cli.append(run_child(["cli", args.steps])["seconds"])
            found = run_child(["window", args.steps, k == 0])
            assert found["updates"] == args.steps
            window.append(found["seconds"])
            idle += found.get("idle", [])
            training += found.get("training", [])
            paced += found.get("training_paced", [])
        ratios = [w / c for w, c in zip(window, cli)]
        print(f"command line: {spread(cli, ' s')}")
        print(f"window:       {spread(window, ' s')}")
        print(f"window / command line: {spread(ratios, 'x')}")
        if idle and training:

            def p95(values):
                return sorted(values)[int(0.95 * (len(values) - 1))]

            print(
                f"step repaint, idle: median {statistics.median(idle):.2f} ms, p95 {p95(idle):.2f} ms "
                f"({len(idle)} steps); while training: median {statistics.median(training):.2f} ms, "
                f"p95 {p95(training):.2f} ms ({len(training)} steps, one after the other)"
            )
            if paced:
                print(
                    f"  while training, a step every 40 ms (a held key's repeat): median "
                    f"{statistics.median(paced):.2f} ms, p95 {p95(paced):.2f} ms ({len(paced)} steps)"
                )


if __name__ == "__main__":
    main()
