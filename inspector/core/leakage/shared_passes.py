"""Independent steps of a search made on two cores: by two threads, or by this process and one
forked child.

A rescan's candidate search (rescan.py) makes up to 12 passes that read the same inputs and none of
each other's results. By default two threads make them (``THREADS``), each taking the next pass
when it is free: a pass is mostly numpy sorts, searches and gathers over whole arrays, which run
without the GIL, so the two overlap for most of their time without a second process (measured on
the 1% rescan of 100,000 tiny PNGs, whole processes, three interleaved pairs at load 8-10: 3.62-3.73 s
against 4.19-4.86 s wall, 5.14-5.19 against 4.95-5.59 CPU s, the same export). The steps' results are
whatever order they finish in, so a caller places them by their number. $INSPECTOR_SEARCH_THREADS=1
makes them one after the other in the calling thread. The cold search's passes (candidates.py) are
streams of blocks read in pass order (``in_order``), made by two threads the same way.

Alternatively a forked child takes passes while this process takes others, and sends what it made
back through a pipe when it runs out. The passes are handed out as tokens in a pipe (one byte each,
in pass order; a read of one byte from a pipe is atomic), so whichever process is free takes the
next one: their costs vary with the data (a chunk with crowded buckets costs three times another)
and no fixed split balances them. Nothing depends on the child: when it fails, is killed or sends
something that does not unpickle, this process makes the passes it had taken itself, so the result
is the same in any case. It is used only where a fork is safe: on Linux, and only once a process
says so (``allow``: the command line does when $INSPECTOR_SHARED_PASSES is 1; the window's process
holds Qt threads, which a fork would copy in a broken state). Off by default: it cost about 0.35 CPU
s more than one process on the 1% rescan (load 12-18; the child's copy-on-write faults and the
pickled results), where the threads cost about nothing.
"""
from __future__ import annotations

import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

T = TypeVar("T")

ENV = "INSPECTOR_SHARED_PASSES"   # 1: the command line lets its search share passes with a child
THREADS_ENV = "INSPECTOR_SEARCH_THREADS"   # 1: the steps one after the other in the calling thread
THREADS = 2
_CAN_FORK = sys.platform.startswith("linux") and hasattr(os, "fork")
_allowed = False


def allow(enabled: bool = True) -> None:
    """Let this process share search passes with a forked child (see the module's doc)."""
    global _allowed
    _allowed = enabled


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def threads() -> int:
    """How many threads a search's passes are made by: THREADS, at most one a core, one with
    $INSPECTOR_SEARCH_THREADS=1."""
    return 1 if os.environ.get(THREADS_ENV) == "1" else min(THREADS, _cores())


def each(run: Callable[[int], Any], count: int, pack: Callable[[Any], Any] = lambda x: x,
         unpack: Callable[[int, Any], Any] = lambda k, x: x) -> Iterator[tuple[int, Any]]:
    """(k, run(k)) for every k < count, in no particular order: those this process made as it
    makes them, then the child's (``pack`` makes what it sends of a result, ``unpack(k, packed)``
    the result again here). Without a child (not allowed, one core, one step): in order, here."""
    if not (_CAN_FORK and _allowed and 2 <= count <= 255 and _cores() >= 2):
        yield from _threaded(run, count, min(threads(), count))
        return
    tokens_r, tokens_w = os.pipe()
    os.write(tokens_w, bytes(range(count)))
    os.close(tokens_w)   # an empty pipe then reads as its end
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns into the caller's code
        status = 1
        try:
            os.close(out_r)
            made = {k: pack(run(k)) for k in _taken(tokens_r)}
            payload = pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(out_w, "wb") as fh:
                fh.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(out_w)
    done: set[int] = set()
    try:
        for k in _taken(tokens_r):
            done.add(k)
            yield k, run(k)
        with os.fdopen(out_r, "rb") as fh:
            out_r = -1
            payload = fh.read()
        _, status = os.waitpid(pid, 0)
        pid = 0
        theirs = _unpickled(payload) if status == 0 else {}
        for k in range(count):
            if k in done:
                continue
            yield k, (unpack(k, theirs[k]) if k in theirs else run(k))  # the child's, or made here
    finally:
        os.close(tokens_r)
        if out_r >= 0:
            os.close(out_r)
        if pid:   # the search was closed (cancelled) before the child was done
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)


def _threaded(run: Callable[[int], Any], count: int, threads: int) -> Iterator[tuple[int, Any]]:
    """(k, run(k)) for every k < count, made by ``threads`` threads, as they finish (one thread: in
    order, in the calling thread). Closed early (a cancel), the steps not started are dropped and
    those running finish in their threads unwaited."""
    if threads < 2:
        for k in range(count):
            yield k, run(k)
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="search-pass")
    try:
        steps = {pool.submit(run, k): k for k in range(count)}
        for done in as_completed(steps):
            yield steps[done], done.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def in_order(make: Callable[[int], Iterator[T]], count: int, workers: int | None = None) -> Iterator[T]:
    """Every item of make(0), then of make(1), ... make(count - 1): the same stream as one thread
    makes, with the passes made by `workers` threads (default `threads()`), each taking the next
    pass when free, at most `workers` passes ahead of the one being read (what waits to be read is
    their items: a pass's blocks are small, memory stays bounded). The cold search's consumer
    sees its blocks in the order and grouping one thread gives, so its result is the same to the
    bit. An exception in a pass is raised here when its items are reached; closed early (a
    cancel), the passes stop at their next item and the threads are not waited for."""
    workers = threads() if workers is None else workers
    if workers < 2 or count < 2:
        for k in range(count):
            yield from make(k)
        return
    made: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(count)]
    reading = [0]                     # the pass being read
    turn = threading.Condition()
    stop = threading.Event()

    def run(k: int) -> None:
        with turn:                    # no further ahead than `workers` passes
            turn.wait_for(lambda: k < reading[0] + workers or stop.is_set())
        try:
            if not stop.is_set():
                for item in make(k):
                    made[k].put((True, item))
                    if stop.is_set():
                        break
        except BaseException as exc:  # raised to the reader in its turn
            made[k].put((False, exc))
            return
        made[k].put((False, None))

    pool = ThreadPoolExecutor(workers, thread_name_prefix="search-pass")
    try:
        for k in range(count):
            pool.submit(run, k)
        for k in range(count):
            with turn:
                reading[0] = k
                turn.notify_all()
            while True:
                more, item = made[k].get()
                if not more:
                    if item is not None:
                        raise item
                    break
                yield item
    finally:
        stop.set()
        with turn:
            turn.notify_all()
        pool.shutdown(wait=False, cancel_futures=True)


def _taken(tokens: int) -> Iterator[int]:
    """The steps this process takes, one token at a time, until none is left."""
    while True:
        got = os.read(tokens, 1)
        if not got:
            return
        yield got[0]


def _unpickled(payload: bytes) -> dict:
    try:
        made = pickle.loads(payload)
    except Exception:   # a child that died mid-write: its steps are made here
        return {}
    return made if isinstance(made, dict) else {}
