"""Time to load a 1,000,000 x 8 CSV (plus a time column) with load_sequence.

    python benchmarks/bench_loading.py [--rows 1000000] [--repeat 7]

Target: at most 0.3 s on the reference 2-core machine, where ``pandas.read_csv`` alone
reads the file in about 0.12 s. The reference measured in the same run (each repeat
reads the file with both, alternately) is ``pandas.read_csv`` itself: the floor for a
reader built on it. The rest is detecting the roles on the whole file and the float32
values (step labels that are plain row numbers are made only when read).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import pandas as pd

    from lstm_viz import load_sequence
    from lstm_viz.io import tables

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
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
            tables._CACHE.clear()  # the parsed table kept for the import step: measure a cold read
            start = time.perf_counter()
            seq = load_sequence(path)
            ours.append(time.perf_counter() - start)
            del seq
            tables._CACHE.clear()
            start = time.perf_counter()
            pd.read_csv(path)
            floor.append(time.perf_counter() - start)
        seq = load_sequence(path)
        assert seq.values.shape == (1, args.rows, 8) and seq.labels[-1] == str(args.rows - 1)
        assert seq.options["table"]["roles"]["time"] == "time"
        ratios = [o / f for o, f in zip(ours, floor)]
        print(f"load_sequence:   median {statistics.median(ours):.3f} s (min {min(ours):.3f}, max {max(ours):.3f})")
        print(f"pandas.read_csv: median {statistics.median(floor):.3f} s (min {min(floor):.3f}, max {max(floor):.3f})")
        print(f"ratio load_sequence / pandas.read_csv: median {statistics.median(ratios):.2f}")
        print(f"at the reference machine's 0.12 s for pandas: about {0.12 * statistics.median(ratios):.2f} s")


if __name__ == "__main__":
    main()
