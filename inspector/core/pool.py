"""Where chunks of files are decoded: local worker processes with a per-file time limit.

The seam between the scan and whatever runs its chunks is ``ChunkExecutor``: ``submit`` a
function and a chunk of items, get a ticket; ``wait`` returns the tickets that ended, each with
the function's result or a ``ChunkLost`` (the process running it died or was stopped); ``cancel``
drops everything in flight at once. The scan decides what to do with a lost chunk (blame a file,
re-run the others), so an executor only has to report honestly what happened.

``LocalPool`` is the executor of one machine. It differs from ``concurrent.futures``'s pool in
the three ways an untrusted dataset needs:
- a file that takes longer than ``time_limit`` seconds is stopped: its worker is killed (a C
  decoder cannot be interrupted any other way), reported as the chunk's culprit, and replaced;
- cancelling kills the workers that are busy instead of waiting for their decode to end;
- workers die with the parent, even on SIGKILL: ``PR_SET_PDEATHSIG`` on Linux when the pool is
  started from the main thread (the signal follows the thread that started the child), and
  everywhere a watchdog thread that exits when the parent is gone.

Each worker publishes, in shared memory, the ticket and item it is working on and when it began
(``time.monotonic``, the same clock in every process): the time limit costs no messages.
"""
from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait as wait_for
from typing import Any, Protocol

from .blas import limit_blas_for_good
from .memory import avoid_huge_pages, keep_freed_memory

DEFAULT_TIME_LIMIT = 30.0   # seconds per file
QUEUE_PER_WORKER = 2        # chunks handed to a worker at once: the next one waits in its pipe
CRASH_REASON = "the image decoder crashed on this file (worker process died)"
_IDLE = -1.0                # NO_ITEM as stored in the shared status
_PR_SET_PDEATHSIG = 1

# What a worker publishes: ticket, item index being measured (-1 between items), its start time.
_TICKET, _ITEM, _STARTED = 0, 1, 2

Mark = Callable[[int], None]  # called by the chunk function before each item: mark(item index)
# What a chunk function marks once its last item is measured and its work on the chunk as a whole
# begins (batched hashes, properties): that time is no file's, so no per-file limit runs on it
# (it reads as idle, as between chunks).
NO_ITEM = -1


@dataclass(frozen=True)
class ChunkLost:
    """A chunk that produced no result. ``item`` is the index the worker was measuring when it
    was lost (None: not inside an item, or unknown); ``reason`` is what a user reads;
    ``innocent``: the chunk never ran (its worker was stopped for another one)."""

    item: int | None
    reason: str
    innocent: bool = False


class ChunkExecutor(Protocol):
    """Runs chunk functions somewhere. One implementation per place (local processes, Dask)."""

    capacity: int  # chunks worth keeping in flight

    def submit(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> int:
        """Queue ``fn(items, *args)`` (an executor that can watch items passes ``mark=``, see
        ``Mark``); returns a ticket."""

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        """Tickets that ended within ``timeout`` seconds, with a result or a ``ChunkLost``."""

    def cancel(self) -> None:
        """Drop all work in flight now (never waits for it)."""


def no_mark(_: int) -> None:
    pass


def _ready(_items: Sequence[Any], mark: Mark = no_mark) -> None:
    return None


# ----------------------------------------------------------------------------- worker side

def _die_with_parent(parent: int, main_thread_parent: bool) -> None:
    if main_thread_parent and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the watchdog below still covers it

    def watchdog() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os._exit(1)  # the parent is gone: nobody wants our results

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watchdog, name="parent-watchdog", daemon=True).start()


def _worker_main(conn: Connection, status: Any, parent: int, main_thread_parent: bool) -> None:
    # Ctrl+C reaches the whole terminal's process group; the parent decides, workers stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker would inherit the CLI's handler
    _die_with_parent(parent, main_thread_parent)
    avoid_huge_pages()
    keep_freed_memory()  # each image's pixel memory reused by the next (memory.py)
    limited = False  # BLAS limited before the first chunk: a worker of a reopen never runs one

    def mark(item: int) -> None:
        status[_STARTED] = time.monotonic()  # time first: the parent reads the item, then the time
        status[_ITEM] = item

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        ticket, fn, items, args = task
        if not limited:  # two workers on two cores: BLAS threads would only spin (blas.py)
            limit_blas_for_good()
            limited = True
        status[_ITEM] = _IDLE
        status[_TICKET] = ticket
        try:
            outcome: Any = fn(items, *args, mark=mark)
        except Exception as exc:  # the chunk function keeps per-file errors; this is a bug
            outcome = ChunkLost(None, f"unexpected error in the worker: {type(exc).__name__}: {exc}")
        status[_ITEM] = _IDLE
        try:
            conn.send((ticket, outcome))
        except (BrokenPipeError, OSError):
            return


