"""Per-split distributions of one per-image property, overlaid as stepped histograms on common
bins (the histograms' split colours), with each split's Kolmogorov-Smirnov D against train; the
categorical ones (format, mode) as bars per split and category, with the total variation
distance. Sizes can be drawn on a log axis (the default for area and file size, which a few huge
images or files stretch).

The bins, counts and statistics come from core.validation.overlay on the panel runner (never on
the GUI thread); this widget only draws them.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QVBoxLayout, QWidget

from ..core.table import ImageTable
from ..core.validation.drift import CATEGORICAL, PROPERTIES
from ..core.validation.findings import INFO_AT, P_VALUE
from ..core.validation.overlay import (LOG_ALLOWED, LOG_BY_DEFAULT, CategoryDistribution,
                                       PropertyDistribution, category_distribution, display_bins,
                                       property_distribution)
from .chart_header import header_row, summary_label
from .plot_theme import ThemedPlot
from .property_overlay_bars import draw_category_bars
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
    "format": "file format (read from the content)",
    "mode": "the file's own Pillow mode",
}


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """(log10 position, label) at 1, 2 and 5 times each power of ten in [lo, hi]: pyqtgraph's own
    log ticks label every multiple from 2 to 9, and their texts run into each other."""
    if not (lo > 0 and hi > lo):
        return []
    ticks = []
    for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** e
            if lo <= v <= hi:
                ticks.append((float(np.log10(v)), _short(v)))
    return ticks


def _short(v: float) -> str:
    """12 -> '12', 2000 -> '2k', 5e6 -> '5M', 0.5 -> '0.5'."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


class PropertyOverlay(QWidget):
    shown = Signal(str)   # the property now drawn ("" when cleared or not available)

    def __init__(self, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        for name in PROPERTIES:
            self.combo.addItem(name.replace("_", " ").capitalize(), name)
        self.combo.setToolTip("The per-image property whose distribution is drawn for each split")
        self.combo.currentIndexChanged.connect(lambda _i: self._property_changed())
        self.log_box = QCheckBox("Log axis")
        self.log_box.setToolTip("Bins of equal width on a logarithmic axis: for sizes, where a few "
                                "huge images or files would squeeze everything else into one bin")
        self.log_box.toggled.connect(lambda _on: self._request())
        head = header_row("Image properties per split", self.log_box, self.combo)
        self.stats_label = summary_label()
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
        self.distribution: PropertyDistribution | CategoryDistribution | None = None
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._bars: dict[str, np.ndarray] = {}
        self._property_changed()

    def _property_changed(self) -> None:
        """A log axis is offered for positive sizes only, and on by default for the skewed ones."""
        name = self.property_name
        self.log_box.blockSignals(True)
        self.log_box.setEnabled(name in LOG_ALLOWED)
        self.log_box.setChecked(name in LOG_BY_DEFAULT)
        self.log_box.blockSignals(False)
        self._request()

    @property
    def property_name(self) -> str:
        return self.combo.currentData()

    @property
    def log_axis(self) -> bool:
        return self.log_box.isEnabled() and self.log_box.isChecked()

    def set_property(self, name: str) -> None:
        self.combo.setCurrentIndex(PROPERTIES.index(name))

    def set_log_axis(self, on: bool) -> None:
        self.log_box.setChecked(on)

    def set_table(self, table: ImageTable | None) -> None:
        self._table = table
        self._request()

    def curve_data(self, split: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(edges, % per bin) of a split's drawn curve (edges in the data's units, also on a log
        axis)."""
        curve = self._curves.get(split)
        if curve is None:
            return None
        x, y = curve.getOriginalDataset()
        return x, y

    def bar_data(self, split: str) -> dict[str, float] | None:
        """category -> the drawn % of a split's images (categorical properties)."""
        bars = self._bars.get(split)
        if bars is None or not isinstance(self.distribution, CategoryDistribution):
            return None
        return dict(zip(self.distribution.categories, bars.tolist()))

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
        if name in CATEGORICAL:
            job = lambda: category_distribution(table, name)  # noqa: E731
        else:
            bins, log = display_bins(len(table)), self.log_axis
            job = lambda: property_distribution(table, name, bins, log=log)  # noqa: E731
        self._lane.submit(job, self._on_done, self._on_error)

    def _on_done(self, dist: PropertyDistribution | CategoryDistribution | None) -> None:
        self._show(dist, f"No image has a {html.escape(AXIS_LABELS[self.property_name])} value "
                         "(this scan measured no per-image properties).")

    def _on_error(self, exc: BaseException) -> None:
        self._show(None, f"The distribution could not be computed: {html.escape(str(exc))}")

    # -------------------------------------------------------------- drawing

    def _show(self, dist: PropertyDistribution | CategoryDistribution | None, empty_text: str) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        self._curves, self._bars = {}, {}
        self.distribution = dist
        item.setLogMode(x=False, y=False)
        item.getAxis("bottom").setTicks(None)  # categories name their own ticks
        if dist is None:
            self.stats_label.setText(empty_text)
            self.plot.setVisible(False)
            self.shown.emit("")
            return
        self.plot.setVisible(True)
        if isinstance(dist, CategoryDistribution):
            self._bars = draw_category_bars(item, dist)
            item.enableAutoRange(axis="y")
        else:
            log = self.log_axis
            item.setLogMode(x=log, y=False)
            if log:
                item.getAxis("bottom").setTicks([log_ticks(float(dist.edges[0]), float(dist.edges[-1])), []])
            for k, split in enumerate(dist.counts):
                if not dist.counts[split].sum():
                    continue
                colour = split_color(split, k)
                fill = QColor(colour)
                fill.setAlpha(40)
                self._curves[split] = item.plot(dist.edges, dist.shares(split) * 100.0, stepMode="center",
                                                fillLevel=0, pen=pg.mkPen(colour, width=1.8),
                                                brush=pg.mkBrush(fill), name=split)
            item.enableAutoRange()
        label = AXIS_LABELS[dist.name] + (", log axis" if self.log_axis and dist.name not in CATEGORICAL else "")
        item.setLabel("bottom", label)
        self.stats_label.setText(self._stats_html(dist))
        self.shown.emit(dist.name)

    def _stats_html(self, dist: PropertyDistribution | CategoryDistribution) -> str:
        categorical = isinstance(dist, CategoryDistribution)
        stats = dist.tvd if categorical else dist.ks
        name = "TVD" if categorical else "KS D"
        parts = []
        for k, split in enumerate(dist.counts):
            n = int(dist.counts[split].sum())
            swatch = f"<span style='color:{split_color(split, k).name()}; font-size:14pt'>■</span>&nbsp;"
            text = f"{swatch}<b>{html.escape(split)}</b> ({n:,} images)"
            if split in stats:
                d, p = stats[split]
                severity = dist.severity[split]
                verdict = (f"<b style='color:{SEVERITY_COLORS[severity]}'>property drift ({severity})</b>"
                           if severity else "no drift")
                text += f": {name} vs train {d:.3f}, p = {p:.2g}, {verdict}"
            parts.append(text)
        what = ("total variation distance (TVD: the largest difference in the share of images "
                "of any set of categories)" if categorical else "D")
        note = (f"Drift is reported from {what} ≥ {INFO_AT} with p &lt; {P_VALUE}, as in the findings; "
                + ("bars" if categorical else "curves") + " are the share of each split's images per "
                + ("category." if categorical else "bin."))
        return "<br>".join(parts) + f"<br><span style='font-size:small'>{note}</span>"
