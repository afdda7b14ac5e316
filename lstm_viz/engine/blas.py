"""BLAS thread control for the recurrence.

Per step the engine multiplies a (B, H_out) state by a (H_out, 4H) matrix. On small
products a second BLAS thread costs more in hand-off than it gains (and on this class of
2-core machine it sometimes stalls), so the recurrence runs with the thread count that
``benchmarks/bench_engine.py`` found fastest for the shape.
"""

from __future__ import annotations

import contextlib
import os

_controller = None

SINGLE_THREAD_BELOW = int(os.environ.get("LSTM_VIZ_BLAS_SINGLE_BELOW", str(1 << 30)))
"""Per-step product size (B * H_out * 4H multiply-adds) under which one thread is used."""


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def recurrence_thread_count(batch: int, hidden: int) -> int | None:
    """Threads for the recurrence of this shape; None leaves BLAS as configured."""
    forced = os.environ.get("LSTM_VIZ_BLAS_THREADS")
    if forced:
        return max(1, int(forced))
    if batch * hidden * 4 * hidden < SINGLE_THREAD_BELOW:
        return 1
    return None


@contextlib.contextmanager
def recurrence_threads(batch: int, hidden: int):
    threads = recurrence_thread_count(batch, hidden)
    if threads is None:
        yield
        return
    with _get_controller().limit(limits=threads, user_api="blas"):
        yield
