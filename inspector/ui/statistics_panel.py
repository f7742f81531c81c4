"""The Statistics tab: split table, the normalization numbers that get exported, histograms, and
image properties (sizes, modes, formats, failures, skipped)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..core.scan import ScanResult
from ..core.stats import SplitStats
from .histogram_plot import HistogramPlot
from .properties_view import PropertiesView
from .split_table import SplitTable
from .splitters import side_by_side

NORM_TIP = ("The mean and std written to the export and the snippets: pixel-weighted over every "
            "pixel of the source split(s), population std (ddof=0). 0–1 scale = after ToTensor(); "
            "0–255 scale = raw 8-bit values.")


def _vec(values: Sequence[float], scale: float = 1.0, digits: int = 4) -> str:
    return "[" + ", ".join(f"{v * scale:.{digits}f}" for v in values) + "]"


HISTOGRAMS_MIN_HEIGHT = 450  # three channel plots with readable axes


class StatisticsPanel(QWidget):
    leakageLinkActivated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Per-split statistics")
        title.setObjectName("sectionTitle")
        self.state_label = QLabel()
        self.state_label.setObjectName("muted")
        # Takes the free width of the header line (clipped, never wrapped, never widening the window).
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state_label.setMinimumWidth(80)
        self.badge = QLabel()
        self.badge.setObjectName("leakageBadge")
        self.badge.setTextFormat(Qt.TextFormat.RichText)
        self.badge.linkActivated.connect(lambda _link: self.leakageLinkActivated.emit())
        self.badge.setVisible(False)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addWidget(self.state_label, 1)
        head.addWidget(self.badge)

        self.table = SplitTable()
        self.norm_label = QLabel()
        self.norm_label.setToolTip(NORM_TIP)
        self.norm_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.norm_label.setWordWrap(True)
        self.histograms = HistogramPlot()
        self.properties = PropertiesView()
        self.splitter = side_by_side("statsSplitter", self.histograms, self.properties, (3, 2))
        self.splitter.setMinimumHeight(HISTOGRAMS_MIN_HEIGHT)  # three readable channel plots, always

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(head)
        layout.addWidget(self.table)
        layout.addWidget(self.norm_label)
        layout.addWidget(self.splitter, 1)
        self.set_state("No dataset scanned yet")
        self.set_normalization(None)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt naming)
        # In its scroll area (main_window._scrolling) the panel fills the tab and scrolls only below
        # its minimum height; a height-for-width answer (the wrapped labels' preferred heights)
        # would make it scroll in windows where everything fits.
        return False

    def set_live(self, stats: Mapping[str, SplitStats], mode: str, done: int, total: int) -> None:
        """Partial statistics while the scan runs."""
        self.table.set_stats(stats, mode, partial=True)
        self.histograms.set_stats(stats, mode, live=True)
        self.properties.set_stats(stats)
        self.set_state(f"live: {done:,} of {total:,} files scanned, numbers will change")

    def set_result(self, result: ScanResult | None) -> None:
        if result is None:
            self.table.set_stats(None)
            self.histograms.set_stats(None)
            self.properties.set_result(None)
            self.set_state("No dataset scanned yet")
            return
        self.table.set_stats(result.split_stats, result.mode)
        self.histograms.set_stats(result.split_stats, result.mode)
        self.properties.set_result(result)
        pixels = sum(st.pixels for st in result.split_stats.values())
        self.set_state(f"exact, over {pixels:,} pixels per channel · mode {result.mode} · "
                       f"{result.elapsed:.1f} s with {result.workers} worker process"
                       f"{'es' if result.workers != 1 else ''}")

    def set_state(self, text: str) -> None:
        self.state_label.setText(text)

    def set_normalization(self, source: Sequence[str] | None, mean: Sequence[float] | None = None,
                          std: Sequence[float] | None = None, max_value: int = 255,
                          problem: str | None = None) -> None:
        if problem:
            self.norm_label.setText(f"<b>Normalization:</b> {problem}")
            return
        if not source or mean is None or std is None:
            self.norm_label.setText("<b>Normalization:</b> available when the scan has finished.")
            return
        src = " + ".join(source)
        self.norm_label.setText(
            f"<b>Normalization for export and snippets</b> (from <b>{src}</b>): "
            f"mean {_vec(mean)} · std {_vec(std)} on the 0–1 scale; "
            f"mean {_vec(mean, max_value, 2)} · std {_vec(std, max_value, 2)} on the 0–{max_value} scale")

    def set_leakage_errors(self, total: int, by_split: Mapping[str, int]) -> None:
        self.table.set_leakage_errors(by_split)
        self.badge.setVisible(total > 0)
        if total:
            self.badge.setText(f"⚠ {total} leakage error{'s' if total != 1 else ''} between splits: "
                               "<a href='#leakage'>show</a>")
            self.badge.setToolTip("Duplicates between train and test inflate the test score. "
                                  "Open the Leakage tab (Ctrl+4) for the files involved.")
