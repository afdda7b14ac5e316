"""Videos of a range of steps: MP4 (H.264) or an animated GIF, of the window or one panel.

A frame is one step. Frames are drawn on the GUI thread (a widget paints only there): the
window moves to the step, its panels settle (no easing left, pending analyses done), and
the target is rendered as for a picture (:func:`lstm_viz.ui.export.render_image`) at the
chosen scale. An encoder thread takes the frames from a short queue and writes them with
imageio: ffmpeg (the binary shipped by the imageio-ffmpeg package) for MP4, Pillow for
GIF. Both come with the optional extra ``lstm-viz[video]``; without it the export says so.

:class:`VideoExport` drives it from the window: one frame per turn of the event loop, a
progress dialog with Cancel, the step the user was on given back at the end. The command
line (``--video``) calls :func:`write_video`, the same frames in a plain loop.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from lstm_viz import atomic
from lstm_viz.ui.export import CAPTION_BAND, ExportError, caption_for, render_image, settle, with_caption

VIDEO_FORMATS = {".mp4": "MP4", ".gif": "GIF"}
EXTRA = "pip install 'lstm-viz[video]'"
FPS_RANGE = (1, 60)
GIF_BYTES = 1 << 30
"""Pillow keeps a GIF's frames until it writes the file: at most this many bytes of them."""
QUEUE_FRAMES = 8


class VideoError(ExportError):
    """A video that cannot be written (the message names the file and the reason)."""


@dataclass(frozen=True)
class VideoSpec:
    """Steps ``first`` to ``last`` (both included), one frame each, at ``fps`` frames a
    second and ``scale`` times the widget's size."""

    path: str
    first: int
    last: int
    fps: float = 10.0
    scale: float = 1.0

    @property
    def frames(self) -> int:
        return self.last - self.first + 1

    @property
    def kind(self) -> str:
        return video_format(self.path)


def video_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in VIDEO_FORMATS:
        raise VideoError(f"{os.path.basename(path) or path}: the video's name must end in .mp4 or .gif")
    return VIDEO_FORMATS[ext]


def encoder_missing(kind: str) -> str | None:
    """Why a ``kind`` video cannot be written here (the extra is not installed), or None."""
    try:
        import imageio  # noqa: F401

        if kind == "MP4":
            import imageio_ffmpeg

            imageio_ffmpeg.get_ffmpeg_exe()
        else:
            import PIL  # noqa: F401
    except (ImportError, RuntimeError) as exc:
        what = "the ffmpeg encoder (imageio-ffmpeg)" if kind == "MP4" else "imageio and Pillow"
        return f"writing {kind} videos needs {what}, an optional extra: {EXTRA} ({exc})"
    return None


def captioned(widget: QWidget) -> bool:
    """A panel's frames carry a caption (its title, the step, the selection); the
    window's show them in its own transport and status line."""
    from PySide6.QtWidgets import QMainWindow

    return not isinstance(widget, QMainWindow)


def frame_size(widget: QWidget, spec: VideoSpec) -> tuple[int, int]:
    """(width, height) of the frames: the widget at the spec's scale (a panel's with its
    caption); even for MP4 (H.264's colour planes are half size)."""
    band = round(CAPTION_BAND * spec.scale) if captioned(widget) else 0
    width, height = round(widget.width() * spec.scale), round(widget.height() * spec.scale) + band
    if spec.kind == "MP4":
        width, height = width + width % 2, height + height % 2
    return width, height


def check(widget: QWidget, spec: VideoSpec, length: int) -> None:
    """A VideoError naming the file when ``spec`` cannot be written for a sequence of
    ``length`` steps shown by ``widget``."""
    name = os.path.basename(spec.path)
    kind = spec.kind
    folder = os.path.dirname(os.path.abspath(spec.path))
    if not os.path.isdir(folder):
        raise VideoError(f"{name}: the folder {folder} does not exist")
    if not 0 <= spec.first <= spec.last < length:
        raise VideoError(f"{name}: steps {spec.first} to {spec.last} are not within the sequence (0 to {length - 1})")
    if not FPS_RANGE[0] <= spec.fps <= FPS_RANGE[1]:
        raise VideoError(f"{name}: a frame rate between {FPS_RANGE[0]} and {FPS_RANGE[1]}, not {spec.fps:g}")
    if not 0.25 <= spec.scale <= 4:
        raise VideoError(f"{name}: a scale between 0.25 and 4, not {spec.scale:g}")
    if widget.size().isEmpty():
        raise VideoError(f"{name}: there is nothing to draw (the panel is hidden or empty)")
    missing = encoder_missing(kind)
    if missing:
        raise VideoError(f"{name}: {missing}")
    if kind == "GIF":
        width, height = frame_size(widget, spec)
        need = spec.frames * width * height * 3
        if need > GIF_BYTES:
            raise VideoError(
                f"{name}: {spec.frames:,} frames of {width}x{height} are too many for a GIF "
                f"({need / 2**30:.1f} GiB while it is written); choose MP4, fewer steps or a smaller scale"
            )


