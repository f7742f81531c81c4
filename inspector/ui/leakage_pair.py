"""The pair view of the leakage panel: the two files of a finding side by side.

Each file is decoded off the GUI thread (a lane of ``runner.BackgroundRunner`` per side: the
newest selection wins), shrunk to ``PREVIEW_SIDE`` with Pillow's reducing resize, and kept in a
small cache; the label only rescales that small pixmap when it is resized.
"""
from __future__ import annotations

import html
import os
from collections import OrderedDict

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from inspector.core.decode import DecodeError, decode
from inspector.core.formatting import human_bytes
from inspector.core.sources import ReadError, image_payload

from ..app.findings import format_distance, kind_help, kind_label, split_joiner
from .theme import SEVERITY_COLORS
from .runner import shared_runner
from .wrap import breakable, path_label

PREVIEW_SIDE = 512   # longest side of a cached preview, in pixels
_CACHE_SIZE = 24


def _to_8bit(im: Image.Image) -> Image.Image:
    """RGB or L for display; 16-bit grey keeps its top 8 bits."""
    if im.mode.startswith("I"):
        arr = np.asarray(im).astype(np.int64) >> 8
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    return im if im.mode in ("RGB", "L") else im.convert("RGB")


def pil_to_qimage(im: Image.Image) -> QImage:
    """An 8-bit RGB or grey QImage that owns its pixels."""
    im = _to_8bit(im)
    w, h = im.size
    if im.mode == "L":
        return QImage(im.tobytes(), w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(im.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def load_preview(source: str | bytes, side: int = PREVIEW_SIDE, name: str | None = None) -> QImage:
    """Decode ``source`` (a path or the encoded bytes) as training would see it and shrink it to
    at most ``side`` pixels."""
    im = _to_8bit(decode(source, name).image)
    if max(im.size) > side:
        im.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return pil_to_qimage(im)


class PreviewCache:
    """A few recently shown previews, keyed by absolute path (cleared for a new dataset)."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, QPixmap | str] = OrderedDict()

    def clear(self) -> None:
        self._items.clear()

    def lookup(self, abspath: str) -> QPixmap | str | None:
        """A pixmap, the reason the file cannot be shown, or None when it was not loaded yet."""
        if abspath in self._items:
            self._items.move_to_end(abspath)
            return self._items[abspath]
        return None

    def store(self, abspath: str, value: QPixmap | str) -> None:
        self._items[abspath] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def cannot_display(exc: BaseException) -> str:
    """A preview must never take the panel down: any failure is a line of text."""
    return f"cannot display: {exc}" if isinstance(exc, (DecodeError, ReadError)) else f"cannot display: {type(exc).__name__}: {exc}"


class ImageLabel(QLabel):
    """Shows a pixmap scaled to fit, keeping its aspect ratio; small images are enlarged with
    visible pixels (nearest neighbour) so that pixel-level differences can be compared."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(120, 90)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("QLabel { background: #2b2b2b; color: #dddddd; }")

    def set_source(self, pixmap: QPixmap | None, text: str = "") -> None:
        self._source = pixmap if pixmap is not None else QPixmap()
        if self._source.isNull():
            self.clear()
            self.setText(text)
        else:
            self.setText("")
            self._rescale()

    def source_pixmap(self) -> QPixmap:
        return self._source

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 240)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if not self._source.isNull():
            self._rescale()

    def _rescale(self) -> None:
        area = self.contentsRect().size()
        src = self._source
        if area.width() < 2 or area.height() < 2:
            return
        scale = min(area.width() / src.width(), area.height() / src.height())
        mode = (Qt.TransformationMode.FastTransformation if scale >= 2
                else Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(src.scaled(area, Qt.AspectRatioMode.KeepAspectRatio, mode))


class ImagePanel(QWidget):
    """One file of a pair: the image, then its path, split, class and size, then a button."""

    imageRequested = Signal(int)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row: int | None = None
        self._lane = shared_runner().lane(self)
        self.title = QLabel(f"<b>{title}</b>")
        self.choice = QComboBox()          # other files of a finding with more than two
        self.choice.setVisible(False)
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(12)
        self.image = ImageLabel()
        self.path_label = QLabel()
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        path_label(self.path_label)
        self.meta_label = QLabel()
        self.meta_label.setWordWrap(True)
        self.button = QPushButton("Show in image list")
        self.button.setToolTip("Select this file in the image list")
        self.button.clicked.connect(self._request)
        self.title.setMinimumHeight(self.choice.sizeHint().height())   # A and B images line up
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.choice, 1)
        head.addStretch(0)
        foot = QHBoxLayout()
        foot.addWidget(self.meta_label, 1)
        foot.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.path_label)
        lay.addLayout(foot)
        self.show_row(None, None, None)

    def _request(self) -> None:
        if self.row is not None:
            self.imageRequested.emit(self.row)

    def show_row(self, result, row: int | None, cache: PreviewCache | None) -> None:
        self.row = row
        self.button.setEnabled(row is not None)
        self._lane.cancel()
        if result is None or row is None or cache is None:
            self.image.set_source(None, "")
            self.path_label.setText("")
            self.meta_label.setText("")
            return
        t = result.images
        path = t.paths[row]
        split, label = t.split_of(row), t.label_of(row)
        abspath = os.path.join(result.root, path)
        cached = cache.lookup(abspath)
        if cached is None:
            self.image.set_source(None, "Loading…")

            def loaded(value: QPixmap | str) -> None:
                cache.store(abspath, value)
                self._show_pixmap(value)

            self._lane.submit(lambda: load_preview(image_payload(result, path), name=path),
                              lambda image: loaded(QPixmap.fromImage(image)),
                              lambda exc: loaded(cannot_display(exc)))
        else:
            self._show_pixmap(cached)
        self.path_label.setText(breakable(path))
        self.path_label.setToolTip(os.path.join(result.root, path))
        fmt = t.format_names[int(t.format[row])] if len(t.format_names) else ""
        parts = [f"split <b>{html.escape(split)}</b>",
                 f"class <b>{html.escape(label) if label is not None else '—'}</b>",
                 f"{int(t.width[row])} × {int(t.height[row])} px"]
        if fmt:
            parts.append(fmt)
        parts.append(human_bytes(int(t.nbytes[row])))
        self.meta_label.setText(" · ".join(parts))

    def _show_pixmap(self, value: QPixmap | str) -> None:
        if isinstance(value, QPixmap):
            self.image.set_source(value)
            self.image.setToolTip("")
        else:
            self.image.set_source(None, value)
            self.image.setToolTip(value)

    @property
    def loading(self) -> bool:
        return self._lane.busy


class PairView(QWidget):
    """The selected finding: what it is, then its (first) two files side by side."""

    imageRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result = None
        self.finding = None
        self.threshold: float | None = None
        self.cache = PreviewCache()
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.message = path_label(QLabel())
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        self.explain.setObjectName("hint")
        self.left = ImagePanel("A")
        self.right = ImagePanel("B")
        for panel in (self.left, self.right):
            panel.imageRequested.connect(self.imageRequested)
        self.right.choice.currentIndexChanged.connect(self._choose_other)
        pair = QWidget()
        pl = QHBoxLayout(pair)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.left, 1)
        pl.addWidget(self.right, 1)
        self.no_files = QLabel()
        self.no_files.setTextFormat(Qt.TextFormat.RichText)
        self.no_files.setWordWrap(True)
        self.no_files.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder = QLabel("Select a finding to compare its files side by side.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("muted")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)   # 0: nothing selected
        self.stack.addWidget(pair)               # 1: two files
        self.stack.addWidget(self.no_files)      # 2: a finding about whole splits
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addWidget(self.header)
        lay.addWidget(self.message)
        lay.addWidget(self.explain)
        lay.addWidget(self.stack, 1)
        self.show_finding(None, None)

    def set_result(self, result, threshold: float | None = None) -> None:
        if result is not self.result:
            self.cache.clear()
        self.result = result
        self.threshold = threshold
        self.show_finding(result, None)

    def show_finding(self, result, finding) -> None:
        self.result, self.finding = result, finding
        for w in (self.header, self.message, self.explain):
            w.setVisible(finding is not None)
        if finding is None:
            self.left.show_row(None, None, None)
            self.right.show_row(None, None, None)
            self.stack.setCurrentIndex(0)
            return
        color = SEVERITY_COLORS.get(finding.severity, "#777777")
        bits = [f"<span style='color:{color}; font-weight:bold'>{html.escape(finding.severity.upper())}</span>",
                f"<b>{html.escape(kind_label(finding.kind))}</b>"]
        if finding.splits:
            joiner = split_joiner(finding.kind)
            bits.append(html.escape(joiner.join(finding.splits)))
        if finding.distance is not None:
            word = "mean difference" if finding.kind == "drift" else "distance"
            d = f"{word} {format_distance(finding.kind, finding.distance)}"
            if self.threshold is not None and finding.kind in ("near", "mirror"):
                d += f" (threshold {self.threshold:g})"
            bits.append(html.escape(d))
        rows = self._rows(finding)
        if len(rows) >= 2 and result is not None:
            classes = [result.images.label_of(r) for r in rows]
            if len({c for c in classes}) > 1:
                bits.append("classes " + html.escape(" ≠ ".join(c or "—" for c in dict.fromkeys(classes))))
            else:
                bits.append(f"class {html.escape(classes[0] or '—')}")
        self.header.setText(" &nbsp;·&nbsp; ".join(bits))
        self.message.setText(breakable(finding.message))
        self.explain.setText(kind_help(finding.kind))
        if not rows or result is None:
            self.no_files.setText(self._split_summary(result, finding))
            self.left.show_row(None, None, None)
            self.right.show_row(None, None, None)
            self.stack.setCurrentIndex(2)
            return
        self.left.show_row(result, rows[0], self.cache)
        others = rows[1:]
        self.right.choice.blockSignals(True)
        self.right.choice.clear()
        for r in others:
            self.right.choice.addItem(f"{result.images.split_of(r)}: {result.images.paths[r]}", r)
        self.right.choice.setCurrentIndex(0)
        self.right.choice.blockSignals(False)
        self.right.choice.setVisible(len(others) > 1)
        self.right.choice.setToolTip(f"{len(rows)} files in this finding: choose the one to compare with A")
        self.right.show_row(result, others[0] if others else None, self.cache)
        self.stack.setCurrentIndex(1)

    @staticmethod
    def _split_summary(result, finding) -> str:
        """Rich text for a finding about whole splits: each split's mean and std (0-1 scale)."""
        head = "<p>This finding is about whole splits, not a pair of files.</p>"
        paths = [str(p) for p in finding.paths]
        if paths:
            head += "<p>Files: " + ", ".join(html.escape(p) for p in paths) + "</p>"
        if result is None or not result.split_stats:
            return head
        channels = "RGB" if result.mode == "RGB" else "L"
        cells = "".join(f"<th>&nbsp;mean {c}&nbsp;</th>" for c in channels)
        cells += "".join(f"<th>&nbsp;std {c}&nbsp;</th>" for c in channels)
        lines = [f"<tr><th align='left'>split&nbsp;</th><th>&nbsp;images&nbsp;</th>{cells}</tr>"]
        involved = set(finding.splits)
        for name in result.splits:
            st = result.split_stats.get(name)
            if st is None:
                continue
            values = [*st.mean, *st.std]
            row = "".join(f"<td align='right'>&nbsp;{v:.4f}&nbsp;</td>" for v in values)
            label = f"<b>{html.escape(name)}</b>" if name in involved else html.escape(name)
            lines.append(f"<tr><td>{label}&nbsp;</td><td align='right'>&nbsp;{st.images}&nbsp;</td>{row}</tr>")
        return (head + "<p>Per-split statistics (0-1 scale); the splits of this finding in bold:</p>"
                + "<table align='center' cellspacing='0' cellpadding='2'>" + "".join(lines) + "</table>")

    def _rows(self, finding) -> list[int]:
        if self.result is None:
            return []
        n = len(self.result.images)
        return [int(r) for r in finding.rows if 0 <= int(r) < n]

    def _choose_other(self, index: int) -> None:
        if index >= 0 and self.result is not None:
            self.right.show_row(self.result, int(self.right.choice.itemData(index)), self.cache)
