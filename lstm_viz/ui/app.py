"""The window's start: ``lstm-viz [SEQUENCE] [options]`` once the command line is parsed.

The command line (:mod:`lstm_viz.cli`) parses the options and builds the open request;
this module only starts Qt, opens what was asked and shows or renders the window.
"""

from __future__ import annotations

import argparse
import os
import sys

from lstm_viz import environment
from lstm_viz.workbench import OpenRequest


def main(args: argparse.Namespace, request: OpenRequest | None = None) -> int:
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"lstm-viz: error: --size must look like 1600x1000, got {args.size!r}", file=sys.stderr)
        return 2
    rendering = bool(args.screenshot or args.video)  # a file written, no window kept open
    if rendering and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if rendering:
        os.environ.setdefault(environment.NO_DIALOGS, "1")

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from lstm_viz.ui.main_window import MainWindow
    from lstm_viz.ui.style import app_icon, configure_plots, quiet_offscreen
    from lstm_viz.workbench.examples import ORDER, example_exists

    # Qt's hidden X11 helper windows (the selection owner, the client leader) are named after
    # the application: "lstm_viz", so that a search for the window's title "lstm-viz — ..."
    # finds the window itself and nothing else, even before it is shown
    app = QApplication.instance() or QApplication(["lstm_viz"])
    app.setApplicationName("lstm_viz")  # also the X11 WM_CLASS (the desktop entry's StartupWMClass)
    app.setOrganizationName("lstm-viz")
    app.setDesktopFileName("lstm-viz")
    app.setWindowIcon(app_icon())
    configure_plots()
    quiet_offscreen()
    settings = QSettings("lstm-viz", "lstm-viz")
    if args.fresh_layout or rendering:
        settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "lstm-viz", "screenshot")
        settings.clear()
    window = MainWindow(settings)
    window.resize(width, height)
    wait = rendering
    if args.example:
        if not example_exists(args.example):
            print(f"lstm-viz: error: no example {args.example!r}; choose one of {', '.join(ORDER)}", file=sys.stderr)
            return 2
        window.open_example(args.example, wait=True)  # small shipped files: shown in the first frame
    elif getattr(args, "session", None):
        window.open_demo(wait=True)  # shown while the session opens, and kept if it cannot
        window.open_session(args.session, wait=wait)
    elif request is None:
        window.open_demo(wait=True)  # the keys work from the first frame, before any load ends
    else:
        if request.sequence_path is None:  # a model alone: shown on the demo's sequence first
            window.open_demo(wait=True)
        if request.store_dtype == "float16":
            window.half_precision.setChecked(True)  # the menu says what --float16 asked for
        window.open_request(request, wait=wait)
    if args.select and window.session.loaded is not None:
        window.session.select_units(int(u) for u in args.select.split(",") if u.strip())
    for name in filter(None, (n.strip().lower() for n in args.raise_panels.split(","))):
        found = [panel for panel in window.panels if name in panel.objectName().lower()]
        for panel in found:
            panel.raise_()
        if not found:  # said, not silently ignored
            names = ", ".join(p.objectName().removesuffix("Panel").lower() for p in window.panels)
            print(f"lstm-viz: note: no panel is named {name!r}; the panels: {names}", file=sys.stderr)
    if args.screenshot:
        return screenshot(app, window, args.screenshot, args.step, args.panel, args.scale, args.caption)
    if args.video:
        return video(app, window, args.video, args.steps, args.fps, args.panel, args.scale)
    window.show()
    if window.session.loaded is None and window.job is None:
        QTimer.singleShot(0, window.open_demo)
    if not environment.no_dialogs():
        QTimer.singleShot(700, window.maybe_start_tour)  # once, on the very first start
    return leave(app.exec())


def leave(status: int) -> int:
    """The process's exit, once the window has closed. A worker still blocked in a system
    call (a hung disk, an endless read) cannot be stopped, and Qt aborts the process when a
    running thread's object is destroyed at interpreter shutdown; so with one left, the
    process ends here, at once, with the window's status (everything is saved by then)."""
    from lstm_viz.ui.main_window import STRANDED

    if any(job.isRunning() for job in STRANDED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def screenshot(
    app, window, path: str, step: int | None, panel: str | None = None, scale: float = 1.0, caption: bool = False
) -> int:
    from lstm_viz.ui.export import ExportError, caption_for, export_picture, panel_named, picture_format, settle

    if window.session.loaded is None:
        print(f"lstm-viz: error: {window.last_error or 'nothing could be loaded'}", file=sys.stderr)
        return 2
    try:
        picture_format(path)
        target = panel_named(window, panel) if panel else window
    except ExportError as error:
        print(f"lstm-viz: error: {error}", file=sys.stderr)
        return 2
    if target is not window:
        target.show()
        target.raise_()  # to the front of its tabs
    window.show()
    if step is not None:
        window.session.set_step(step)
    for _ in range(5):
        app.processEvents()
    settle(window)  # analyses asked for and landed, easing finished: the picture shows the step itself
    try:
        words = caption_for(window, target) if caption and target is not window else None
        size = export_picture(target, path, scale, title=window.windowTitle(), caption=words)
    except ExportError as error:
        print(f"lstm-viz: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({size.width()}x{size.height()})")
    return 0


def video(app, window, path: str, steps: str | None, fps: float, panel: str | None, scale: float) -> int:
    """``--video``: steps FIRST:LAST of the window (or a panel) to an MP4 or a GIF."""
    from lstm_viz.ui.export import ExportError, panel_named
    from lstm_viz.ui.video import VideoSpec, write_video

    if window.session.loaded is None:
        print(f"lstm-viz: error: {window.last_error or 'nothing could be loaded'}", file=sys.stderr)
        return 2
    length = window.session.core.length
    try:
        first, last = 0, length - 1
        if steps:
            a, sep, b = steps.partition(":")
            if not sep:
                raise ValueError
            first = int(a) if a.strip() else 0
            last = int(b) if b.strip() else length - 1
    except ValueError:
        print(f"lstm-viz: error: --steps must look like 0:99, got {steps!r}", file=sys.stderr)
        return 2
    try:
        target = panel_named(window, panel) if panel else window
        if target is not window:
            target.show()
            target.raise_()
        window.show()
        for _ in range(5):
            app.processEvents()
        frames = write_video(window, target, VideoSpec(path, first, last, fps, scale))
    except ExportError as error:
        print(f"lstm-viz: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({frames} frames, steps {first} to {last}, {fps:g} frames a second)")
    return 0
