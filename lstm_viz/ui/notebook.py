"""The window and its pictures from Python: Jupyter notebooks, scripts.

``lstm_viz.show(model, x)`` opens the window on a model and a sequence held in memory and
returns it at once: inside IPython (a Jupyter kernel, the terminal) it turns on IPython's
Qt event loop integration (``%gui qt``), so the window stays live while the kernel runs
other cells; elsewhere the caller runs ``QApplication.exec()`` when it wants to.

``lstm_viz.render(model, x, panels=[...], step=..., size=...)`` draws panels (or the whole
window) to a :class:`Picture`, which a notebook displays inline (``_repr_png_``). It
needs no display server: without one, Qt draws offscreen.

A trace holds the states but not the weights, so either takes a model: ``show(model, x)``
runs the model on ``x``; ``show(model, trace=trace)`` shows a trace it recorded.
"""

from __future__ import annotations

import os

import numpy as np

from lstm_viz.errors import InputError

_WINDOWS: list = []  # the windows show() opened: kept alive while the kernel holds no reference


def _check_step(step, loaded) -> None:
    if step is None:
        return
    length = loaded.trace.length
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or not 0 <= step < length:
        raise InputError(f"step {step!r} is not a step of the sequence (0 to {length - 1})")


class Picture:
    """A PNG picture: displayed inline by IPython, saved with :meth:`save`, read as an
    (height, width, 3) array with :meth:`to_numpy`."""

    def __init__(self, png: bytes, size: tuple[int, int]):
        self.png = png
        self.size = size

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(self.png)

    def to_numpy(self) -> np.ndarray:
        from PySide6.QtGui import QImage

        image = QImage.fromData(self.png, "PNG").convertToFormat(QImage.Format.Format_RGB888)
        w, h = image.width(), image.height()
        rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h).reshape(h, -1)
        return rows[:, : w * 3].reshape(h, w, 3).copy()

    def __repr__(self) -> str:
        return f"<lstm-viz picture {self.size[0]}x{self.size[1]}>"


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display server: draw offscreen
        app = QApplication(["lstm_viz"])
        from lstm_viz.ui.style import configure_plots, quiet_offscreen

        configure_plots()
        quiet_offscreen()
    return app


def _loaded(model, x=None, trace=None, names=None):
    """A Loaded of ``model`` on ``x`` (run now) or with the ``trace`` it recorded."""
    from lstm_viz.engine.sequence import Sequence
    from lstm_viz.engine.trace import Trace
    from lstm_viz.workbench.loading import Loaded

    if isinstance(model, Trace):
        raise InputError(
            "a trace holds the states, not the weights: pass the model that recorded it, show(model, trace=trace)"
        )
    if not hasattr(model, "run"):
        raise InputError(f"expected an lstm-viz model (LSTM or RNN, e.g. lstm_viz.load_model(path)), got {model!r}")
    if trace is None:
        if x is None:
            raise InputError("give the sequence to run the model on: show(model, x), x of shape (T, D) or (B, T, D)")
        values = np.asarray(x, dtype=np.float32)
        if values.ndim == 2:
            values = values[None]
        if values.ndim != 3 or values.shape[1] == 0:
            raise InputError(f"x must be (T, D) or (B, T, D) with at least one step, not of shape {np.shape(x)}")
        if not np.isfinite(values).all():
            raise InputError("x holds NaN or infinite values")
        trace = model.run(values)
    else:
        values = np.asarray(trace.x, dtype=np.float32)
    sequence = Sequence(values=values, names=names)
    sizes = ", ".join(str(h) for h in model.hidden_sizes)
    return Loaded(model, sequence, trace, f"a model in memory ({sizes} units)")


def _window(loaded, size, hidden: bool):
    from PySide6.QtCore import QSettings

    from lstm_viz.ui.main_window import MainWindow

    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "lstm-viz", "notebook")
    settings.clear()  # a fresh layout, not the desktop app's saved one
    window = MainWindow(settings)
    window.resize(*size)
    if hidden:
        from PySide6.QtCore import Qt

        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.show()
    window.core.show(loaded)
    return window


