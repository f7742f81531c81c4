"""BLAS runs one thread inside the leakage phase and in the scan's workers, and only there."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from imagefactory import make_good_images
from inspector.core import pool
from inspector.core.blas import one_blas_thread_from_start
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


_PROGRAM_START = """
import json, os, sys
from inspector.cli import main
try:
    main(["scan", "--help"])            # the program's start: numpy is imported there
except SystemExit:
    pass
from threadpoolctl import threadpool_info
threads = [lib["num_threads"] for lib in threadpool_info() if lib["internal_api"] == "openblas"]
print(json.dumps([os.environ.get("OPENBLAS_NUM_THREADS"), threads, len(os.listdir("/proc/self/task"))]))
"""


def _program_start(env: dict[str, str]) -> list:
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", _PROGRAM_START], cwd=str(repo), env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the process's threads in /proc")
def test_the_program_starts_openblas_without_a_thread_of_its_own():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    setting, threads, tasks = _program_start(env)
    assert setting == "1"
    assert threads in ([1], [])            # [] where numpy's BLAS is not OpenBLAS
    assert tasks == 1                      # no BLAS thread started (it would spin ~0.1 CPU s)


def test_a_users_own_openblas_setting_is_kept():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["OPENBLAS_NUM_THREADS"] = "3"
    setting, _, _ = _program_start(env)
    assert setting == "3"


def test_code_that_imported_numpy_keeps_its_blas_threads(monkeypatch):
    import numpy  # noqa: F401  (imported already by the suite; a library user's process)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert one_blas_thread_from_start() is False
    assert "OPENBLAS_NUM_THREADS" not in os.environ
