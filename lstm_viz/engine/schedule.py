"""Running the layers of a network concurrently, one thread per layer direction.

Each step's recurrent product is a matrix-vector product that one BLAS thread serves
best; the second core is used by running the layer directions side by side instead. A
layer direction consumes its input chunk by chunk, so a layer can start on chunk k as
soon as every direction below has produced it: stacked layers form a pipeline and the
two directions of a bidirectional layer run together. NumPy releases the GIL inside
BLAS calls and large ufuncs, which is where the time goes.
"""

from __future__ import annotations

import threading


class Aborted(Exception):
    """Raised in a worker whose sibling failed; never escapes :func:`run_concurrently`."""


class Watermarks:
    """How far each layer direction has got, and a way to wait for it.

    A forward direction that has done n steps covers [0, n); a reverse one covers
    [T - n, T).
    """

    def __init__(self, T: int):
        self.T = T
        self._done: dict = {}
        self._reverse: dict = {}
        self._cond = threading.Condition()
        self.error: BaseException | None = None

    def register(self, key, reverse: bool) -> None:
        self._done[key] = 0
        self._reverse[key] = reverse

    def advance(self, key, n: int) -> None:
        with self._cond:
            self._done[key] += n
            self._cond.notify_all()

    def _covers(self, key, t0: int, t1: int) -> bool:
        n = self._done[key]
        return self.T - n <= t0 if self._reverse[key] else n >= t1

    def wait(self, keys, t0: int, t1: int) -> None:
        with self._cond:
            while self.error is None and not all(self._covers(k, t0, t1) for k in keys):
                self._cond.wait()
            if self.error is not None:
                raise Aborted()

    def check(self) -> None:
        if self.error is not None:
            raise Aborted()

    def fail(self, exc: BaseException) -> None:
        with self._cond:
            if self.error is None:
                self.error = exc
            self._cond.notify_all()


def run_concurrently(jobs, marks: Watermarks) -> None:
    """Run each callable in ``jobs`` in its own thread; re-raise the first failure."""

    def guard(job):
        try:
            job()
        except Aborted:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            marks.fail(exc)

    threads = [threading.Thread(target=guard, args=(job,), name=f"lstm-viz-layer-{k}") for k, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if marks.error is not None:
        raise marks.error