# ----------------------------------------------------------------------------- parent side

class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.status = ctx.RawArray("d", 3)
        self.status[_ITEM] = _IDLE
        self.status[_TICKET] = -1
        self.conn, child = ctx.Pipe(duplex=True)
        main = threading.current_thread() is threading.main_thread()
        self.process = ctx.Process(target=_worker_main, args=(child, self.status, os.getpid(), main),
                                   daemon=True, name="inspector-worker")
        self.process.start()
        child.close()
        self.tickets: deque[int] = deque()  # sent, in the order the worker runs them

    def running_item(self) -> tuple[int | None, float]:
        """The item of the chunk at the head of the queue being measured, and since when."""
        item = int(self.status[_ITEM])
        started = self.status[_STARTED]
        if item < 0 or not self.tickets or int(self.status[_TICKET]) != self.tickets[0]:
            return None, 0.0
        return item, started

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to exit; kill it if it does not promptly."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=1)
        self.kill()


class LocalPool:
    """Worker processes on this machine (spawned: the window's process holds Qt threads, which
    a fork would copy in a broken state). Kept between scans, so a rescan skips start-up."""

    def __init__(self, workers: int, time_limit: float | None = DEFAULT_TIME_LIMIT) -> None:
        self.size = workers
        self.time_limit = time_limit
        self.capacity = workers * QUEUE_PER_WORKER
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._next_ticket = 0
        self._lost: list[tuple[int, ChunkLost]] = []

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def _least_busy(self) -> _Worker:
        self._workers = [w for w in self._workers if w.process.is_alive() or w.tickets]
        idle = [w for w in self._workers if not w.tickets]
        if idle:
            return idle[0]
        if len(self._workers) < self.size:
            self._workers.append(_Worker(self._ctx))
            return self._workers[-1]
        return min(self._workers, key=lambda w: len(w.tickets))

    def submit(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> int:
        ticket = self._next_ticket
        self._next_ticket += 1
        worker = self._least_busy()
        worker.tickets.append(ticket)
        try:
            worker.conn.send((ticket, fn, items, args))
        except OSError:  # died since: the next wait() reports its tickets as lost
            pass
        return ticket

    def wait(self, timeout: float) -> list[tuple[int, Any]]:
        ended, self._lost = self._lost, []
        if ended:
            return ended
        busy = [w for w in self._workers if w.tickets]
        if not busy:
            return []
        timeout = min(timeout, self._time_to_next_deadline(busy))
        ready = wait_for([w.conn for w in busy] + [w.process.sentinel for w in busy], max(0.0, timeout))
        for w in busy:
            if w.conn in ready:
                try:
                    while w.conn.poll():
                        ticket, outcome = w.conn.recv()
                        w.tickets.remove(ticket)
                        ended.append((ticket, outcome))
                except (EOFError, OSError):
                    pass  # it died mid-message: the sentinel below tells
            if w.tickets and not w.process.is_alive():
                ended += self._drop(w, None)
        ended += self._enforce_time_limit()
        return ended

    def _time_to_next_deadline(self, busy: list[_Worker]) -> float:
        if self.time_limit is None:
            return float("inf")
        starts = [started for w in busy for item, started in [w.running_item()] if item is not None]
        if not starts:
            return self.time_limit
        return min(starts) + self.time_limit - time.monotonic() + 0.01

    def _enforce_time_limit(self) -> list[tuple[int, ChunkLost]]:
        if self.time_limit is None:
            return []
        out: list[tuple[int, ChunkLost]] = []
        now = time.monotonic()
        for w in list(self._workers):
            item, started = w.running_item()
            if item is not None and now - started > self.time_limit:
                reason = (f"decoding took longer than the {self.time_limit:g} s time limit; "
                          "stopped (the file may be a decompression trap)")
                out += self._drop(w, ChunkLost(item, reason))
        return out

    def _drop(self, w: _Worker, head: ChunkLost | None) -> list[tuple[int, ChunkLost]]:
        """Kill ``w`` and report its chunks: the running one with the culprit, the queued as lost."""
        if head is None:  # it died by itself: blame the item it was on, if it was on one
            item, _ = w.running_item()
            head = ChunkLost(item, CRASH_REASON)
        w.kill()
        tickets = list(w.tickets)
        w.tickets.clear()
        self._workers.remove(w)
        return [(t, head if k == 0 else ChunkLost(None, "worker stopped before this chunk ran", innocent=True))
                for k, t in enumerate(tickets)]

    def start_forked(self) -> int:
        """Start the workers not running yet by forking this process (``forking_is_safe``): they
        begin with every module already imported here instead of importing numpy, Pillow and
        pyarrow again in a new interpreter. Workers started later (a replacement) are spawned."""
        ctx = multiprocessing.get_context("fork")
        started = 0
        while len(self._workers) < self.size:
            self._workers.append(_Worker(ctx))
            started += 1
        return started

    def warm(self) -> None:
        """Start every worker and wait until each is ready (benchmarks time the work, not start-up)."""
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self._ctx))
        waiting = set()
        for w in self._workers:
            ticket = self._next_ticket
            self._next_ticket += 1
            w.tickets.append(ticket)
            w.conn.send((ticket, _ready, [], ()))
            waiting.add(ticket)
        while waiting:
            waiting -= {ticket for ticket, _ in self.wait(1.0)}

    def resize(self, workers: int, time_limit: float | None) -> None:
        """Use up to ``workers`` processes from now on; idle ones beyond that exit."""
        self.size, self.time_limit, self.capacity = workers, time_limit, workers * QUEUE_PER_WORKER
        for w in [w for w in self._workers[workers:] if not w.tickets]:
            w.stop()
            self._workers.remove(w)

    def cancel(self) -> None:
        for w in [w for w in self._workers if w.tickets]:
            w.tickets.clear()
            w.kill()
            self._workers.remove(w)
        self._lost.clear()

    def shutdown(self) -> None:
        for w in self._workers:
            if w.tickets:
                w.kill()
            else:
                w.stop()
        self._workers.clear()


