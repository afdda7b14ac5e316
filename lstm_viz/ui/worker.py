"""Long work off the GUI thread: loading files and running the model, with progress and cancel."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from lstm_viz.errors import Cancelled, LstmVizError


class Job(QThread):
    """Runs ``work(progress, cancelled)`` in a thread.

    ``progress(done, total)`` may be called from the work; ``cancelled()`` says whether the
    user asked to stop. Exactly one of ``succeeded(result)``, ``failed(message)`` or
    ``stopped()`` is emitted at the end.
    """

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

    def run(self) -> None:
        try:
            result = self.work(lambda done, total: self.progressed.emit(int(done), int(total)), self._cancel.is_set)
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
