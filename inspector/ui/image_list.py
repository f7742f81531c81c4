"""The image list: filter bar (split, class, status, path search) over a QTableView of the model.

Selecting a row emits ``imageSelected(row)`` (a row of ``result.images``) or
``failureSelected(path, split, reason)`` for a file that failed to decode.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QTableView, QToolButton, QVBoxLayout, QWidget)

from ..core.formatting import count
from ..core.scan import ScanResult
from ..core.validation import ISSUES
from .image_model import AMP, PATH, ImageListModel, RowFilter
from .theme import channel_names

SEARCH_DELAY_MS = 200  # debounce: one filter pass after typing pauses, not one per key
_WIDTHS = {0: 48, 1: 70, PATH: 230, 3: 84, 4: 70, 5: 52, 6: 46, 7: 138, 8: 138, AMP: 96}
_STATUS_LABELS = (("all", "All files"), ("decoded", "Decoded"), ("failed", "Failed"),
                  ("converted", "Converted"))


class ImageList(QWidget):
    imageSelected = Signal(int)
    failureSelected = Signal(str, str, str)
    selectionCleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(self)
        self._result: ScanResult | None = None

        self.split_box = QComboBox()
        self.split_box.setToolTip("Show one split only")
        self.class_box = QComboBox()
        self.class_box.setToolTip("Show one class only")
        self.status_box = QComboBox()
        self.status_box.setToolTip("Decoded images, files that failed to decode (with the reason), or "
                                   "images a loader converts (alpha dropped, palette, CMYK, 16-bit…)")
        for key, label in _STATUS_LABELS:
            self.status_box.addItem(label, key)
        self.issue_box = QComboBox()
        self.issue_box.setToolTip("Images the scan flagged with an image issue (cleanvision's names: "
                                  "dark, light, blurry, low information, odd aspect ratio, odd size, "
                                  "grayscale); the thresholds are in the README")
        self.issue_box.addItem("All images", None)
        self.issue_box.addItem("Any image issue", "any")
        for issue in ISSUES:
            self.issue_box.addItem(issue.replace("_", " ").capitalize(), issue)
        for box, chars in ((self.split_box, 6), (self.class_box, 8), (self.status_box, 8), (self.issue_box, 11)):
            # Narrow by default (the window stays usable on small screens); the popup shows full names.
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(chars)
        self.search = QLineEdit()
        self.search.setMinimumWidth(120)
        self.search.setPlaceholderText("Filter by path… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Case-insensitive; several words must all appear in the path")
        self.amp_button = QToolButton()
        self.amp_button.setText("Most amplified")
        self.amp_button.setToolTip("Sort by amplification, largest first: the images that per-image "
                                   "standardization stretches the most (blank skies, dark frames).")
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.split_box, self.class_box, self.status_box, self.issue_box):  # their items name them: "All splits"…
            bar.addWidget(w)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.amp_button)

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setObjectName("imageTable")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep both the split and the file name
        vh = self.view.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: no per-row size queries
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # table order until a header is clicked
        self.view.setSortingEnabled(True)
        # At least the header's own width (title + sort arrow, in the user's font): never "ormat".
        fm = header.fontMetrics()
        for col, width in _WIDTHS.items():
            title = str(self.model.headerData(col, Qt.Orientation.Horizontal) or "")
            header.resizeSection(col, max(width, fm.horizontalAdvance(title) + 22))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        self.search.returnPressed.connect(self._apply_filter)
        for box in (self.split_box, self.class_box, self.status_box, self.issue_box):
            box.currentIndexChanged.connect(self._apply_filter)
        self.amp_button.clicked.connect(self.sort_most_amplified)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self.model.modelReset.connect(self._update_count)
        self.model.layoutChanged.connect(self._update_count)
        self.model.orderPending.connect(self._show_pending)
        self.set_result(None)

    # -------------------------------------------------------------- public API

    def set_result(self, result: ScanResult | None, dataset_std: Sequence[float] | None = None) -> None:
        self._result = result
        self._fill_boxes(result)
        if result is None:
            self.model.set_table(None, [])
        else:
            self.model.set_table(result.images, result.failures, channel_names=channel_names(result.mode),
                                 dataset_std=dataset_std)
        self.selectionCleared.emit()

    def set_dataset_std(self, dataset_std: Sequence[float] | None) -> None:
        self.model.set_dataset_std(dataset_std)

    def set_filter(self, *, split: str | None = None, label: str | None = None, status: str = "all",
                   text: str = "", issue: str | None = None) -> None:
        """Set every filter at once (programmatic; also used by tests and the leakage panel)."""
        for box, value in ((self.split_box, split), (self.class_box, label), (self.status_box, status),
                           (self.issue_box, issue)):
            box.blockSignals(True)
            k = box.findData(value)
            box.setCurrentIndex(k if k >= 0 else 0)
            box.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(False)
        self._apply_filter()

    def sort_most_amplified(self) -> None:
        self.view.sortByColumn(AMP, Qt.SortOrder.DescendingOrder)
        self.view.scrollToTop()
        if self.model.rowCount():
            self.select_view_row(0)
            self.view.scrollTo(self.model.index(0, AMP))  # the column sorted by, even in a narrow window

    def select_image_row(self, image_row: int) -> bool:
        """Select an image by its row in result.images, clearing the filters if they hide it."""
        view_row = self.model.view_row_of_source(image_row)
        if view_row < 0:
            self.set_filter()
            view_row = self.model.view_row_of_source(image_row)
        if view_row < 0:
            return False
        self.select_view_row(view_row)
        return True

    def select_path(self, path: str) -> bool:
        if self._result is None:
            return False
        try:
            row = self._result.images.paths.index(path)
        except ValueError:
            return False
        return self.select_image_row(row)

    def select_view_row(self, view_row: int) -> None:
        index = self.model.index(view_row, 0)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        # Scroll vertically only: keep the horizontal position the user chose.
        h = self.view.horizontalScrollBar().value()
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.view.horizontalScrollBar().setValue(h)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -------------------------------------------------------------- internals

    def _fill_boxes(self, result: ScanResult | None) -> None:
        for box in (self.split_box, self.class_box):
            box.blockSignals(True)
            box.clear()
        self.split_box.addItem("All splits", None)
        self.class_box.addItem("All classes", None)
        if result is not None:
            for name in result.splits:
                self.split_box.addItem(name, name)
            for name in result.images.label_names:
                self.class_box.addItem(name, name)
            if result.images.label_names and (result.images.label < 0).any():
                self.class_box.addItem("(no class)", "")
        self.class_box.setEnabled(self.class_box.count() > 1)
        for box in (self.split_box, self.class_box):
            box.blockSignals(False)

    @Slot()
    def _apply_filter(self) -> None:
        self._search_timer.stop()
        had_current = self.view.currentIndex().isValid()
        self.model.set_filter(RowFilter(split=self.split_box.currentData(), label=self.class_box.currentData(),
                                        status=self.status_box.currentData() or "all",
                                        text=self.search.text().strip(),
                                        issue=self.issue_box.currentData()))
        if had_current and not self.view.currentIndex().isValid():
            self.selectionCleared.emit()  # the filter hid the selected row: nothing is selected now

    def show_waiting(self, text: str) -> None:
        """Say why the list is empty (a scan is running), instead of "Showing 0 of 0 images"."""
        self.count_label.setText(text)

    @Slot()
    def _show_pending(self) -> None:
        self.count_label.setText(f"Sorting and filtering {self.model.total_rows:,} rows…")

    @Slot()
    def _update_count(self) -> None:
        images, failed = self.model.visible_counts()
        total, total_failed = self.model.image_count, self.model.failure_count
        text = f"Showing {images:,} of {count(total, 'image')}"
        if total_failed:
            text += f" and {failed:,} of {count(total_failed, 'failed file')}"
        self.count_label.setText(text)

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.selectionCleared.emit()
            return
        row = self.model.image_row(current.row())
        if row is not None:
            self.imageSelected.emit(row)
            return
        failure = self.model.failure_at(current.row())
        if failure is not None:
            self.failureSelected.emit(failure.path, failure.split or "", failure.reason)

