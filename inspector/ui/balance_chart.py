"""The class-balance chart: a horizontal bar per class and split (the splits' colours of the
histograms), as image counts or as shares of each split, with each split's imbalance ratio.

It draws a ``balance`` as core.validation.class_balance builds it: the window passes the decoded
images per class (app.dataset_facts.decoded_class_counts), what the statistics count, and says how many files of
each split failed to decode and are left out; nothing is computed here.
Horizontal bars keep class names readable however many there are; the chart grows one row per
class and its tab scrolls.
"""
from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from ..core.formatting import count
from .chart_header import header_row, summary_label
from .plot_theme import ThemedPlot
from .theme import split_color

MODES = ("count", "share")
ROW_PX = 22            # least height of one class's row of bars
BAR_PX = 26            # most height of one bar: a few classes do not fill the tab with slabs
TOP_AXIS_FROM = 15     # classes from which the value axis is repeated above the bars
LABELLED_BARS = 60     # bars written with their value; more would be clutter
NO_CLASSES = ("No classes: the images are not sorted into class folders "
              "(<code>split/class/image</code>), so there is no class balance to show.")


class BalanceChart(QWidget):
    """``set_balance(balance, failed)`` with a class_balance dict (or None to clear) and the
    number of files per split that failed to decode (not in the counts, named in the labels)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_box = QComboBox()
        self.mode_box.addItem("Image count", "count")
        self.mode_box.addItem("Share of the split (%)", "share")
        self.mode_box.setToolTip("Draw each class as its number of images, or as its share of the "
                                 "split's images (splits of different sizes then compare directly)")
        self.mode_box.currentIndexChanged.connect(lambda _i: self._draw())
        head = header_row("Class balance per split", self.mode_box)
        self.summary = summary_label()
        self.plot = ThemedPlot()
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)  # the wheel scrolls the tab, never zooms the bars
        item.hideButtons()
        item.setMenuEnabled(False)
        item.invertY(True)  # first class at the top
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self.readout = QLabel(" ")
        self.readout.setObjectName("muted")
        self.readout.setWordWrap(True)
        self._mouse_proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        layout.addStretch(0)
        self._balance: dict[str, dict] = {}
        self._failed: dict[str, int] = {}
        self.classes: list[str] = []
        self._drawn: dict[str, np.ndarray] = {}  # split -> value per class, as drawn
        self._scanned = False
        self.set_balance(None)

    @property
    def mode(self) -> str:
        return self.mode_box.currentData()

    def set_mode(self, mode: str) -> None:
        self.mode_box.setCurrentIndex(MODES.index(mode))

    def set_balance(self, balance: Mapping[str, Mapping] | None,
                    failed: Mapping[str, int] | None = None) -> None:
        self._scanned = balance is not None
        self._failed = {s: int(n) for s, n in (failed or {}).items() if n}
        self._balance = {s: b for s, b in (balance or {}).items() if b.get("counts")}
        self.classes = sorted({c for b in self._balance.values() for c in b["counts"]})
        self._draw()

    def bar_values(self) -> dict[str, dict[str, float]]:
        """split -> class -> the drawn bar length (count, or share in %), 0 where a split lacks it."""
        return {s: dict(zip(self.classes, v.tolist())) for s, v in self._drawn.items()}

    def row_text(self, row: int) -> str:
        """One class's numbers in every split (the readout under the pointer)."""
        name = self.classes[row]
        parts = []
        for split, b in self._balance.items():
            n = b["counts"].get(name, 0)
            parts.append(f"{split} {n:,} ({100.0 * b['shares'].get(name, 0.0):.1f}%)" if n else f"{split}: no image")
        return f"{name}: " + ", ".join(parts)

    def _on_mouse(self, event) -> None:
        pos = event[0]
        vb = self.plot.getPlotItem().getViewBox()
        if not self.classes or not vb.sceneBoundingRect().contains(pos):
            return
        row = int(round(vb.mapSceneToView(pos).y()))
        if 0 <= row < len(self.classes):
            self.readout.setText(self.row_text(row))

    # -------------------------------------------------------------- drawing

    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        self._drawn = {}
        self.readout.setText(" ")
        if not self._balance:
            self.summary.setText(NO_CLASSES if self._scanned else "No statistics yet.")
            self.plot.setVisible(False)
            return
        self.plot.setVisible(True)
        share = self.mode == "share"
        splits = list(self._balance)
        n = len(self.classes)
        thickness = 0.8 / len(splits)
        labelled = n * len(splits) <= LABELLED_BARS
        for k, split in enumerate(splits):
            counts = self._balance[split]["counts"]
            values = np.array([counts.get(c, 0) for c in self.classes], dtype=np.float64)
            if share:
                values = values * 100.0 / values.sum()
            self._drawn[split] = values
            y = np.arange(n) - 0.4 + thickness * (k + 0.5)
            colour = split_color(split, k)
            item.addItem(pg.BarGraphItem(x0=0, y=y, height=thickness * 0.92, width=values,
                                         brush=colour, pen=pg.mkPen(colour.darker(130)), name=split))
            missing = values == 0
            if missing.any():  # a zero-length bar is invisible: mark the class as absent instead
                item.addItem(pg.ScatterPlotItem(x=np.zeros(int(missing.sum())), y=y[missing], symbol="x",
                                                size=9, pen=pg.mkPen(colour, width=2), brush=None))
            if labelled:
                for yi, v in zip(y, values):
                    label = "   no image" if v == 0 else f"{v:.1f}%" if share else f"{int(v):,}"
                    text = pg.TextItem(label, color=colour, anchor=(0, 0.5))
                    text.setPos(v, yi)
                    item.addItem(text)
        top = max(float(v.max()) for v in self._drawn.values())
        item.setXRange(0, top * (1.15 if labelled else 1.03) or 1, padding=0)
        item.setYRange(-0.5, n - 0.5, padding=0)
        item.getAxis("left").setTicks([[(i, c) for i, c in enumerate(self.classes)]])
        item.setLabel("left", "class")
        item.showAxis("top", n > TOP_AXIS_FROM)  # a tall chart keeps its scale in sight at both ends
        item.getAxis("top").enableAutoSIPrefix(False)
        item.setLabel("bottom", "share of the split's decoded images (%), per split" if share
                      else "decoded images per class (count), per split")
        self.plot.setMinimumHeight(80 + n * ROW_PX)
        self.plot.setMaximumHeight(80 + n * max(ROW_PX, BAR_PX * len(splits)) * 10 // 8)
        self.summary.setText(self._summary_html())

    def _summary_html(self) -> str:
        rows = []
        for k, (split, b) in enumerate(self._balance.items()):
            counts = b["counts"]
            big, small = max(counts, key=counts.get), min(counts, key=counts.get)
            ratio = b.get("imbalance_ratio")
            missing = [c for c in self.classes if c not in counts]
            line = (f"<span style='color:{split_color(split, k).name()}; font-size:14pt'>■</span>&nbsp;"
                    f"<b>{html.escape(split)}</b>: {count(sum(counts.values()), 'decoded image')}, "
                    f"{count(len(counts), 'class', 'classes')}; imbalance ratio "
                    f"<b>{ratio:.1f}</b> (largest {html.escape(big)} {counts[big]:,} / smallest "
                    f"{html.escape(small)} {counts[small]:,})")
            if missing:
                shown = ", ".join(html.escape(c) for c in missing[:8]) + (" …" if len(missing) > 8 else "")
                line += f"; <b>no image of {len(missing)}</b>: {shown} (× in the chart)"
            if self._failed.get(split):
                line += f"; {count(self._failed[split], 'file')} that failed to decode not counted"
            rows.append(line)
        note = ("Counts are decoded images, as in the statistics"
                + ("; files that failed to decode are listed in the image list (status: failed)."
                   if self._failed else "."))
        return "<br>".join(rows) + f"<br><span style='font-size:small'>{note}</span>"

