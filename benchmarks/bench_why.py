"""Speed of the "why" analyses, as ratios against the engine's own forward run.

    python benchmarks/bench_why.py [--repeat 3] [--steps 10000] [--hidden 256]

The model is the window benchmark's: LSTM.random(4, [256]) with a random regression
readout, T = 10,000 steps, a target at every step. Each analysis is timed with the
forward run it is compared to measured just before it, in the same round (the machine is
shared: the figure is the median of the per-round ratios).

Targets (issue 11): gradients of one target over the whole sequence < 1 s; integrated
gradients with 50 steps < 10 s; ranking all 256 units by ablation < 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lstm_viz import LSTM
from lstm_viz.engine import attribution, unit_figures
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.targets import Targets


def once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    model = LSTM.random(4, [args.hidden], seed=1)
    model.readout = Readout.random(args.hidden, 1, rng)
    T = args.steps
    x = rng.normal(size=(1, T, 4)).astype(np.float32)
    targets = Targets(rng.normal(size=(1, T, 1)), np.ones((1, T), bool), "random values")
    trace = model.run(x)
    last = T - 1
    cases = {
        "gradient of the loss at the last step": lambda: attribution.attribute(
            model, x, attribution.Target("loss", last), "gradient", targets=targets
        ),
        "integrated gradients, 50 steps": lambda: attribution.attribute(
            model, x, attribution.Target("loss", last), "integrated_gradients", targets=targets, steps=50
        ),
        "gradient flow of the loss": lambda: attribution.gradient_flow(
            model, trace, attribution.Target("loss", last), targets=targets
        ),
        "memory span of every unit": lambda: unit_figures.memory_span(trace.layers[0].forget[0]),
        f"ablation ranking of all {args.hidden} units": lambda: unit_figures.ablation_ranking(model, trace, 0, targets),
    }
    limits = {"gradient of the loss at the last step": 1.0, "integrated gradients, 50 steps": 10.0}
    limits[f"ablation ranking of all {args.hidden} units"] = 30.0
    print(f"LSTM 4 -> {args.hidden}, T = {T:,}, float32 trace; {args.repeat} rounds")
    print(f"{'analysis':42s} {'median s':>9s} {'forward s':>10s} {'x forward':>10s} {'target':>8s}")
    for name, fn in cases.items():
        ratios, times, forwards = [], [], []
        for _ in range(args.repeat):
            forward = once(lambda: model.run(x))
            took = once(fn)
            forwards.append(forward)
            times.append(took)
            ratios.append(took / forward)
        limit = limits.get(name)
        verdict = "" if limit is None else ("ok" if statistics.median(times) < limit else "MISSED") + f" <{limit:g} s"
        print(
            f"{name:42s} {statistics.median(times):9.3f} {statistics.median(forwards):10.3f} "
            f"{statistics.median(ratios):10.1f} {verdict:>8s}"
        )


if __name__ == "__main__":
    main()
