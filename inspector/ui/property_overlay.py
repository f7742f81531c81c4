"""Per-split distributions of one per-image property, overlaid as stepped histograms on common
bins (the histograms' split colours), with each split's Kolmogorov-Smirnov D against train.

The bins, counts and statistics come from core.validation.overlay on the panel runner (never on
the GUI thread); this widget only draws them.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..core.table import ImageTable
from ..core.validation.drift import NUMERIC
from ..core.validation.findings import INFO_AT, P_VALUE
from ..core.validation.overlay import PropertyDistribution, display_bins, property_distribution
from .plot_theme import ThemedPlot
from .runner import BackgroundRunner
from .theme import SEVERITY_COLORS, split_color

AXIS_LABELS = {
    "brightness": "brightness (luma mean, 0–1)",
    "contrast": "contrast (RMS, 0–1)",
    "sharpness": "sharpness (finest-step share of detail at full resolution, 0–1)",
    "saturation": "saturation (mean HSV saturation, 0–1)",
    "width": "width (pixels)",
    "height": "height (pixels)",
    "aspect_ratio": "aspect ratio (width / height)",
    "area": "area (pixels)",
    "file_size": "file size (bytes)",
}


class PropertyOverlay(QWidget):
    shown = Signal(str)   # the property now drawn ("" when cleared or not available)

    def __init__(self, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Image properties per split")
        title.setObjectName("sectionTitle")
        self.combo = QComboBox()
        for name in NUMERIC:
            self.combo.addItem(name.replace("_", " ").capitalize(), name)
        self.combo.setToolTip("The per-image property whose distribution is drawn for each split")
        self.combo.currentIndexChanged.connect(lambda _i: self._request())
        head = QHBoxLayout()
        head.addWidget(title, 1)
        head.addWidget(self.combo)
        self.stats_label = QLabel()
        self.stats_label.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = ThemedPlot()
        self.plot.setMinimumHeight(300)
        item = self.plot.getPlotItem()
        item.setLabel("left", "% of the split's images")
        item.getAxis("left").enableAutoSIPrefix(False)
        item.getAxis("bottom").enableAutoSIPrefix(False)
        item.getViewBox().setMouseEnabled(x=True, y=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.stats_label)
        layout.addWidget(self.plot, 1)
        self._lane = runner.lane(self)
        self._table: ImageTable | None = None
        self.distribution: PropertyDistribution | None = None
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.set_table(None)

    @property
    def property_name(self) -> str:
        return self.combo.currentData()

    def set_property(self, name: str) -> None:
        self.combo.setCurrentIndex(NUMERIC.index(name))

    def set_table(self, table: ImageTable | None) -> None:
        self._table = table
        self._request()

    def curve_data(self, split: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(edges, % per bin) of a split's drawn curve."""
        curve = self._curves.get(split)
        return None if curve is None else (curve.xData, curve.yData)

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        return self._lane.wait_idle(timeout_ms)

    # -------------------------------------------------------------- computing (off the GUI thread)

    def _request(self) -> None:
        table, name = self._table, self.property_name
        if table is None or len(table) == 0:
            self._lane.cancel()
            self._show(None, "No statistics yet." if table is None else "No decoded image.")
            return
        self.stats_label.setText(f"Binning {html.escape(AXIS_LABELS[name])}…")
        bins = display_bins(len(table))
        self._lane.submit(lambda: property_distribution(table, name, bins), self._on_done, self._on_error)

    def _on_done(self, dist: PropertyDistribution | None) -> None:
        self._show(dist, f"No image has a {html.escape(AXIS_LABELS[self.property_name])} value "
                         "(this scan measured no per-image properties).")

    def _on_error(self, exc: BaseException) -> None:
        self._show(None, f"The distribution could not be computed: {html.escape(str(exc))}")

    # -------------------------------------------------------------- drawing

    def _show(self, dist: PropertyDistribution | None, empty_text: str) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        self._curves = {}
        self.distribution = dist
        if dist is None:
            self.stats_label.setText(empty_text)
            self.plot.setVisible(False)
            self.shown.emit("")
            return
        self.plot.setVisible(True)
        for k, split in enumerate(dist.counts):
            if not dist.counts[split].sum():
                continue
            colour = split_color(split, k)
            fill = QColor(colour)
            fill.setAlpha(40)
            self._curves[split] = item.plot(dist.edges, dist.shares(split) * 100.0, stepMode="center",
                                            fillLevel=0, pen=pg.mkPen(colour, width=1.8),
                                            brush=pg.mkBrush(fill), name=split)
        item.setLabel("bottom", AXIS_LABELS[dist.name])
        item.enableAutoRange()
        self.stats_label.setText(self._stats_html(dist))
        self.shown.emit(dist.name)

    def _stats_html(self, dist: PropertyDistribution) -> str:
        parts = []
        for k, split in enumerate(dist.counts):
            n = int(dist.counts[split].sum())
            swatch = f"<span style='color:{split_color(split, k).name()}; font-size:14pt'>■</span>&nbsp;"
            text = f"{swatch}<b>{html.escape(split)}</b> ({n:,} images)"
            if split in dist.ks:
                d, p = dist.ks[split]
                severity = dist.severity[split]
                verdict = (f"<b style='color:{SEVERITY_COLORS[severity]}'>property drift ({severity})</b>"
                           if severity else "no drift")
                text += f": KS D vs train {d:.3f}, p = {p:.2g}, {verdict}"
            parts.append(text)
        note = (f"Drift is reported from D ≥ {INFO_AT} with p &lt; {P_VALUE}, as in the findings; "
                "curves are the share of each split's images per bin.")
        return "<br>".join(parts) + f"<br><span style='font-size:small'>{note}</span>"
