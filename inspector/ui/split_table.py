"""The per-split statistics table: one row per split and channel, every column says its scale.

Live during a scan (fed ``ScanProgress.partial``) and final afterwards; a split involved in
leakage errors gets a marker. A handful of rows, so a QTableWidget is the right tool here.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from ..core.stats import SplitStats
from .theme import CHANNEL_LONG, channel_names, split_color

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Split", "The split (train, val, test; 'all' when the folder has no split folders). "
              "A ⚠ marks a split involved in leakage errors: see the Leakage tab."),
    ("Images", "Images decoded in this split (files that failed to decode are not included)."),
    ("Failed", "Files of this split that could not be decoded; the reasons are in Failures."),
    ("Pixels / channel", "Number of pixel values per channel over all images of the split "
                         "(the weight of each image in the mean and std is its pixel count)."),
    ("Channel", "Channel of the dataset mode: R, G, B for RGB data (grey images are replicated, as "
                "convert('RGB') does), or L when every image is single-channel."),
    ("Mean (0–1)", "Pixel-weighted mean on the 0–1 scale (pixel / 255): the value for "
                   "transforms.Normalize(mean=...) after ToTensor()."),
    ("Std (0–1)", "Pixel-weighted population standard deviation (ddof=0) over every pixel of the split, "
                  "on the 0–1 scale: the value for transforms.Normalize(std=...)."),
    ("Mean (0–255)", "The same mean on the 0–255 scale (raw 8-bit pixel values), as Keras and "
                     "OpenCV-style pipelines use."),
    ("Std (0–255)", "The same std on the 0–255 scale (raw 8-bit pixel values)."),
    ("Min (0–255)", "Smallest pixel value of the channel in the split, 0–255 scale."),
    ("Max (0–255)", "Largest pixel value of the channel in the split, 0–255 scale."),
    ("p1–p99 (0–255)", "1st and 99th percentiles of the pixel values, 0–255 scale: the range holding "
                       "98% of the pixels."),
    ("Mean of image std (0–1)", "Average of the per-image stds, 0–1 scale: what many popular snippets "
                                "compute by mistake. It is NOT the dataset std and is usually smaller; "
                                "shown so old numbers can be explained."),
)
SPLIT_COL, IMAGES_COL, FAILED_COL, PIXELS_COL, CHANNEL_COL = range(5)
RESERVED_ROWS = 9  # train/val/test x R/G/B: the height kept while empty or live
_SPANNED = (SPLIT_COL, IMAGES_COL, FAILED_COL, PIXELS_COL)


def human_count(n: int) -> str:
    """12,345 below a million, then 12.3 M / 4.56 G: pixel counts get huge."""
    if n < 1_000_000:
        return f"{n:,}"
    if n < 1_000_000_000:
        return f"{n / 1e6:.1f} M"
    return f"{n / 1e9:.2f} G"


def _num(v: float, digits: int) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


class SplitTable(QTableWidget):
    """Rows = split × channel. ``set_stats`` redraws (cheap: a few dozen cells)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("splitTable")
        for col, (title, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(title)
            item.setToolTip(tip)
            self.setHorizontalHeaderItem(col, item)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        # Interactive, sized once per update: ResizeToContents re-measures on every cell change.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        self._stats: dict[str, SplitStats] = {}
        self._mode = "RGB"
        self._errors: dict[str, int] = {}
        self._partial = False
        self._shape: tuple = ()
        self._fitted_rows = 0
        self._fit_h = 0
        self._fit_height()

    # -------------------------------------------------------------- public API

    def set_stats(self, stats: Mapping[str, SplitStats] | None, mode: str | None = None,
                  *, partial: bool = False) -> None:
        self._stats = dict(stats or {})
        self._partial = partial
        if mode:
            self._mode = mode
        elif self._stats:
            self._mode = next(iter(self._stats.values())).mode
        self._rebuild()

    def set_leakage_errors(self, errors_by_split: Mapping[str, int]) -> None:
        """Mark splits involved in leakage errors (split -> number of error findings)."""
        self._errors = {k: v for k, v in errors_by_split.items() if v}
        self._rebuild()

    def split_names(self) -> list[str]:
        return list(self._stats)

    def cell_text(self, split: str, channel: int, column: int) -> str:
        """Text of a cell (for tests and accessibility)."""
        top = list(self._stats).index(split) * len(channel_names(self._mode))
        item = self.item(top + (0 if column in _SPANNED else channel), column)
        return item.text() if item else ""

    # -------------------------------------------------------------- drawing

    def _cells(self) -> list[tuple[int, int, str, str | None, QColor | None]]:
        """(row, column, text, tooltip, colour) of every cell, from the current statistics."""
        channels = channel_names(self._mode)
        nch = len(channels)
        cells: list[tuple[int, int, str, str | None, QColor | None]] = []
        for k, (name, st) in enumerate(self._stats.items()):
            top = k * nch
            tip = f"Split {name}" + (" (live: the scan is still running)" if self._partial else "")
            text = name
            if name in self._errors:
                n = self._errors[name]
                text += f"  ⚠ {n}"
                tip += f"\n⚠ {n} leakage error{'s' if n != 1 else ''} involve this split: see the Leakage tab."
            cells.append((top, SPLIT_COL, text, tip, split_color(name, k)))
            cells.append((top, IMAGES_COL, f"{st.images:,}", None, None))
            cells.append((top, FAILED_COL, f"{st.failed:,}", None, QColor("#D64541") if st.failed else None))
            cells.append((top, PIXELS_COL, human_count(st.pixels), f"{st.pixels:,} pixel values per channel", None))
            p1 = st.percentiles.get("p1", [np.nan] * nch)
            p99 = st.percentiles.get("p99", [np.nan] * nch)
            digits = 0 if st.depth == 8 else 2
            for c in range(nch):
                r = top + c
                mean, std = float(st.mean[c]), float(st.std[c])
                lo_v, hi_v = float(st.min[c]), float(st.max[c])
                lo, hi = p1[c], p99[c]
                cells += [
                    (r, CHANNEL_COL, channels[c], f"{CHANNEL_LONG.get(channels[c], channels[c])} channel", None),
                    (r, 5, _num(mean, 4), f"{mean!r} (0–1 scale, exact)", None),
                    (r, 6, _num(std, 4), f"{std!r} (0–1 scale, exact)", None),
                    (r, 7, _num(mean * 255, 2), None, None),
                    (r, 8, _num(std * 255, 2), None, None),
                    (r, 9, _num(lo_v * 255, digits), f"{_num(lo_v, 4)} on the 0–1 scale", None),
                    (r, 10, _num(hi_v * 255, digits), f"{_num(hi_v, 4)} on the 0–1 scale", None),
                    (r, 11, "—" if lo is None or hi is None or not np.isfinite(lo)
                     else f"{lo * 255:.0f}–{hi * 255:.0f}", None, None),
                    (r, 12, _num(float(st.mean_of_image_std[c]), 4), None, None),
                ]
        return cells

    def _rebuild(self) -> None:
        """Update the cells in place when the layout (splits, channels) is unchanged: a live update
        every half second then costs a few text changes, not a new table."""
        nch = len(channel_names(self._mode))
        shape = (tuple(self._stats), nch)
        fresh = shape != self._shape
        self.setUpdatesEnabled(False)
        if fresh:
            self._shape = shape
            self.clearSpans()
            self.clearContents()
            self.setRowCount(len(self._stats) * nch)
            if nch > 1:
                for k in range(len(self._stats)):
                    for col in _SPANNED:
                        self.setSpan(k * nch, col, nch, 1)
        bold = QFont(self.font())
        bold.setBold(True)
        for row, col, text, tip, colour in self._cells():
            item = self.item(row, col)
            if item is None:
                left = col in (SPLIT_COL, CHANNEL_COL)
                item = QTableWidgetItem(text)
                align = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
                item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                if col == SPLIT_COL:
                    item.setFont(bold)
                self.setItem(row, col, item)
            elif item.text() != text:
                item.setText(text)
            if (tip or "") != item.toolTip():
                item.setToolTip(tip or "")
            if colour is not None and item.foreground().color() != colour:
                item.setForeground(QBrush(colour))
            elif colour is None and item.foreground().style() != Qt.BrushStyle.NoBrush:
                item.setForeground(QBrush())
        self.resizeColumnsToContents()
        self.setUpdatesEnabled(True)
        self._fit_spanned_columns(bold)
        self._fit_height()

    def _fit_spanned_columns(self, bold: QFont) -> None:
        """ResizeToContents ignores spanned cells: size those columns from their text ourselves."""
        metrics = QFontMetrics(bold)
        header = self.horizontalHeader()
        for col in _SPANNED:
            texts = [self.horizontalHeaderItem(col).text()]
            texts += [self.item(r, col).text() for r in range(self.rowCount()) if self.item(r, col)]
            width = max(metrics.horizontalAdvance(t) for t in texts) + 24
            header.resizeSection(col, width)

    def _fit_height(self) -> None:
        """Show every row without a scroll bar (at most a dozen rows), so the plots get the rest.

        While empty or live the table keeps at least the height of three RGB splits and never
        shrinks: a table that grows when the first statistics arrive would re-lay out (and repaint)
        the whole tab in the middle of a scan. Final statistics fit it exactly."""
        rows = max(1, self.rowCount())
        if self._partial or not self._stats:
            rows = max(rows, RESERVED_ROWS, self._fitted_rows if self._partial else 0)
        self._fitted_rows = rows
        h = self.horizontalHeader().sizeHint().height() + rows * self.verticalHeader().defaultSectionSize()
        h += 2 * self.frameWidth() + 2
        if self.horizontalHeader().length() > self.viewport().width():  # the scroll bar takes a row's room
            h += self.horizontalScrollBar().sizeHint().height()
        # In a short window the table scrolls (down to four rows) rather than crush the plots below.
        low = h - (rows - min(rows, 4)) * self.verticalHeader().defaultSectionSize()
        if (self.minimumHeight(), self.maximumHeight(), self._fit_h) != (low, h, h):
            self._fit_h = h
            self.setMinimumHeight(low)
            self.setMaximumHeight(h)
            self.updateGeometry()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit_height()  # a narrower table may now need its horizontal scroll bar

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        """Every row when there is room (see _fit_height)."""
        return QSize(super().sizeHint().width(), self._fit_h or super().sizeHint().height())
