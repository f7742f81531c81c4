"""The scan controller: runs the session's scan in a ``ScanWorker`` and feeds the session.

Only the current worker may change the session. Opening another folder or rescanning abandons
the running worker (it stops at its next check), and every late signal of an abandoned worker is
dropped here, so a slow old scan can never replace a newer one's statistics (tested with a
worker whose signals arrive after it was superseded). Live statistics are coalesced by a short
timer so a flood of progress records cannot starve the event loop.

Signals, for what the session does not hold:
    progress(ScanProgress)   every forwarded progress record
    live(ScanProgress)       coalesced records with live statistics
    phaseText(str)           what the worker does now (the leakage search)
    failed(str)              the folder could not be scanned (user-facing message)
    ended()                  the worker thread has finished (the session's phase tells how)
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..app.cluster_link import ClusterLink
from ..app.session import Session
from ..core.cache import default_cache_dir
from ..core.layout import DatasetLayout
from ..core.scan import ScanProgress, ScanResult
from .worker import ScanWorker, WorkerRunner

LIVE_UPDATE_MS = 150          # coalescing delay for live statistics (they arrive every 0.5 s)
START_DELAY_MS = 30           # the cleared window repaints before the scan thread starts


class ScanController(QObject):
    progress = Signal(object)
    live = Signal(object)
    phaseText = Signal(str)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, session: Session, runner: WorkerRunner, *, workers: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.workers = workers
        self.cluster = ClusterLink()  # the Dask cluster the scans run on, when the user set one
        self.use_cache = True         # scans reuse the records stored in the default cache folder
        self.worker: ScanWorker | None = None
        self.last_partial: ScanProgress | None = None   # the newest live statistics shown
        self._pending_live: ScanProgress | None = None
        self._leakage_error: str | None = None
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_UPDATE_MS)
        self._live_timer.timeout.connect(self._apply_live)

    @property
    def scanning(self) -> bool:
        """True while a scan or its leakage search runs (the thread winds down a moment later)."""
        return self.worker is not None and self.session.scanning

    def start(self) -> None:
        """Scan ``session.root`` (the session has just been opened on it)."""
        root = self.session.root
        assert root is not None
        self.stop()
        worker = ScanWorker(root, workers=self.workers, source_splits=self.session.source or None,
                            cluster_link=self.cluster,
                            cache_dir=default_cache_dir() if self.use_cache else None)
        worker.layoutFound.connect(self._on_layout)
        worker.progress.connect(self._on_progress)
        worker.scanned.connect(self._on_scanned)
        worker.phase.connect(self._on_phase)
        worker.finished.connect(self._on_finished)
        worker.leakageFailed.connect(self._on_leakage_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.ended.connect(self._on_ended)
        self.worker = worker
        self.last_partial = None
        self._leakage_error = None
        # Start the thread a moment later: the window first repaints its cleared views without
        # competing with the folder listing for the GIL (that overlap was the longest stall).
        QTimer.singleShot(START_DELAY_MS, self, lambda: self._launch(worker))

    def _launch(self, worker: ScanWorker) -> None:
        if worker is self.worker:  # else superseded before it started: drop it
            self.runner.start(worker, on_error=self._on_error)

    def cancel(self) -> bool:
        """Ask the running scan to stop; the session hears when it has (phase CANCELLED)."""
        if self.worker is None:
            return False
        self.worker.abort()
        return True

    def stop(self) -> None:
        """Abandon the current scan: it stops at its next check and its late signals are dropped."""
        if self.worker is not None:
            self.worker.abort()
        self.worker = None
        self._live_timer.stop()
        self._pending_live = None

    def take_partial(self) -> ScanProgress | None:
        """The newest live statistics (shown or still waiting for the timer), for a cancelled scan."""
        p = self._pending_live or self.last_partial
        self._pending_live = None
        self._live_timer.stop()
        return p

    # ------------------------------------------------------------------ worker slots

    def _current(self) -> ScanWorker | None:
        sender = self.sender()
        return sender if sender is not None and sender is self.worker else None  # type: ignore[return-value]

    @Slot(object)
    def _on_layout(self, layout: DatasetLayout) -> None:
        if self._current():
            self.session.set_layout(layout)

    @Slot(object)
    def _on_progress(self, p: ScanProgress) -> None:
        worker = self._current()
        if worker is None or worker.aborted:  # records queued before a cancel
            return
        self.progress.emit(p)
        if p.partial is not None:
            self._pending_live = p
            if not self._live_timer.isActive():
                self._live_timer.start()

    @Slot()
    def _apply_live(self) -> None:
        p, self._pending_live = self._pending_live, None
        if p is None or p.partial is None or self.worker is None:
            return
        self.last_partial = p
        self.live.emit(p)

    @Slot(str)
    def _on_phase(self, text: str) -> None:
        if self._current():
            self.phaseText.emit(text)

    @Slot(object)
    def _on_scanned(self, result: ScanResult) -> None:
        if not self._current():
            return
        self._live_timer.stop()
        self._pending_live = None
        self.session.set_result(result)

    @Slot(str)
    def _on_leakage_failed(self, message: str) -> None:
        if self._current():
            self._leakage_error = message

    @Slot(object, object)
    def _on_finished(self, result: ScanResult, findings: list | None) -> None:
        if not self._current() or result is not self.session.result:
            return
        self.session.set_findings(findings, self._leakage_error)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        if not self._current():
            return
        self.session.fail()
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        if self._current() and self.session.scanning:
            self.session.cancel()

    @Slot()
    def _on_ended(self) -> None:
        if not self._current():
            return
        self.worker = None
        if self.session.scanning:  # ended without a word (cannot happen today): not left "scanning"
            self.session.cancel()
        self.ended.emit()


