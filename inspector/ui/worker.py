"""Workers that run core code off the GUI thread and report through Qt signals (superqt pattern).

``Worker.run()`` is a fixed template: ``started``, then ``work()``, any exception routed to
``errored``, ``cancelled`` when aborted, and ``ended`` always last (it stops the thread).
The scan job itself is Qt-free (``app.scan_job.run_scan_job``); the abort flag is checked between
the core scan's progress records, and closing the scan shuts the process pool down. Workers never touch widgets: every signal crosses to
the GUI thread queued, and slots there do the drawing.

``WorkerRunner`` keeps running workers and their threads referenced (a QThread collected while
running aborts the process) and, on shutdown, asks them to stop and waits with a time limit.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..app.cluster_link import ClusterLink
from ..app.scan_job import ScanCallbacks, UserFacingError, lower_thread_priority, run_scan_job


class Worker(QObject):
    """Base worker: subclasses implement ``work()`` and check ``aborted`` between steps."""

    started = Signal()
    errored = Signal(str)
    cancelled = Signal()
    ended = Signal()  # always last, whatever happened

    def __init__(self) -> None:
        super().__init__()
        self._abort = threading.Event()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    def abort(self) -> None:
        """Ask the work to stop at its next check (thread-safe; called from the GUI thread)."""
        self._abort.set()

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            self.work()
            if self.aborted:
                self.cancelled.emit()
        except UserFacingError as exc:
            self.errored.emit(str(exc))
        except Exception as exc:  # routed to the GUI; the traceback goes to stderr for bug reports
            traceback.print_exc(file=sys.stderr)
            self.errored.emit(f"Unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.ended.emit()

    def work(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ScanWorker(Worker):
    """Discover ROOT, run the core scan, then the leakage search, in the worker thread.

    Signals: ``layoutFound(DatasetLayout)`` once the files are listed, ``progress(ScanProgress)``
    throttled, ``scanned(ScanResult)`` when the statistics are final, ``phase(str)`` for the leakage
    search that follows (seconds on big datasets), ``finished(ScanResult, findings)``, and
    ``leakageFailed(str)`` (then ``finished`` carries ``findings=None``: the statistics survive).
    """

    layoutFound = Signal(object)
    progress = Signal(object)
    scanned = Signal(object)            # the ScanResult, as soon as the statistics are final
    phase = Signal(str)
    finished = Signal(object, object)   # findings is None when the leakage search itself failed
    leakageFailed = Signal(str)

    def __init__(self, root: str, *, workers: int | None = None,
                 source_splits: Sequence[str] | None = None, cluster_link: ClusterLink | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.root = root
        self.workers = workers
        self.cluster_link = cluster_link
        self.source_splits = list(source_splits) if source_splits else None

    def work(self) -> None:
        report = ScanCallbacks(layout=self.layoutFound.emit, progress=self.progress.emit,
                               scanned=self.scanned.emit, phase=self.phase.emit,
                               finished=self.finished.emit, leakage_failed=self.leakageFailed.emit)
        run_scan_job(self.root, workers=self.workers, source_splits=self.source_splits,
                     should_cancel=lambda: self.aborted, report=report, cluster_link=self.cluster_link,
                     cache_dir=self.cache_dir)


class CallWorker(Worker):
    """Run one function off the GUI thread: ``returned(value)`` with its result."""

    returned = Signal(object)

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs

    def work(self) -> None:
        lower_thread_priority()  # background work (leakage re-check, export, demo): the GUI comes first
        value = self._fn(*self._args, **self._kwargs)
        if not self.aborted:
            self.returned.emit(value)


class WorkerRunner(QObject):
    """Starts workers in their own QThread and keeps both referenced until the work has ended.

    Slots connected to worker signals must be bound methods of QObjects living in the GUI thread
    (never lambdas): PySide6 runs a receiver-less callable in the emitting thread, which would
    touch widgets from the worker thread.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Worker, QThread] = {}

    def start(self, worker: Worker, *, on_error: Callable[[str], None] | None = None) -> Worker:
        thread = QThread()
        thread.setObjectName(type(worker).__name__)
        worker.moveToThread(thread)
        # With no error handler the error is raised on the GUI thread, never swallowed (superqt).
        worker.errored.connect(on_error if on_error is not None else self._unhandled_error)
        thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and a queued quit would never run while stop_all() waits.
        worker.ended.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.ended.connect(self._on_ended)  # queued: after every signal the worker sent before
        self._running[worker] = thread
        thread.start()
        return worker

    @Slot()
    def _on_ended(self) -> None:
        worker = self.sender()
        thread = self._running.pop(worker, None)  # type: ignore[arg-type]
        if thread is not None:
            thread.wait(2000)  # run() has returned; the thread is only leaving its event loop

    @Slot(str)
    def _unhandled_error(self, message: str) -> None:
        raise RuntimeError(message)

    @property
    def running(self) -> list[Worker]:
        return list(self._running)

    def stop_all(self, timeout_ms: int = 5000) -> bool:
        """Abort every worker and wait (one shared time limit). True when all threads have stopped."""
        for worker in self._running:
            worker.abort()
        deadline = time.monotonic() + timeout_ms / 1000
        ok = True
        for worker, thread in list(self._running.items()):
            left = max(0, int((deadline - time.monotonic()) * 1000))
            if thread.wait(left):
                self._running.pop(worker, None)
            else:
                ok = False
                # Keep the QThread referenced for ever: destroying a running one aborts the process.
                _ORPHANS.append((worker, thread))
        return ok


_ORPHANS: list[tuple[Worker, QThread]] = []
