"""The background runner of the panels: every decode or per-image computation runs here, never on
the GUI thread, and the latest request wins.

Each client (the image preview, the normalization view) gets its own ``Lane``. A lane runs one job
at a time on the runner's thread pool and keeps at most one more waiting: a new request replaces
the waiting one (arrow keys held down in the image list decode only the image the user stops on),
and the answer of a superseded request is dropped on arrival. Answers come back to the GUI
thread through a queued signal; callbacks run there and may touch widgets. Jobs never do.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

Job = Callable[[], Any]
OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]

# A job whose lane was deleted while it ran stays referenced here until it has run; its answer
# then goes nowhere.
_IN_FLIGHT: set[_Task] = set()


class _Answer(QObject):
    arrived = Signal(int, bool, object)  # request, ok, value or exception


class _Task:
    """One request. Handed to the pool as a plain callable (``task.run``), which PySide releases
    once it has run: a QRunnable subclass started with autoDelete off stays referenced by the
    pool's wrapper for ever, and with it the job's closure (the scan result it displays), so every
    rescan used to keep the previous dataset alive."""

    def __init__(self, request: int, job: Job, answer: _Answer) -> None:
        self.request, self.job, self.answer = request, job, answer

    def run(self) -> None:
        try:
            value = self.job()
        except Exception as exc:  # handed to the client's on_error, in the GUI thread
            self.answer.arrived.emit(self.request, False, exc)
        else:
            self.answer.arrived.emit(self.request, True, value)


class Lane(QObject):
    """One client's queue: one job running, at most one waiting, the newest request wins."""

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._request = 0
        self._running: _Task | None = None
        self._waiting: tuple[_Task, OnDone, OnError] | None = None
        self._callbacks: dict[int, tuple[OnDone, OnError]] = {}
        self._answer = _Answer()
        self._answer.arrived.connect(self._on_answer)

    def submit(self, job: Job, on_done: OnDone, on_error: OnError) -> int:
        """Run ``job()`` off the GUI thread; ``on_done(value)`` or ``on_error(exc)`` follow in the
        GUI thread unless a newer request came first. Returns the request's number."""
        self._request += 1
        task = _Task(self._request, job, self._answer)
        if self._running is None:
            self._callbacks = {self._request: (on_done, on_error)}
            self._start(task)
        else:
            self._waiting = (task, on_done, on_error)  # replaces any older waiting request
        return self._request

    def cancel(self) -> None:
        """Forget every request: the waiting one never runs, the running one's answer is dropped."""
        self._request += 1
        self._waiting = None

    def is_current(self, request: int) -> bool:
        return request == self._request

    @property
    def busy(self) -> bool:
        return self._running is not None or self._waiting is not None

    def _start(self, task: _Task) -> None:
        self._running = task
        _IN_FLIGHT.add(task)
        self._pool.start(task.run)

    @Slot(int, bool, object)
    def _on_answer(self, request: int, ok: bool, value: object) -> None:
        if self._running is not None:
            _IN_FLIGHT.discard(self._running)
        self._running = None
        callbacks = self._callbacks.pop(request, None)
        if self._waiting is not None:
            task, on_done, on_error = self._waiting
            self._waiting = None
            self._callbacks = {task.request: (on_done, on_error)}
            self._start(task)
        if callbacks is None or request != self._request:
            return  # superseded while it ran
        on_done, on_error = callbacks
        if ok:
            on_done(value)
        else:
            on_error(value)  # type: ignore[arg-type]

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Drop the waiting request and wait for the running one (shutdown and tests)."""
        self._waiting = None
        return self._pool.waitForDone(timeout_ms)


class BackgroundRunner(QObject):
    """The thread pool behind the lanes: one thread per lane at most, so the preview and the
    normalization view never wait for each other."""

    MAX_THREADS = 2

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(self.MAX_THREADS)

    def lane(self, parent: QObject | None = None) -> Lane:
        return Lane(self._pool, parent)

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        return self._pool.waitForDone(timeout_ms)


_SHARED: BackgroundRunner | None = None


def shared_runner() -> BackgroundRunner:
    """The runner of widgets built on their own (tests, screenshots); the window passes its own."""
    global _SHARED
    if _SHARED is None:
        _SHARED = BackgroundRunner()
    return _SHARED
