"""The adding problem at growing lengths: where an LSTM still learns and a tanh RNN of the
same size, trained with the same budget, no longer does.

    python benchmarks/lstm_vs_rnn.py [--lengths 10,50,100,200] [--seeds 0,1,2] [--steps 5000]

Each run trains one model (H units, one layer) with lstm-viz's own trainer (Adam, the same
learning rate, batch size, gradient clipping and number of updates for both kinds), then
measures its squared error at the last step on 2,000 fresh sequences of the same length,
as a fraction of the error of always answering the mean sum (1.0; its squared error is the
variance of the sum of two uniform values, 1/6). 1.0 means it learnt nothing; the task
counts as learnt below 0.1. Runs are spread over the cores in separate processes (one BLAS
thread each). Prints a Markdown table and writes the figures as JSON and a plot (PNG).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LEARNT = 0.1  # error as a fraction of predicting the mean, below which the task counts as learnt
MEAN_ERROR = 1.0 / 6.0  # variance of U(0,1) + U(0,1): the error of always answering 1.0
EVAL_SEQUENCES = 2000


def relative_error(model, length: int, seed: int) -> float:
    """Squared error at the last step over fresh sequences, divided by predicting the mean."""
    import numpy as np

    from lstm_viz.engine.tasks import get_task

    batch = get_task("adding", length).batch(np.random.default_rng(10_000 + seed), EVAL_SEQUENCES)
    trace = model.run(batch.x)
    prediction = model.readout.logits(trace.output)[:, -1, 0]
    return float(np.mean((prediction - batch.targets[:, -1, 0]) ** 2) / MEAN_ERROR)


def one_run(job: dict) -> dict:
    from lstm_viz.engine import LSTM, RNN
    from lstm_viz.engine.tasks import get_task
    from lstm_viz.engine.train import train

    kind, length, seed = job["kind"], job["length"], job["seed"]
    task = get_task("adding", length)
    model = (LSTM if kind == "lstm" else RNN).random(task.input_size, [job["hidden"]], seed=seed)
    start = time.perf_counter()
    result = train(model, task, steps=job["steps"], lr=job["lr"], batch_size=job["batch"], seed=seed)
    seconds = time.perf_counter() - start
    return {
        **job,
        "error": relative_error(model, length, seed),
        "final_training_loss": result.final_loss,
        "seconds": seconds,
    }


def table(runs: list[dict], lengths, seeds) -> str:
    def cell(kind, length):
        found = sorted((r for r in runs if r["kind"] == kind and r["length"] == length), key=lambda r: r["seed"])
        errors = [r["error"] for r in found]
        learnt = sum(e < LEARNT for e in errors)
        each = ", ".join(f"{e:.3f}" for e in errors)
        return f"{statistics.median(errors):.3f} ({each}); learnt {learnt}/{len(errors)}"

    lines = [
        "| length | LSTM: error / predicting the mean | tanh RNN: error / predicting the mean |",
        "|---:|---|---|",
    ]
    for length in lengths:
        lines.append(f"| {length} | {cell('lstm', length)} | {cell('rnn', length)} |")
    return "\n".join(lines)


def plot(runs: list[dict], lengths, path: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - pyqtgraph needs it
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    widget = pg.PlotWidget()
    widget.resize(900, 520)
    item = widget.getPlotItem()
    item.setLogMode(x=True, y=True)
    item.setLabel("bottom", "sequence length (steps)")
    item.setLabel("left", "error / error of predicting the mean")
    item.setTitle("The adding problem after the same training: each dot a seed, lines through the medians")
    item.showGrid(x=True, y=True, alpha=0.2)
    legend = item.addLegend(offset=(10, 10))
    for kind, color, name in (("lstm", "#1f77b4", "LSTM"), ("rnn", "#d62728", "tanh RNN")):
        medians = []
        for length in lengths:
            errors = [max(r["error"], 1e-4) for r in runs if r["kind"] == kind and r["length"] == length]
            medians.append(statistics.median(errors))
            item.plot([length] * len(errors), errors, pen=None, symbol="o", symbolSize=7, symbolBrush=color)
        item.plot(lengths, medians, pen=pg.mkPen(color, width=2), name=name)
    dashed = pg.mkPen("#777", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
    item.addItem(pg.InfiniteLine(np.log10(LEARNT), angle=0, pen=dashed))
    legend.addItem(pg.PlotDataItem(pen=dashed), f"learnt (below {LEARNT})")
    item.getAxis("bottom").setTicks([[(np.log10(length), str(length)) for length in lengths]])
    item.setXRange(np.log10(min(lengths)) - 0.1, np.log10(max(lengths)) + 0.1, padding=0)
    low = min(max(r["error"], 1e-4) for r in runs)
    item.setYRange(np.log10(min(low, LEARNT)) - 0.2, np.log10(2.0), padding=0)
    widget.show()
    app.processEvents()
    picture = widget.grab()  # at the widget's size: fonts and plot in proportion
    picture.save(path)
    widget.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="10,50,100,200")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=12)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "lstm_vs_rnn.json"))
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "images", "lstm_vs_rnn.png"))
    parser.add_argument("--replot", action="store_true", help="only draw the table and plot again from --out")
    args = parser.parse_args(argv)
    if args.replot:
        with open(args.out, encoding="utf-8") as f:
            record = json.load(f)
        runs = record["runs"]
        lengths = sorted({r["length"] for r in runs})
        print(table(runs, lengths, sorted({r["seed"] for r in runs})))
        plot(runs, lengths, args.plot)
        return 0
    lengths = [int(v) for v in args.lengths.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    jobs = [
        {
            "kind": kind,
            "length": length,
            "seed": seed,
            "hidden": args.hidden,
            "steps": args.steps,
            "lr": args.lr,
            "batch": args.batch,
        }
        for length in sorted(lengths, reverse=True)  # longest first: the pool ends evenly
        for seed in seeds
        for kind in ("lstm", "rnn")
    ]
    runs = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for run in pool.map(one_run, jobs):
            runs.append(run)
            print(
                f"{run['kind']:4s} length {run['length']:4d} seed {run['seed']}: error {run['error']:.4f} "
                f"({run['seconds']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    command = "python benchmarks/lstm_vs_rnn.py " + " ".join(argv if argv is not None else sys.argv[1:])
    record = {
        "command": command.strip(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "plot", "jobs")},
        "learnt_below": LEARNT,
        "evaluation_sequences": EVAL_SEQUENCES,
        "runs": runs,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    print(table(runs, lengths, seeds))
    if args.plot:
        plot(runs, lengths, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
