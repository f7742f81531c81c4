"""The image list as a table model over the scan's per-image columns (1,000,000 rows stay smooth).

Rows are the decoded images of ``ImageTable`` (source rows 0..N-1) followed by the files that
failed to decode (source rows N..N+F-1), so "failed" is just another filter. The model holds only
numpy arrays: which rows show in which order is ``app.image_rows.ImageRows.order`` (an argsort of
a key column and a boolean mask), and ``data()`` formats one cell from the arrays, without
per-cell Python objects and without scanning anything.

On a large list (``ASYNC_ROWS`` and more) a sort or filter is worked out on a background thread
and applied when it is ready (``orderApplied``); the newest request wins. The view keeps showing
the previous order meanwhile, so a click on a header never freezes the window.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from ..app.image_rows import (AMP, BRIGHTNESS, BYTES, CLASS, CONTRAST, FORMAT, MEAN, MODE, PATH,
                              PROPERTY_COLUMNS, SATURATION, SHARPNESS, SIZE, SPLIT, STATUS,
                              STATUS_FILTERS, STD, ImageRows, RowFilter)
from ..app.normalization import too_amplified
from ..core.formatting import human_bytes
from ..app import amplification as amplification_memo
from ..core.normalize import amplification
from ..core.scan import Failure
from ..core.table import FLAG_NAMES, ImageTable
from .runner import BackgroundRunner

__all__ = ["AMP", "BRIGHTNESS", "BYTES", "CLASS", "CONTRAST", "FORMAT", "HEADERS", "ImageListModel",
           "MEAN", "MODE", "PATH", "PROPERTY_COLUMNS", "RowFilter", "SATURATION", "SHARPNESS", "SIZE",
           "SPLIT", "STATUS", "STATUS_FILTERS", "STD"]

Index = QModelIndex | QPersistentModelIndex

HEADERS = {
    SPLIT: "Split", CLASS: "Class", PATH: "Path", SIZE: "Size (px)", BYTES: "File size",
    FORMAT: "Format", MODE: "Mode", MEAN: "Mean (0–1)", STD: "Std (0–1)",
    AMP: "Amplification", STATUS: "Status",
    BRIGHTNESS: "Brightness", CONTRAST: "Contrast", SHARPNESS: "Sharpness", SATURATION: "Saturation",
}
HEADER_TIPS = {
    SPLIT: "The split the file belongs to (train, val, test; 'all' when the folder has no split folders).",
    CLASS: "Class label: the first folder below the split (ImageFolder style). Empty for flat splits.",
    PATH: "Path relative to the dataset root. Type in the search box to filter on it.",
    SIZE: "Width × height in pixels, as stored in the file (EXIF rotation is not applied, as loaders do). "
          "Sorts by pixel count.",
    BYTES: "Size of the file on disk.",
    FORMAT: "File format read from the content (not the extension).",
    MODE: "The file's own Pillow mode before conversion to the dataset mode (RGB or L).",
    MEAN: "Per-channel mean of this image on the 0–1 scale (pixel / 255 for 8-bit data), "
          "in channel order (R G B, or L). Sorts by the average over channels.",
    STD: "Per-channel standard deviation of this image (population, ddof=0) on the 0–1 scale. "
         "Sorts by the average over channels.",
    AMP: "Amplification under per-image standardization: dataset std (of the normalization source "
         "split, normally train) ÷ this image's std, largest over the channels. A blank sky with a "
         "tiny cloud scores high: standardizing it per image multiplies its noise by this factor. "
         "Sort descending to find the most amplified images.",
    STATUS: "'ok', the conversions a loader applies (alpha dropped, palette, 16-bit, …), or why the "
            "file could not be decoded.",
    BRIGHTNESS: "Luma mean of the image (0–1): the property the drift check compares between splits.",
    CONTRAST: "RMS contrast: luma-weighted per-channel standard deviation (0–1).",
    SHARPNESS: "Finest-step share of detail at the image's own resolution (0–1), from four 32×32 "
               "patches: low for blurred, upscaled or smooth images, high for fine texture and noise.",
    SATURATION: "Mean HSV saturation of 1,024 pixels on a regular lattice (0 for grey images).",
}

class ImageListModel(QAbstractTableModel):
    """Images + failures of one scan; sorting and filtering via numpy index arrays.

    Sort keys are built lazily, one column at a time, on the first sort by that column: a new
    scan costs one model reset plus the amplification column, whatever the number of rows.
    """

    orderApplied = Signal()   # a sort or filter is now what the rows show
    orderPending = Signal()   # a sort or filter of a large list is being worked out off the GUI thread
    ASYNC_ROWS = 100_000      # lists at least this long are sorted and filtered off the GUI thread

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._table: ImageTable | None = None
        self._failures: list[Failure] = []
        self._fail_labels: list[str | None] = []
        self._n = 0                       # decoded images
        self._total = 0                   # images + failures
        self._channel_names: tuple[str, ...] = ("L",)
        self._dataset_std: np.ndarray | None = None
        self._amp_max = np.zeros(0)       # largest per-channel amplification per source row (NaN: failed)
        self._rows = ImageRows(None, [], [], self._amp_max)
        self._order: np.ndarray | None = None   # visible source rows in order (None: all, table order)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter = RowFilter()
        self._runner = BackgroundRunner(self)
        self._lane = self._runner.lane(self)

    # ------------------------------------------------------------------ loading

    def set_table(self, table: ImageTable | None, failures: Sequence[Failure] = (), *,
                  channel_names: Sequence[str] = ("R", "G", "B"),
                  dataset_std: Sequence[float] | None = None) -> None:
        """Show a new scan: one model reset; the current sort and filter are re-applied (on a large
        list: in table order first, then in the requested order once it is worked out)."""
        self._lane.cancel()  # an order of the previous table is never applied to this one
        self.beginResetModel()
        self._table = table
        self._failures = list(failures)
        self._fail_labels = [_failure_label(f) for f in self._failures]
        self._n = 0 if table is None else len(table)
        self._total = self._n + len(self._failures)
        channels = 1 if table is None else table.mean.shape[1]
        self._channel_names = tuple(channel_names)[:channels] or ("L",)
        self._amp_max = self._amplification(dataset_std)
        self._rows = ImageRows(table, self._failures, self._fail_labels, self._amp_max)
        self._order = None
        if not self._is_async() and self._ordered():
            self._order = self._rows.order(self._sort_request(), self._filter)
        self.endResetModel()
        if self._is_async() and self._ordered():
            self._request_order()
        else:
            self.orderApplied.emit()

    def set_dataset_std(self, dataset_std: Sequence[float] | None) -> None:
        """New normalization source: recompute the amplification column (vectorised) and re-sort."""
        self._amp_max = self._amplification(dataset_std)
        self._rows = self._rows.with_amp(self._amp_max)
        if self._sort is not None and self._sort[0] == AMP:
            self._request_order()
        elif self.rowCount():
            self.dataChanged.emit(self.index(0, AMP), self.index(self.rowCount() - 1, AMP))

    def _amplification(self, dataset_std: Sequence[float] | None) -> np.ndarray:
        t, nf = self._table, len(self._failures)
        self._dataset_std = None
        amp = np.full(self._n, np.nan)
        if t is not None and dataset_std is not None and self._n:
            ds = np.asarray(dataset_std, dtype=np.float64)
            if ds.shape == (t.std.shape[1],) and np.all(np.isfinite(ds)) and np.all(ds > 0):
                self._dataset_std = ds
                amp = amplification_memo.max_amplification(t, ds)  # shared, usually ready
        return np.concatenate([amp, np.full(nf, np.nan)]) if nf else amp

    # ------------------------------------------------------------------ sort and filter

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column < 0 or column >= len(HEADERS):
            return
        self._sort = (column, order)
        self._request_order()

    @property
    def sort_state(self) -> tuple[int, Qt.SortOrder] | None:
        return self._sort

    def set_filter(self, row_filter: RowFilter) -> None:
        if row_filter == self._filter:
            return
        self._filter = row_filter
        self._request_order()

    @property
    def row_filter(self) -> RowFilter:
        return self._filter

    def busy(self) -> bool:
        """True while a sort or filter is being worked out off the GUI thread."""
        return self._lane.busy

    def _is_async(self) -> bool:
        return self._total >= self.ASYNC_ROWS

    def _ordered(self) -> bool:
        return self._sort is not None or self._filter != RowFilter()

    def _sort_request(self):
        if self._sort is None:
            return None
        return self._sort[0], self._sort[1] == Qt.SortOrder.DescendingOrder

    def _request_order(self) -> None:
        rows, sort, row_filter = self._rows, self._sort_request(), self._filter
        if not self._is_async():
            self._apply_order(rows.order(sort, row_filter))
            return
        self._lane.submit(lambda: rows.order(sort, row_filter), self._apply_order, self._order_failed)
        self.orderPending.emit()

    def _apply_order(self, order: np.ndarray | None) -> None:
        """A sort or filter change: a layout change that keeps the selection on its source rows."""
        self.layoutAboutToBeChanged.emit()
        previous = self._order
        self._order = order
        self._remap_persistent(previous)
        self.layoutChanged.emit()
        self.orderApplied.emit()

    def _order_failed(self, exc: BaseException) -> None:
        raise exc  # a bug, not bad input: let it reach the GUI thread's error handling

    def _remap_persistent(self, previous: np.ndarray | None) -> None:
        """Selections survive sorting and filtering: persistent indexes follow their source row."""
        old = self.persistentIndexList()
        if not old:
            return
        new = []
        for idx in old:
            r = idx.row()
            src = r if previous is None else (int(previous[r]) if 0 <= r < len(previous) else -1)
            row = self.view_row_of_source(src) if src >= 0 else -1
            new.append(self.index(row, idx.column()) if row >= 0 else QModelIndex())
        self.changePersistentIndexList(old, new)

    # ------------------------------------------------------------------ lookups

    def source_row(self, view_row: int) -> int:
        if not 0 <= view_row < self.rowCount():
            return -1
        return view_row if self._order is None else int(self._order[view_row])

    def image_row(self, view_row: int) -> int | None:
        """Row in ``result.images`` for a view row; None for a failed file."""
        src = self.source_row(view_row)
        return src if 0 <= src < self._n else None

    def failure_at(self, view_row: int) -> Failure | None:
        src = self.source_row(view_row)
        return self._failures[src - self._n] if src >= self._n else None

    def view_row_of_source(self, src: int) -> int:
        """View row showing source row ``src`` (-1 when it is filtered out)."""
        if self._order is None:
            return src if 0 <= src < self._total else -1
        hits = np.flatnonzero(self._order == src)
        return int(hits[0]) if hits.size else -1

    def path_of(self, src: int) -> str:
        if 0 <= src < self._n and self._table is not None:
            return self._table.paths[src]
        if self._n <= src < self._total:
            return self._failures[src - self._n].path
        return ""

    def amplification_of(self, image_row: int) -> np.ndarray | None:
        """Per-channel amplification of one image (None without a usable dataset std)."""
        if self._dataset_std is None or self._table is None or not 0 <= image_row < self._n:
            return None
        return amplification(self._table.std[image_row], self._dataset_std)

    @property
    def total_rows(self) -> int:
        return self._total

    @property
    def image_count(self) -> int:
        return self._n

    @property
    def failure_count(self) -> int:
        return len(self._failures)

    def visible_counts(self) -> tuple[int, int]:
        """(decoded images, failed files) among the visible rows."""
        if self._order is None:
            return self._n, len(self._failures)
        failed = int(np.count_nonzero(self._order >= self._n))
        return len(self._order) - failed, failed

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return self._total if self._order is None else len(self._order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or section not in HEADERS:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section in (MEAN, STD) and self._channel_names:
                return f"{HEADERS[section]} {' '.join(self._channel_names)}"
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        src = row if self._order is None else int(self._order[row])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(src, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(src, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (SIZE, BYTES, MEAN, STD, AMP):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if src >= self._n:
                return QColor("#D64541")
            if col == AMP and too_amplified(float(self._amp_max[src])):
                return QColor("#E08A1E")
            return None
        if role == Qt.ItemDataRole.UserRole:
            return src
        return None

    def _display(self, src: int, col: int) -> str:
        t = self._table
        if src >= self._n:
            f = self._failures[src - self._n]
            if col == SPLIT:
                return f.split or ""
            if col == CLASS:
                return self._fail_labels[src - self._n] or ""
            if col == PATH:
                return f.path
            if col == STATUS:
                return f"failed: {f.reason}"
            return "—" if col in (MEAN, STD, AMP) or col in PROPERTY_COLUMNS else ""
        assert t is not None
        if col == SPLIT:
            return t.split_names[t.split[src]]
        if col == CLASS:
            k = int(t.label[src])
            return t.label_names[k] if k >= 0 else ""
        if col == PATH:
            return t.paths[src]
        if col == SIZE:
            return f"{t.width[src]} × {t.height[src]}"
        if col == BYTES:
            return human_bytes(int(t.nbytes[src]))
        if col == FORMAT:
            return t.format_names[t.format[src]]
        if col == MODE:
            return t.mode_names[t.mode[src]]
        if col == MEAN:
            return " ".join(f"{v:.3f}" for v in t.mean[src])
        if col == STD:
            return " ".join(f"{v:.3f}" for v in t.std[src])
        if col == AMP:
            a = self._amp_max[src]
            return "" if np.isnan(a) else f"{a:.1f}×"
        if col in PROPERTY_COLUMNS:
            v = self._rows.property(col)[src]
            return "" if np.isnan(v) else f"{v:.3f}"
        if col == STATUS:
            flags = int(t.flags[src])
            if not flags:
                return "ok"
            return ", ".join(name for bit, name in FLAG_NAMES.items() if flags & bit)
        return ""

    def _tooltip(self, src: int, col: int) -> str | None:
        if src >= self._n:
            f = self._failures[src - self._n]
            return f"{f.path}\nCould not be decoded: {f.reason}"
        t = self._table
        assert t is not None
        names = self._channel_names
        if col == MEAN:
            return "Mean per channel (0–1 scale | 0–255 scale):\n" + "\n".join(
                f"{c}: {v:.4f} | {v * 255:.1f}" for c, v in zip(names, t.mean[src]))
        if col == STD:
            return "Std per channel (0–1 scale | 0–255 scale):\n" + "\n".join(
                f"{c}: {v:.4f} | {v * 255:.1f}" for c, v in zip(names, t.std[src]))
        if col == AMP:
            amp = self.amplification_of(src)
            if amp is None:
                return "No amplification: the normalization source split holds no pixels."
            return ("Dataset std ÷ image std, per channel:\n"
                    + "\n".join(f"{c}: {a:.2f}×" for c, a in zip(names, amp))
                    + "\nPer-image standardization stretches this image this much more than "
                      "dataset standardization does.")
        if col == PATH:
            return t.paths[src]
        return None


def _failure_label(f: Failure) -> str | None:
    """The class of a failed file, read off its path as layout.py does: the folder below the split."""
    from ..core.layout import split_name

    parts = f.path.split("/")
    for k, part in enumerate(parts[:-1]):
        if f.split and split_name(part) == f.split:
            return parts[k + 1] if k + 2 < len(parts) else None
    return None
