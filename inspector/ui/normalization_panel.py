"""One panel of the normalization view: title, image (locked aspect, y down, on a fixed colour
scale), the histogram of its values and their numbers. The view owns three of them."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from ..app import normalization as model
from ..app.normalization import ORIGINAL, PanelData
from ..core import normalize as nz

NEG_BRUSH = (52, 101, 164, 170)   # histogram area below zero (what a ReLU would cut)
POS_BRUSH = (150, 150, 150, 150)

BELOW_ZERO_TIP = (
    "Share of the panel's values that are strictly below zero: a ReLU applied directly to the\n"
    "input would set them to 0. In most networks a convolution with a bias comes first, so this\n"
    "is what the first layer starts from, not what is lost. In luminance mode the values are the\n"
    "luma-weighted mix of the normalized channels; choose R, G or B for one input channel exactly.")

PANEL_TITLES = {
    ORIGINAL: "Original (true colours)",
    nz.DATASET: "Dataset standardization",
    nz.PER_IMAGE: "Per-image standardization",
    nz.UNIT: "[0, 1]  (x / max)",
    nz.SYMMETRIC: "[-1, 1]  (x / (max/2) - 1)",
    nz.MINMAX: "Per-image min-max",
}


def _fmt_pct(fraction: float) -> str:
    return f"{100.0 * fraction:.1f}%"


class SchemePanel:
    """Title, image (ViewBox with locked aspect, y down), histogram and numbers of one scheme."""

    def __init__(self, parent: QWidget, name: str) -> None:
        self.name = name
        self.title = QLabel(parent)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: 600;")

        self.view = pg.GraphicsLayoutWidget(parent)
        self.view.setBackground("#1e1e1e")
        self.view.ci.setContentsMargins(2, 2, 2, 2)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.view.setMinimumSize(160, 140)
        self.viewbox = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        # Two items: one for each colour bar (only one is visible at a time; see module docstring).
        self.items = {
            "std": pg.ImageItem(axisOrder="row-major", autoLevels=False),
            "bounded": pg.ImageItem(axisOrder="row-major", autoLevels=False),
            "true": pg.ImageItem(axisOrder="row-major", autoLevels=False),
        }
        for item in self.items.values():
            item.setVisible(False)
            self.viewbox.addItem(item)
        self.overlay = pg.TextItem("", color="#dddddd", anchor=(0.5, 0.5))
        self.overlay.setTextWidth(240)
        self.overlay.setVisible(False)
        self.viewbox.addItem(self.overlay, ignoreBounds=True)
        # Keep the message centred and as wide as the panel through resizes and linked zooms.
        self.viewbox.sigResized.connect(lambda *_: self.place_overlay())
        self.viewbox.sigRangeChanged.connect(lambda *_: self.place_overlay())
        self.image_item: pg.ImageItem = self.items["std"]

        self.hist = pg.PlotWidget(parent)
        self.hist.setBackground(None)
        self.hist.setFixedHeight(96)
        self.hist.setMouseEnabled(x=False, y=False)
        self.hist.setMenuEnabled(False)
        self.hist.hideButtons()
        self.hist.getPlotItem().hideAxis("left")
        self.hist.getPlotItem().getAxis("bottom").setStyle(tickLength=-4)
        self.neg_curve = self.hist.plot(stepMode="center", fillLevel=0, brush=NEG_BRUSH,
                                        pen=pg.mkPen(NEG_BRUSH[:3], width=1))
        self.pos_curve = self.hist.plot(stepMode="center", fillLevel=0, brush=POS_BRUSH,
                                        pen=pg.mkPen((90, 90, 90), width=1))
        self.zero_line = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen((40, 40, 40), width=1,
                                                                      style=Qt.PenStyle.DashLine))
        self.hist.addItem(self.zero_line)

        self.stats = QLabel(parent)
        self.stats.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats.setToolTip(BELOW_ZERO_TIP)
        self.stats.setWordWrap(True)

        self.data: PanelData | None = None
        self.range: tuple[float, float] = (0.0, 1.0)

    @property
    def summary(self) -> nz.NormalizedSummary | None:
        return None if self.data is None else self.data.summary

    def clear(self) -> None:
        self.data = None
        for item in self.items.values():
            item.clear()
            item.setVisible(False)
        self.overlay.setVisible(False)
        self.neg_curve.setData([], [])
        self.pos_curve.setData([], [])
        self.stats.setText("")

    def show(self, data: PanelData, scale_note: str) -> None:
        self.data = data
        self.range = data.values_range
        self.title.setText(f"{PANEL_TITLES[data.scheme]}\n{scale_note}")
        if data.scheme == ORIGINAL:
            key = "true"
        else:
            key = "std" if model.is_standardized(data.scheme) else "bounded"
        for k, item in self.items.items():
            item.setVisible(k == key and data.display is not None)
        self.image_item = self.items[key]
        if data.display is None:
            self.image_item.clear()
            self.overlay.setText(data.message)
            self.overlay.setVisible(True)  # placed by place_overlay() once the views have their range
            self._set_histogram(None)
            self.stats.setText(data.message)
            return
        self.overlay.setVisible(False)
        if key == "true":
            self.image_item.setImage(data.display, autoLevels=False, levels=(0, 255))
        else:  # levels and lookup table come from the colour bar this item is attached to
            self.image_item.setImage(data.display, autoLevels=False)
        self._set_histogram(data.summary)
        self.stats.setText(self._stats_text(data))

    def place_overlay(self) -> None:
        if self.overlay.isVisible():
            rect = self.viewbox.viewRect()
            self.overlay.setTextWidth(max(120.0, 0.8 * self.viewbox.width()))
            self.overlay.setPos(rect.center().x(), rect.center().y())

    def _set_histogram(self, s: nz.NormalizedSummary | None) -> None:
        lo, hi = self.range
        self.hist.setXRange(lo, hi, padding=0.02)
        if s is None:
            self.neg_curve.setData([], [])
            self.pos_curve.setData([], [])
            return
        share = s.counts / max(s.n_values, 1)
        edges = s.edges
        k = int(np.searchsorted(edges, 0.0, side="right")) - 1  # bins fully below zero: [0, k)
        k = min(max(k, 0), len(share))
        if k > 0:
            self.neg_curve.setData(edges[: k + 1], share[:k])
        else:
            self.neg_curve.setData([], [])
        if k < len(share):
            self.pos_curve.setData(edges[k:], share[k:])
        else:
            self.pos_curve.setData([], [])
        top = float(share.max()) if share.size else 1.0
        self.hist.setYRange(0, top * 1.05 if top > 0 else 1.0, padding=0)

    def _stats_text(self, data: PanelData) -> str:
        s = data.summary
        if data.scheme == ORIGINAL:
            scale = "0-1 scale: "
        else:
            scale = "std units: " if model.is_standardized(data.scheme) else ""
        head = f"{scale}mean {_f3(s.mean)}  std {_f3(s.std)}  below zero {_fmt_pct(s.fraction_below_zero)}"
        tail = f"min {s.min:.3g}  max {s.max:.3g}"
        lo, hi = data.values_range
        outside = s.below_range + s.above_range
        if outside:
            tail += f"  |  {_fmt_pct(outside / s.n_values)} outside {lo:g}..{hi:g} (in the end bins)"
        return head + "\n" + tail


def _f3(v: float) -> str:
    """Three decimals, and never "-0.000" (a mean of -0.0002 is zero to the eye)."""
    text = f"{v:.3f}"
    return "0.000" if text == "-0.000" else text

