"""Steps made on two cores (leakage/shared_passes.py): by two threads, or shared with a forked
child: every step's result once, the same as made here, and all of them made here when the child fails."""
from __future__ import annotations

import os

import numpy as np
import pytest

from inspector.core.leakage import shared_passes


def _step(k: int) -> tuple[int, np.ndarray, int]:
    return k, np.arange(k * 1000, dtype=np.int64) * k, os.getpid()


@pytest.fixture
def sharing(monkeypatch):
    if not shared_passes._CAN_FORK:
        pytest.skip("no fork here")
    monkeypatch.setattr(shared_passes, "_allowed", True)
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)


def test_without_a_child_and_with_one_thread_asked_the_steps_run_here_in_order(monkeypatch):
    monkeypatch.setattr(shared_passes, "_allowed", False)
    monkeypatch.setenv(shared_passes.THREADS_ENV, "1")
    got = list(shared_passes.each(_step, 5))
    assert [k for k, _ in got] == list(range(5)) and all(r[2] == os.getpid() for _, r in got)


def _threaded_step(k: int) -> tuple[int, np.ndarray, str]:
    import threading
    import time
    time.sleep(0.02 * (k % 3))   # steps of unequal cost: they finish out of order
    return k, np.arange(k * 1000, dtype=np.int64) * k, threading.current_thread().name


def test_without_a_child_two_threads_make_every_step_once(monkeypatch):
    monkeypatch.setattr(shared_passes, "_allowed", False)
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    monkeypatch.delenv(shared_passes.THREADS_ENV, raising=False)
    got = list(shared_passes.each(_threaded_step, 12))
    assert sorted(k for k, _ in got) == list(range(12))
    assert all(r[0] == k and np.array_equal(r[1], _step(k)[1]) for k, r in got)
    assert {r[2] for _, r in got} == {"search-pass_0", "search-pass_1"}   # both threads took steps


def test_on_one_core_the_steps_run_here_in_order(monkeypatch):
    import threading
    monkeypatch.setattr(shared_passes, "_allowed", False)
    monkeypatch.setattr(shared_passes, "_cores", lambda: 1)
    monkeypatch.delenv(shared_passes.THREADS_ENV, raising=False)
    got = list(shared_passes.each(_threaded_step, 5))
    assert [k for k, _ in got] == list(range(5)) and {r[2] for _, r in got} == {threading.current_thread().name}


def test_threaded_steps_closed_early_start_no_more(monkeypatch):
    import time
    monkeypatch.setattr(shared_passes, "_allowed", False)
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    monkeypatch.delenv(shared_passes.THREADS_ENV, raising=False)
    started = []

    def step(k: int) -> int:
        started.append(k)
        time.sleep(0.05)
        return k

    steps = shared_passes.each(step, 40)
    next(steps)
    steps.close()   # a cancel: the steps not started are dropped
    time.sleep(0.3)
    assert len(started) <= 4


def test_shared_steps_give_every_result_once_as_made_here(sharing):
    packed = []
    got = dict(shared_passes.each(_step, 40, lambda r: (r[0], r[1].astype(np.int32), r[2]),
                                  lambda k, p: packed.append(k) or (p[0], p[1].astype(np.int64), p[2])))
    assert sorted(got) == list(range(40))
    for k, (kk, values, pid) in got.items():
        assert kk == k and np.array_equal(values, _step(k)[1]) and values.dtype == np.int64
        assert (pid != os.getpid()) == (k in packed)   # a child's result comes through unpack


def test_a_failing_child_leaves_its_steps_to_this_process(sharing):
    parent = os.getpid()

    def step(k: int):
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return _step(k)

    got = dict(shared_passes.each(step, 12))
    assert sorted(got) == list(range(12)) and all(r[2] == parent for r in got.values())


def test_a_search_closed_early_stops_its_child(sharing, monkeypatch):
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    steps = shared_passes.each(_step, 50)
    next(steps)
    steps.close()   # the child is killed and waited for: it is not left behind
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)


def _two_threads(monkeypatch) -> None:
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    monkeypatch.delenv(shared_passes.THREADS_ENV, raising=False)


def _stream(k: int):
    """Pass k's items, of unequal cost: two threads finish them out of order."""
    import threading
    import time
    for i in range(k % 4):
        time.sleep(0.01 * ((k + i) % 3))
        yield k, i, threading.current_thread().name


def test_passes_read_in_order_are_the_one_thread_stream_made_by_two_threads(monkeypatch):
    _two_threads(monkeypatch)
    got = list(shared_passes.in_order(_stream, 14))
    assert [(k, i) for k, i, _ in got] == [(k, i) for k in range(14) for i in range(k % 4)]
    assert {name for _, _, name in got} == {"search-pass_0", "search-pass_1"}
    monkeypatch.setenv(shared_passes.THREADS_ENV, "1")   # one thread: made here, in order
    import threading
    assert list(shared_passes.in_order(_stream, 14)) == [(k, i, threading.current_thread().name)
                                                         for k in range(14) for i in range(k % 4)]


def test_passes_read_in_order_raise_a_pass_error_in_its_turn_and_stop_when_closed(monkeypatch):
    import time
    _two_threads(monkeypatch)

    def failing(k: int):
        yield k
        if k == 3:
            raise ValueError("pass 3")
        yield -k

    got = []
    with pytest.raises(ValueError, match="pass 3"):
        for item in shared_passes.in_order(failing, 8):
            got.append(item)
    assert got == [0, 0, 1, -1, 2, -2, 3]
    started = []

    def slow(k: int):
        started.append(k)
        for i in range(5):
            time.sleep(0.02)
            yield k, i

    items = shared_passes.in_order(slow, 30)
    next(items)
    items.close()   # a cancel: no pass starts after it, those running stop at their next item
    time.sleep(0.3)
    assert len(started) <= 3
