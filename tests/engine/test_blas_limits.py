"""BLAS thread limits of overlapping runs: whatever order they close in, BLAS gets back
the thread count it had (it once stayed at one thread for the rest of the session)."""

from threadpoolctl import threadpool_info

from lstm_viz.engine import blas


def blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_overlapping_limits_closing_out_of_order_restore_the_original_count():
    before = blas_threads()
    first, second = blas.single_thread(), blas.single_thread()
    first.__enter__()
    second.__enter__()
    assert set(blas_threads()) == {1}
    first.__exit__(None, None, None)  # the first to open closes first: the second still runs
    assert set(blas_threads()) == {1}
    second.__exit__(None, None, None)
    assert blas_threads() == before
