"""The leakage tab: counts by severity, a filterable and sortable list of findings, and a pair view.

The panel shows what ``inspector.core.leakage.find_leakage`` found; it computes nothing itself.
Severity chips toggle which severities are listed, a combo picks one kind; the help line explains
the kind of the selected finding (or the one under the kind filter) in plain English. With no
findings, an empty state says what was checked.
"""
from __future__ import annotations

import html
from collections import Counter

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QSplitter, QStackedWidget, QTableView, QToolButton, QVBoxLayout,
                               QWidget)

from ..app.findings import SEVERITY_HELP, SEVERITY_PLURAL, kind_help, kind_label, kind_order
from ..core.leakage import SEVERITIES, count_by_severity
from .leakage_model import (COL_CLASSES, COL_DISTANCE, COL_FILES, COL_KIND, COL_MESSAGE, COL_SEVERITY,
                            COL_SPLITS, FindingsModel, FindingsProxy, severity_icon)
from .theme import SEVERITY_COLORS
from .leakage_actions import FindingActions
from .leakage_pair import PairView

GENERAL_HELP = ("Severity: train ↔ test error · train ↔ val, val ↔ test warning · within a split info. "
                "Hover a kind to see what it means; double-click a finding to open it in the image list.")


def _core_constant(name: str) -> float | None:
    """A threshold the core uses by default (None when the core does not expose it)."""
    try:
        from inspector.core import leakage
    except ImportError:
        return None
    value = getattr(leakage, name, None)
    return value if isinstance(value, (int, float)) else None


def _identity(finding) -> tuple:
    """What makes two findings from two runs of the check the same finding."""
    return (finding.kind, tuple(finding.splits), tuple(finding.paths), tuple(int(r) for r in finding.rows))


