"""Time to load a 1,000,000 x 8 CSV (plus a time column) with load_sequence.

    python benchmarks/bench_loading.py [--rows 1000000] [--repeat 5]

Target: under 3 s on the reference 2-core machine. The reference measured in the same
run is NumPy's own ``np.loadtxt`` of the eight numeric columns, the floor for a parser
that does no format detection, labels or checks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_viz import load_sequence


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        rng = np.random.default_rng(0)
        data = rng.normal(size=(args.rows, 8))
        with open(path, "w") as handle:
            handle.write("time," + ",".join(f"f{k}" for k in range(8)) + "\n")
            np.savetxt(handle, np.column_stack([np.arange(args.rows), data]), delimiter=",", fmt=["%d"] + ["%.6f"] * 8)
        print(f"{args.rows:,} rows x 8 columns + time: {path.stat().st_size / 2**20:.1f} MiB")
        ours, floor = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            seq = load_sequence(path)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, 9), dtype=np.float32)
            floor.append(time.perf_counter() - start)
        assert seq.values.shape == (1, args.rows, 8) and seq.labels[-1] == str(args.rows - 1)
        ratios = [o / f for o, f in zip(ours, floor)]
        print(f"load_sequence: median {statistics.median(ours):.2f} s (min {min(ours):.2f}, max {max(ours):.2f})")
        print(f"np.loadtxt:    median {statistics.median(floor):.2f} s (min {min(floor):.2f}, max {max(floor):.2f})")
        print(f"ratio load_sequence / np.loadtxt: median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
