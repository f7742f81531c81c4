"""Leakage findings as a Qt table: a column model and a filter proxy (the texts: ``app.findings``).

``FindingsModel`` keeps the findings in a list and their sort keys in numpy arrays; sorting is a
stable ``np.lexsort`` over those keys (a model layout change), never a Python comparison per pair,
so tens of thousands of findings sort instantly. ``FindingsProxy`` filters by severity and kind
with a boolean mask and leaves the order to the source model: the view's ``sort()`` call is
forwarded there. Findings are read by attribute (kind, severity, splits, paths, distance,
message, rows), as ``inspector.core.leakage.Finding`` defines them.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
from PySide6.QtCore import (QAbstractItemModel, QAbstractTableModel, QModelIndex, QObject,
                            QPersistentModelIndex, QSortFilterProxyModel, Qt)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap

from ..app.findings import SEVERITY_HELP, format_distance, kind_help, kind_label, kind_order, severity_rank, split_joiner
from ..core.leakage import SEVERITIES
from .theme import SEVERITY_COLORS

COLUMNS = ("Severity", "Kind", "Splits", "Distance", "Classes", "Files", "Message")
COL_SEVERITY, COL_KIND, COL_SPLITS, COL_DISTANCE, COL_CLASSES, COL_FILES, COL_MESSAGE = range(len(COLUMNS))

FindingRole = Qt.ItemDataRole.UserRole        # the Finding object of the row
FindingIndexRole = Qt.ItemDataRole.UserRole + 1  # its index in the list given to set_findings


def severity_icon(severity: str, side: int = 10) -> QIcon:
    """A filled dot in the severity's colour (cached)."""
    key = (severity, side)
    icon = _ICONS.get(key)
    if icon is None:
        pm = QPixmap(side, side)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(SEVERITY_COLORS.get(severity, "#777777")))
        p.drawEllipse(0, 0, side - 1, side - 1)
        p.end()
        icon = _ICONS[key] = QIcon(pm)
    return icon


_ICONS: dict[tuple[str, int], QIcon] = {}