class SeverityChip(QToolButton):
    """A checkable chip: '● 2 errors'. Checked = that severity is listed."""

    def __init__(self, severity: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.severity = severity
        self.setCheckable(True)
        self.setChecked(True)
        self.setIcon(severity_icon(severity, 12))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        c = SEVERITY_COLORS[severity]
        r, g, b = (int(c[k:k + 2], 16) for k in (1, 3, 5))
        self.setStyleSheet(
            f"QToolButton {{ border: 1px solid {c}; border-radius: 11px; padding: 2px 10px; "
            f"color: palette(text); background: transparent; }}"
            f"QToolButton:checked {{ color: {c}; font-weight: bold; background: rgba({r}, {g}, {b}, 30); }}"
            f"QToolButton:disabled {{ border-color: palette(mid); }}")
        self.set_count(0)

    def set_count(self, n: int) -> None:
        self.count = n
        word = SEVERITY_PLURAL[self.severity] if n != 1 else self.severity
        self.setText(f"{n} {word}")
        self.setEnabled(n > 0)
        state = "listed" if self.isChecked() else "hidden"
        self.setToolTip(f"{SEVERITY_HELP[self.severity]}.\nClick to show or hide them ({state}).")


class LeakagePanel(QWidget):
    """Leakage findings of one scan. The main window embeds it as a tab."""

    imageRequested = Signal(int)   # row N of result.images, to be shown in the image list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result = None
        self.findings: list = []
        self.threshold: float | None = None
        self._counts: dict[str, int] = count_by_severity([])

        # --- filter bar: severity chips, kind combo, shown count
        self.chips = {s: SeverityChip(s) for s in SEVERITIES}
        for chip in self.chips.values():
            chip.toggled.connect(self._filters_changed)
        self.kind_combo = QComboBox()
        self.kind_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.kind_combo.currentIndexChanged.connect(self._filters_changed)
        self.kind_combo.setToolTip("Show one kind of finding")
        self.shown_label = QLabel()
        self.shown_label.setObjectName("muted")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for chip in self.chips.values():
            bar.addWidget(chip)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Kind:"))
        bar.addWidget(self.kind_combo)
        bar.addStretch(1)
        bar.addWidget(self.shown_label)
        self.help_label = QLabel(GENERAL_HELP)
        self.help_label.setWordWrap(True)
        self.help_label.setObjectName("hint")

        # --- table
        self.model = FindingsModel(self)
        self.proxy = FindingsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setMouseTracking(True)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        fm = self.table.fontMetrics()
        widths = {COL_SEVERITY: "warning+++++", COL_KIND: "label conflict++", COL_SPLITS: "train ↔ test++",
                  COL_DISTANCE: "0 (identical)++", COL_CLASSES: "forest ↔ forest+", COL_FILES: "x" * 34}
        for col, sample in widths.items():
            header.resizeSection(col, fm.horizontalAdvance(sample))
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_SEVERITY, Qt.SortOrder.DescendingOrder)   # errors first
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.entered.connect(self._hovered)
        self.finding_actions = FindingActions(self)    # multi-select, Copy Paths, context menu

        # --- pair view
        self.pair = PairView()
        self.pair.imageRequested.connect(self.imageRequested)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.pair)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)

        content = QWidget()
        cl = QVBoxLayout(content)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(bar)
        cl.addWidget(self.help_label)
        cl.addWidget(self.splitter, 1)

        # --- empty states
        self.empty_title = QLabel()
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.empty_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.empty_title.setFont(font)
        self.empty_detail = QLabel()     # short lines, no word wrap: a centred block sizes itself right
        self.empty_detail.setTextFormat(Qt.TextFormat.RichText)
        empty = QWidget()
        el = QVBoxLayout(empty)
        el.addStretch(1)
        el.addWidget(self.empty_title)
        el.addSpacing(8)
        el.addWidget(self.empty_detail, 0, Qt.AlignmentFlag.AlignHCenter)
        el.addStretch(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(empty)     # 0: no dataset, or no findings
        self.stack.addWidget(content)   # 1: findings
        lay = QVBoxLayout(self)
        lay.addWidget(self.stack)
        self.set_findings(None, [])

    # ------------------------------------------------------------------ public API

    def set_findings(self, result, findings: list, threshold: float | None = None) -> None:
        """Show ``findings`` of ``result`` (a ScanResult); ``result=None`` clears the panel.

        New findings for the same result (a re-check after the normalization source changed) keep
        the filters and, when it is still there, the selected finding. ``threshold`` is the
        near-duplicate threshold used (for the texts); by default the core's.
        """
        if result is None:
            findings = []
        same = result is not None and result is self.result
        keep_severities = [s for s, chip in self.chips.items() if chip.isChecked()] if same else None
        keep_kind = self.kind_combo.currentData() if same else None
        selected = self.selected_finding() if same else None
        self.result = result
        self.findings = list(findings)
        self.threshold = threshold if threshold is not None else _core_constant("NEAR_THRESHOLD")
        self._counts = count_by_severity(self.findings)
        for s, chip in self.chips.items():
            chip.blockSignals(True)
            chip.setChecked(keep_severities is None or s in keep_severities)
            chip.blockSignals(False)
            chip.set_count(self._counts.get(s, 0))
        self._fill_kind_combo()
        if keep_kind is not None and self.kind_combo.findData(keep_kind) >= 0:
            self.kind_combo.blockSignals(True)
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(keep_kind))
            self.kind_combo.blockSignals(False)
        self.table.clearSelection()
        self.model.set_findings(self.findings, result.images if result is not None else None)
        self.pair.set_result(result, self.threshold)
        if result is None:
            self.empty_title.setText("No dataset")
            self.empty_detail.setText("<p>Open a dataset to check its splits for leakage.</p>")
            self.stack.setCurrentIndex(0)
        elif not self.findings:
            self.empty_title.setText(self._empty_title(result))
            self.empty_detail.setText(self._checked_text(result))
            self.stack.setCurrentIndex(0)
        else:
            self.stack.setCurrentIndex(1)
        # Apply the filters, then select the finding selected before, or else the first listed.
        self._filters_changed(prefer=_identity(selected) if selected is not None else None)

    def _select(self, identity: tuple) -> bool:
        for r in range(self.proxy.rowCount()):
            if _identity(self.proxy.finding(r)) == identity:
                self.table.selectRow(r)
                return True
        return False

    def error_count(self) -> int:
        return self._counts.get("error", 0)

    def count_by_severity(self) -> dict[str, int]:
        return dict(self._counts)

    def set_severity_filter(self, severities) -> None:
        """List only these severities (the chips follow)."""
        wanted = set(severities)
        for s, chip in self.chips.items():
            chip.blockSignals(True)
            chip.setChecked(s in wanted)
            chip.blockSignals(False)
        self._filters_changed()

    def set_kind_filter(self, kind: str | None) -> None:
        """List only ``kind`` (None: every kind)."""
        index = self.kind_combo.findData(kind) if kind is not None else 0
        if index < 0:   # a kind with no findings: add it so the filter is visible
            self.kind_combo.addItem(f"{kind_label(kind)} (0)", kind)
            index = self.kind_combo.count() - 1
        self.kind_combo.blockSignals(True)
        self.kind_combo.setCurrentIndex(index)
        self.kind_combo.blockSignals(False)
        self._filters_changed()

    def visible_findings(self) -> list:
        """The findings as listed: filtered and in display order."""
        return [self.proxy.finding(r) for r in range(self.proxy.rowCount())]

    def selected_finding(self):
        """The finding the pair view shows: the current one among the selected, else the first."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        current = self.table.currentIndex()
        if current.isValid() and any(r.row() == current.row() for r in rows):
            return self.proxy.finding(current.row())
        return self.proxy.finding(min(r.row() for r in rows))

    def selected_findings(self) -> list:
        """Every selected finding, in display order."""
        rows = sorted(r.row() for r in self.table.selectionModel().selectedRows())
        return [self.proxy.finding(r) for r in rows]

    # ------------------------------------------------------------------ internals

    def _checked_text(self, result) -> str:
        """Rich text: how many images were checked, and for what."""
        n = len(result.images)
        per_split = " · ".join(f"{html.escape(s)} {len(result.images.rows_in(s))}" for s in result.splits)
        near = (f"perceptual-hash distance at or under {self.threshold:g} bits"
                if self.threshold is not None else "close perceptual hashes")
        drift = _core_constant("DRIFT_THRESHOLD")
        checks = [
            "exact copies: identical decoded pixels, whatever the format or name",
            f"near copies: {near} (re-encoded, resized, cropped, brightness-shifted, mirrored)",
            "copies whose classes differ (label conflicts)",
            "normalization statistics computed with val or test data",
            "the same file name in two splits with different content",
            "splits whose mean drifts away from train's"
            + (f" (by more than {drift:g} on the 0-1 scale)" if drift is not None else ""),
        ]
        items = "".join(f"<li>{html.escape(c)}</li>" for c in checks)
        return (f"<p>Checked {n} image{'s' if n != 1 else ''} ({per_split}) for:</p>"
                f"<ul style='margin-left: 0px; -qt-list-indent: 1;'>{items}</ul>")

    @staticmethod
    def _empty_title(result) -> str:
        """Say what was actually checked: nothing can leak with no images or a single split."""
        with_images = [s for s, st in result.split_stats.items() if st.images]
        if not with_images:
            return "Nothing to check: no image could be decoded"
        if len(with_images) == 1:
            return f"No duplicates within {with_images[0]}; leakage between splits needs two splits"
        return "No leakage found between splits"

    def _fill_kind_combo(self) -> None:
        counts = Counter(f.kind for f in self.findings)
        combo = self.kind_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(f"All kinds ({len(self.findings)})", None)
        for kind in kind_order(counts):
            if counts.get(kind):
                combo.addItem(f"{kind_label(kind)} ({counts[kind]})", kind)
                combo.setItemData(combo.count() - 1, kind_help(kind), Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(0)
        combo.blockSignals(False)

    def _filters_changed(self, *_args, prefer: tuple | None = None) -> None:
        severities = [s for s, chip in self.chips.items() if chip.isChecked()]
        kind = self.kind_combo.currentData()
        self.proxy.set_filter(severities, None if kind is None else [kind])
        for chip in self.chips.values():
            chip.set_count(chip.count)   # refresh the "listed / hidden" tooltip
        self.help_label.setText(GENERAL_HELP if kind is None else kind_help(kind))
        self._update_shown()
        if prefer is not None and self._select(prefer):
            return
        if self.selected_finding() is None:
            if self.proxy.rowCount():
                self.table.selectRow(0)
            else:
                self.pair.show_finding(self.result, None)

    def _update_shown(self) -> None:
        n, shown = len(self.findings), self.proxy.rowCount()
        self.shown_label.setText(f"{shown} of {n} finding{'s' if n != 1 else ''} listed"
                                 if shown != n else f"{n} finding{'s' if n != 1 else ''}")

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        finding = self.selected_finding()
        self.pair.show_finding(self.result, finding)   # the pair view explains the finding's kind

    def _double_clicked(self, index: QModelIndex) -> None:
        finding = self.proxy.finding(index.row())
        rows = [int(r) for r in finding.rows]
        if rows:
            self.imageRequested.emit(rows[0])

    def _hovered(self, index: QModelIndex) -> None:
        if index.isValid() and index.column() == COL_KIND:
            self.help_label.setText(kind_help(self.proxy.finding(index.row()).kind))


__all__ = ["LeakagePanel", "COL_SEVERITY", "COL_KIND", "COL_SPLITS", "COL_DISTANCE", "COL_CLASSES",
           "COL_FILES", "COL_MESSAGE"]
