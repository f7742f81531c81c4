"""The scan progress strip: overall and per-split progress, rate, ETA, failures so far, Cancel."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ..core.scan import ScanProgress
from .theme import split_color


def clock(seconds: float | None) -> str:
    """0:42, 12:03, 1:02:03; '--:--' while unknown."""
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressPanel(QFrame):
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressPanel")
        self.overall = QProgressBar()
        self.overall.setFormat("%v / %m images (%p%)")
        self.overall.setToolTip("Files decoded and measured so far, all splits together")
        self.status = QLabel()
        self.status.setToolTip("Scan rate, estimated time left and files that failed so far")
        self.current = QLabel()
        self.current.setObjectName("muted")
        self.current.setMinimumWidth(80)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan (Esc). The statistics so far stay on screen, marked partial.")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self._split_row = QHBoxLayout()
        self._split_row.setSpacing(10)
        self._split_bars: dict[str, QProgressBar] = {}

        top = QHBoxLayout()
        top.addWidget(QLabel("Scanning"))
        top.addWidget(self.overall, 1)
        top.addWidget(self.status)
        top.addWidget(self.cancel_button)
        bottom = QHBoxLayout()
        bottom.addLayout(self._split_row)
        bottom.addWidget(self.current, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(bottom)
        self.setVisible(False)

    def start(self, root: str) -> None:
        self._clear_splits()
        self.overall.setRange(0, 0)  # busy indicator while the folder is being listed
        self.status.setText("listing files…")
        self.current.setText(root)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def update_progress(self, p: ScanProgress) -> None:
        self.overall.setRange(0, max(1, p.total))
        self.overall.setValue(p.done)
        rate = p.done / p.elapsed if p.elapsed > 0 else 0.0
        failed = f" · {p.failed:,} failed" if p.failed else ""
        self.status.setText(f"{rate:,.0f} img/s · ETA {clock(p.eta)} · {clock(p.elapsed)} elapsed{failed}")
        for k, (split, (done, total)) in enumerate(p.per_split.items()):
            bar = self._split_bars.get(split)
            if bar is None:
                bar = self._add_split(split, k)
            bar.setRange(0, max(1, total))
            bar.setValue(done)
            bar.setFormat(f"{split} {done:,}/{total:,}")
        if p.current:
            metrics = QFontMetrics(self.current.font())
            self.current.setText(metrics.elidedText(p.current, Qt.TextElideMode.ElideMiddle,
                                                    max(80, self.current.width())))

    def set_phase(self, text: str) -> None:
        self.overall.setRange(0, 0)
        self.status.setText(text)
        self.current.setText("")

    def finish(self) -> None:
        self.setVisible(False)

    def _add_split(self, split: str, k: int) -> QProgressBar:
        bar = QProgressBar()
        bar.setTextVisible(True)
        bar.setFixedWidth(170)
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
