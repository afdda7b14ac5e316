"""Every environment variable lstm-viz reads, in one place (Qt-free).

``LSTM_VIZ_MAX_MEMORY``
    The memory one file, sequence or trace may take, e.g. ``16G`` (see :mod:`lstm_viz.limits`).
``LSTM_VIZ_NO_DIALOGS``
    ``1``: the window shows errors in its status line instead of message boxes and never
    asks (the table import step takes the choices remembered for the file). Set by
    ``--screenshot`` and by the tests.
``LSTM_VIZ_BLAS_THREADS``
    The BLAS threads of the recording step loop (default: 1 for small layers, BLAS's own
    count for large ones).
``LSTM_VIZ_LAYER_THREADS``
    ``0`` or ``1``: run the layer directions one after another; anything else: side by
    side in threads.
"""

from __future__ import annotations

import os

MAX_MEMORY = "LSTM_VIZ_MAX_MEMORY"
NO_DIALOGS = "LSTM_VIZ_NO_DIALOGS"
BLAS_THREADS = "LSTM_VIZ_BLAS_THREADS"
LAYER_THREADS = "LSTM_VIZ_LAYER_THREADS"


def no_dialogs() -> bool:
    """True when the window must not open message boxes or dialogs."""
    return os.environ.get(NO_DIALOGS, "") not in ("", "0")


def blas_threads() -> int | None:
    """The forced BLAS thread count of the step loop, or None."""
    forced = os.environ.get(BLAS_THREADS)
    return max(1, int(forced)) if forced else None


def layer_threads() -> bool | None:
    """Whether layer directions are forced to run in threads (True), one by one (False), or None."""
    forced = os.environ.get(LAYER_THREADS)
    return None if forced is None else forced not in ("0", "1", "")
