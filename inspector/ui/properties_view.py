"""Image properties per split: sizes and aspect ratios, modes, formats, conversions, and the lists
of files that failed to decode or were skipped, each with its reason."""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QTabWidget, QTableView, QTextBrowser,
                               QWidget)

from ..app.dataset_facts import decoded_class_counts
from ..core.formatting import human_bytes
from ..core.scan import ScanResult
from ..core.stats import SplitStats

Index = QModelIndex | QPersistentModelIndex


class RecordModel(QAbstractTableModel):
    """A read-only table of (path, split, reason) records: failures or skipped files."""

    def __init__(self, headers: Sequence[str], tips: Sequence[str], parent=None) -> None:
        super().__init__(parent)
        self._headers, self._tips = list(headers), list(tips)
        self._rows: list[tuple[str, str, str]] = []

    def set_rows(self, rows: Sequence[tuple[str, str, str]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._headers):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tips[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._rows[index.row()][index.column()]
        return None

    def record(self, row: int) -> tuple[str, str, str]:
        return self._rows[row]


def _records_view(model: RecordModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
    header.resizeSection(0, 320)
    header.resizeSection(1, 60)
    header.setStretchLastSection(True)
    view.setAlternatingRowColors(True)
    return view


def _fmt_dist(d: Mapping | None, digits: int = 0) -> str:
    if not d:
        return "—"
    f = f"{{:.{digits}f}}"
    return f"{f.format(d['min'])} / {f.format(d['median'])} / {f.format(d['max'])}"


def _fmt_megapixels(d: Mapping | None) -> str:
    """Two decimals for photos; three significant digits below 0.01 MP (MNIST's 0.000784, not 0.00)."""
    if not d:
        return "—"
    small = d["max"] < 0.01
    return " / ".join(f"{d[k]:.3g}" if small else f"{d[k]:.2f}" for k in ("min", "median", "max"))


def _counts(d: Mapping[str, int]) -> str:
    if not d:
        return "—"
    return ", ".join(f"{html.escape(str(k))} {v:,}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))


def _fmt_bytes(d: Mapping | None) -> str:
    if not d:
        return "—"
    return (f"{human_bytes(d['min'])} / {human_bytes(d['median'])} / {human_bytes(d['max'])}"
            f"<br><span style='color:gray'>{human_bytes(d['total'])} in all</span>")


def summary_html(stats: Mapping[str, SplitStats], result: ScanResult | None) -> str:
    """An HTML table, one column per split, one row per property."""
    if not stats:
        return "<p>No dataset scanned yet.</p>"
    names = list(stats)
    rows: list[tuple[str, str, list[str]]] = []

    def row(title: str, tip: str, values: list[str]) -> None:
        rows.append((title, tip, values))

    sizes = [stats[s].sizes or {} for s in names]
    row("Images", "Decoded images", [f"{stats[s].images:,}" for s in names])
    row("Width (px)", "min / median / max", [_fmt_dist(z.get("width")) for z in sizes])
    row("Height (px)", "min / median / max", [_fmt_dist(z.get("height")) for z in sizes])
    row("Aspect w/h", "width ÷ height, min / median / max", [_fmt_dist(z.get("aspect_ratio"), 2) for z in sizes])
    row("Megapixels", "min / median / max", [_fmt_megapixels(z.get("megapixels")) for z in sizes])
    row("File size", "bytes on disk, min / median / max; total", [_fmt_bytes(z.get("file_bytes")) for z in sizes])
    row("Orientation", "landscape (w > h), portrait (w < h), square",
        [(f"{z['orientation']['landscape']:,} land., {z['orientation']['portrait']:,} portr., "
          f"{z['orientation']['square']:,} sq.") if z.get("orientation") else "—" for z in sizes])
    row("Distinct sizes", "", [f"{z['distinct_sizes']:,}" if "distinct_sizes" in z else "—" for z in sizes])
    row("Common sizes", "most common width × height: count",
        [_common_sizes(z) for z in sizes])
    row("File modes", "The files' own Pillow modes before conversion", [_counts(stats[s].modes) for s in names])
    row("Formats", "Formats read from the content", [_counts(stats[s].formats) for s in names])
    row("Conversions", "What a loader does to reach the dataset mode (alpha dropped, palette expanded, …)",
        [_counts(stats[s].flags) for s in names])
    row("Failed", "Files that could not be decoded (see Failures)", [f"{stats[s].failed:,}" for s in names])
    if result is not None:
        classes = decoded_class_counts(result)
        row("Classes", "Decoded images per class (first folder below the split); failed files are in no class",
            [(f"{len(classes.get(s, {}))}: " + _counts(classes.get(s, {}))) if classes.get(s) else "none"
             for s in names])
    head = "".join(f"<th align='left'>{html.escape(s)}</th>" for s in names)
    body = "".join(
        f"<tr><td title='{html.escape(tip)}'><b>{html.escape(title)}</b></td>"
        + "".join(f"<td>{v}</td>" for v in values) + "</tr>"
        for title, tip, values in rows)
    note = "<p style='color:gray'>Sizes: min / median / max.</p>"
    if result is not None:
        note = (f"<p>Mode <b>{result.mode}</b>: every image is converted with "
                f"<code>.convert(\"{result.mode}\")</code>, as a training loader does. "
                f"{len(result.failures):,} failed, {len(result.skipped):,} skipped. "
                "Sizes: min / median / max.</p>")
    return (f"{note}<table cellspacing='0' cellpadding='4' border='0'><tr><th></th>{head}</tr>"
            f"{body}</table>")


class PropertiesView(QTabWidget):
    """Tabs: Summary (per-split properties), Failures (n), Skipped (n)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QTextBrowser()
        self.summary.setOpenLinks(False)
        self.summary.setToolTip("Image properties per split: sizes, aspect ratios, modes, formats and "
                                "the conversions a loader applies.")
        tips = ("Path relative to the dataset root", "Split of the file",
                "Why the file could not be used")
        self.failures = RecordModel(("Path", "Split", "Reason"), tips, self)
        self.skipped = RecordModel(("Path", "Split", "Reason"), tips, self)
        self.failures_view = _records_view(self.failures)
        self.skipped_view = _records_view(self.skipped)
        self.addTab(self.summary, "Properties")
        self.addTab(self.failures_view, "Failures")
        self.addTab(self.skipped_view, "Skipped")
        self.setTabToolTip(1, "Files that could not be decoded, with the reason; they are not in the statistics.")
        self.setTabToolTip(2, "Entries that are not images (or not scanned), with the reason. Never dropped silently.")
        self.set_result(None)

    def set_stats(self, stats: Mapping[str, SplitStats] | None) -> None:
        """Live update during a scan (sizes arrive with the final result)."""
        self.summary.setHtml(summary_html(stats or {}, None))

    def set_result(self, result: ScanResult | None) -> None:
        if result is None:
            self.summary.setHtml(summary_html({}, None))
            self.failures.set_rows([])
            self.skipped.set_rows([])
        else:
            self.summary.setHtml(summary_html(result.split_stats, result))
            self.failures.set_rows([(f.path, f.split or "", f.reason) for f in result.failures])
            self.skipped.set_rows([(s.path, s.split or "", s.reason) for s in result.skipped])
        self.setTabText(1, f"Failures ({self.failures.rowCount():,})")
        self.setTabText(2, f"Skipped ({self.skipped.rowCount():,})")


def _common_sizes(summary: dict) -> str:
    """Top sizes with their counts; 'all different' when no size repeats (a list of 1s says nothing)."""
    common = summary.get("most_common", [])
    if not common:
        return "—"
    if common[0][2] == 1 and len(common) > 1:
        return "all different"
    return "<br>".join(f"{w}×{h}: {n:,}" for w, h, n in common[:4])

