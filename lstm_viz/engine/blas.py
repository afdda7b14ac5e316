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


def step_threads(batch: int, out: int, hidden: int):
    """A context-manager factory that applies :func:`step_thread_count` while it is open."""
    threads = step_thread_count(batch, out, hidden)
    if threads is None:
        return contextlib.nullcontext
    controller = _controller()
    return functools.partial(controller.limit, limits=threads, user_api="blas")


def single_thread():
    """A context manager that holds BLAS to one thread (while layers run in parallel)."""
    return _controller().limit(limits=1, user_api="blas")
