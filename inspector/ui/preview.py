"""Preview of the selected image with its statistics.

The file is decoded off the GUI thread (on a lane of ``runner.BackgroundRunner``: a 6000 x 4000
photo takes a few hundred milliseconds) into a display-sized QImage (QImage, unlike QPixmap, may be
built in any thread); only the newest request is shown. Display only: statistics come from the scan.
"""
from __future__ import annotations

import html
import os

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from ..core.decode import DecodeError, decode
from ..core.scan import ScanResult
from ..core.sources import ReadError, image_payload
from .runner import BackgroundRunner, shared_runner
from .theme import channel_names

MAX_SIDE = 1600  # display copy: enough for a 4K screen panel, small enough to move quickly


def to_qimage(im: Image.Image) -> QImage:
    """A canonical decoded image (RGB, L or I;16) as an 8-bit QImage that owns its memory."""
    if im.mode == "I;16":  # display only: show the top 8 bits
        im = Image.fromarray((np.asarray(im, dtype=np.uint16) >> 8).astype(np.uint8), "L")
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    if max(im.size) > MAX_SIDE:
        im = im.copy()
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
    data = im.tobytes()
    fmt = QImage.Format.Format_RGB888 if im.mode == "RGB" else QImage.Format.Format_Grayscale8
    bpl = im.width * (3 if im.mode == "RGB" else 1)
    return QImage(data, im.width, im.height, bpl, fmt).copy()  # copy: detach from the bytes object


class ScaledImageLabel(QLabel):
    """A label that shows a pixmap scaled to fit, re-scaled whenever the label is resized."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self._source: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_source(self, pixmap: QPixmap | None, text: str = "") -> None:
        self._source = pixmap
        if pixmap is None:
            self.setPixmap(QPixmap())
            self.setText(text)
        else:
            self._rescale()

    def has_image(self) -> bool:
        return self._source is not None

    def _rescale(self) -> None:
        if self._source is None:
            return
        size = self.contentsRect().size()
        # Small images are enlarged with nearest-neighbour so single pixels stay visible.
        small = self._source.width() * 2 <= size.width() and self._source.height() * 2 <= size.height()
        mode = Qt.TransformationMode.FastTransformation if small else Qt.TransformationMode.SmoothTransformation
        self.setPixmap(self._source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._rescale()


class ImagePreview(QWidget):
    """Image on top, its statistics below. ``show_row`` / ``show_failure`` / ``clear``."""

    showInNormalization = Signal(int)  # image row

    def __init__(self, parent: QWidget | None = None, runner: BackgroundRunner | None = None) -> None:
        super().__init__(parent)
        self._image_label = ScaledImageLabel("Select an image in the list")
        self._image_label.setObjectName("previewImage")
        self._image_label.setMinimumSize(QSize(200, 160))
        self._info = QTextBrowser()
        self._info.setOpenLinks(False)
        self._info.setMaximumHeight(260)
        self._button = QPushButton("Show in Normalization tab")
        self._button.setToolTip("Open this image in the Normalization tab to see what each scheme does to it.")
        self._button.setEnabled(False)
        self._button.clicked.connect(self._on_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self._image_label, 3)
        layout.addWidget(self._info, 2)
        layout.addWidget(self._button)
        self._lane = (runner or shared_runner()).lane(self)
        self._row: int | None = None
        self.loaded_path: str | None = None  # the file whose pixels are on screen (tests)

    def clear(self) -> None:
        self._lane.cancel()
        self._row = None
        self.loaded_path = None
        self._image_label.set_source(None, "Select an image in the list")
        self._info.setHtml("")
        self._button.setEnabled(False)

    def show_row(self, result: ScanResult, row: int, amplification: np.ndarray | None) -> None:
        t = result.images
        self._row = row
        self._button.setEnabled(True)
        names = channel_names(result.mode)
        path = t.paths[row]
        lines = [
            f"<b>{html.escape(path)}</b>",
            f"split <b>{html.escape(t.split_of(row))}</b>"
            + (f", class <b>{html.escape(t.label_of(row) or '')}</b>" if t.label_of(row) else ""),
            f"{t.width[row]} × {t.height[row]} px, {t.format_names[t.format[row]]}, "
            f"file mode {t.mode_names[t.mode[row]]} → {result.mode}, {int(t.nbytes[row]):,} bytes",
        ]
        flags = t.flag_names(row)
        if flags:
            lines.append("conversions: " + html.escape(", ".join(flags)))
        head = "".join(f"<th align='right'>{c}</th>" for c in names)

        def tr(title: str, values, fmt: str) -> str:
            return f"<tr><td>{title}</td>" + "".join(f"<td align='right'>{fmt.format(v)}</td>" for v in values) + "</tr>"

        table = (f"<table cellspacing='0' cellpadding='2'><tr><th></th>{head}</tr>"
                 + tr("mean (0–1)", t.mean[row], "{:.4f}") + tr("std (0–1)", t.std[row], "{:.4f}")
                 + tr("mean (0–255)", t.mean[row] * 255, "{:.1f}") + tr("std (0–255)", t.std[row] * 255, "{:.2f}")
                 + tr("min (0–255)", t.min[row] * 255, "{:.0f}") + tr("max (0–255)", t.max[row] * 255, "{:.0f}"))
        if amplification is not None:
            table += tr("amplification", amplification, "{:.2f}×")
        table += "</table>"
        note = ("<p style='color:gray'>amplification = dataset std ÷ image std: how much more per-image "
                "standardization stretches this image than dataset standardization.</p>"
                if amplification is not None else "")
        self._info.setHtml("<br>".join(lines) + table + note)
        self._load(result, path)

    def show_failure(self, path: str, split: str | None, reason: str) -> None:
        self._lane.cancel()
        self._row = None
        self._button.setEnabled(False)
        self.loaded_path = None
        self._image_label.set_source(None, "Could not be decoded")
        self._info.setHtml(f"<b>{html.escape(path)}</b><br>split {html.escape(split or '—')}<br>"
                           f"<span style='color:#D64541'>failed: {html.escape(reason)}</span><br>"
                           "Not included in any statistic.")

    # -------------------------------------------------------------- loading

    def _load(self, result: ScanResult, path: str) -> None:
        """Decode the image off the GUI thread: a file, or bytes read from a tar shard or Parquet."""
        if not self._image_label.has_image():
            self._image_label.setText("Loading…")  # keep the previous image meanwhile: no flicker
        abspath = os.path.join(result.root, *path.split("/"))  # what loaded_path reports
        self._lane.submit(lambda: to_qimage(decode(image_payload(result, path), path).image),
                          lambda image: self._on_loaded(abspath, image), self._on_load_error)

    def _on_loaded(self, abspath: str, image: QImage) -> None:
        self.loaded_path = abspath
        self._image_label.set_source(QPixmap.fromImage(image))

    def _on_load_error(self, exc: BaseException) -> None:
        # Display only: any failure becomes a message in the panel.
        error = str(exc) if isinstance(exc, (DecodeError, ReadError)) else f"{type(exc).__name__}: {exc}"
        self._image_label.set_source(None, f"Cannot show this file: {error}")

    def _on_button(self) -> None:
        if self._row is not None:
            self.showInNormalization.emit(self._row)

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Wait for the decode thread (shutdown and tests)."""
        return self._lane.wait_idle(timeout_ms)
