"""Cost of a change of the visible steps with level-of-detail items, at T = 1,000,000, H = 256.

    python benchmarks/bench_lod.py [--steps 1000000] [--units 256] [--changes 80] [--width 1200]

A synthetic layer trace (four gates and the cell, float32, smooth random time courses)
stands for a recorded run. Its pyramids are built once (timed). Then the x range of
(a) a plot with one LodCurve (one unit's cell) and (b) four x-linked heatmaps of 256
units (the gates' LodImages) jumps through ``--changes`` ranges, from the whole sequence
down to 50 steps, at random places. Per change it reports:

- redraw: the LOD work the change causes (the columns asked of the pyramids, setData /
  setImage, setRect), i.e. what runs in ``sigPrepareForPaint`` before the paint;
- frame: setting the range plus a synchronous repaint of the widget (Qt painting included).

Median, min and max in ms over a second pass of the same changes (the first pass's median
and max are printed too); also the pyramids' bytes as a share of the quantities' and the
image shapes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def smooth(T: int, H: int, seed: int, squash) -> np.ndarray:
    """(1, T, H) float32: random walks with a slow drift, squashed into the gate's range."""
    rng = np.random.default_rng(seed)
    out = np.empty((1, T, H), np.float32)
    state = rng.normal(size=H).astype(np.float32)
    step = 250_000
    for t0 in range(0, T, step):
        n = min(step, T - t0)
        walk = np.cumsum(rng.normal(scale=0.05, size=(n, H)).astype(np.float32), axis=0) + state
        state = walk[-1].copy()
        walk *= 0.5
        out[0, t0 : t0 + n] = squash(walk)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--changes", type=int, default=80)
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    T, H = args.steps, args.units

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from lstm_viz.engine.trace import LayerTrace
    from lstm_viz.ui.lod import LodCurve, LodImage
    from lstm_viz.ui.style import configure_plots
    from lstm_viz.workbench.lod import quantity_pyramid

    configure_plots()

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    print(f"making a synthetic trace of {T:,} steps x {H} units ...", flush=True)
    gates = {name: smooth(T, H, k, sigmoid) for k, name in enumerate(("forget", "input", "output"))}
    gates["candidate"] = smooth(T, H, 3, np.tanh)
    cell = smooth(T, H, 4, lambda v: v)
    zeros = np.zeros((1, H), np.float32)
    lt = LayerTrace(hidden=cell, initial_hidden=zeros, cell=cell, initial_cell=zeros, **gates)
    quantity_bytes = sum(a.nbytes for a in gates.values()) + cell.nbytes

    start = time.perf_counter()
    pyramids = {name: quantity_pyramid(lt, name, 0, T) for name in (*gates, "cell")}
    built = time.perf_counter() - start
    pyramid_bytes = sum(p.nbytes for p in pyramids.values())
    print(
        f"pyramids built in {built:.2f} s ({built / len(pyramids):.2f} s per quantity of {T * H * 4 / 2**30:.2f} GiB); "
        f"{pyramid_bytes / 2**20:.1f} MiB = {100 * pyramid_bytes / quantity_bytes:.2f}% of the quantities' bytes "
        f"(gates float16 from {pyramids['forget'].bins[0]} steps a bin, cell float32 from {pyramids['cell'].bins[0]})"
    )

    curve_plot = pg.PlotWidget()
    curve_plot.resize(args.width, 400)
    curve = LodCurve(pen=pg.mkPen("#1f77b4"))
    curve_plot.addItem(curve)
    curve.set_source(pyramids["cell"], 7)
    curve_plot.setYRange(*pyramids["cell"].range([7]))
    curve_plot.show()

    layout = pg.GraphicsLayoutWidget()
    layout.resize(args.width, 800)
    images, plots = [], []
    for row, name in enumerate(("forget", "input", "output", "candidate")):
        plot = layout.addPlot(row=row, col=0)
        image = LodImage()
        image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        plot.addItem(image)
        image.set_source(pyramids[name], levels=(-1, 1) if name == "candidate" else (0, 1))
        plot.setYRange(0, H, padding=0)
        if row:
            plot.setXLink(plots[0])
        plots.append(plot)
        images.append(image)
    layout.show()
    app.processEvents()

    rng = np.random.default_rng(0)
    ranges = [(0.0, float(T))]
    for _ in range(args.changes - 1):
        span = float(np.exp(rng.uniform(np.log(50), np.log(T))))
        t0 = float(rng.uniform(0, T - span))
        ranges.append((t0, t0 + span))

    def measure(view_plot, widget, items, warm_up=True):
        if warm_up:  # the same changes once first: the first touch of a level pages it in
            first = measure(view_plot, widget, items, warm_up=False)[0]
            print(f"  (first pass: redraw median {statistics.median(first):.2f} ms, max {max(first):.2f})")
        redraw, frame, kinds = [], [], []
        for t0, t1 in ranges:
            begin = time.perf_counter()
            view_plot.setXRange(t0, t1, padding=0)
            mark = time.perf_counter()
            widget.scene().prepareForPaint()  # what the paint would trigger: the LOD redraw
            done = time.perf_counter()
            widget.repaint()
            end = time.perf_counter()
            redraw.append(1000 * (done - mark))
            frame.append(1000 * (end - begin))
            kinds.append((t1 - t0, items[0].columns.steps))
        if not warm_up:
            return redraw, frame
        slowest = int(np.argmax(redraw))
        span, steps = kinds[slowest]
        print(f"  (slowest redraw: {span:,.0f} steps visible, {steps} a column)")
        return redraw, frame

    def report(label, values):
        print(
            f"  {label:7s} median {statistics.median(values):6.2f} ms   min {min(values):6.2f}   max {max(values):6.2f}"
        )

    redraw, frame = measure(curve_plot.getPlotItem(), curve_plot, [curve])
    print(f"one LodCurve (unit 7 of the cell), {len(ranges)} x-range changes, plot {args.width} px wide:")
    report("redraw", redraw)
    report("frame", frame)
    print(f"  points drawn at the whole range: {len(curve.getData()[0]) if curve_plot.setXRange(0, T) is None else 0}")

    largest = [0]

    def watch():
        largest[0] = max(largest[0], max(image.image.size for image in images if image.image is not None))

    redraw, frame = measure(plots[0], layout, images)
    watch()
    print(f"four gate heatmaps ({H} units each), x-linked, {len(ranges)} x-range changes:")
    report("redraw", redraw)
    report("frame", frame)
    shapes = {image.image.shape for image in images}
    print(f"  image shapes after the last change: {sorted(shapes)}; the whole trace would be {(H, T)}")


if __name__ == "__main__":
    main()