def _ipython_gui() -> None:
    """Turn on IPython's Qt event loop integration when running under IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        os.environ.setdefault("QT_API", "pyside6")  # the binding IPython's loop should drive
        shell.enable_gui("qt")
        _keep_kernel_listening(getattr(shell, "kernel", None))


def _keep_kernel_listening(kernel) -> None:
    """ipykernel runs Qt's event loop between cells and leaves it when a socket notifier
    says a request came; now and then the notice is lost (a request that arrives while the
    loop is being entered), and the next cell never ran: seen after show(), one run in a
    few with a fresh kernel. Twenty times a second the loop is left anyway: the kernel
    handles what waits and enters it again at once (the window stays live)."""
    if kernel is None or getattr(kernel, "_lstm_viz_listening", None) is not None:
        return
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def leave() -> None:
        loop = getattr(getattr(kernel, "app", None), "qt_event_loop", None)
        if loop is not None and loop.isRunning():
            loop.quit()

    timer = QTimer(QApplication.instance())
    timer.setInterval(50)
    timer.timeout.connect(leave)
    timer.start()
    kernel._lstm_viz_listening = timer


def show(model, x=None, *, trace=None, step: int | None = None, select=None, size=(1600, 1000)):
    """Open the window on ``model`` run on ``x`` (or on the ``trace`` it recorded) and
    return it without blocking; see the module's text."""
    loaded = _loaded(model, x, trace)
    _check_step(step, loaded)
    _application()
    _ipython_gui()
    window = _window(loaded, size, hidden=False)
    if select is not None:
        window.session.select_units(list(select))
    if step is not None:
        window.session.set_step(int(step))
    _WINDOWS.append(window)
    window.destroyed.connect(lambda *_: _WINDOWS.remove(window) if window in _WINDOWS else None)
    return window


def render(
    model, x=None, *, trace=None, panels=None, step: int | None = None, select=None, size=(1600, 1000), scale=1.0
):
    """A :class:`Picture` of the window (``size`` pixels), or of ``panels`` (names as in
    ``--panel``: "gates", "heatmaps", "trajectories", "memory", "input", ...) one under the
    other under their titles, as wide as ``size`` and sharing its height (each at least
    120 pixels); on ``model`` run on ``x`` (or its ``trace``) at ``step``, with the units
    ``select`` selected."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage, QPainter

    from lstm_viz.ui.export import CAPTION_BAND, panel_named, render_image, settle, step_words, with_caption

    loaded = _loaded(model, x, trace)
    _check_step(step, loaded)
    app = _application()
    window = _window(loaded, size, hidden=True)
    try:
        if select is not None:
            window.session.select_units(list(select))
        if step is not None:
            window.session.set_step(int(step))
        targets = [window]
        if panels:  # each panel on its own, the picture's width, sharing its height
            targets = [panel_named(window, name) for name in panels]
            share = max(
                120, (size[1] - len(targets) * CAPTION_BAND) // len(targets)
            )  # captions included: size[1] in all
            for target in targets:
                target.show()
                target.setFloating(True)
                target.resize(size[0], share)
        for _ in range(5):
            app.processEvents()
        settle(window)
        images = [render_image(target, scale) for target in targets]
        if panels:  # each under its title, with the step and the selection
            words = step_words(window)
            images = [with_caption(image, target.title, words, scale) for target, image in zip(targets, images)]
        width = max(image.width() for image in images)
        height = sum(image.height() for image in images)
        picture = QImage(width, height, QImage.Format.Format_RGB32)
        picture.fill(QColor("white"))
        painter = QPainter(picture)
        y = 0
        for image in images:
            painter.drawImage(0, y, image)
            y += image.height()
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        picture.save(buffer, "PNG")
        return Picture(bytes(data), (width, height))
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
