"""Per-channel histograms with the splits overlaid (pyqtgraph, stepped, labelled with both scales).

One plot per channel, stacked and x-linked. Each split is a stepped curve (``stepMode="center"``,
edges one longer than counts) of the share of the split's pixels in each of the 256 bins, so
splits of different sizes compare directly; a dashed line marks each split's mean. The bottom
axis is the 0-255 scale, the top axis the 0-1 scale. Updated live from partial statistics.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..core.formatting import count
from ..core.stats import SplitStats
from .theme import CHANNEL_LONG, channel_names, current_theme, plot_colors, split_color

EDGES = np.arange(257, dtype=np.float64) - 0.5  # bin k holds pixel value k (0-255 scale)
PREBUILT_SPLITS = ("train", "val", "test")
_TOP_TICKS = [[(v * 255, f"{v:g}") for v in (0, 0.25, 0.5, 0.75, 1.0)]]

TOOLTIP = ("Histogram of pixel values per channel and split: the share of the split's pixels "
           "(%) in each of the 256 value bins, so splits of different sizes compare directly.\n"
           "Bottom axis: 0–255 scale (raw 8-bit values); top axis: 0–1 scale (after ToTensor). "
           "Dashed lines: each split's mean. 16-bit data is shown on the same 256 bins.\n"
           "Drag to pan, wheel to zoom, right-click for options; double-click to reset.")


LOG_FLOOR = 1e-4  # percent: the bottom of the log axis, where values no pixel has are drawn


def nice_ceiling(value: float) -> float:
    """The smallest 'round' number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) >= value."""
    exponent = math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        candidate = step * 10.0 ** exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)


class HistogramPlot(QWidget):
    """``set_stats(stats)`` draws or updates the overlays; ``set_theme`` recolours the axes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(TOOLTIP)
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setObjectName("histograms")
        self._graphics.ci.setSpacing(2)
        self._legend_label = QLabel()
        self._legend_label.setTextFormat(Qt.TextFormat.RichText)
        self._legend_label.setWordWrap(True)  # never let the legend set the window's minimum width
        self._legend_label.setToolTip("Splits: colour, decoded images; dashed vertical lines are the split means")
        self._readout = QLabel(" ")
        self._readout.setWordWrap(True)
        self._readout.setObjectName("muted")
        self._readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_box = QCheckBox("Log scale")
        self.log_box.setToolTip("Logarithmic value axis: rare values stay visible next to a large peak "
                                "(MNIST's black background holds about 80% of its pixels)")
        self.log_box.toggled.connect(self._on_log_toggled)
        head = QHBoxLayout()
        head.addWidget(self._legend_label, 1)
        head.addWidget(self.log_box, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self._graphics, 1)
        layout.addWidget(self._readout)
        self._mode: str | None = None
        self._plots: list[pg.PlotItem] = []
        self._curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._means: dict[tuple[int, str], pg.InfiniteLine] = {}
        self._shares: dict[str, np.ndarray] = {}  # split -> (C, 256) percent, for the readout
        self._theme = current_theme()
        self._mouse_proxy = pg.SignalProxy(self._graphics.scene().sigMouseMoved, rateLimit=30,
                                           slot=self._on_mouse)
        self._empty_text: pg.TextItem | None = None
        self._shown: tuple = (None, None, False)  # last set_stats arguments, to redraw on a scale change
        self.set_stats(None)

    # -------------------------------------------------------------- public API

    def set_stats(self, stats: Mapping[str, SplitStats] | None, mode: str | None = None, *,
                  live: bool = False) -> None:
        """Draw the overlays. ``live``: partial statistics of a running scan (the value axis then
        only moves when the bars outgrow it or shrink a lot, see ``_fit_y``)."""
        self._shown = (stats, mode, live)
        if not live:  # a readout of the previous dataset (other splits, other channels) would lie
            self._readout.setText(" ")
        stats = {k: v for k, v in (stats or {}).items()}
        mode = mode or (next(iter(stats.values())).mode if stats else "RGB")
        if mode != self._mode:
            self._build(mode)
        names = channel_names(mode)
        present = set()
        self._shares = {}
        for k, (split, st) in enumerate(stats.items()):
            hist = st.histogram_256.astype(np.float64)
            totals = hist.sum(axis=1, keepdims=True)
            share = np.divide(hist * 100.0, totals, out=np.zeros_like(hist), where=totals > 0)
            self._shares[split] = share
            colour = split_color(split, k)
            for c in range(len(names)):
                key = (c, split)
                present.add(key)
                curve = self._curves.get(key)
                if curve is None:
                    curve = self._new_curve(c, split, colour)
                curve.setData(EDGES, self._to_axis(share[c]), stepMode="center")
                curve.setVisible(True)
                line = self._means[key]
                mean = float(st.mean[c])
                line.setVisible(bool(np.isfinite(mean)) and st.images > 0)
                if np.isfinite(mean):
                    line.setValue(mean * 255)
                    line.setToolTip(f"{split} mean, {CHANNEL_LONG.get(names[c], names[c])}: "
                                    f"{mean:.4f} (0–1) = {mean * 255:.1f} (0–255)")
        for key in [k for k in self._curves if k not in present]:
            if key[1] in PREBUILT_SPLITS:  # kept (hidden) for the next dataset
                self._curves[key].setVisible(False)
                self._means[key].setVisible(False)
            else:
                self._plots[key[0]].removeItem(self._curves.pop(key))
                self._plots[key[0]].removeItem(self._means.pop(key))
        self._fit_y(len(names), sticky=live)
        self._update_legend(stats)
        if self._empty_text is not None:
            self._empty_text.setVisible(not stats)

    def _fit_y(self, channels: int, sticky: bool = False) -> None:
        """Set each plot's value range to a round number above its highest bar. Auto-ranging would
        move the axis on every live update, and a moved axis repaints all its tick text (the most
        expensive part of a redraw); ``sticky`` keeps the range unless the bars outgrow it or fall
        below 60% of it."""
        for c in range(channels):
            top = max((float(share[c].max()) for share in self._shares.values()), default=0.0)
            ceiling = nice_ceiling(top * 1.05) if top > 0 else 1.0
            view = self._plots[c].getViewBox()
            if self.log:  # decades from the floor to the highest bar
                view.setYRange(math.log10(LOG_FLOOR), math.log10(ceiling), padding=0)
                continue
            low, high = view.viewRange()[1]
            if sticky and low == 0 and top * 1.05 <= high and top >= 0.6 * high:
                continue
            if abs(high - ceiling) > 1e-9 * ceiling or low != 0:
                view.setYRange(0, ceiling, padding=0)

    @property
    def log(self) -> bool:
        return self.log_box.isChecked()

    def _to_axis(self, percent: np.ndarray) -> np.ndarray:
        """Bar heights in axis units: percentages, or their log10 (empty values at the floor)."""
        return np.log10(np.maximum(percent, LOG_FLOOR)) if self.log else percent

    def _on_log_toggled(self, on: bool) -> None:
        for plot in self._plots:
            plot.getAxis("left").setLogMode(on)  # ticks read 10^k %
            plot.setLimits(yMin=math.log10(LOG_FLOOR) if on else 0)
            for item in plot.listDataItems():
                item.setFillLevel(math.log10(LOG_FLOOR) if on else 0)
        stats, mode, live = self._shown
        self.set_stats(stats, mode, live=live)

    def set_theme(self, theme: str) -> None:
        self._theme = theme
        bg, fg = plot_colors(theme)
        self._graphics.setBackground(bg)
        for plot in self._plots:
            for name in ("left", "bottom", "top"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(fg))
                axis.setTextPen(pg.mkPen(fg))
            plot.titleLabel.setText(plot.titleLabel.text, color=fg)
        if self._empty_text is not None:
            self._empty_text.setColor(fg)

    def curve_data(self, split: str, channel: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(edges, percent) drawn for a split and channel (tests read what is on screen)."""
        curve = self._curves.get((channel, split))
        if curve is None or not curve.isVisible():
            return None
        x, y = curve.xData, curve.yData
        return (np.asarray(x), np.asarray(y))

    @property
    def plots(self) -> list[pg.PlotItem]:
        return list(self._plots)

    # -------------------------------------------------------------- building

    def _build(self, mode: str) -> None:
        self._graphics.clear()
        self._plots, self._curves, self._means = [], {}, {}
        self._mode = mode
        names = channel_names(mode)
        bg, fg = plot_colors(self._theme)
        self._graphics.setBackground(bg)
        for c, name in enumerate(names):
            plot = self._graphics.addPlot(row=c, col=0)
            plot.setMenuEnabled(True)
            # No grid: translucent grid lines across the plots cost more to repaint than the curves.
            plot.setLabel("left", "% of pixels")  # the plot title names the channel
            plot.getAxis("left").enableAutoSIPrefix(False)  # never "(x0.001)": percentages as they are
            plot.getAxis("left").setLogMode(self.log)
            plot.setTitle(f"{_first_upper(CHANNEL_LONG.get(name, name))} channel", color=fg, size="9pt",
                          justify="left")
            plot.disableAutoRange()  # ranges are set explicitly (see _fit_y): steady axes, cheap repaints
            plot.setXRange(-0.5, 255.5, padding=0.01)
            plot.setLimits(xMin=-10, xMax=266, yMin=math.log10(LOG_FLOOR) if self.log else 0)
            plot.getViewBox().setMouseEnabled(x=True, y=False)  # wheel zooms the value axis only
            if c == 0:
                plot.showAxis("top")
                top = plot.getAxis("top")
                top.setTicks(_TOP_TICKS)
                top.setLabel("pixel value, 0–1 scale")
            if c == len(names) - 1:
                plot.setLabel("bottom", "pixel value, 0–255 scale")
            else:  # x-linked: tick values once, under the last plot (also halves the text to paint)
                plot.getAxis("bottom").setStyle(showValues=False)
            if self._plots:
                plot.setXLink(self._plots[0])
            plot.getAxis("left").setWidth(60)
            for name in ("left", "bottom", "top"):
                # Axes (tick text, grid) are the costly part of a repaint and rarely change: keep them
                # as cached pixmaps, so a live update repaints the curves only (~18 -> ~6 ms).
                plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self._plots.append(plot)
        self._empty_text = pg.TextItem("No statistics yet", color=fg, anchor=(0.5, 0.5))
        self._plots[0].addItem(self._empty_text)
        self._empty_text.setPos(127.5, 0.5)
        # Items for the usual splits exist from the start (hidden): the first live update of a scan
        # then only sets data, instead of building 18 graphics items while the scan starts up.
        for k, split in enumerate(PREBUILT_SPLITS):
            for c in range(len(names)):
                self._new_curve(c, split, split_color(split, k)).setVisible(False)
                self._means[(c, split)].setVisible(False)
        self.set_theme(self._theme)

    def _new_curve(self, c: int, split: str, colour: QColor) -> pg.PlotDataItem:
        fill = QColor(colour)
        fill.setAlpha(40)
        curve = pg.PlotDataItem(EDGES, self._to_axis(np.zeros(256)), stepMode="center",
                                fillLevel=math.log10(LOG_FLOOR) if self.log else 0,
                                pen=pg.mkPen(colour, width=1.6), brush=pg.mkBrush(fill), name=split)
        self._plots[c].addItem(curve)
        self._curves[(c, split)] = curve
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
        self._plots[c].addItem(line)
        self._means[(c, split)] = line
        return curve

    def _update_legend(self, stats: Mapping[str, SplitStats]) -> None:
        """A legend row above the plots: it never covers a curve, however short the plots get."""
        parts = []
        for k, (split, st) in enumerate(stats.items()):
            colour = split_color(split, k).name()
            parts.append(f"<span style='color:{colour}; font-size:14pt'>■</span>&nbsp;<b>{split}</b> "
                         f"({count(st.images, 'image')})")
        title = "Histograms of pixel values, % of each split's pixels per value"
        self._legend_label.setText(f"{title}: " + "&nbsp;&nbsp;&nbsp;".join(parts) if parts else title)

    def readout_text(self) -> str:
        return self._readout.text().strip()

    def _on_mouse(self, event) -> None:
        pos = event[0]
        for c, plot in enumerate(self._plots):
            if plot.sceneBoundingRect().contains(pos):
                x = plot.getViewBox().mapSceneToView(pos).x()
                value = int(round(x))
                if not 0 <= value <= 255 or not self._shares:
                    break
                parts = [f"{s}: {share[c][value]:.3f}%" for s, share in self._shares.items()]
                name = channel_names(self._mode or "RGB")[c]
                self._readout.setText(f"{name} = {value} (0–255) = {value / 255:.3f} (0–1):  "
                                      + ",  ".join(parts) + " of the split's pixels")
                return
        self._readout.setText(" ")


def _first_upper(text: str) -> str:
    """"grey (L)" -> "Grey (L)" (str.capitalize would also lower the L)."""
    return text[:1].upper() + text[1:]
