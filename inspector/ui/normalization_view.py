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

Small images (<= ``ASYNC_PIXELS``, 256x256: MNIST, CIFAR, the demo) are decoded and computed in
the GUI thread, so ``show_image`` returns with the panels drawn. Larger ones are computed in a
worker thread (the GUI thread only draws, about 10 ms for 512x512) and requests superseded while
queued are skipped. Either way ``imageShown(row)`` is emitted once the panels show the image;
wait for it (``qtbot.waitSignal``) before grabbing a screenshot of a large image.
"""
from __future__ import annotations

import html
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (QComboBox, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout,
                               QWidget)

from ..core import normalize as nz
from ..core.scan import ScanResult
from . import normalization_model as model
from .normalization_model import (LUMINANCE, ORIGINAL, DatasetContext, ImageLoadError, LoadedImage,
                                  PanelData)
from .theme import warn_color
from .wrap import breakable, path_label

COLOR_MAP = "CET-D1"          # diverging, perceptually uniform, neutral grey at the centre
WARN_AMPLIFICATION = nz.AMPLIFICATION_WARN_FACTOR  # header highlight above this factor
SUMMARY_MAX_SHARE = 0.5      # the dataset summary takes at most this share of the height by default
BUSY_HINT_MS = 250            # show "Computing..." only if a worker result takes longer than this
NEG_BRUSH = (52, 101, 164, 170)   # histogram area below zero (what a ReLU would cut)
POS_BRUSH = (150, 150, 150, 150)

HINT_NO_RESULT = "Open a dataset folder to see what normalization does to its images."
HINT_NO_IMAGE = ("Select an image in the list to compare dataset and per-image normalization.\n"
                 "Tip: sort the list by amplification, or use \u201cShow most amplified image\u201d.")

BELOW_ZERO_TIP = (
    "Share of the panel's values that are strictly below zero: a ReLU applied directly to the\n"
    "input would set them to 0. In most networks a convolution with a bias comes first, so this\n"
    "is what the first layer starts from, not what is lost. In luminance mode the values are the\n"
    "luma-weighted mix of the normalized channels; choose R, G or B for one input channel exactly.")

PANEL_TITLES = {
    ORIGINAL: "Original (true colours)",
    nz.DATASET: "Dataset standardization",
    nz.PER_IMAGE: "Per-image standardization",
    nz.UNIT: "[0, 1]  (x / max)",
    nz.SYMMETRIC: "[-1, 1]  (x / (max/2) - 1)",
    nz.MINMAX: "Per-image min-max",
}


def _fmt_pct(fraction: float) -> str:
    return f"{100.0 * fraction:.1f}%"


def _fmt_amp(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:.1f}×"  # the × of the image list and preview


# --- background work ---------------------------------------------------------------------------


class _WorkerSignals(QObject):
    done = Signal(int, object)      # generation, result
    failed = Signal(int, str)       # generation, message


class _Job(QRunnable):
    """Runs ``work()`` off the GUI thread; the result or a user-facing message comes back by signal."""

    def __init__(self, generation: int, work: Callable[[], object], is_current: Callable[[int], bool]) -> None:
        super().__init__()
        self.generation = generation
        self.work = work
        self.is_current = is_current
        self.signals = _WorkerSignals()

    def run(self) -> None:
        if not self.is_current(self.generation):  # superseded while queued (e.g. arrow keys held down)
            self.signals.done.emit(self.generation, None)
            return
        try:
            out = self.work()
        except ImageLoadError as exc:
            self.signals.failed.emit(self.generation, str(exc))
        except Exception as exc:  # shown in the view rather than lost in a thread
            self.signals.failed.emit(self.generation, f"Could not compute the panels: {type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(self.generation, out)


# --- one panel ---------------------------------------------------------------------------------


class _Panel:
    """Title, image (ViewBox with locked aspect, y down), histogram and numbers of one scheme."""

    def __init__(self, parent: QWidget, name: str) -> None:
        self.name = name
        self.title = QLabel(parent)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: 600;")

        self.view = pg.GraphicsLayoutWidget(parent)
        self.view.setBackground("#1e1e1e")
        self.view.ci.setContentsMargins(2, 2, 2, 2)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.view.setMinimumSize(160, 140)
        self.viewbox = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        # Two items: one for each colour bar (only one is visible at a time; see module docstring).
        self.items = {
            "std": pg.ImageItem(axisOrder="row-major", autoLevels=False),
            "bounded": pg.ImageItem(axisOrder="row-major", autoLevels=False),
            "true": pg.ImageItem(axisOrder="row-major", autoLevels=False),
        }
        for item in self.items.values():
            item.setVisible(False)
            self.viewbox.addItem(item)
        self.overlay = pg.TextItem("", color="#dddddd", anchor=(0.5, 0.5))
        self.overlay.setTextWidth(240)
        self.overlay.setVisible(False)
        self.viewbox.addItem(self.overlay, ignoreBounds=True)
        # Keep the message centred and as wide as the panel through resizes and linked zooms.
        self.viewbox.sigResized.connect(lambda *_: self.place_overlay())
        self.viewbox.sigRangeChanged.connect(lambda *_: self.place_overlay())
        self.image_item: pg.ImageItem = self.items["std"]

        self.hist = pg.PlotWidget(parent)
        self.hist.setBackground(None)
        self.hist.setFixedHeight(96)
        self.hist.setMouseEnabled(x=False, y=False)
        self.hist.setMenuEnabled(False)
        self.hist.hideButtons()
        self.hist.getPlotItem().hideAxis("left")
        self.hist.getPlotItem().getAxis("bottom").setStyle(tickLength=-4)
        self.neg_curve = self.hist.plot(stepMode="center", fillLevel=0, brush=NEG_BRUSH,
                                        pen=pg.mkPen(NEG_BRUSH[:3], width=1))
        self.pos_curve = self.hist.plot(stepMode="center", fillLevel=0, brush=POS_BRUSH,
                                        pen=pg.mkPen((90, 90, 90), width=1))
        self.zero_line = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen((40, 40, 40), width=1,
                                                                      style=Qt.PenStyle.DashLine))
        self.hist.addItem(self.zero_line)

        self.stats = QLabel(parent)
        self.stats.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats.setToolTip(BELOW_ZERO_TIP)
        self.stats.setWordWrap(True)

        self.data: PanelData | None = None
        self.range: tuple[float, float] = (0.0, 1.0)

    @property
    def summary(self) -> nz.NormalizedSummary | None:
        return None if self.data is None else self.data.summary

    def clear(self) -> None:
        self.data = None
        for item in self.items.values():
            item.clear()
            item.setVisible(False)
        self.overlay.setVisible(False)
        self.neg_curve.setData([], [])
        self.pos_curve.setData([], [])
        self.stats.setText("")

    def show(self, data: PanelData, scale_note: str) -> None:
        self.data = data
        self.range = data.values_range
        self.title.setText(f"{PANEL_TITLES[data.scheme]}\n{scale_note}")
        if data.scheme == ORIGINAL:
            key = "true"
        else:
            key = "std" if model.is_standardized(data.scheme) else "bounded"
        for k, item in self.items.items():
            item.setVisible(k == key and data.display is not None)
        self.image_item = self.items[key]
        if data.display is None:
            self.image_item.clear()
            self.overlay.setText(data.message)
            self.overlay.setVisible(True)  # placed by place_overlay() once the views have their range
            self._set_histogram(None)
            self.stats.setText(data.message)
            return
        self.overlay.setVisible(False)
        if key == "true":
            self.image_item.setImage(data.display, autoLevels=False, levels=(0, 255))
        else:  # levels and lookup table come from the colour bar this item is attached to
            self.image_item.setImage(data.display, autoLevels=False)
        self._set_histogram(data.summary)
        self.stats.setText(self._stats_text(data))

    def place_overlay(self) -> None:
        if self.overlay.isVisible():
            rect = self.viewbox.viewRect()
            self.overlay.setTextWidth(max(120.0, 0.8 * self.viewbox.width()))
            self.overlay.setPos(rect.center().x(), rect.center().y())

    def _set_histogram(self, s: nz.NormalizedSummary | None) -> None:
        lo, hi = self.range
        self.hist.setXRange(lo, hi, padding=0.02)
        if s is None:
            self.neg_curve.setData([], [])
            self.pos_curve.setData([], [])
            return
        share = s.counts / max(s.n_values, 1)
        edges = s.edges
        k = int(np.searchsorted(edges, 0.0, side="right")) - 1  # bins fully below zero: [0, k)
        k = min(max(k, 0), len(share))
        if k > 0:
            self.neg_curve.setData(edges[: k + 1], share[:k])
        else:
            self.neg_curve.setData([], [])
        if k < len(share):
            self.pos_curve.setData(edges[k:], share[k:])
        else:
            self.pos_curve.setData([], [])
        top = float(share.max()) if share.size else 1.0
        self.hist.setYRange(0, top * 1.05 if top > 0 else 1.0, padding=0)

    def _stats_text(self, data: PanelData) -> str:
        s = data.summary
        if data.scheme == ORIGINAL:
            scale = "0-1 scale: "
        else:
            scale = "std units: " if model.is_standardized(data.scheme) else ""
        head = f"{scale}mean {_f3(s.mean)}  std {_f3(s.std)}  below zero {_fmt_pct(s.fraction_below_zero)}"
        tail = f"min {s.min:.3g}  max {s.max:.3g}"
        lo, hi = data.values_range
        outside = s.below_range + s.above_range
        if outside:
            tail += f"  |  {_fmt_pct(outside / s.n_values)} outside {lo:g}..{hi:g} (in the end bins)"
        return head + "\n" + tail


# --- the view ----------------------------------------------------------------------------------


class NormalizationView(QWidget):
    """Per-image versus dataset normalization, side by side (see the module docstring)."""

    imageShown = Signal(int)        # the panels now show this row
    rowRequested = Signal(int)      # the user asked for a row from inside the view (most amplified)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: ScanResult | None = None
        self._ctx: DatasetContext | None = None
        self._row: int | None = None
        self._image: LoadedImage | None = None
        self._error: str | None = None
        self._generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._jobs: set[_Job] = set()
        self.async_pixels = model.ASYNC_PIXELS
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
            f"std floor of core.normalize.STD_FLOOR. Above {WARN_AMPLIFICATION:g}x per-image standardization\n"
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
        self.panels = [_Panel(panels_page, n) for n in ("original", "dataset", "third")]
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

        self.splitter.addWidget(self._build_summary())
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

    @staticmethod
    def _rich_label(parent: QWidget) -> QLabel:
        label = QLabel(parent)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        return label

    def _build_summary(self) -> QWidget:
        """Bottom strip: dataset facts in groups (left) and the recommendation (right)."""
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip = QWidget(scroll)
        lay = QHBoxLayout(strip)
        lay.setContentsMargins(0, 4, 0, 0)

        box = QGroupBox("Dataset summary", strip)
        bl = QVBoxLayout(box)
        bl.setSpacing(4)
        self.summary_intro = self._rich_label(box)
        bl.addWidget(self.summary_intro)
        groups = QHBoxLayout()
        groups.setSpacing(14)
        self.summary_groups = [self._rich_label(box) for _ in _FACT_GROUPS[1:]]
        for label in self.summary_groups:
            groups.addWidget(label, 1)
        bl.addLayout(groups)
        bl.addStretch(1)
        button_row = QHBoxLayout()
        self.most_amplified_button = QPushButton("Show most amplified image", box)
        self.most_amplified_button.setToolTip("Show the image that per-image standardization stretches most")
        self.most_amplified_button.clicked.connect(self._show_most_amplified)
        button_row.addWidget(self.most_amplified_button)
        button_row.addStretch(1)
        bl.addLayout(button_row)
        lay.addWidget(box, 3)

        rbox = QGroupBox("Recommendation", strip)
        rl = QVBoxLayout(rbox)
        self.recommendation_label = self._rich_label(rbox)
        rl.addWidget(self.recommendation_label)
        rl.addStretch(1)
        lay.addWidget(rbox, 2)
        scroll.setWidget(strip)
        self._summary_strip = strip
        self.side_panel = scroll
        return scroll

    def _fill_channels(self, channels: int) -> None:
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        if channels == 3:
            self.channel_combo.addItem("Luminance", LUMINANCE)
            for i, name in enumerate("RGB"):
                self.channel_combo.addItem(name, i)
        else:
            self.channel_combo.addItem("L", 0)
        self.channel_combo.setCurrentIndex(0)
        self.channel_combo.blockSignals(False)

    # -- public interface ---------------------------------------------------------------------

    def set_result(self, result: ScanResult | None, source_splits: list[str]) -> None:
        """A new scan or a new choice of source splits; ``None`` clears the view."""
        same_scan = result is not None and result is self._result
        self._generation += 1  # drops any computation still running for the previous state
        self._result = result
        if result is None:
            self._ctx = None
            self._row = self._image = self._error = None
            self._update_side()
            self._clear_panels()
            self._show_hint(HINT_NO_RESULT)
            return
        if self.channel_combo.count() != (4 if result.channels == 3 else 1):
            self._fill_channels(result.channels)  # keep the user's channel choice when it still applies
        self._ctx = model.dataset_context(result, list(source_splits or []))
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
        self._generation += 1
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

        pixels = int(table.width[row_]) * int(table.height[row_])
        self._run(work, pixels)

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
        return bool(self._jobs)

    # -- computing ----------------------------------------------------------------------------

    def _run(self, work: Callable[[], object], pixels: int) -> None:
        generation = self._generation
        if pixels <= self.async_pixels:
            try:
                out = work()
            except ImageLoadError as exc:
                self._show_error(str(exc))
                return
            self._apply(generation, out)
            return
        QTimer.singleShot(BUSY_HINT_MS, self, lambda: self._busy_hint(generation))  # dies with the view
        job = _Job(generation, work, self._is_current)
        job.signals.done.connect(self._job_done)
        job.signals.failed.connect(self._job_failed)
        job.setAutoDelete(False)
        self._jobs.add(job)
        self._pool.start(job)

    def _is_current(self, generation: int) -> bool:
        return generation == self._generation  # an int read: safe from the worker thread

    @Slot(int, object)
    def _job_done(self, generation: int, out: object) -> None:
        self._forget_job(generation)
        self._apply(generation, out)

    @Slot(int, str)
    def _job_failed(self, generation: int, message: str) -> None:
        self._forget_job(generation)
        if generation == self._generation:
            self._show_error(message)

    def _forget_job(self, generation: int) -> None:
        self._jobs = {j for j in self._jobs if j.generation != generation}

    def _apply(self, generation: int, out: object) -> None:
        if generation != self._generation or out is None:
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
        self._generation += 1
        img, ctx, scheme, channel = self._image, self._ctx, self.third_scheme, self.channel
        self._run(lambda: (img, model.compute_panels(img, scheme, channel, ctx)), img.pixels)

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

    def _busy_hint(self, generation: int) -> None:
        """Say "Computing..." only when a worker result is slow to come (no flicker otherwise)."""
        if generation != self._generation or not any(j.generation == generation for j in self._jobs):
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
            text = f"{n} {_fmt_amp(float(a))}"
            if a > WARN_AMPLIFICATION:
                text = f'<span style="color:{warn_color()}; font-weight:600;">{text}</span>'
            cells.append(text)
        src = " + ".join(ctx.sources)
        warn = ""
        if float(np.max(amp)) > WARN_AMPLIFICATION:
            warn = (f' <span style="color:{warn_color()};">\u2014 per-image standardization would stretch this '
                    f"image more than {WARN_AMPLIFICATION:g}x</span>")
        self.amp_label.setText(f"amplification ({e(src)} std / image std): " + "  ".join(cells) + warn)

    def _update_side(self) -> None:
        ctx = self._ctx
        self.side_panel.setVisible(ctx is not None)
        amp = ctx.amplification if ctx is not None else None
        has_most = amp is not None and amp.most_amplified_index is not None
        self.most_amplified_button.setEnabled(has_most)
        self.most_amplified_button.setText("Show most amplified image")
        for label in self.summary_groups:
            label.setText("")
        if ctx is None:
            self.summary_intro.setText("")
            self.recommendation_label.setText("")
            return
        e = html.escape
        head = f"<i>{e(ctx.note)}</i> " if ctx.note else ""
        if not ctx.ok:
            self.summary_intro.setText(head + f'<span style="color:{warn_color()};">{e(ctx.error)}</span>')
            self.recommendation_label.setText("No recommendation without source statistics.")
            return
        rec = ctx.recommendation
        src = " + ".join(ctx.sources)
        grouped: list[list[tuple[str, str]]] = [[] for _ in _FACT_GROUPS]
        for key, value in rec.facts.items():
            index = max(i for i, (_, match) in enumerate(_FACT_GROUPS) if match(key))
            grouped[index].append((key, value))
        general = " \u00b7 ".join(f"{e(k)} <b>{e(v)}</b>" for k, v in grouped[0])
        self.summary_intro.setText(
            head + general + "<br>"
            f"Amplification = {e(src)} std / image std (max over channels), over all {amp.n_images:,} images. "
            f"Below-zero shares are exact, over every pixel of {e(src)}; per-image standardization puts "
            "about half of each image below zero by construction.")
        for label, (title, _), facts in zip(self.summary_groups, _FACT_GROUPS[1:], grouped[1:]):
            rows = "".join(f"<tr><td style='white-space:nowrap'>{e(k)}&nbsp;</td><td align='right' style='white-space:nowrap'><b>{e(v)}</b></td></tr>"
                           for k, v in facts)
            label.setText(f"<b>{e(title)}</b><table cellspacing='0' cellpadding='1'>{rows}</table>")
        if has_most:
            path = ctx.result.images.paths[amp.most_amplified_index]
            # The path goes in the tooltip: a long one must not widen the window (see wrap.breakable).
            self.most_amplified_button.setText(f"Show most amplified image ({_fmt_amp(amp.max)})")
            self.most_amplified_button.setToolTip(f"{path}: per-image standardization stretches it most")
        warned = set(rec.warnings)
        parts = []
        for sentence in _split_sentences(rec.text, rec.warnings):
            style = f' style="color:{warn_color()};"' if sentence in warned else ""
            parts.append(f"<p{style}>{e(sentence)}</p>")
        self.recommendation_label.setText("".join(parts))
        self._settle_layout()
        self._fit_summary()

    def _splitter_moved(self, *_args) -> None:
        self._user_split = True

    def _fit_summary(self) -> None:
        """Give the summary the height its text needs at the current width, at most
        ``SUMMARY_MAX_SHARE`` of the split (the rest scrolls), unless the user moved the split."""
        if self._user_split or not self.side_panel.isVisibleTo(self):
            return
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        layout = self._summary_strip.layout()
        width = max(self.splitter.width(), 1)
        need = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        want = min(need + 12, int(total * SUMMARY_MAX_SHARE))  # + a little: hfw estimates run short
        # Decide the scroll bar here rather than leave it to the scroll area's own (deferred) check.
        self.side_panel.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if want >= need
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
        widgets = [*self._summary_strip.findChildren(QGroupBox), self._summary_strip, self._panels_page, self]
        for w in widgets:
            if w.layout() is not None:
                w.layout().invalidate()
                w.layout().activate()

    @property
    def summary_text(self) -> str:
        """Plain text of the dataset summary (intro and every fact), for tests and copying."""
        doc = QTextDocument()
        doc.setHtml(self.summary_intro.text())
        lines = [doc.toPlainText()]
        ctx = self._ctx
        if ctx is not None and ctx.recommendation is not None:
            lines += [f"{k}: {v}" for k, v in ctx.recommendation.facts.items()]
        return "\n".join(lines)


_FACT_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("", lambda k: True),  # general facts: one line above the columns
    ("Per-image amplification", lambda k: "amplif" in k.lower()),
    ("Brightness between images", lambda k: "luminance" in k.lower() or "variance" in k.lower()),
    ("Input values below zero", lambda k: k.lower().startswith("below zero")),
)
"""Groups of the dataset summary (``Recommendation.facts`` keys); a fact goes to the last group that
matches. The first group is one line of text, the others are columns."""


def _f3(v: float) -> str:
    """Three decimals, and never "-0.000" (a mean of -0.0002 is zero to the eye)."""
    text = f"{v:.3f}"
    return "0.000" if text == "-0.000" else text


def _split_sentences(text: str, warnings: tuple[str, ...]) -> list[str]:
    """Split ``Recommendation.text`` into its warning sentences (kept whole) and the rest."""
    pieces: list[str] = []
    rest = text
    for w in warnings:
        before, found, after = rest.partition(w)
        if not found:
            continue
        if before.strip():
            pieces.append(before.strip())
        pieces.append(w)
        rest = after
    if rest.strip():
        pieces.append(rest.strip())
    return pieces
