"""Normalization view: what dataset versus per-image normalization does to one image, side by side,
with the dataset-level numbers and a data-driven recommendation.

Layout (about 1500x900)::

    header: path, split, class, size, flags | per-channel mean/std (0-1) | amplification per channel
    controls: third panel [scheme v]   channel [Luminance v]   colour-scale note
    +--------------+--------------+--------------+-----+-----+
    | original     | dataset      | per-image    | std | +-1 |   images: locked aspect, y down,
    | (true        | standardized | (selectable) | bar | bar |   zoom/pan linked across panels
    |  colours)    |              |              |     |     |
    +--------------+--------------+--------------+-----+-----+
    | histogram    | histogram    | histogram    |   (stepped, fixed x range, blue = below zero)
    | mean std below zero min max |              |
    ================ splitter =================================
    | Dataset summary: facts in columns   | Recommendation     |   scrolls if the window is small
    | [Show most amplified image]         | (warnings in red)  |

Colour scales (fixed, never auto-levelled; ``autoLevels=False`` on every ImageItem):

- One non-interactive ``pg.ColorBarItem`` with the diverging "CET-D1" map over
  ``core.normalize.STANDARDIZED_RANGE`` (-4..+4 std) drives the levels and the lookup table of the
  dataset-standardized panel and, when the third panel shows a standardized scheme, of that panel
  too: the same colour is the same value in both, zero is the neutral grey.
- The bounded schemes ([0, 1], [-1, 1], per-image min-max) are shown on a second, clearly labelled
  fixed bar over -1..+1 with the same map (only visible while the third panel shows one of them).
  [0, 1] and min-max therefore use only the warm half: nothing is below zero, which is the point.
- The original is shown in true colours (no colour map).
- The third panel owns two ImageItems, one attached to each bar, and shows one of them; attaching
  one item to two bars in turn would make the bars fight over its levels.

Images are decoded and the panels computed on a lane of ``runner.BackgroundRunner`` (the GUI
thread only draws, about 10 ms for 512x512); requests superseded while one runs are skipped.
``imageShown(row)`` is emitted once the panels show the image and ``imageFailed(row, message)``
when it cannot be shown; wait for one of them (``qtbot.waitSignal``) before reading the panels.

The panels live in ``normalization_panel``, the summary strip in ``normalization_summary``, and the
numbers in ``inspector.app.normalization`` (no Qt).
"""
from __future__ import annotations

import html
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSplitter,
                               QStackedWidget, QVBoxLayout, QWidget)

from ..app import normalization as model
from ..app.normalization import LUMINANCE, ORIGINAL, DatasetContext, ImageLoadError, LoadedImage, NormalizationNumbers
from ..core import normalize as nz
from ..core.scan import ScanResult
from .normalization_panel import SchemePanel
from .normalization_summary import DatasetSummary, fmt_amp
from .runner import BackgroundRunner, shared_runner
from .theme import warn_color
from .wrap import breakable, path_label

COLOR_MAP = "CET-D1"          # diverging, perceptually uniform, neutral grey at the centre
SUMMARY_MAX_SHARE = 0.5      # the dataset summary takes at most this share of the height by default
BUSY_HINT_MS = 250            # show "Computing..." only if a worker result takes longer than this

HINT_NO_RESULT = "Open a dataset folder to see what normalization does to its images."
HINT_SCANNING = "Scanning: the normalization of its images is shown when the statistics are final."
HINT_NO_IMAGE = ("Select an image in the list to compare dataset and per-image normalization.\n"
                 "Tip: sort the list by amplification, or use \u201cShow most amplified image\u201d.")

