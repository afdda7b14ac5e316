"""Long work off the GUI thread: loading files and running the model, with progress and cancel."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from lstm_viz.errors import Cancelled, LstmVizError


class Job(QThread):
    """Runs ``work(progress, cancelled)`` in a thread.

    ``progress(done, total)`` may be called from the work; ``cancelled()`` says whether the
    user asked to stop. Exactly one of ``succeeded(result)``, ``failed(message)`` or
    ``stopped()`` is emitted at the end. ``progressed`` is sent at most every
    ``PROGRESS_INTERVAL`` seconds (and for the last step): a million-step run does not flood
    the GUI thread with a million queued signals.
    """

    PROGRESS_INTERVAL = 0.1  # ten a second: each costs the GUI thread ~0.6 ms (status line, bar, showing due?)

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, work: Callable, parent=None):
        super().__init__(parent)
        self.work = work
        self._cancel = threading.Event()
        self.error: LstmVizError | None = None  # the error behind ``failed``, when it was one of ours

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, done, total) -> None:
        now = time.monotonic()
        if now - self._last_progress >= self.PROGRESS_INTERVAL or done >= total:
            self._last_progress = now
            self.progressed.emit(int(done), int(total))

    def run(self) -> None:
        self._last_progress = -1.0
        try:
            result = self.work(self._progress, self._cancel.is_set)
        except Cancelled:
            self.stopped.emit()
        except LstmVizError as exc:
            self.error = exc
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("not enough memory for this model and sequence; open a shorter one or smaller model")
        except Exception as exc:  # noqa: BLE001 - shown to the user; the app must not die
            self.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=3)}")
        else:
            if self._cancel.is_set():
                self.stopped.emit()
            else:
                self.succeeded.emit(result)
        finally:
            self.work = None  # what it held (a snapshot of the session) is not kept alive


class ProgressDialog(QDialog):
    """Progress of one job, window-modal, shown only when the job lasts past ``delay_ms``.

    Unlike QProgressDialog, setting a value never runs a nested event loop (a modal
    QProgressDialog calls processEvents in every setValue, so queued progress signals nest
    inside one another until the stack overflows). Cancel, Escape and closing the dialog
    all emit ``canceled``."""

    canceled = Signal()

    def __init__(self, message: str, parent: QWidget, delay_ms: int = 400):
        super().__init__(parent)
        self.setWindowTitle("lstm-viz")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.label = QLabel(message)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the job says how far it is
        self.bar.setMinimumWidth(320)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(buttons)
        self.rejected.connect(self.canceled)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.show)
        self.timer.start(delay_ms)

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))

    def finish(self) -> None:
        """Close for good without emitting ``canceled``."""
        self.timer.stop()
        self.rejected.disconnect(self.canceled)
        self.hide()
        self.deleteLater()


class Jobs(QObject):
    """Named slots of background work: starting work in a slot drops what ran there before.

    ``start(slot, work, ...)`` runs ``work.run`` in a :class:`Job` and ``work.apply`` on the
    GUI thread when it succeeds. ``progressed(slot, done, total)`` and ``ended(slot)`` let a
    panel show a progress bar for its own slot; ``failed`` gets the message. A cancelled or
    replaced job is told to stop and its result dropped; the window never waits for it.
    """

    progressed = Signal(str, int, int)
    ended = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.current: dict[str, Job] = {}
        self.abandoned: list[Job] = []

    def start(self, slot: str, work, failed: Callable[[str], None] | None = None) -> Job:
        self.cancel(slot)
        job = Job(lambda progress, cancelled: work.run(progress, cancelled), self)
        self.current[slot] = job

        def mine() -> bool:
            return self.current.get(slot) is job

        def done():
            del self.current[slot]
            self.ended.emit(slot)

        def succeeded(result):
            if mine():
                done()
                work.apply(result)

        def job_failed(message):
            if mine():
                done()
                if failed is not None:
                    failed(message)

        job.progressed.connect(lambda d, t: mine() and self.progressed.emit(slot, d, t))
        job.succeeded.connect(succeeded)
        job.failed.connect(job_failed)
        job.stopped.connect(lambda: mine() and done())
        job.finished.connect(lambda: job in self.abandoned and self.abandoned.remove(job))
        job.finished.connect(job.deleteLater)  # a finished job is freed, with its result
        job.start()
        return job

    def running(self, slot: str) -> bool:
        return slot in self.current

    def cancel(self, slot: str) -> None:
        job = self.current.pop(slot, None)
        if job is not None:
            job.cancel()
            if job.isRunning():
                self.abandoned.append(job)
            self.ended.emit(slot)

    def all_jobs(self) -> list[Job]:
        return [*self.current.values(), *self.abandoned]
