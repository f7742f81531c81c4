"""The dataset strip under the toolbar: scan progress (overall and per split, rate, ETA, failures so
far, Cancel) while a scan runs, a one-line summary of the dataset otherwise.

The strip never changes height: the two states are pages of a stacked widget. Showing and hiding
a strip at the start and end of every scan would re-lay out and repaint the whole window (the
histograms included) exactly when the scan competes for the CPU.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from ..core.formatting import clock
from ..core.scan import ScanProgress
from .theme import split_color

IDLE_HINT = ("No dataset open: File ▸ Open Folder (Ctrl+O), drop a folder on the window, or "
             "File ▸ Open Demo Dataset.")


class ProgressPanel(QFrame):
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressPanel")
        self.overall = QProgressBar()
        self.overall.setFormat("%v / %m images (%p%)")
        self.overall.setToolTip("Files decoded and measured so far, all splits together")
        self.overall.setMinimumWidth(90)
        self.status = QLabel()
        self.status.setToolTip("Scan rate, estimated time left and files that failed so far")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setMinimumWidth(120)
        self.current = QLabel()
        self.current.setObjectName("muted")
        self.current.setMinimumWidth(80)
        self.current.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.workers = QLabel()  # per-worker counts of a Dask scan; hidden for local scans
        self.workers.setObjectName("muted")
        self.workers.setMinimumWidth(60)
        self.workers.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.workers.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan (Esc). The statistics so far stay on screen, marked partial.")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self._split_row = QHBoxLayout()
        self._split_row.setSpacing(10)
        self._split_bars: dict[str, QProgressBar] = {}

        busy = QWidget()
        row = QHBoxLayout(busy)  # one row: the strip stays as short as the summary line
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Scanning"))
        row.addWidget(self.overall, 3)
        row.addLayout(self._split_row, 3)
        row.addWidget(self.status, 3)
        row.addWidget(self.current, 2)
        row.addWidget(self.workers, 2)
        row.addWidget(self.cancel_button)

        self.summary = QLabel(IDLE_HINT)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._stack = QStackedWidget()
        self._stack.addWidget(self.summary)  # 0: idle
        self._stack.addWidget(busy)          # 1: scanning
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self._stack)
        margins = layout.contentsMargins()
        self.setFixedHeight(busy.sizeHint().height() + margins.top() + margins.bottom())

    @property
    def busy(self) -> bool:
        return self._stack.currentIndex() == 1

    def start(self, root: str) -> None:
        self._clear_splits()
        self.overall.setRange(0, 0)  # busy indicator while the folder is being listed
        self.overall.setValue(0)
        self.status.setText("listing files…")
        self.workers.hide()
        self.current.setText(root)
        self.cancel_button.setEnabled(True)
        self._stack.setCurrentIndex(1)

    def update_progress(self, p: ScanProgress) -> None:
        self.overall.setRange(0, max(1, p.total))
        self.overall.setValue(p.done)
        # %v / %m would print 2000, where the rest of the window says 2,000
        self.overall.setFormat(f"{p.done:,} / {p.total:,} images ({100 * p.done // max(1, p.total)}%)")
        rate = p.done / p.elapsed if p.elapsed > 0 else 0.0
        failed = f" · {p.failed:,} failed" if p.failed else ""
        self.status.setText(f"{rate:,.0f} img/s · ETA {clock(p.eta)} · {clock(p.elapsed)} elapsed{failed}")
        for k, (split, (done, total)) in enumerate(p.per_split.items()):
            bar = self._split_bars.get(split)
            if bar is None:
                bar = self._add_split(split, k)
            bar.setRange(0, max(1, total))
            bar.setValue(done)
            bar.setFormat(_fitting(bar, [f"{split} {done:,}/{total:,}", f"{split} {100 * done // max(total, 1)}%",
                                         f"{100 * done // max(total, 1)}%"]))
        if p.per_worker:
            self._show_workers(p.per_worker)
        if p.current:
            metrics = QFontMetrics(self.current.font())
            self.current.setText(metrics.elidedText(p.current, Qt.TextElideMode.ElideMiddle,
                                                    max(80, self.current.width())))

    def _show_workers(self, per_worker: dict[str, int]) -> None:
        """Images done per cluster worker: counts in the strip, each worker's address in the tip."""
        counts = sorted(per_worker.items())
        text = f"{len(counts)} worker{'s' if len(counts) != 1 else ''}: " + " · ".join(f"{n:,}" for _, n in counts)
        metrics = QFontMetrics(self.workers.font())
        self.workers.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(60, self.workers.width())))
        self.workers.setToolTip("Images measured by each Dask worker:\n" + "\n".join(
            f"{address.removeprefix('tcp://')}: {n:,}" for address, n in counts))
        self.workers.show()

    def set_phase(self, text: str) -> None:
        self.overall.setRange(0, 0)
        self.status.setText(text)
        self.current.setText("")

    def finish(self, summary: str | None = None) -> None:
        """Back to the one-line summary (kept as is when ``summary`` is None)."""
        if summary is not None:
            self.summary.setText(summary)
        self._stack.setCurrentIndex(0)

    def set_summary(self, summary: str) -> None:
        self.summary.setText(summary)

    def _add_split(self, split: str, k: int) -> QProgressBar:
        bar = QProgressBar()
        bar.setTextVisible(True)
        bar.setMinimumWidth(70)  # squeezable: the strip must never set the window's minimum width
        bar.setMaximumWidth(210)
        bar.setMaximumHeight(16)
        bar.setToolTip(f"Files of the {split} split done / total")
        bar.setStyleSheet(f"QProgressBar::chunk {{ background: {split_color(split, k).name()}; }}"
                          "QProgressBar { text-align: center; }")
        self._split_row.addWidget(bar)
        self._split_bars[split] = bar
        return bar

    def _clear_splits(self) -> None:
        for bar in self._split_bars.values():
            self._split_row.removeWidget(bar)
            bar.deleteLater()
        self._split_bars = {}

    def split_text(self, split: str) -> str:
        bar = self._split_bars.get(split)
        return bar.format() if bar else ""


def _fitting(bar: QProgressBar, texts: list[str]) -> str:
    """The first text that fits the bar's width (a narrow window gets "train 63%", not "ain 882/1,40")."""
    metrics = QFontMetrics(bar.font())
    room = bar.width() - 10
    return next((t for t in texts if metrics.horizontalAdvance(t) <= room), texts[-1])
