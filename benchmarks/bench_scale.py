"""A million steps stay lean: the engine's time and memory on long and wide runs (issue 12).

    python benchmarks/bench_scale.py [--repeat 3] [--repeat-b N] [--cases a,b] [--b-threads 1]

Every run is a fresh process, so its peak memory is its own: the model and the input are
made, a short warm-up run caches the prepared weights, then the peak is reset
(``/proc/self/clear_refs``) and the run's "peak RSS" is the process's peak resident memory
minus what it held just before (file pages the process maps count, the system's page cache
does not). Runs are interleaved by round, and each run's time is compared with the plain
float32 in-memory run of the same case in the same round (the figure is the median of
those ratios), so a machine busy with other work moves both alike. The CPU time of the
run (user + system, every thread) is reported beside the wall time: on a busy machine it
tells the work a variant adds better than the wall time does.

Cases (one sequence, 4 features, ``LSTM.random(4, H, seed=0)``, normal input, seed 0):
  (a) T = 1,000,000, H = 64: float32 in memory (the reference), float16 in memory, and
      float32 with a 200 MiB budget (recorded to a file); each also streamed.
  (b) T = 100,000, H = 1,024: float32 in memory, streamed, and with forced BLAS threads.

"Streamed" runs pass ``started`` (the trace handed over before the first step) and a
``progress`` callback reading ``trace.computed``; they report the time until ``started``
and until ``computed >= 1000`` (the first frame a window could show).
Targets: peak RSS <= 1.15x the trace's float32 bytes in float32 and <= 0.6x in float16;
to disk well under the trace; streaming costs < 3% of the run time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

MiB = 1 << 20


# -- one run per process ------------------------------------------------------------
def _status(key: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    """Make the process's peak RSS its current RSS (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak() -> int:
    peak = _status("VmHWM:")
    if peak:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    """CPU seconds (user + system) of every thread of the process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(spec: dict) -> dict:
    """One run as ``spec`` says: ``T``, ``H``, ``store`` (None or Store's fields), ``stream``, ``threads``."""
    if spec.get("threads"):
        os.environ["LSTM_VIZ_BLAS_THREADS"] = str(spec["threads"])
    import numpy as np

    from lstm_viz import LSTM
    from lstm_viz.engine.storage import Store

    model = LSTM.random(4, spec["H"], seed=0)
    x = np.random.default_rng(0).standard_normal((1, spec["T"], 4), dtype=np.float32)
    model.run(x[:, :256])  # warm-up: the prepared weights are cached
    store = None if spec.get("store") is None else Store(**spec["store"])
    gc.collect()
    exact_peak = _reset_peak()
    base = _status("VmRSS:")
    marks: dict = {}
    extra = {}
    if spec.get("stream"):

        def started(trace):
            marks["started"] = time.perf_counter() - start
            marks["trace"] = trace

        def progress(done, total):
            if "first" not in marks and marks["trace"].computed >= 1000:
                marks["first"] = time.perf_counter() - start

        extra = {"started": started, "progress": progress}
    cpu = _cpu()
    start = time.perf_counter()
    trace = model.run(x, store=store, **extra)
    elapsed = time.perf_counter() - start
    return {
        "time": elapsed,
        "cpu": _cpu() - cpu,
        "peak": _peak() - base,
        "exact_peak": exact_peak,
        "trace_bytes": trace.nbytes,
        "float32_bytes": x.nbytes + trace.length * 6 * spec["H"] * 4,
        "where": trace.meta["storage"],
        "started": marks.get("started"),
        "first": marks.get("first"),
        "computed": trace.computed,
    }


def measure(spec: dict) -> dict:
    """``child(spec)`` in a fresh process."""
    command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{spec}: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- cases ------------------------------------------------------------------------------
def case_a(T: int = 1_000_000, H: int = 64) -> dict:
    """Variants of case (a); the first is the reference."""
    half = {"dtype": "float16"}
    disk = {"budget": 200 * MiB}
    variants = {
        "float32, memory": {"store": None},
        "float32, memory, streamed": {"store": None, "stream": True},
        "float16, memory": {"store": half},
        "float16, memory, streamed": {"store": half, "stream": True},
        "float32, 200 MiB budget (disk)": {"store": disk},
        "float32, disk, streamed": {"store": disk, "stream": True},
    }
    return {name: {"T": T, "H": H, **spec} for name, spec in variants.items()}


def case_b(T: int = 100_000, H: int = 1024, threads=()) -> dict:
    """Variants of case (b): automatic BLAS threads (the app's choice), streamed, forced counts."""
    variants = {"float32, memory": {}, "float32, memory, streamed": {"stream": True}}
    for n in threads:
        variants[f"float32, memory, {n} BLAS thread{'s' if n > 1 else ''}"] = {"threads": n}
    return {name: {"T": T, "H": H, "store": None, **spec} for name, spec in variants.items()}


def run_case(name: str, variants: dict, repeat: int) -> list[dict]:
    """Measure every variant ``repeat`` times, round by round; print and return a row per variant."""
    runs: dict = {v: [] for v in variants}
    reference = next(iter(variants))
    for round_ in range(repeat):
        for variant, spec in variants.items():
            runs[variant].append(measure(spec))
            print(f"  ({name}) round {round_ + 1}: {variant}: {runs[variant][-1]['time']:.2f} s", flush=True)
    rows = []
    for variant, results in runs.items():
        times = [r["time"] for r in results]
        ratios = [r["time"] / ref["time"] for r, ref in zip(results, runs[reference])]
        cpu_ratios = [r["cpu"] / ref["cpu"] for r, ref in zip(results, runs[reference])]
        peak = statistics.median(r["peak"] for r in results)
        first = results[0]
        rows.append(
            {
                "case": name,
                "variant": variant,
                "time": statistics.median(times),
                "min": min(times),
                "max": max(times),
                "ratio": statistics.median(ratios),
                "cpu": statistics.median(r["cpu"] for r in results),
                "cpu_ratio": statistics.median(cpu_ratios),
                "peak": peak,
                "trace": first["trace_bytes"],
                "per_trace": peak / first["trace_bytes"],
                "per_float32": peak / first["float32_bytes"],
                "where": first["where"]["where"],
                "started": _median_or_none(r["started"] for r in results),
                "first": _median_or_none(r["first"] for r in results),
                "exact_peak": all(r["exact_peak"] for r in results),
            }
        )
    return rows


def _median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def report(rows: list[dict]) -> None:
    print()
    print("time: wall clock, median (min-max); /ref: median of the per-round ratios to the case's first")
    print("variant; cpu: user + system seconds of the run (every thread), less moved by other work")
    header = (
        f"{'case':<4} {'variant':<38} {'time':<22} {'/ref':>5} {'cpu':>7} {'/ref':>5} {'peak RSS':>10} "
        f"{'trace':>10} {'RSS/trace':>9} {'RSS/f32':>7} {'started':>8} {'computed>=1000':>14}"
    )
    print(header)
    for r in rows:
        spread = f"{r['time']:.2f} s ({r['min']:.2f}-{r['max']:.2f})"
        print(
            f"({r['case']})  {r['variant']:<38} {spread:<22} {r['ratio']:5.3f} {r['cpu']:5.2f} s {r['cpu_ratio']:5.3f} "
            f"{r['peak'] / MiB:6.0f} MiB {r['trace'] / MiB:6.0f} MiB {r['per_trace']:9.3f} {r['per_float32']:7.3f} "
            f"{_ms(r['started']):>8} {_ms(r['first']):>14}"
        )
    if not all(r["exact_peak"] for r in rows):
        print("(peak RSS could not be reset before the run: it includes the set-up's peak)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-b", type=int, default=None, help="rounds for case (b) (default: --repeat)")
    parser.add_argument("--cases", default="a,b")
    parser.add_argument("--b-threads", default="", help="forced BLAS thread counts to add to case (b), e.g. 1,2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return
    import numpy as np
    from threadpoolctl import threadpool_info

    blas = [(i.get("internal_api"), i.get("num_threads"), i.get("architecture")) for i in threadpool_info()]
    print(f"NumPy {np.__version__}; BLAS {blas}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    rows = []
    cases = args.cases.split(",")
    if "a" in cases:
        print("\n(a) T=1,000,000 D=4 H=64, one sequence", flush=True)
        rows += run_case("a", case_a(), args.repeat)
    if "b" in cases:
        threads = [int(n) for n in args.b_threads.split(",") if n]
        print("\n(b) T=100,000 D=4 H=1,024, one sequence", flush=True)
        rows += run_case("b", case_b(threads=threads), args.repeat_b or args.repeat)
    report(rows)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
