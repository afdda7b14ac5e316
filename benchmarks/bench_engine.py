"""Speed and memory of recording a full trace, against references measured in the same run.

    python benchmarks/bench_engine.py [--repeat 5] [--cases a,b,c]

Cases (float32, every gate and state recorded):
  (a) T=10,000, B=1,  D=64, H=256, 2 layers
  (b) T=1,000,  B=32, D=64, H=256, 2 layers
  (c) T=100,000, B=1, D=8,  H=32,  1 layer

References: PyTorch's fused ``nn.LSTM`` forward on CPU under ``torch.no_grad`` with 2
threads (records nothing; skipped when torch is not installed) and a textbook NumPy loop
that records the same quantities. The engine is timed with 1 and 2 BLAS threads for the
step loop, with layers run in turn and side by side (one thread per layer direction), and
with the automatic choice the app uses. Peak memory is traced with tracemalloc and reported against the trace's size.
Targets: (a) <= 1.5x nn.LSTM, (b) <= 2x nn.LSTM; >= 2x faster than the textbook loop on
(a), >= 4x on (c); peak memory < 1.15x the trace.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import tracemalloc

import numpy as np

from lstm_viz import LSTM

CASES = {
    "a": dict(T=10_000, B=1, D=64, H=256, layers=2),
    "b": dict(T=1_000, B=32, D=64, H=256, layers=2),
    "c": dict(T=100_000, B=1, D=8, H=32, layers=1),
}


def textbook_loop(model: LSTM, x: np.ndarray):
    """The equations as a tutorial writes them, recording every quantity per step."""

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    B, T, _ = x.shape
    layer_in = x
    records = []
    with np.errstate(over="ignore"):
        for layer in model.all_layers():
            W_x, W_h, b = (a.astype(np.float32) for a in (layer.W_x, layer.W_h, layer.b))
            H = layer.hidden_size
            h = np.zeros((B, H), np.float32)
            c = np.zeros((B, H), np.float32)
            rec = {k: np.empty((B, T, H), np.float32) for k in ("f", "i", "g", "o", "c", "h")}
            for t in range(T):
                z = layer_in[:, t] @ W_x + h @ W_h + b
                i = sigmoid(z[:, :H])
                f = sigmoid(z[:, H : 2 * H])
                g = np.tanh(z[:, 2 * H : 3 * H])
                o = sigmoid(z[:, 3 * H :])
                c = f * c + i * g
                h = o * np.tanh(c)
                for key, value in zip("figoch", (f, i, g, o, c, h)):
                    rec[key][:, t] = value
            records.append(rec)
            layer_in = rec["h"]
    return records


def once(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed(fn, repeat: int) -> list[float]:
    return [once(fn) for _ in range(repeat)]


def fmt(times: list[float]) -> str:
    return f"{statistics.median(times):8.3f} s  (min {min(times):.3f}, max {max(times):.3f})"


def torch_runner(case, model: LSTM, x: np.ndarray):
    """A callable running PyTorch's nn.LSTM with the model's weights, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    lstm = torch.nn.LSTM(case["D"], case["H"], num_layers=case["layers"], batch_first=True)
    with torch.no_grad():
        for k, layer in enumerate(model.all_layers()):
            getattr(lstm, f"weight_ih_l{k}").copy_(torch.from_numpy(layer.W_x.T.astype(np.float32)))
            getattr(lstm, f"weight_hh_l{k}").copy_(torch.from_numpy(layer.W_h.T.astype(np.float32)))
            getattr(lstm, f"bias_ih_l{k}").copy_(torch.from_numpy(layer.b.astype(np.float32)))
            getattr(lstm, f"bias_hh_l{k}").zero_()
    xt = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            return lstm(xt)[0].numpy()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", default="a,b,c")
    parser.add_argument("--no-textbook", action="store_true", help="skip the (slow) textbook loop")
    args = parser.parse_args()
    from threadpoolctl import threadpool_info

    blas = [(i.get("internal_api"), i.get("num_threads"), i.get("architecture")) for i in threadpool_info()]
    print(f"NumPy {np.__version__}; BLAS {blas}; {os.cpu_count()} CPUs")
    rows = []
    for name in args.cases.split(","):
        case = CASES[name]
        model = LSTM.random(case["D"], [case["H"]] * case["layers"], seed=0)
        x = np.random.default_rng(0).normal(size=(case["B"], case["T"], case["D"])).astype(np.float32)
        print(f"\n({name}) T={case['T']:,} B={case['B']} D={case['D']} H={case['H']} layers={case['layers']}")
        model.run(x[:, :100])  # warm-up: caches the prepared weights
        modes = {}
        os.environ["LSTM_VIZ_LAYER_THREADS"] = "0"
        for threads in (1, 2):
            os.environ["LSTM_VIZ_BLAS_THREADS"] = str(threads)
            modes[threads] = timed(lambda: model.run(x), args.repeat)
            print(f"  engine, layers in turn, {threads} BLAS thread(s): {fmt(modes[threads])}")
        os.environ.pop("LSTM_VIZ_BLAS_THREADS")
        if case["layers"] > 1:
            os.environ["LSTM_VIZ_LAYER_THREADS"] = "2"
            modes["layers"] = timed(lambda: model.run(x), args.repeat)
            print(f"  engine, layers side by side, 1 BLAS thread: {fmt(modes['layers'])}")
        os.environ.pop("LSTM_VIZ_LAYER_THREADS")
        best = min(statistics.median(t) for t in modes.values())

        trace = model.run(x)
        tracemalloc.start()
        model.run(x)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ratio = peak / trace.nbytes
        print(f"  peak memory {peak / 2**20:8.1f} MiB = {ratio:.3f} x the trace ({trace.nbytes / 2**20:.1f} MiB)")

        # References, interleaved with the engine so that each ratio compares runs made
        # under the same load; the figure is the median of the per-round ratios.
        torch_run = torch_runner(case, model, x)
        if torch_run is not None:
            err = np.abs(torch_run() - trace.output).max()
        # Each reference is paired with an engine run made right before it, so every ratio
        # compares two runs under the same load; the figure is the median of the pairs.
        rounds = {"engine": [], "torch": [], "engine_t": [], "textbook": []}
        for _ in range(args.repeat):
            if torch_run is not None:
                rounds["engine"].append(once(lambda: model.run(x)))
                rounds["torch"].append(once(torch_run))
            if not args.no_textbook:
                rounds["engine_t"].append(once(lambda: model.run(x)))
                rounds["textbook"].append(once(lambda: textbook_loop(model, x)))
        engine_t = rounds["engine"] or rounds["engine_t"] or modes[1]
        print(f"  engine (automatic mode):    {fmt(engine_t)}")
        torch_ratio = text_ratio = None
        if rounds["torch"]:
            ratios = [e / t for e, t in zip(rounds["engine"], rounds["torch"])]
            torch_ratio = statistics.median(ratios)
            print(f"  torch nn.LSTM (2 threads):  {fmt(rounds['torch'])}   max |diff| {err:.1e}")
            print(f"  engine / torch = {torch_ratio:.2f} (per pair: min {min(ratios):.2f}, max {max(ratios):.2f})")
        else:
            print("  torch not installed: no nn.LSTM reference")
        if rounds["textbook"]:
            ratios = [t / e for e, t in zip(rounds["engine_t"], rounds["textbook"])]
            text_ratio = statistics.median(ratios)
            print(f"  textbook NumPy loop:        {fmt(rounds['textbook'])}")
            print(f"  textbook / engine = {text_ratio:.2f} (per pair: min {min(ratios):.2f}, max {max(ratios):.2f})")
        auto = statistics.median(engine_t)
        rows.append((name, auto, best, torch_ratio, text_ratio, peak / trace.nbytes))

    print("\ncase  engine median  best mode  engine/torch  textbook/engine  peak/trace   (ratios: median of pairs)")
    for name, auto, best, tr, txt, mem in rows:
        tr_s = f"{tr:12.2f}" if tr is not None else "           -"
        txt_s = f"{txt:15.2f}" if txt is not None else "              -"
        print(f"({name})  {auto:11.3f} s  {best:10.3f} s  {tr_s}  {txt_s}  {mem:10.3f}")


if __name__ == "__main__":
    main()
