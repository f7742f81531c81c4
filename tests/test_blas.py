"""BLAS runs one thread inside the leakage phase and in the scan's workers, and only there."""
from __future__ import annotations

import time

from threadpoolctl import threadpool_info, threadpool_limits

from imagefactory import make_good_images
from inspector.core import pool
from inspector.core.leakage import iter_find_leakage
from inspector.core.scan import scan


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _threads_in_worker(items, *args, mark=None) -> list[int]:
    return _blas_threads()


def test_the_leakage_phase_runs_blas_on_one_thread_and_restores_it_after(tmp_path):
    make_good_images(tmp_path, "train", 4, modes=("RGB",))
    make_good_images(tmp_path, "test", 4, modes=("RGB",))
    result = scan(str(tmp_path), workers=1)
    with threadpool_limits(limits=2, user_api="blas"):   # what a training process might have set
        assert set(_blas_threads()) == {2}
        steps = iter_find_leakage(result.images, {})
        during: list[list[int]] = []
        while True:
            try:
                next(steps)
            except StopIteration:
                break
            during.append(_blas_threads())
        assert during and all(set(t) == {1} for t in during)
        assert set(_blas_threads()) == {2}                # given back after the phase


def test_a_cancelled_leakage_phase_gives_the_threads_back(tmp_path):
    make_good_images(tmp_path, "train", 4, modes=("RGB",))
    result = scan(str(tmp_path), workers=1)
    with threadpool_limits(limits=2, user_api="blas"):
        steps = iter_find_leakage(result.images, {})
        next(steps)
        assert set(_blas_threads()) == {1}
        steps.close()                                     # what Cancel does: stop iterating
        assert set(_blas_threads()) == {2}


def test_scan_workers_run_blas_on_one_thread():
    executor = pool.LocalPool(1, time_limit=None)
    try:
        ticket = executor.submit(_threads_in_worker, [(0, None)])
        ended: list = []
        deadline = time.monotonic() + 120   # bounds a hung worker only
        while not ended and time.monotonic() < deadline:
            ended = [outcome for t, outcome in executor.wait(1.0) if t == ticket]
        assert ended and ended[0] and set(ended[0]) == {1}
    finally:
        executor.shutdown()
