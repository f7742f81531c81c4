"""Workers that run core code off the GUI thread and report through Qt signals (superqt pattern).

``Worker.run()`` is a fixed template: ``started``, then ``work()``, any exception routed to
``errored``, ``cancelled`` when aborted, and ``ended`` always last (it stops the thread).
Long work is a generator (``core.scan.iter_scan``, driven by ``core.scan.scan``): the abort flag is checked between yields and
``gen.close()`` shuts the process pool down. Workers never touch widgets: every signal crosses to
the GUI thread queued, and slots there do the drawing.

``WorkerRunner`` keeps running workers and their threads referenced (a QThread collected while
running aborts the process) and, on shutdown, asks them to stop and waits with a time limit.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..core.layout import DatasetLayout, LayoutError, discover
from ..core.scan import ScanProgress, ScanResult, scan

# Fewer progress records than the core produces would hide nothing; more would only cost the GUI.
MIN_PROGRESS_INTERVAL = 0.08  # seconds between forwarded progress records without live statistics


class UserFacingError(Exception):
    """An error whose message is meant for the user as is (no traceback): a bad folder, say."""


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
                 source_splits: Sequence[str] | None = None) -> None:
        super().__init__()
        self.root = root
        self.workers = workers
        self.source_splits = list(source_splits) if source_splits else None

    def work(self) -> None:
        lower_thread_priority()
        try:
            layout = discover(self.root)
        except LayoutError as exc:
            raise UserFacingError(str(exc)) from None
        if not layout.files:
            raise UserFacingError(no_images_message(layout))
        self.layoutFound.emit(layout)
        if self.aborted:
            return
        result = self._scan(layout)
        if result is None or self.aborted:
            return
        self.scanned.emit(result)  # the window shows the statistics while the leakage search runs
        self.phase.emit("Checking for duplicates and leakage between splits…")
        findings: list | None
        try:
            findings = run_leakage(result, self.source_splits)
        except Exception as exc:  # keep the statistics: a failed leakage search must not lose the scan
            traceback.print_exc(file=sys.stderr)
            self.leakageFailed.emit(f"{type(exc).__name__}: {exc}")
            findings = None
        if not self.aborted:
            self.finished.emit(result, findings)

    def _scan(self, layout: DatasetLayout) -> ScanResult | None:
        last_emit = 0.0

        def forward(p: ScanProgress) -> None:
            nonlocal last_emit
            now = time.perf_counter()
            # Throttle: live statistics always pass (they come every 0.5 s), plain counts at most
            # every MIN_PROGRESS_INTERVAL, and the final record always.
            if p.partial is not None or now - last_emit >= MIN_PROGRESS_INTERVAL or p.done >= p.total:
                last_emit = now
                self.progress.emit(p)

        # Abort takes effect at the next progress record: the scan is closed, its queued work dropped.
        return scan(layout, workers=self.workers, on_progress=forward, should_cancel=lambda: self.aborted)


BACKGROUND_NICE = 10


def lower_thread_priority(increment: int = BACKGROUND_NICE) -> bool:
    """Run this worker thread, and the decoding processes it spawns, below the GUI's priority.

    On Linux the nice value belongs to the calling thread and is inherited by the processes it
    starts, so the GUI thread keeps full priority while the scan saturates every core: on a
    2-core machine the window then stays responsive instead of getting a third of a core.
    Elsewhere (macOS) it lowers the whole process, which costs nothing relative to the GUI.
    """
    if not hasattr(os, "nice") or not sys.platform.startswith("linux"):
        return False
    try:
        os.nice(increment)
        return True
    except OSError:
        return False


def no_images_message(layout: DatasetLayout) -> str:
    """The message for a folder with nothing to scan: what was found instead, and what we expect."""
    where = layout.root
    if not layout.skipped and not layout.broken:
        return (f"The folder {where} is empty: no image files were found. Expected train/, val/ and "
                "test/ folders (or a folder of images).")
    found = len(layout.skipped) + len(layout.broken)
    examples = ", ".join(s.path for s in (layout.skipped + layout.broken)[:3])
    return (f"No image files were found in {where}: {found} other entr{'y' if found == 1 else 'ies'} "
            f"skipped ({examples}{', …' if found > 3 else ''}). Images are .jpg .png .bmp .gif "
            ".tif .webp files in train/, val/ and test/ folders.")


def run_leakage(result: ScanResult, source_splits: Sequence[str] | None) -> list:
    """find_leakage with the split means; source_splits defaults to train (core default_source)."""
    from ..core.export import default_source
    from ..core.leakage import scan_leakage

    source = [s for s in (source_splits or []) if s in result.splits] or default_source(result)
    return scan_leakage(result, source)


def with_stats_source(findings: Sequence, source_splits: Sequence[str]) -> list:
    """The findings ``find_leakage(..., source_splits=source_splits)`` returns, derived from the
    findings of another source choice: only the stats_source finding depends on the source, so a
    change of source is instant instead of a new duplicate search (tens of seconds on 20k images)."""
    from ..core import leakage

    kept = [f for f in findings if f.kind != "stats_source"]
    return list(leakage.sort_findings(kept + leakage.stats_source_findings(list(source_splits))))


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