class NormalizationView(QWidget):
    """Per-image versus dataset normalization, side by side (see the module docstring)."""

    imageShown = Signal(int)        # the panels now show this row
    imageFailed = Signal(int, str)  # this row cannot be shown (the message is on screen)
    rowRequested = Signal(int)      # the user asked for a row from inside the view (most amplified)

    def __init__(self, parent: QWidget | None = None, runner: BackgroundRunner | None = None) -> None:
        super().__init__(parent)
        self._result: ScanResult | None = None
        self._ctx: DatasetContext | None = None
        self._row: int | None = None
        self._image: LoadedImage | None = None
        self._error: str | None = None
        self._lane = (runner or shared_runner()).lane(self)
        self._request = 0                # the lane's number of the request on screen or coming
        self._build()
        self._update_side()
        self._show_hint(HINT_NO_RESULT)

    # -- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        main = QVBoxLayout(self)
        main.setContentsMargins(6, 6, 6, 6)
        main.setSpacing(4)

        self.header_label = QLabel(self)
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        path_label(self.header_label)
        self.amp_label = QLabel(self)
        self.amp_label.setTextFormat(Qt.TextFormat.RichText)
        self.amp_label.setWordWrap(True)
        self.amp_label.setToolTip(
            "Amplification = source-split std / this image's std, per channel (0-1 scale), with the\n"
            f"std floor of core.normalize.STD_FLOOR. Above {nz.AMPLIFICATION_WARN_FACTOR:g}x per-image standardization\n"
            "turns this image's faint detail and noise into full-contrast texture.")
        main.addWidget(self.header_label)
        main.addWidget(self.amp_label)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Third panel:", self))
        self.scheme_combo = QComboBox(self)
        for scheme in model.THIRD_PANEL_SCHEMES:
            self.scheme_combo.addItem(nz.SCHEME_LABELS[scheme], scheme)
        self.scheme_combo.setToolTip("Normalization shown in the right-hand panel")
        controls.addWidget(self.scheme_combo)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Channel:", self))
        self.channel_combo = QComboBox(self)
        self.channel_combo.setToolTip("Luminance (ITU-R 601 luma of the normalized channels) or one channel")
        controls.addWidget(self.channel_combo)
        controls.addSpacing(12)
        self.scale_note = QLabel(self)
        self.scale_note.setWordWrap(True)
        controls.addWidget(self.scale_note, 1)
        main.addLayout(controls)
        self._fill_channels(3)

        # Panels above, dataset summary below; the user can move the split, and the summary scrolls
        # instead of being clipped when the window is small.
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        main.addWidget(self.splitter, 1)
        self.stack = QStackedWidget(self.splitter)
        self.splitter.addWidget(self.stack)
        self.message_label = QLabel(self)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack.addWidget(self.message_label)

        panels_page = QWidget(self)
        grid = QGridLayout(panels_page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.panels = [SchemePanel(panels_page, n) for n in ("original", "dataset", "third")]
        for col, p in enumerate(self.panels):
            grid.addWidget(p.title, 0, col)
            grid.addWidget(p.view, 1, col)
            grid.addWidget(p.hist, 2, col)
            grid.addWidget(p.stats, 3, col, Qt.AlignmentFlag.AlignTop)
            grid.setColumnStretch(col, 1)
        grid.setRowStretch(1, 1)
        # Zoom and pan together: the same pixels in all three panels.
        for p in self.panels[1:]:
            p.viewbox.setXLink(self.panels[0].viewbox)
            p.viewbox.setYLink(self.panels[0].viewbox)

        self.std_bar = pg.ColorBarItem(values=nz.STANDARDIZED_RANGE, colorMap=COLOR_MAP, interactive=False,
                                       colorMapMenu=False, width=16,
                                       label="std units")
        self.std_bar.setImageItem([self.panels[1].items["std"], self.panels[2].items["std"]])
        self.bounded_bar = pg.ColorBarItem(values=model.BOUNDED_RANGE, colorMap=COLOR_MAP, interactive=False,
                                           colorMapMenu=False, width=16,
                                           label="value (bounded schemes)")
        self.bounded_bar.setImageItem([self.panels[2].items["bounded"]])
        self.std_bar_view = self._bar_widget(self.std_bar, panels_page)
        self.bounded_bar_view = self._bar_widget(self.bounded_bar, panels_page)
        bars = QHBoxLayout()
        bars.setSpacing(0)
        bars.addWidget(self.std_bar_view)
        bars.addWidget(self.bounded_bar_view)
        grid.addLayout(bars, 1, 3)
        self.bounded_bar_view.setVisible(False)
        self.stack.addWidget(panels_page)
        self._panels_page = panels_page

        self.summary = DatasetSummary(self)
        self.summary.most_amplified_button.clicked.connect(self._show_most_amplified)
        self.splitter.addWidget(self.summary)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self._user_split = False  # once the user drags the split, keep their choice
        self.splitter.splitterMoved.connect(self._splitter_moved)

        self.scheme_combo.currentIndexChanged.connect(self._settings_changed)
        self.channel_combo.currentIndexChanged.connect(self._settings_changed)

    @staticmethod
    def _bar_widget(bar: pg.ColorBarItem, parent: QWidget) -> pg.GraphicsLayoutWidget:
        w = pg.GraphicsLayoutWidget(parent)
        w.setBackground(None)
        w.ci.setContentsMargins(0, 6, 0, 6)
        w.addItem(bar)
        w.setFixedWidth(84)
        return w

    def _fill_channels(self, channels: int) -> None:
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        if channels == 3:
            self.channel_combo.addItem("Luminance", LUMINANCE)
            for i, name in enumerate("RGB"):
                self.channel_combo.addItem(name, i)
        elif channels == 1:
            self.channel_combo.addItem("L", 0)
        self.channel_combo.setCurrentIndex(0)
        self.channel_combo.blockSignals(False)

    # -- public interface ---------------------------------------------------------------------

    def set_result(self, result: ScanResult | None, source_splits: list[str], *, scanning: bool = False,
                   numbers: NormalizationNumbers | None = None) -> None:
        """A new scan or a new choice of source splits; ``None`` clears the view (``scanning``:
        because a scan is running, so the hint says so). ``numbers``: the session's mean/std for
        these splits, so they are not computed again."""
        same_scan = result is not None and result is self._result
        self._lane.cancel()  # drops any computation still running for the previous state
        self._result = result
        if result is None:
            self._ctx = None
            self._row = self._image = self._error = None
            self._fill_channels(0)  # no channel to choose until the next dataset says which
            self._update_side()
            self._clear_panels()
            self._show_hint(HINT_SCANNING if scanning else HINT_NO_RESULT)
            return
        if self.channel_combo.count() != (4 if result.channels == 3 else 1):
            self._fill_channels(result.channels)  # keep the user's channel choice when it still applies
        self._ctx = model.dataset_context(result, list(source_splits or []), numbers)
        self._update_side()
        if same_scan and self._row is not None:
            self.show_image(self._row)  # re-render with the new mean/std
            return
        self._row = self._image = self._error = None
        self._clear_panels()
        self._show_hint(HINT_NO_IMAGE)

    def show_image(self, row: int) -> None:
        """Show row ``row`` of ``result.images`` (read from disk)."""
        if self._result is None:
            self._show_hint(HINT_NO_RESULT)
            return
        self._row = int(row)
        self._image = None
        self._error = None
        self._set_header(self._row)
        table = self._result.images
        if not 0 <= self._row < len(table):
            self._show_error(f"No image #{self._row}: the scan has {len(table)} images.")
            return
        result, ctx, row_ = self._result, self._ctx, self._row
        scheme, channel = self.third_scheme, self.channel

        def work():
            img = model.load_image(result, row_)
            return img, model.compute_panels(img, scheme, channel, ctx)

        self._run(work)

    # -- state for tests and for the main window ----------------------------------------------

    @property
    def third_scheme(self) -> str:
        return self.scheme_combo.currentData()

    def set_third_scheme(self, scheme: str) -> None:
        self.scheme_combo.setCurrentIndex(self.scheme_combo.findData(scheme))

    @property
    def channel(self) -> int:
        value = self.channel_combo.currentData()
        return LUMINANCE if value is None else int(value)

    def set_channel(self, channel: int) -> None:
        self.channel_combo.setCurrentIndex(self.channel_combo.findData(channel))

    @property
    def current_row(self) -> int | None:
        return self._row

    @property
    def context(self) -> DatasetContext | None:
        return self._ctx

    @property
    def error_message(self) -> str | None:
        return self._error

    @property
    def busy(self) -> bool:
        return self._lane.busy

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Wait for the computation in flight (shutdown and tests)."""
        return self._lane.wait_idle(timeout_ms)

    # -- computing ----------------------------------------------------------------------------

    def _run(self, work: Callable[[], object]) -> None:
        """Decode and compute on the runner: the newest request wins, the GUI thread only draws."""
        request = self._request = self._lane.submit(work, lambda out: self._apply(request, out),
                                                    lambda exc: self._failed(request, exc))
        QTimer.singleShot(BUSY_HINT_MS, self, lambda: self._busy_hint(request))  # dies with the view

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        message = (str(exc) if isinstance(exc, ImageLoadError)
                   else f"Could not compute the panels: {type(exc).__name__}: {exc}")
        self._show_error(message)

    def _apply(self, request: int, out: object) -> None:
        if request != self._request:
            return  # a newer image, scheme or channel was requested meanwhile
        image, panels = out
        self._image = image
        self._error = None
        note = self._scale_notes(panels[2].scheme)
        for panel, data in zip(self.panels, panels):
            panel.show(data, note[data.scheme])
        self.bounded_bar_view.setVisible(not model.is_standardized(panels[2].scheme))
        self.scale_note.setText(note["bar"])
        self.stack.setCurrentIndex(1)
        self._set_controls_enabled(True)
        self._settle_layout()
        self.panels[0].viewbox.autoRange(padding=0.01)
        for p in self.panels:
            p.place_overlay()
        self.imageShown.emit(image.row)

    def _settings_changed(self, *_args) -> None:
        if self._result is None or self._row is None:
            return
        if self._image is None:  # not loaded yet (error or pending): reload with the new settings
            self.show_image(self._row)
            return
        img, ctx, scheme, channel = self._image, self._ctx, self.third_scheme, self.channel
        self._run(lambda: (img, model.compute_panels(img, scheme, channel, ctx)))

    def _show_most_amplified(self) -> None:
        amp = self._ctx.amplification if self._ctx is not None else None
        if amp is None or amp.most_amplified_index is None:
            return
        self.rowRequested.emit(amp.most_amplified_index)
        if self._row != amp.most_amplified_index:
            self.show_image(amp.most_amplified_index)

    # -- display ------------------------------------------------------------------------------

    def _scale_notes(self, third: str) -> dict[str, str]:
        lo, hi = nz.STANDARDIZED_RANGE
        blo, bhi = model.BOUNDED_RANGE
        std_note = f"shared scale {lo:+g}..{hi:+g} std"
        bounded = f"fixed scale {blo:+g}..{bhi:+g} (0 = neutral)"
        notes = {ORIGINAL: "histogram on the 0-1 scale", nz.DATASET: std_note, nz.PER_IMAGE: std_note,
                 nz.UNIT: bounded, nz.SYMMETRIC: bounded, nz.MINMAX: bounded}
        bar = (f"Standardized panels share one fixed colour scale ({lo:+g}..{hi:+g} std, {COLOR_MAP}); "
               "blue = below zero.")
        if not model.is_standardized(third):
            bar += (f" {nz.SCHEME_LABELS[third]} uses its own fixed {blo:+g}..{bhi:+g} bar with the same "
                    "colours, so zero stays neutral.")
        notes["bar"] = bar
        return notes

    def _busy_hint(self, request: int) -> None:
        """Say "Computing..." only when a worker result is slow to come (no flicker otherwise)."""
        if request != self._request or not self._lane.is_current(request) or not self._lane.busy:
            return
        text = "Computing\u2026"
        if self.stack.currentIndex() == 0:
            self.message_label.setStyleSheet("color: #606060; font-size: 14px;")
            self.message_label.setText(text)
        else:
            for p in self.panels:
                p.stats.setText(text)

    def _clear_panels(self) -> None:
        for p in self.panels:
            p.clear()
        self.header_label.setText("")
        self.amp_label.setText("")

    def _set_controls_enabled(self, enabled: bool) -> None:
        self.scheme_combo.setEnabled(enabled)
        self.channel_combo.setEnabled(enabled)

    def _show_hint(self, text: str) -> None:
        self._set_controls_enabled(False)
        self.scale_note.setText("")
        self.message_label.setStyleSheet("color: #606060; font-size: 14px;")
        self.message_label.setText(text)
        self.stack.setCurrentIndex(0)

    def _show_error(self, text: str) -> None:
        self._error = text
        self._image = None
        for p in self.panels:
            p.clear()
        self.message_label.setStyleSheet(f"color: {warn_color()}; font-size: 14px;")
        self.message_label.setText(text)
        self.stack.setCurrentIndex(0)
        self.imageFailed.emit(-1 if self._row is None else self._row, text)

    def _update_side(self) -> None:
        self.summary.show_context(self._ctx)
        if self._ctx is not None:
            self._settle_layout()
            self._fit_summary()

    def _set_header(self, row: int) -> None:
        result, ctx = self._result, self._ctx
        table = result.images
        if not 0 <= row < len(table):
            self.header_label.setText("")
            self.amp_label.setText("")
            return
        e = html.escape
        label = table.label_of(row)
        fmt = table.format_names[int(table.format[row])]
        mode = table.mode_names[int(table.mode[row])]
        parts = [f"<b>{breakable(e(table.paths[row]))}</b>", f"split <b>{e(table.split_of(row))}</b>"]
        if label is not None:
            parts.append(f"class <b>{e(label)}</b>")
        parts.append(f"{int(table.width[row])}\u00d7{int(table.height[row])} {e(fmt)} {e(mode)}")
        flags = table.flag_names(row)
        if flags:
            parts.append(e(", ".join(flags)))
        names = ctx.channel_names if ctx is not None else ["R", "G", "B"][: table.mean.shape[1]]
        mean = "  ".join(f"{n} {v:.4f}" for n, v in zip(names, table.mean[row]))
        std = "  ".join(f"{n} {v:.4f}" for n, v in zip(names, table.std[row]))
        self.header_label.setText(" \u00b7 ".join(parts) + f"<br>image mean (0-1): {mean} \u00b7 image std (0-1): {std}")
        if ctx is None or ctx.std is None or not ctx.ok:
            self.amp_label.setText("amplification: unavailable (no source statistics)")
            return
        amp = nz.amplification(table.std[row], ctx.std)
        cells = []
        for n, a in zip(names, amp):
            text = f"{n} {fmt_amp(float(a))}"
            if model.too_amplified(float(a)):
                text = f'<span style="color:{warn_color()}; font-weight:600;">{text}</span>'
            cells.append(text)
        src = " + ".join(ctx.sources)
        warn = ""
        if model.too_amplified(float(np.max(amp))):
            warn = (f' <span style="color:{warn_color()};">\u2014 per-image standardization would stretch this '
                    f"image more than {nz.AMPLIFICATION_WARN_FACTOR:g}x</span>")
        self.amp_label.setText(f"amplification ({e(src)} std / image std): " + "  ".join(cells) + warn)

    # The summary's widgets, under the names tests and the screenshots script use.
    side_panel = property(lambda self: self.summary)
    summary_intro = property(lambda self: self.summary.intro)
    summary_groups = property(lambda self: self.summary.groups)
    recommendation_label = property(lambda self: self.summary.recommendation_label)
    most_amplified_button = property(lambda self: self.summary.most_amplified_button)

    @property
    def summary_text(self) -> str:
        """Plain text of the dataset summary (intro and every fact), for tests and copying."""
        return self.summary.text(self._ctx)

    def _splitter_moved(self, *_args) -> None:
        self._user_split = True

    def _fit_summary(self) -> None:
        """Give the summary the height its text needs at the current width, at most
        ``SUMMARY_MAX_SHARE`` of the split (the rest scrolls), unless the user moved the split."""
        if self._user_split or not self.summary.isVisibleTo(self):
            return
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        layout = self.summary.strip.layout()
        width = max(self.splitter.width(), 1)
        need = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        want = min(need + 12, int(total * SUMMARY_MAX_SHARE))  # + a little: hfw estimates run short
        # Decide the scroll bar here rather than leave it to the scroll area's own (deferred) check.
        self.summary.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if want >= need
                                                   else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.splitter.blockSignals(True)
        self.splitter.setSizes([total - want, want])
        self.splitter.blockSignals(False)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit_summary()

    def _settle_layout(self) -> None:
        """Re-run the layouts inside-out now, so word-wrapped texts get their height at once
        (otherwise that takes one event-loop pass per nesting level, and a screenshot taken
        right after set_result/show_image would catch squeezed labels)."""
        widgets = [*self.summary.strip.findChildren(QGroupBox), self.summary.strip, self._panels_page, self]
        for w in widgets:
            if w.layout() is not None:
                w.layout().invalidate()
                w.layout().activate()