_POOL: LocalPool | None = None
_POOL_LOCK = threading.Lock()
_POOL_IN_USE = False


def local_pool(workers: int, time_limit: float | None = DEFAULT_TIME_LIMIT) -> LocalPool:
    """The process's pool, resized and re-limited as asked (live idle workers are kept)."""
    global _POOL
    if _POOL is None:
        _POOL = LocalPool(workers, time_limit)
    _POOL.resize(workers, time_limit)
    return _POOL


def forking_is_safe() -> bool:
    """Whether this process can fork workers: Linux, no other Python thread and no Qt loaded (a
    fork copies another thread's held locks in their state; the window's process holds Qt's)."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
            and not any(name in sys.modules for name in ("PySide6", "PyQt6", "PyQt5", "PySide2")))


def prestart_workers(workers: int, time_limit: float | None = DEFAULT_TIME_LIMIT) -> int:
    """For the CLI, before it lists the dataset: the shared pool's ``workers`` processes forked
    now, when that is safe (``forking_is_safe``), so a spawned interpreter's start (about 0.3 CPU
    s and more of wall time each, most of a 1% rescan's decoding) is not paid and the workers are
    ready when the first files to decode are known. Returns how many were started (0: not safe,
    or running already); a scan that needs fewer stops the rest (``LocalPool.resize``)."""
    if not forking_is_safe():
        return 0
    return local_pool(workers, time_limit).start_forked()


def started_workers() -> int:
    """Worker processes the process's shared pool has started (a scan may use them for free)."""
    return 0 if _POOL is None else len(_POOL.pids)


@contextmanager
def pool_for_scan(workers: int, time_limit: float | None = DEFAULT_TIME_LIMIT) -> Iterator[LocalPool]:
    """A pool serves one scan at a time: the process's shared pool when no other scan holds it
    (a rescan skips start-up), else a private one for this scan, stopped after it. (A new folder
    opened in the window starts its scan while the superseded one is still winding down.)"""
    global _POOL_IN_USE
    with _POOL_LOCK:
        shared = not _POOL_IN_USE
        if shared:
            _POOL_IN_USE = True
            pool = local_pool(workers, time_limit)
    if not shared:
        pool = LocalPool(workers, time_limit)
    try:
        yield pool
    finally:
        if shared:
            with _POOL_LOCK:
                _POOL_IN_USE = False
        else:
            pool.shutdown()


def current_pool() -> LocalPool | None:
    """The process's pool as it is (None before the first scan), for inspection."""
    return _POOL


def shutdown_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.shutdown()
        _POOL = None


atexit.register(shutdown_pool)
