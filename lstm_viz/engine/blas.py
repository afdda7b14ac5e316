"""BLAS thread control for the per-step products.

Per step the engine multiplies a (B, H_out) state by a (H_out, 4H) matrix. On small
products a second BLAS thread costs more in hand-off than it gains (and on this class of
2-core machine it sometimes stalls), while a batch of sequences gains from it. The step
loop runs with the thread count ``benchmarks/bench_engine.py`` found fastest for the
shape; the chunked input projections (large GEMMs) always use every thread.
``LSTM_VIZ_BLAS_THREADS`` forces a count.
"""

from __future__ import annotations

import contextlib
import functools
import threading

from lstm_viz import environment

TWO_THREADS_FROM = 1 << 20
"""Per-step multiply-adds (B * H_out * 4H) from which the step loop uses all BLAS threads."""


@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def step_thread_count(batch: int, out: int, hidden: int) -> int | None:
    """Threads for the step loop of this shape; None leaves BLAS as configured."""
    forced = environment.blas_threads()
    if forced is not None:
        return forced
    if batch * out * 4 * hidden < TWO_THREADS_FROM:
        return 1
    return None


# BLAS's thread count is one setting for the whole process, while runs overlap (a load, an
# analysis in the background, layers side by side). Limits are counted: the first to open
# sets the count, the last to close puts back what was there before, whatever the order
# they close in (threadpoolctl's own limits each restore what they saw when they opened, so
# two overlapping ones closing out of order left BLAS at one thread for good).
_lock = threading.Lock()
_open = 0
_restore = None


@contextlib.contextmanager
def _limited(threads: int):
    global _open, _restore
    with _lock:
        if _open == 0:
            _restore = _controller().limit(limits=threads, user_api="blas")
        _open += 1
    try:
        yield
    finally:
        with _lock:
            _open -= 1
            if _open == 0:
                _restore.restore_original_limits()
                _restore = None


def step_threads(batch: int, out: int, hidden: int):
    """A context-manager factory that applies :func:`step_thread_count` while it is open."""
    threads = step_thread_count(batch, out, hidden)
    if threads is None:
        return contextlib.nullcontext
    return functools.partial(_limited, threads)


def single_thread():
    """A context manager that holds BLAS to one thread (while layers run in parallel)."""
    return _limited(1)