def frame_pixels(image: QImage, size: tuple[int, int]) -> np.ndarray:
    """(height, width, 3) uint8 RGB of ``image`` at ``size``: padded with white, or cut."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h).reshape(h, image.bytesPerLine())
    pixels = rows[:, : w * 3].reshape(h, w, 3)
    width, height = size
    out = np.full((height, width, 3), 255, np.uint8)
    h, w = min(h, height), min(w, width)  # a widget that changed size keeps the video's
    out[:h, :w] = pixels[:h, :w]
    return out


class Encoder(threading.Thread):
    """Writes the frames put into it, on its own thread; :meth:`finish` waits for the
    file, :meth:`abort` stops and deletes it. An error of the encoder (a full disk, say)
    is kept and raised as a VideoError by :meth:`put` or :meth:`finish`."""

    def __init__(self, spec: VideoSpec):
        super().__init__(name="lstm-viz video encoder", daemon=True)
        self.spec = spec
        # written beside the target and renamed over it when complete: a cancel or a
        # failure leaves a file of that name as it was
        try:
            self.temporary = atomic.temporary_beside(spec.path)
        except OSError as exc:
            raise VideoError(f"{os.path.basename(spec.path)}: cannot be written there: {exc.strerror or exc}") from exc
        self.frames: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.error: str | None = None
        self.written = 0
        self._halt = threading.Event()

    def _writer(self):
        import imageio.v2 as imageio

        spec = self.spec
        if spec.kind == "MP4":
            return imageio.get_writer(
                self.temporary,
                format="FFMPEG",
                mode="I",
                fps=spec.fps,
                codec="libx264",
                pixelformat="yuv420p",
                quality=None,
                macro_block_size=2,
                ffmpeg_params=["-crf", "17", "-tune", "animation"],
                ffmpeg_log_level="error",
            )
        return _GifWriter(spec, self.temporary)

    def run(self) -> None:
        writer = None
        try:
            writer = self._writer()
            while True:
                frame = self.frames.get()
                if frame is None or self._halt.is_set():
                    break
                writer.append_data(frame)
                self.written += 1
        except Exception as exc:  # noqa: BLE001 - reported to the user by put/finish
            self.error = f"{os.path.basename(self.spec.path)}: the encoder failed: {exc}"
            self._halt.set()
            self._drain()
        finally:
            if writer is not None:
                try:
                    writer.close()
                except Exception as exc:  # noqa: BLE001
                    if self.error is None and not self._halt.is_set():
                        self.error = f"{os.path.basename(self.spec.path)}: the encoder failed: {exc}"

    def _drain(self) -> None:
        while True:
            try:
                self.frames.get_nowait()
            except queue.Empty:
                return

    def put(self, frame: np.ndarray) -> None:
        while True:
            if self.error:
                raise VideoError(self.error)
            try:
                self.frames.put(frame, timeout=0.1)
                return
            except queue.Full:
                if not self.is_alive():
                    raise VideoError(self.error or f"{os.path.basename(self.spec.path)}: the encoder stopped") from None

    def finish(self) -> None:
        self.frames.put(None)
        self.join()
        if self.error:
            atomic.discard(self.temporary)
            raise VideoError(self.error)
        try:
            atomic.publish(self.temporary, self.spec.path)
        except OSError as exc:
            atomic.discard(self.temporary)
            name = os.path.basename(self.spec.path)
            raise VideoError(f"{name}: could not be written: {exc.strerror or exc}") from exc

    def abort(self) -> None:
        self._halt.set()
        self._drain()
        try:
            self.frames.put_nowait(None)
        except queue.Full:
            pass
        self.join(timeout=30)
        atomic.discard(self.temporary)


class _GifWriter:
    """A looping GIF written by Pillow, each frame shown 1000 / fps milliseconds. Each
    frame is reduced to its own 256 colours without dithering (a window's flat colours and
    thin lines stay clean; dithering sprinkled them with dots) and kept, one byte a pixel,
    until the file is written at the end (a GIF's frames are written together)."""

    def __init__(self, spec: VideoSpec, path: str):
        from PIL import Image

        self.Image = Image
        self.path = path
        self.duration = round(1000.0 / spec.fps)
        self.frames = []

    def append_data(self, frame: np.ndarray) -> None:
        Image = self.Image
        image = Image.fromarray(frame, mode="RGB")
        self.frames.append(image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))

    def close(self) -> None:
        if self.frames:
            first, *rest = self.frames
            first.save(
                self.path,
                format="GIF",
                save_all=True,
                append_images=rest,
                duration=self.duration,
                loop=0,
                optimize=False,
            )
        self.frames = []


