"""The Balance & Drift tab: the class-balance chart beside the per-split distribution of any
per-image property. It follows the session's result by itself (a new result redraws both, a new
dataset clears them)."""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..app.session import Session
from ..core.scan import ScanResult
from ..app.dataset_facts import decoded_class_counts
from ..core.validation import class_balance, failed_per_split
from .balance_chart import BalanceChart
from .property_overlay import PropertyOverlay
from .runner import BackgroundRunner
from .splitters import side_by_side


class ValidationPanel(QWidget):
    def __init__(self, session: Session, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.balance = BalanceChart()
        self.overlay = PropertyOverlay(runner)
        self.splitter = side_by_side("validationSplitter", self.balance, self.overlay, (1, 1))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        session.events.result.connect(self.set_result)

    def set_result(self, result: ScanResult | None) -> None:
        # the decoded images per class, as the statistics count them (one bincount per split),
        # and the files each split lost to decoding errors, which the chart names
        if result is None:
            self.balance.set_balance(None)
        else:
            self.balance.set_balance(class_balance(decoded_class_counts(result)),
                                     failed_per_split(result.failures, result.splits))
        self.overlay.set_table(None if result is None else result.images)

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        return self.overlay.wait_idle(timeout_ms)