class FindingsModel(QAbstractTableModel):
    """One row per finding; ``_order`` maps a model row to an index into ``findings``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.findings: list = []
        self._text: list[tuple[str, ...]] = []
        self._tips: list[str] = []           # tooltip of the Files column: every path
        self._order = np.zeros(0, np.int64)
        self._inverse = np.zeros(0, np.int64)
        self.severity_rank = np.zeros(0, np.int8)   # per finding
        self.kind_code = np.zeros(0, np.int16)      # per finding, index into self.kind_names
        self.kind_names: list[str] = []
        self._distance = np.zeros(0)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self.generation = 0   # bumped on every set_findings and sort: the proxy's row mask is stale
        self._bold = QFont()
        self._bold.setBold(True)
        self._brushes = {s: QBrush(QColor(c)) for s, c in SEVERITY_COLORS.items()}

    # ------------------------------------------------------------------ contents

    def set_findings(self, findings: Sequence, table=None) -> None:
        """Replace the findings; ``table`` (an ImageTable) gives the classes of the rows involved."""
        self.beginResetModel()
        self.generation += 1
        self.findings = list(findings)
        n = len(self.findings)
        self.kind_names = kind_order({f.kind for f in self.findings})
        kind_index = {k: i for i, k in enumerate(self.kind_names)}
        self.severity_rank = np.array([severity_rank(f.severity) for f in self.findings], np.int8)
        self.kind_code = np.array([kind_index[f.kind] for f in self.findings], np.int16)
        self._distance = np.array([np.nan if f.distance is None else float(f.distance)
                                   for f in self.findings], float)
        self._text = [self._row_text(f, table) for f in self.findings]
        self._tips = ["\n".join(self._paths(f, table)) for f in self.findings]
        self._order = np.arange(n, dtype=np.int64)
        self._inverse = self._order.copy()
        if self._sort is not None:
            self._order = self._sorted_order(*self._sort)
            self._inverse[self._order] = np.arange(n)
        self.endResetModel()

    @staticmethod
    def _paths(f, table) -> list[str]:
        if f.paths:
            return [str(p) for p in f.paths]
        if table is not None:
            return [table.paths[r] for r in f.rows if 0 <= r < len(table)]
        return []

    def _row_text(self, f, table) -> tuple[str, ...]:
        rows = [r for r in f.rows if table is not None and 0 <= r < len(table)]
        classes = [table.label_of(r) or "—" for r in rows]
        if classes and all(c == classes[0] for c in classes):
            classes = classes[:1]
        names = [os.path.basename(p) for p in self._paths(f, table)]
        files = " ↔ ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        joiner = split_joiner(f.kind)
        return (f.severity, kind_label(f.kind), joiner.join(f.splits), format_distance(f.kind, f.distance),
                " ↔ ".join(classes), files or "—", f.message)

    def finding(self, row: int):
        """The finding shown at model row ``row``."""
        return self.findings[int(self._order[row])]

    def finding_index(self, row: int) -> int:
        return int(self._order[row])

    @property
    def order(self) -> np.ndarray:
        """Finding index per model row."""
        return self._order

    def row_of(self, finding_index: int) -> int:
        """The model row that shows ``findings[finding_index]``."""
        return int(self._inverse[finding_index])

    # ------------------------------------------------------------------ Qt model

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.findings)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_SEVERITY:
                return "Sorted error > warning > info"
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_DISTANCE:
                return "Perceptual-hash distance in bits between the two files (0 = same picture)"
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self.findings)):
            return None
        i = int(self._order[row])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text[i][col]
        f = self.findings[i]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_SEVERITY:
                return SEVERITY_HELP.get(f.severity, f.severity)
            if col == COL_KIND:
                return kind_help(f.kind)
            if col == COL_FILES:
                return self._tips[i] or None
            if col == COL_MESSAGE:
                return f.message
            return None
        if col == COL_SEVERITY:
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._brushes.get(f.severity)
            if role == Qt.ItemDataRole.DecorationRole:
                return severity_icon(f.severity)
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_DISTANCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == FindingRole:
            return f
        if role == FindingIndexRole:
            return i
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # ------------------------------------------------------------------ sorting

    def _column_key(self, column: int) -> np.ndarray:
        if column == COL_SEVERITY:
            return self.severity_rank.astype(float)
        if column == COL_KIND:
            return self.kind_code.astype(float)
        if column == COL_DISTANCE:
            return self._distance
        if not self._text:
            return np.zeros(0)
        strings = np.array([t[column].casefold() for t in self._text])
        return np.unique(strings, return_inverse=True)[1].astype(float)

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> np.ndarray:
        n = len(self.findings)
        if not (0 <= column < len(COLUMNS)) or n == 0:
            return np.arange(n, dtype=np.int64)
        primary = self._column_key(column)
        if order == Qt.SortOrder.DescendingOrder:
            primary = -primary
        primary = np.where(np.isnan(primary), np.inf, primary)   # no distance: last either way
        distance = np.where(np.isnan(self._distance), np.inf, self._distance)
        # Ties: most severe first, then kind order, then closest pairs, then the core's order.
        keys = (np.arange(n), distance, self.kind_code, -self.severity_rank.astype(int), primary)
        return np.lexsort(keys).astype(np.int64)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._sort == (column, order):   # set_findings keeps the order; a repeat is a no-op
            return
        self._sort = (column, order)
        self.generation += 1
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        held = [(int(self._order[ix.row()]), ix.column()) for ix in old]
        self._order = self._sorted_order(column, order)
        self._inverse = np.empty_like(self._order)
        self._inverse[self._order] = np.arange(len(self._order))
        self.changePersistentIndexList(old, [self.index(int(self._inverse[i]), c) for i, c in held])
        self.layoutChanged.emit()


class FindingsProxy(QSortFilterProxyModel):
    """Filters by severity and kind (a mask per finding); order is the source model's."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._severities: frozenset[str] = frozenset(SEVERITIES)
        self._kinds: frozenset[str] | None = None    # None: every kind
        self._row_ok: list[bool] = []   # per source row, from the mask per finding
        self._generation = -1           # the source generation _row_ok was computed for
        self._source: FindingsModel | None = None
        self.setDynamicSortFilter(False)

    def setSourceModel(self, model: QAbstractItemModel) -> None:  # noqa: N802
        self._source = model
        self._generation = -1
        super().setSourceModel(model)

    @property
    def source(self) -> FindingsModel:
        return self._source

    def severities(self) -> frozenset[str]:
        return self._severities

    def kinds(self) -> frozenset[str] | None:
        return self._kinds

    def set_filter(self, severities: Iterable[str] | None = None, kinds: Iterable[str] | None = None) -> None:
        """Show only ``severities`` (None: all) and ``kinds`` (None: all)."""
        self._severities = frozenset(SEVERITIES if severities is None else severities)
        self._kinds = None if kinds is None else frozenset(kinds)
        self._update_mask()
        self.invalidate()

    def _update_mask(self) -> None:
        src = self.source
        if src is None:
            return
        # Index rank + 1: an unknown severity (rank -1) is always shown.
        sev_ok = np.array([True] + [s in self._severities for s in sorted(SEVERITIES, key=severity_rank)])
        mask = sev_ok[src.severity_rank.astype(np.int64) + 1]
        if self._kinds is not None and len(mask):
            kind_ok = np.array([k in self._kinds for k in src.kind_names], bool)
            mask &= kind_ok[src.kind_code]
        self._row_ok = mask[src.order].tolist()
        self._generation = src.generation

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if self._generation != self._source.generation:   # new findings or a new order
            self._update_mask()
        return self._row_ok[source_row]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is the source model's numpy sort; the proxy only filters."""
        self.source.sort(column, order)

    def finding(self, row: int):
        return self.source.finding(self.mapToSource(self.index(row, 0)).row())