def frame_image(window, target: QWidget, scale: float) -> QImage:
    """What ``target`` shows now, drawn at ``scale`` (a panel under its caption)."""
    image = render_image(target, scale)
    if captioned(target):
        image = with_caption(image, *caption_for(window, target), scale)
    return image


def frame_at(window, target: QWidget, step: int, spec: VideoSpec, size: tuple[int, int]) -> np.ndarray:
    """The frame of ``step``: the window moved there and settled, ``target`` rendered."""
    window.session.set_step(step)
    settle(window)
    return frame_pixels(frame_image(window, target, spec.scale), size)


def write_video(window, target: QWidget, spec: VideoSpec, progress: Callable[[int, int], None] | None = None) -> int:
    """Write ``spec``'s video of ``target`` (the window or one of its panels) in a plain
    loop (the command line); the step shown before is shown again after. Returns the
    number of frames written."""
    check(target, spec, window.session.core.length)
    size = frame_size(target, spec)
    before = window.session.step
    encoder = Encoder(spec)
    encoder.start()
    try:
        for k, step in enumerate(range(spec.first, spec.last + 1)):
            encoder.put(frame_at(window, target, step, spec, size))
            if progress is not None:
                progress(k + 1, spec.frames)
    except BaseException:
        encoder.abort()
        raise
    finally:
        window.session.set_step(before)
    encoder.finish()
    return encoder.written


class VideoExport(QObject):
    """A video written from the window: one frame per turn of the event loop, so the
    window stays responsive; a window-modal progress dialog with Cancel. ``done(message)``
    is called at the end with what happened (written, cancelled, or the error)."""

    def __init__(self, window, target: QWidget, spec: VideoSpec, done: Callable[[str, bool], None]):
        super().__init__(window)
        self.window, self.target, self.spec, self.done = window, target, spec, done
        self.steps = iter(range(spec.first, spec.last + 1))
        self.count = 0
        self.before = window.session.step
        self.encoder: Encoder | None = None
        self.dialog = None
        self.cancelled = False
        self.size = (0, 0)

    def start(self) -> None:
        """Check the spec (a VideoError when it cannot be written), then begin."""
        from lstm_viz.ui.worker import ProgressDialog

        check(self.target, self.spec, self.window.session.core.length)
        self.size = frame_size(self.target, self.spec)
        self.encoder = Encoder(self.spec)
        self.encoder.start()
        name = os.path.basename(self.spec.path)
        # window-modal (the step must not change under the frames), shown at once; unlike
        # QProgressDialog it runs no event loop of its own when its value is set
        self.dialog = ProgressDialog(f"Writing {name}…", self.window, delay_ms=0)
        self.dialog.setWindowTitle("Export video")
        self.dialog.set_progress(0, self.spec.frames)
        self.dialog.canceled.connect(self.cancel)
        QTimer.singleShot(0, self._next)

    def cancel(self) -> None:
        self.cancelled = True

    def _next(self) -> None:
        if self.cancelled:
            self._end(f"Video export cancelled; {os.path.basename(self.spec.path)} was not written", ok=False)
            return
        step = next(self.steps, None)
        try:
            if step is None:
                self.dialog.label.setText(f"Finishing {os.path.basename(self.spec.path)}…")
                self.encoder.finish()
                kind, (w, h) = self.spec.kind, self.size
                self._end(
                    f"Exported {self.spec.frames} frames (steps {self.spec.first} to {self.spec.last}) to "
                    f"{os.path.basename(self.spec.path)} ({kind}, {w}x{h}, {self.spec.fps:g} frames a second)",
                    ok=True,
                    finished=True,
                )
                return
            self.encoder.put(frame_at(self.window, self.target, step, self.spec, self.size))
        except VideoError as error:
            self._end(str(error), ok=False)
            return
        except Exception as exc:  # noqa: BLE001 - the session stays; the user is told
            what = "could not be finished" if step is None else f"step {step} could not be drawn"
            self._end(f"{os.path.basename(self.spec.path)}: {what}: {exc}", ok=False)
            return
        self.count += 1
        if self.dialog is not None:
            self.dialog.set_progress(self.count, self.spec.frames)
            self.dialog.label.setText(
                f"Writing {os.path.basename(self.spec.path)}: step {step} ({self.count} of {self.spec.frames})"
            )
        QTimer.singleShot(0, self._next)

    def _end(self, message: str, ok: bool, finished: bool = False) -> None:
        if not finished and self.encoder is not None:
            self.encoder.abort()
        if self.dialog is not None:
            self.dialog.finish()
            self.dialog = None
        self.window.session.set_step(self.before)
        self.window.activateWindow()
        self.done(message, ok)
        self.deleteLater()


