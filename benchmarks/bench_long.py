"""Long sequences and wide layers in the window (issue 12's targets), offscreen at 1600x1000.

    python benchmarks/bench_long.py [--repeat 3] [--cases a,b,zoom,disk] [--quick]

Every measurement runs in a fresh process (peak memory is the process's own); each case's
window figures are put next to the engine alone on the same input, measured in the same
round:

- ``a``: 1,000,000 steps x 4 features, H = 64. Engine alone (``LSTM.run``): time, peak
  RSS. Window (``open_files`` on a .npy, as a user opens it): time to the first frame (the
  first steps shown and painted), time until the whole run is shown, peak RSS; with float32
  and with float16 storage. Targets: first frame <= 1 s, whole <= 1.15x the engine,
  peak RSS increase <= 1.15x the trace's float32 bytes (<= 0.6x with float16).
- ``b``: 100,000 x 4, H = 1,024: the same (targets: first frame <= 2 s, whole <= 1.15x).
- ``zoom``: T = 1,000,000, H = 64: zoom and pan frames (the visible range changed, every
  time plot redrawn and painted): median, p95 (target <= 16 ms).
- ``disk``: memory budget 1 GB, T = 1,000,000, H = 256 (a 6 GB trace): recorded to disk,
  opened, stepping median and p95 (target <= 8 ms).

Peak RSS is ``ru_maxrss`` of the process; "increase" subtracts the RSS the process had
just before the run (the window and the demo open, the input file read).
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


def rss_now() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_input(path: str, steps: int, features: int = 4) -> None:
    import numpy as np

    if not os.path.exists(path):
        np.save(path, np.random.default_rng(0).normal(size=(steps, features)).astype(np.float32))


# -- one measurement per process ------------------------------------------------------------
def child_engine(path: str, units: int, store: str | None) -> dict:
    import numpy as np

    from lstm_viz.engine import LSTM
    from lstm_viz.engine.storage import Store

    x = np.load(path)[None]
    model = LSTM.random(x.shape[2], [units], seed=0)
    base = rss_now()
    t0 = time.perf_counter()
    trace = model.run(x, store=Store(dtype=store))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak": peak_rss(), "base": base, "trace_bytes": trace.nbytes}


def child_window(path: str, units: int, store: str | None) -> dict:
    sys.path.insert(0, HERE)
    from window_setup import PaintCounter, open_window

    from lstm_viz.workbench.options import RandomSpec

    app, window = open_window("bench-long")
    window.open_demo(wait=True)
    for _ in range(5):
        app.processEvents()
    painted = PaintCounter()
    panels = {p.objectName(): p for p in window.panels}
    # the first frame: the time plots that show the new data have painted it
    views = painted.watch(
        [panels["GateHeatmapsPanel"].graphics.viewport(), panels["CellTrajectoryPanel"].plot.viewport()]
    )
    base = rss_now()
    core = window.core
    t0 = time.perf_counter()
    first = None
    request_kw = {"sequence_path": path, "random_spec": RandomSpec(sizes=(units,), seed=0)}
    window.open_files(**request_kw) if store is None else _open_stored(window, path, units, store)
    changes = []  # each time new data is shown: paints from then on are of it

    def changed():
        painted.seen.clear()
        changes.append(time.perf_counter())

    core.data_changed.connect(changed)
    # Wait as the application's own event loop does (asleep in Qt's dispatcher until an
    # event comes), not by polling: processEvents() a millisecond apart cost the GUI
    # thread ~1.7 s of a 46 s run, and a 5 ms keep-alive timer still ~0.9 s. The 50 ms
    # timer only bounds a wait after the last event (the figures' resolution).
    from PySide6.QtCore import QEventLoop, QTimer

    awake = QTimer()
    awake.start(50)
    while True:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        loaded = core.loaded
        new = changes and loaded is not None and loaded.sequence_path == path
        if new and first is None and painted.seen.issuperset(views):
            first = time.perf_counter() - t0
        if new and window.job is None and loaded.computing is None and painted.seen.issuperset(views):
            break
    awake.stop()
    whole = time.perf_counter() - t0
    return {
        "first": first if first is not None else whole,
        "seconds": whole,
        "peak": peak_rss(),
        "base": base,
        "trace_bytes": core.trace.nbytes,
        "where": core.trace.meta.get("storage", {}),
    }


def _open_stored(window, path, units, store):
    from lstm_viz.workbench.loading import OpenRequest
    from lstm_viz.workbench.options import RandomSpec

    window.open_request(OpenRequest(sequence_path=path, random=RandomSpec(sizes=(units,), seed=0), store_dtype=store))


def child_frames(path: str, units: int, kind: str, frames: int) -> dict:
    sys.path.insert(0, HERE)
    from window_setup import PaintCounter, on_screen_viewports, open_window

    from lstm_viz.workbench.options import RandomSpec

    app, window = open_window("bench-long")
    window.open_files(sequence_path=path, random_spec=RandomSpec(sizes=(units,), seed=0), wait=True)
    for _ in range(10):
        app.processEvents()
    core = window.core
    T = core.length
    painted = PaintCounter()
    views = painted.watch(on_screen_viewports(window))
    times = []
    if kind == "step":
        for _ in (1, 2):
            painted.seen.clear()
            core.set_step(core.step + 1)
            for _ in range(20):
                app.processEvents()
        views = [v for v in views if v in painted.seen]
        step = T // 3
        for _ in range(frames):
            step += 1
            painted.seen.clear()
            t0 = time.perf_counter()
            core.set_step(step)
            painted.wait(app, views)
            times.append((time.perf_counter() - t0) * 1000)
    else:  # zoom in and out around a point, then pan: each change one frame
        painted.seen.clear()
        core.set_time_range(0, T / 2)  # which views show time (the others do not repaint)
        for _ in range(20):
            app.processEvents()
        views = [v for v in views if v in painted.seen]
        core.set_time_range(0, T)
        for _ in range(20):
            app.processEvents()
        spans = [T / (1.5**k) for k in range(1, 25)]
        ranges = [(T / 2 - s / 2, T / 2 + s / 2) for s in spans] + [
            (T * k / frames, T * k / frames + T / 100) for k in range(frames)
        ]
        for t0_, t1_ in ranges[:frames]:
            painted.seen.clear()
            t0 = time.perf_counter()
            core.set_time_range(t0_, t1_)
            painted.wait(app, views)
            times.append((time.perf_counter() - t0) * 1000)
    return {"times": times, "trace_bytes": core.trace.nbytes, "where": core.trace.meta.get("storage", {})}


def run_child(args: list[str], env: dict | None = None) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(args)]
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- report ------------------------------------------------------------------------------------
def spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    values = sorted(values)
    low, mid, high = values[0], statistics.median(values), values[-1]
    return f"median {mid:.{digits}f} {unit} (min {low:.{digits}f}, max {high:.{digits}f})"


def gb(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def case_run(name: str, path: str, steps: int, units: int, repeat: int) -> None:
    make_input(path, steps)
    print(f"\n== case {name}: {steps:,} steps x 4 features, H = {units} ==")
    rows = {"engine": [], "window": [], "engine16": [], "window16": []}
    for _ in range(repeat):  # interleaved, so machine noise falls on all alike
        rows["engine"].append(run_child(["engine", path, units, None]))
        rows["window"].append(run_child(["window", path, units, None]))
        rows["engine16"].append(run_child(["engine", path, units, "float16"]))
        rows["window16"].append(run_child(["window", path, units, "float16"]))
    trace32 = rows["engine"][0]["trace_bytes"]
    print(f"trace float32: {gb(trace32)}; float16: {gb(rows['engine16'][0]['trace_bytes'])}")
    for key in ("engine", "window", "engine16", "window16"):
        found = rows[key]
        increase = [(r["peak"] - r["base"]) / trace32 for r in found]
        line = f"{key:9s} whole {spread([r['seconds'] for r in found])}"
        if key.startswith("window"):
            engine = rows["engine16" if key.endswith("16") else "engine"]
            ratios = [w["seconds"] / e["seconds"] for w, e in zip(found, engine)]
            line += f"; first frame {spread([r['first'] for r in found])}; whole / engine {spread(ratios, 'x')}"
        line += f"; peak RSS {gb(statistics.median(r['peak'] for r in found))}"
        line += f", increase {spread(increase, 'x the float32 trace')}"
        print(line)


def case_frames(name: str, path: str, steps: int, units: int, kind: str, frames: int, env=None) -> None:
    make_input(path, steps)
    result = run_child(["frames", path, units, kind, frames], env)
    times = sorted(result["times"])
    p95 = times[int(0.95 * (len(times) - 1))]
    where = result["where"].get("where", "memory")
    print(
        f"\n== case {name}: {kind} frames at T = {steps:,}, H = {units} "
        f"(trace {gb(result['trace_bytes'])} in {where}) =="
    )
    median = statistics.median(times)
    print(f"{len(times)} frames: median {median:.2f} ms, p95 {p95:.2f} ms, min {times[0]:.2f}, max {times[-1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default="a,b,zoom,disk")
    parser.add_argument("--quick", action="store_true", help="ten times shorter sequences (a smoke run)")
    args = parser.parse_args()
    if args.child:
        kind, *rest = json.loads(args.child)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        if kind == "engine":
            result = child_engine(*rest)
        elif kind == "window":
            result = child_window(*rest)
        else:
            result = child_frames(*rest)
        print(json.dumps(result), flush=True)
        os._exit(0)
    scale = 10 if args.quick else 1
    folder = os.path.join(tempfile.gettempdir(), "lstm-viz-bench-long")
    os.makedirs(folder, exist_ok=True)
    long = os.path.join(folder, f"long_{1_000_000 // scale}.npy")
    short = os.path.join(folder, f"short_{100_000 // scale}.npy")
    cases = set(args.cases.split(","))
    print(f"lstm-viz bench_long, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    if "a" in cases:
        case_run("a", long, 1_000_000 // scale, 64, args.repeat)
    if "b" in cases:
        case_run("b", short, 100_000 // scale, 1024, args.repeat)
    if "zoom" in cases:
        case_frames("zoom", long, 1_000_000 // scale, 64, "zoom", 60)
    if "disk" in cases:
        case_frames("disk", long, 1_000_000 // scale, 256, "step", 200, env={"LSTM_VIZ_MAX_MEMORY": "1G"})


if __name__ == "__main__":
    main()
