"""``lstm-viz [SEQUENCE] [--model MODEL | --random 32,32 --seed 0] [--screenshot out.png]``."""

from __future__ import annotations

import argparse
import os
import sys


def parse(argv: list[str]) -> argparse.Namespace:
    from lstm_viz.cli import _sizes

    parser = argparse.ArgumentParser(prog="lstm-viz", description="See inside an LSTM, one step at a time.")
    parser.add_argument("sequence", nargs="?", help="sequence file (opens the built-in demo when omitted)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="model file")
    source.add_argument("--random", type=_sizes, metavar="H1,H2,...", help="a random LSTM with these layer sizes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random model")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window to this file and exit")
    parser.add_argument("--step", type=int, default=None, help="step to show (with --screenshot)")
    parser.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    parser.add_argument("--fresh-layout", action="store_true", help="ignore the saved window layout")
    parser.add_argument(
        "--raise",
        dest="raise_panels",
        default="",
        metavar="PANELS",
        help="bring these panels to the front of their tabs, e.g. diagram,equations (with --screenshot)",
    )
    parser.add_argument(
        "--example",
        metavar="NAME",
        help="open an example of the Examples menu: tutorial_cell, tutorial_stack, adding, brackets, sine, text",
    )
    parser.add_argument("--select", default="", metavar="UNITS", help="select these units, e.g. 3,5")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"lstm-viz: error: --size must look like 1600x1000, got {args.size!r}", file=sys.stderr)
        return 2
    if args.screenshot and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.screenshot:
        os.environ.setdefault("LSTM_VIZ_NO_DIALOGS", "1")

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from lstm_viz.ui.main_window import MainWindow
    from lstm_viz.ui.style import configure_plots

    app = QApplication.instance() or QApplication(["lstm-viz"])
    app.setApplicationName("lstm-viz")
    app.setOrganizationName("lstm-viz")
    configure_plots()
    settings = QSettings("lstm-viz", "lstm-viz")
    if args.fresh_layout or args.screenshot:
        settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "lstm-viz", "screenshot")
        settings.clear()
    window = MainWindow(settings)
    window.resize(width, height)
    wait = bool(args.screenshot)
    if args.example:
        from lstm_viz.ui.examples import EXAMPLES, ORDER

        if not (EXAMPLES / args.example / "example.json").exists():
            print(f"lstm-viz: error: no example {args.example!r}; choose one of {', '.join(ORDER)}", file=sys.stderr)
            return 2
        window.open_example(args.example, wait=wait)
    elif args.sequence is None and args.model is None and args.random is None:
        window.open_demo(wait=wait)
    elif args.sequence is None:
        window.open_demo(wait=True)
        window.open_files(
            model_path=args.model, random_spec=(args.random, args.seed) if args.random else None, wait=wait
        )
    else:
        random_spec = (args.random, args.seed) if args.random else None
        window.open_files(model_path=args.model, sequence_path=args.sequence, random_spec=random_spec, wait=wait)
    if args.select and window.session.loaded is not None:
        window.session.select_units(int(u) for u in args.select.split(",") if u.strip())
    for name in filter(None, (n.strip().lower() for n in args.raise_panels.split(","))):
        for panel in window.panels:
            if name in panel.objectName().lower():
                panel.raise_()
    if args.screenshot:
        return screenshot(app, window, args.screenshot, args.step)
    window.show()
    if window.session.loaded is None and window.job is None:
        QTimer.singleShot(0, window.open_demo)
    if not os.environ.get("LSTM_VIZ_NO_DIALOGS"):
        QTimer.singleShot(700, window.maybe_start_tour)  # once, on the very first start
    return app.exec()


def screenshot(app, window, path: str, step: int | None) -> int:
    if window.session.loaded is None:
        print(f"lstm-viz: error: {window.last_error or 'nothing could be loaded'}", file=sys.stderr)
        return 2
    window.show()
    if step is not None:
        window.session.set_step(step)
    for _ in range(5):
        app.processEvents()
    for panel in window.panels:  # finish any easing: the picture shows the step itself
        if hasattr(panel, "settle"):
            panel.settle()
    app.processEvents()
    image = window.grab()
    if not image.save(path):
        print(f"lstm-viz: error: could not write {path}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({image.width()}x{image.height()})")
    return 0