class VideoDialog:
    """File > Export video…: what (the window or a panel on screen), which steps, the
    frame rate and the size, then where; MP4 or GIF from the file name's extension."""

    def __init__(self, window):
        from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox

        from lstm_viz.ui.export import what_box

        self.window = window
        core = window.session.core
        length = max(core.length, 1)
        self.dialog = QDialog(window)
        self.dialog.setWindowTitle("Export video")
        form = QFormLayout(self.dialog)
        self.what = what_box(window)
        form.addRow("Video of", self.what)
        t0, t1 = core.time_range  # the steps in view, by default
        self.first, self.last = QSpinBox(), QSpinBox()
        for box in (self.first, self.last):
            box.setRange(0, length - 1)
            box.setGroupSeparatorShown(True)
        self.first.setValue(max(0, min(length - 1, int(np.ceil(t0)))))
        self.last.setValue(max(self.first.value(), min(length - 1, int(np.floor(t1)) - 1)))
        form.addRow("From step", self.first)
        form.addRow("To step", self.last)
        self.fps = QSpinBox()
        self.fps.setRange(*FPS_RANGE)
        self.fps.setValue(10)
        self.fps.setSuffix(" frames a second")
        form.addRow("Frame rate", self.fps)
        self.scale = QComboBox()
        for scale in (0.5, 1.0, 2.0):
            self.scale.addItem(f"{scale:g}x", scale)
        self.scale.setCurrentIndex(1)
        form.addRow("Size", self.scale)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        form.addRow(self.summary)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.dialog.accept)
        self.buttons.rejected.connect(self.dialog.reject)
        form.addRow(self.buttons)
        self._recall()
        for box in (self.first, self.last, self.fps):
            box.valueChanged.connect(self._update)
        for box in (self.what, self.scale):
            box.currentIndexChanged.connect(self._update)
        self._update()

    def _recall(self) -> None:
        """The frame rate, size and subject of the last video (the steps follow the view)."""
        settings = self.window.settings
        for box, key in ((self.scale, "video/scale"), (self.what, "video/what")):
            index = box.findData(settings.value(key))
            if index < 0 and key == "video/scale":
                index = box.findData(float(settings.value(key, 1.0) or 1.0))
            if index >= 0:
                box.setCurrentIndex(index)
        try:
            self.fps.setValue(int(settings.value("video/fps", self.fps.value())))
        except (TypeError, ValueError):
            pass

    def remember(self) -> None:
        settings = self.window.settings
        settings.setValue("video/fps", self.fps.value())
        settings.setValue("video/scale", self.scale.currentData())
        settings.setValue("video/what", self.what.currentData() or "")

    def target(self) -> QWidget:
        from lstm_viz.ui.export import panel_named

        name = self.what.currentData()
        return panel_named(self.window, name) if name else self.window

    def _update(self) -> None:
        from PySide6.QtWidgets import QDialogButtonBox

        frames = self.last.value() - self.first.value() + 1
        target = self.target()
        scale = self.scale.currentData()
        width, height = round(target.width() * scale), round(target.height() * scale)
        text = (
            f"{max(frames, 0):,} frames of {width}x{height}, {max(frames, 0) / self.fps.value():.1f} s long; "
            "MP4 or GIF as the file's name says."
        )
        missing = encoder_missing("MP4") and encoder_missing("GIF")
        if frames < 1:
            text = "The last step comes before the first."
        elif missing:
            text = f"Videos need an optional extra: {EXTRA}"
        self.summary.setText(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(frames >= 1 and not missing)

    def run(self) -> None:
        from PySide6.QtWidgets import QDialog

        from lstm_viz.ui.export import ask_export_path

        if self.dialog.exec() != QDialog.DialogCode.Accepted:
            self.window.activateWindow()
            return
        name = self.what.currentData()
        path = ask_export_path(
            self.window, "Export video", name, "window", [("MP4 video", ".mp4"), ("Animated GIF", ".gif")]
        )
        if path:
            self.remember()
            self.window.export_video(
                path,
                self.first.value(),
                self.last.value(),
                fps=self.fps.value(),
                scale=self.scale.currentData(),
                panel=name,
            )
