"""The main window: open a dataset, scan it in the background, show per-split statistics, the image
list, the normalization view and the leakage panel, and export.

Threading: every long job (scan + leakage search, export, demo generation) runs
in a ``worker.Worker`` on its own QThread. Worker signals arrive queued in bound slots of this
window, which first check that the sender is still the current job (a superseded scan keeps
running until it notices its abort flag; its late signals are ignored). Live statistics are
coalesced by a short timer so a flood of progress records cannot starve the event loop.
"""
from __future__ import annotations

import html
import os
from collections import Counter
from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QApplication, QFrame, QLabel, QMainWindow, QScrollArea, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from ..core.export import StatsSourceError, default_source, normalization_stats, result_warnings
from ..core.formatting import count
from ..core.layout import DatasetLayout
from ..core.scan import ScanProgress, ScanResult
from . import dialogs, notices
from .export_actions import LIBRARIES, copy_snippet, suggested_export_path, write_export
from .image_list import ImageList
from .leakage_panel import LeakagePanel
from .message_bar import MessageArea
from .normalization_view import NormalizationView
from .preview import ImagePreview
from .progress_panel import ProgressPanel
from .recent import RecentFolders
from .source_selector import SourceSelector, leaky_sources
from .splitters import side_by_side
from .statistics_panel import StatisticsPanel
from .theme import THEMES, app_icon, apply_theme, current_theme
from .worker import CallWorker, ScanWorker, WorkerRunner, with_stats_source

APP_TITLE = "Dataset Inspector"
LIVE_UPDATE_MS = 150          # coalescing delay for live statistics (they arrive every 0.5 s)
STOP_TIMEOUT_MS = 5000        # how long closing waits for running workers
START_DELAY_MS = 30           # the cleared window repaints before the scan thread starts
TAB_STATS, TAB_IMAGES, TAB_NORMALIZATION, TAB_LEAKAGE = range(4)


class MainWindow(QMainWindow):
    """Signals (emitted after the window has updated itself; tests wait on them)."""

    scanStarted = Signal(str)          # root
    scanPhase = Signal(str)            # the scan is done; what the worker does now (leakage search)
    statisticsShown = Signal(object)   # ScanResult on screen; the leakage search may still run
    scanFinished = Signal(object)      # ScanResult and its leakage findings on screen
    scanCancelled = Signal()
    scanFailed = Signal(str)           # user-facing message
    leakageUpdated = Signal(object)    # findings list
    exportFinished = Signal(str)       # path written
    exportFailed = Signal(str)
    demoReady = Signal(str)

    def __init__(self, *, settings: QSettings | None = None, scan_workers: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.scan_workers = scan_workers
        self.root: str | None = None
        self.result: ScanResult | None = None
        self.findings: list | None = None      # None: not checked (yet, or the check failed)
        self.source: list[str] = []
        self.runner = WorkerRunner(self)
        self.recent = RecentFolders(self.settings)
        self._scan_worker: ScanWorker | None = None
        self._export_worker: CallWorker | None = None
        self._demo_worker: CallWorker | None = None
        self._pending_live: ScanProgress | None = None
        self._last_partial: ScanProgress | None = None
        self._syncing_selection = False
        self._leakage_error: str | None = None
        self._scan_done = True
        self._stages: list = []  # display work queued one event-loop turn apart (_enqueue_stages)
        self._dataset_std: list[float] | None = None

        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_UPDATE_MS)
        self._live_timer.timeout.connect(self._apply_live)
        self._stage_timer = QTimer(self)
        self._stage_timer.setSingleShot(True)
        self._stage_timer.setInterval(0)
        self._stage_timer.timeout.connect(self._run_next_stage)
        self._restore_settings()
        self._update_actions()
        self.statusBar().showMessage("Open a dataset folder (Ctrl+O) or drop one on the window.")

    # ================================================================== construction

    def _build_widgets(self) -> None:
        self.messages = MessageArea()
        self.progress = ProgressPanel()
        self.stats_panel = StatisticsPanel()
        self.image_list = ImageList()
        self.preview = ImagePreview()
        self.images_splitter = side_by_side("imagesSplitter", self.image_list, self.preview, (3, 1))
        self.normalization = NormalizationView()
        self.leakage = LeakagePanel()

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(_scrolling(self.stats_panel), "Statistics")
        self.tabs.addTab(self.images_splitter, "Images")
        self.tabs.addTab(self.normalization, "Normalization")
        self.tabs.addTab(self.leakage, "Leakage")
        self.tabs.setTabToolTip(TAB_STATS, "Per-split mean, std, histograms and image properties (Ctrl+1)")
        self.tabs.setTabToolTip(TAB_IMAGES, "Every image with its statistics: sort, filter, preview (Ctrl+2)")
        self.tabs.setTabToolTip(TAB_NORMALIZATION, "What dataset and per-image normalization do to an image (Ctrl+3)")
        self.tabs.setTabToolTip(TAB_LEAKAGE, "Duplicates and other leakage between splits (Ctrl+4)")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.messages)
        layout.addWidget(self.progress)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.dataset_label = QLabel()
        self.dataset_label.setObjectName("muted")
        self.dataset_label.setMaximumWidth(640)  # a long root path is clipped, never widens the window
        self.statusBar().addPermanentWidget(self.dataset_label)

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip + (f" ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                                     if shortcut is not None else ""))
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        style = self.style()
        sp = style.StandardPixmap
        self.open_action = self._action("&Open Folder…", self._ask_open, QKeySequence.StandardKey.Open,
                                        "Open a dataset folder")
        self.open_action.setIcon(style.standardIcon(sp.SP_DirOpenIcon))
        self.demo_action = self._action("Open &Demo Dataset", self.open_demo, None,
                                        "Open the built-in demo dataset (generated on first use)")
        self.rescan_action = self._action("&Rescan", self.rescan, "F5", "Scan the dataset again")
        self.rescan_action.setShortcuts([QKeySequence("F5"), QKeySequence("Ctrl+R")])
        self.rescan_action.setIcon(style.standardIcon(sp.SP_BrowserReload))
        self.cancel_action = self._action("&Cancel Scan", self.cancel_scan, "Esc",
                                          "Stop the running scan; the statistics so far stay, marked partial")
        self.cancel_action.setIcon(style.standardIcon(sp.SP_BrowserStop))
        self.export_action = self._action("&Export JSON…", self.export_json, "Ctrl+E",
                                          "Write the statistics, normalization and leakage findings as JSON "
                                          "(the same schema-1 document as the command line)")
        self.export_action.setIcon(style.standardIcon(sp.SP_DialogSaveButton))
        self.per_image_action = self._action("Include Per-Image Records in Export", self._on_per_image, None,
                                             "Add one record per image (path, size, mean, std, amplification)",
                                             checkable=True)
        self.snippet_actions: dict[str, QAction] = {}
        for key, label in LIBRARIES:
            shortcut = "Ctrl+Shift+C" if key == "torchvision" else None
            act = self._action(f"{label}", self._on_snippet_action, shortcut,
                               f"Copy a {label} normalization snippet with this dataset's mean/std")
            act.setData(key)
            self.snippet_actions[key] = act
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for name in THEMES:
            act = self._action(f"{name.capitalize()} Theme", self._on_theme_action, None,
                               f"Use the {name} palette", checkable=True)
            act.setData(name)
            group.addAction(act)
            self.theme_actions[name] = act
        self.toggle_theme_action = self._action("Toggle Dark/Light", self._toggle_theme, "Ctrl+Shift+L",
                                                "Switch between the dark and light palettes")
        self.tab_actions = []
        for k, name in enumerate(("Statistics", "Images", "Normalization", "Leakage")):
            act = self._action(f"Show {name}", self._on_tab_action, f"Ctrl+{k + 1}", f"Show the {name} tab")
            act.setData(k)
            self.tab_actions.append(act)
        self.find_action = self._action("Find Images by Path", self._find, QKeySequence.StandardKey.Find,
                                        "Filter the image list by path")
        self.amplified_action = self._action("Most Amplified Images", self._most_amplified, "Ctrl+M",
                                             "List the images per-image standardization stretches the most")
        self.about_action = self._action("&About", self._about, None, "About Dataset Inspector")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.demo_action)
        file_menu.addSeparator()
        file_menu.addAction(self.rescan_action)
        file_menu.addAction(self.cancel_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.per_image_action)
        self.snippet_menu = file_menu.addMenu("Copy &Snippet")
        self.snippet_menu.setToolTipsVisible(True)
        for act in self.snippet_actions.values():
            self.snippet_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view = bar.addMenu("&View")
        for act in self.tab_actions:
            view.addAction(act)
        view.addSeparator()
        view.addAction(self.find_action)
        view.addAction(self.amplified_action)
        view.addSeparator()
        for act in self.theme_actions.values():
            view.addAction(act)
        view.addAction(self.toggle_theme_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.open_action)
        tb.addAction(self.rescan_action)
        tb.addAction(self.cancel_action)
        tb.addSeparator()
        tb.addAction(self.export_action)
        snippet_button = QToolButton()
        snippet_button.setText("Copy Snippet")
        snippet_button.setToolTip("Copy a normalization snippet for a training library to the clipboard")
        snippet_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        snippet_button.setMenu(self.snippet_menu)
        snippet_button.setIcon(self.style().standardIcon(self.style().StandardPixmap.SP_FileDialogDetailedView))
        snippet_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.snippet_button = snippet_button
        tb.addWidget(snippet_button)
        tb.addSeparator()
        self.source_selector = SourceSelector()
        tb.addWidget(self.source_selector)

    def _connect(self) -> None:
        self.progress.cancelRequested.connect(self.cancel_scan)
        self.image_list.imageSelected.connect(self._on_image_selected)
        self.image_list.failureSelected.connect(self.preview.show_failure)
        self.image_list.selectionCleared.connect(self.preview.clear)
        self.preview.showInNormalization.connect(self._show_in_normalization)
        self.leakage.imageRequested.connect(self.show_image_in_list)
        self.normalization.rowRequested.connect(self._on_normalization_row)
        self.source_selector.changed.connect(self.set_source_splits)
        self.stats_panel.leakageLinkActivated.connect(lambda: self.tabs.setCurrentIndex(TAB_LEAKAGE))
        self.stats_panel.histograms.log_box.toggled.connect(
            lambda on: self.settings.setValue("view/histogramLog", on))

    # ================================================================== opening and scanning

    def open_folder(self, path: str) -> None:
        """Open and scan a dataset folder (menu, recent list, drop, command line, tests)."""
        path = os.path.abspath(os.path.expanduser(str(path)))
        self._stop_jobs()
        self.root = path
        self.source = []  # a new dataset starts from the default source (train)
        self._clear_dataset()
        self.setWindowTitle(f"{os.path.basename(path) or path} — {APP_TITLE}")
        self._start_scan()

    def open_demo(self) -> None:
        """Open the demo dataset, generating it first (off the GUI thread) when it is missing."""
        from ..core.demo import default_demo_dir

        self.statusBar().showMessage("Preparing the demo dataset…")
        worker = CallWorker(default_demo_dir)
        worker.returned.connect(self._on_demo_ready)
        self._demo_worker = worker
        self.runner.start(worker, on_error=self._on_demo_error)

    def rescan(self) -> None:
        if self.root is None:
            return
        self._stop_jobs()
        self._clear_dataset(keep_messages=False)
        self._start_scan()

    def cancel_scan(self) -> None:
        worker = self._scan_worker
        if worker is None:
            return
        worker.abort()
        self.progress.set_phase("Cancelling…")
        self.progress.cancel_button.setEnabled(False)
        self.cancel_action.setEnabled(False)

    @property
    def scanning(self) -> bool:
        """True while a scan or its leakage search runs."""
        return self._scan_worker is not None and not self._scan_done

    def _start_scan(self) -> None:
        assert self.root is not None
        source = self.source if self.source else None
        worker = ScanWorker(self.root, workers=self.scan_workers, source_splits=source)
        worker.layoutFound.connect(self._on_layout)
        worker.progress.connect(self._on_progress)
        worker.scanned.connect(self._on_scanned)
        worker.phase.connect(self._on_phase)
        worker.finished.connect(self._on_scan_finished)
        worker.leakageFailed.connect(self._on_scan_leakage_failed)
        worker.cancelled.connect(self._on_scan_cancelled)
        worker.ended.connect(self._on_scan_ended)
        self._scan_worker = worker
        self._scan_done = False
        self.progress.start(self.root)
        self.stats_panel.set_state("listing files…")
        self.image_list.show_waiting("Scanning: every image is listed here when the scan has finished.")
        self.statusBar().showMessage(f"Scanning {self.root}…")
        # Start the thread a moment later: the window first repaints its cleared views without
        # competing with the folder listing for the GIL (that overlap was the longest stall).
        QTimer.singleShot(START_DELAY_MS, self, lambda: self._launch_scan(worker))
        self._update_actions()
        self.scanStarted.emit(self.root)

    def _launch_scan(self, worker: ScanWorker) -> None:
        if worker is self._scan_worker:  # else superseded before it started: drop it
            self.runner.start(worker, on_error=self._on_scan_error)

    def _stop_jobs(self) -> None:
        """Abandon the current scan (it stops at its next check; its late signals are ignored)."""
        if self._scan_worker is not None:
            self._scan_worker.abort()
        self._scan_worker = None
        self._live_timer.stop()
        self._pending_live = None

    def _clear_dataset(self, keep_messages: bool = False) -> None:
        self._stages.clear()  # drops the remaining display stages of an earlier result
        self.result = None
        self._dataset_std = None
        self.findings = None
        self._leakage_error = None
        self._last_partial = None
        if not keep_messages:
            self.messages.clear()
        self.stats_panel.set_result(None)
        self.stats_panel.set_normalization(None)
        self.stats_panel.set_leakage_errors(0, {})
        self.image_list.set_result(None)
        self.preview.clear()
        self.normalization.set_result(None, [])
        self.leakage.set_findings(None, [])
        self._update_leakage_badge()
        self.source_selector.set_splits([], [])
        self.dataset_label.setText("")

    # ------------------------------------------------------------------ worker slots

    def _is_current(self, worker: object) -> bool:
        return worker is not None and worker is self._scan_worker

    @Slot(object)
    def _on_layout(self, layout: DatasetLayout) -> None:
        if not self._is_current(self.sender()):
            return
        self._notice("layout", notices.layout_notice(layout))
        self.recent.add(layout.root)  # a folder that exists and holds images: worth reopening
        self.dataset_label.setText(f"{layout.root} · {len(layout.files):,} image files · "
                                   f"splits {', '.join(layout.splits)}")

    @Slot(object)
    def _on_progress(self, p: ScanProgress) -> None:
        worker = self.sender()
        if not self._is_current(worker) or worker.aborted:  # records queued before a cancel
            return
        self.progress.update_progress(p)
        if p.partial is not None:
            self._pending_live = p
            if not self._live_timer.isActive():
                self._live_timer.start()

    @Slot()
    def _apply_live(self) -> None:
        p, self._pending_live = self._pending_live, None
        if p is None or p.partial is None or self._scan_worker is None:
            return
        self._last_partial = p
        mode = next(iter(p.partial.values())).mode if p.partial else "RGB"
        self.stats_panel.set_live(p.partial, mode, p.done, p.total)

    @Slot(str)
    def _on_phase(self, text: str) -> None:
        if not self._is_current(self.sender()):
            return
        self.progress.set_phase(text)  # the statistics themselves are final (see _on_scanned)
        self.statusBar().showMessage(text)
        self.scanPhase.emit(text)

    @Slot(object)
    def _on_scanned(self, result: ScanResult) -> None:
        """Final statistics: show them now; the leakage search still runs in the worker."""
        if not self._is_current(self.sender()):
            return
        self._live_timer.stop()
        self._pending_live = None
        self.result = result
        self.findings = None
        valid = [s for s in self.source if s in result.splits]
        self.source = valid or default_source(result)
        # Each view gets its own turn of the event loop: on a big dataset putting everything on
        # screen at once would freeze the window for the sum of them.
        self._enqueue_stages(self._show_statistics, self._show_images, self._show_normalization,
                             self._show_statistics_done)

    @Slot(object, object)
    def _on_scan_finished(self, result: ScanResult, findings: list | None) -> None:
        if not self._is_current(self.sender()) or result is not self.result:
            return
        self.findings = findings
        self._scan_done = True
        self.progress.finish(notices.dataset_summary(result))
        self._enqueue_stages(self._show_findings, self._show_result_done)

    def _enqueue_stages(self, *stages) -> None:
        self._stages.extend(stages)
        if not self._stage_timer.isActive():
            self._stage_timer.start()

    @Slot()
    def _run_next_stage(self) -> None:
        if self._stages:
            self._stages.pop(0)()
        if self._stages:
            self._stage_timer.start()

    def _show_statistics(self) -> None:
        assert self.result is not None
        self.source_selector.blockSignals(True)
        self.source_selector.set_splits(self.result.splits, self.source)
        self.source_selector.blockSignals(False)
        self.stats_panel.set_result(self.result)
        self._refresh_normalization()

    def _show_images(self) -> None:
        self.image_list.set_result(self.result, self._dataset_std)

    def _show_normalization(self) -> None:
        self.normalization.set_result(self.result, list(self.source))

    def _show_statistics_done(self) -> None:
        result = self.result
        assert result is not None
        self._source_warning()
        self.tabs.setTabText(TAB_LEAKAGE, "Leakage (checking…)")
        self.dataset_label.setText(
            f"{result.root} · {len(result.images):,} images · {len(result.failures):,} failed · "
            f"{len(result.skipped):,} skipped · mode {result.mode}")
        self._update_actions()
        self.statisticsShown.emit(result)

    def _show_findings(self) -> None:
        self.leakage.set_findings(self.result, self.findings or [])
        self._update_leakage_badge()

    def _show_result_done(self) -> None:
        result = self.result
        assert result is not None
        self._result_notices(result)
        self.statusBar().showMessage(
            f"Scanned {count(len(result.images) + len(result.failures), 'file')} in {result.elapsed:.1f} s", 8000)
        self._update_actions()
        self.scanFinished.emit(result)

    @Slot(str)
    def _on_scan_leakage_failed(self, message: str) -> None:
        if self._is_current(self.sender()):
            self._leakage_error = message

    @Slot(str)
    def _on_scan_error(self, message: str) -> None:
        if not self._is_current(self.sender()):
            return
        self._scan_done = True
        self.messages.show_message("scan", "error", _escape(message),
                                   action=("Open Another Folder…", self._ask_open))
        self.stats_panel.set_state("no statistics: the folder could not be scanned")
        self.statusBar().showMessage("The folder could not be scanned.", 8000)
        self.progress.finish(f"<b>{_escape(self.root or '')}</b> could not be scanned (see the message above).")
        self._update_actions()
        self.scanFailed.emit(message)

    @Slot()
    def _on_scan_cancelled(self) -> None:
        if not self._is_current(self.sender()):
            return
        self._scan_done = True
        self._live_timer.stop()
        if self.result is not None:  # cancelled during the leakage search: the statistics are final
            self.progress.finish(notices.dataset_summary(self.result) + " · leakage not checked")
            self.messages.show_message(
                "scan", "warning", "Leakage check cancelled: the statistics are complete, but export needs "
                                   "the leakage findings.", action=("Rescan", self.rescan))
            self.tabs.setTabText(TAB_LEAKAGE, "Leakage (not checked)")
            self._update_actions()
            self.scanCancelled.emit()
            return
        p = self._pending_live or self._last_partial
        self._pending_live = None
        if p is not None and p.partial:
            mode = next(iter(p.partial.values())).mode
            self.stats_panel.set_live(p.partial, mode, p.done, p.total)
            self.stats_panel.set_state(f"partial: scan cancelled after {p.done:,} of {p.total:,} files")
        else:
            self.stats_panel.set_state("scan cancelled before any statistics")
        self.messages.show_message("scan", "warning",
                                   "Scan cancelled: the statistics shown are partial and cannot be exported.",
                                   action=("Rescan", self.rescan))
        self.statusBar().showMessage("Scan cancelled.", 8000)
        done = f" after {p.done:,} of {p.total:,} files" if p is not None else ""
        self.progress.finish(f"<b>{_escape(os.path.basename(self.root or ''))}</b>: scan cancelled{done}; "
                             "the statistics are partial. Rescan with F5.")
        self._update_actions()
        self.scanCancelled.emit()

    @Slot()
    def _on_scan_ended(self) -> None:
        if not self._is_current(self.sender()):
            return
        self._scan_worker = None
        self.progress.finish()
        self._update_actions()

    # ------------------------------------------------------------------ demo

    @Slot(object)
    def _on_demo_ready(self, path) -> None:
        if self.sender() is not self._demo_worker:
            return
        self._demo_worker = None
        self.demoReady.emit(str(path))
        self.open_folder(str(path))

    @Slot(str)
    def _on_demo_error(self, message: str) -> None:
        self._demo_worker = None
        self.messages.show_message("demo", "error", "The demo dataset could not be created: " + _escape(message))

    # ================================================================== notices

    def _notice(self, key: str, notice, action=None, closable: bool = True) -> None:
        if notice is None:
            self.messages.hide_message(key)
        else:
            self.messages.show_message(key, notice[0], notice[1], action=action, closable=closable)

    def _result_notices(self, result: ScanResult) -> None:
        self._notice("broken", notices.undecodable_splits_notice(result))
        self._notice("failures", notices.failures_notice(result), action=("Show", self._show_failures))
        if self.findings is None:
            self._notice("leakage", notices.leakage_failed_notice(self._leakage_error),
                         action=("Rescan", self.rescan))

    def _source_warning(self) -> None:
        has_train = self.result is not None and "train" in self.result.splits
        self._notice("source", notices.source_notice(leaky_sources(self.source) if has_train else []),
                     action=("Use Train Only", self._use_train_only), closable=False)

    def _show_failures(self) -> None:
        self.tabs.setCurrentIndex(TAB_IMAGES)
        self.image_list.set_filter(status="failed")

    # ================================================================== normalization source

    def set_source_splits(self, splits: Sequence[str]) -> None:
        """Choose the splits the exported mean/std come from. The findings are updated at once:
        only the stats_source finding depends on this choice (see worker.with_stats_source)."""
        if self.result is None:
            return
        splits = [s for s in splits if s in self.result.splits] or default_source(self.result)
        if list(splits) == self.source:
            return
        self.source = list(splits)
        if self.source_selector.selected() != self.source:
            self.source_selector.blockSignals(True)
            self.source_selector.set_selected(self.source)
            self.source_selector.blockSignals(False)
        self._refresh_normalization()
        self.image_list.set_dataset_std(self._dataset_std)
        self.normalization.set_result(self.result, list(self.source))
        self._source_warning()
        if self.findings is not None:
            self.findings = with_stats_source(self.findings, self.source)
            self.leakage.set_findings(self.result, self.findings)
            self._update_leakage_badge()
            self.leakageUpdated.emit(self.findings)

    def _use_train_only(self) -> None:
        self.set_source_splits(["train"])

    def _refresh_normalization(self) -> None:
        """Update the exported-normalization line and the source std (None when the source splits
        hold no readable pixel: then there is nothing to export or paste)."""
        assert self.result is not None
        try:
            mean, std, max_value = normalization_stats(self.result, self.source)
        except StatsSourceError as exc:
            self._dataset_std = None
            self.stats_panel.set_normalization(self.source, problem=_escape(str(exc)))
            self._notice("normalization", None)
        else:
            self._dataset_std = std
            self.stats_panel.set_normalization(self.source, mean, std, max_value)
            self._notice("normalization", notices.normalization_notice(result_warnings(self.result, self.source, std)))
        self._update_actions()

    def _update_leakage_badge(self) -> None:
        errors = self.leakage.error_count() if self.findings else 0
        by_split: Counter[str] = Counter()
        for f in self.findings or []:
            if f.severity == "error":
                for s in set(f.splits):
                    by_split[s] += 1
        text = f"Leakage ({errors} error{'s' if errors != 1 else ''})" if errors else "Leakage"
        self.tabs.setTabText(TAB_LEAKAGE, text)
        icon = self.style().standardIcon(self.style().StandardPixmap.SP_MessageBoxWarning) if errors else QIcon()
        self.tabs.setTabIcon(TAB_LEAKAGE, icon)
        self.stats_panel.set_leakage_errors(errors, by_split)

    # ================================================================== selection

    @Slot(int)
    def _on_image_selected(self, row: int) -> None:
        if self.result is None:
            return
        self.preview.show_row(self.result, row, self.image_list.model.amplification_of(row))
        if not self._syncing_selection:
            self.normalization.show_image(row)

    @Slot(int)
    def show_image_in_list(self, row: int) -> None:
        """Show image ``row`` of result.images in the Images tab (leakage panel, normalization view)."""
        self.tabs.setCurrentIndex(TAB_IMAGES)
        self.image_list.select_image_row(row)

    @Slot(int)
    def _on_normalization_row(self, row: int) -> None:
        # The view shows the row itself; only follow it in the list (no second show_image).
        self._syncing_selection = True
        try:
            self.image_list.select_image_row(row)
        finally:
            self._syncing_selection = False

    @Slot(int)
    def _show_in_normalization(self, row: int) -> None:
        self.tabs.setCurrentIndex(TAB_NORMALIZATION)
        if self.normalization.current_row != row:
            self.normalization.show_image(row)

    def _find(self) -> None:
        self.tabs.setCurrentIndex(TAB_IMAGES)
        self.image_list.focus_search()

    def _most_amplified(self) -> None:
        self.tabs.setCurrentIndex(TAB_IMAGES)
        self.image_list.sort_most_amplified()

    # ================================================================== export and snippets

    def export_json(self, path: str | None = None) -> None:
        """Write the schema-1 document (atomically, in a worker). Asks for a path when none is given."""
        if not self._can_export():
            return
        assert self.result is not None
        if not path:
            start = str(self.settings.value("export/lastDir", "") or "")
            path = dialogs.choose_export_path(self, suggested_export_path(self.result, start or None))
            if not path:
                return
        self.settings.setValue("export/lastDir", os.path.dirname(os.path.abspath(path)))
        worker = CallWorker(write_export, self.result, list(self.findings or []), list(self.source), path,
                            self.per_image_action.isChecked())
        worker.returned.connect(self._on_exported)
        self._export_worker = worker
        self.statusBar().showMessage(f"Exporting to {path}…")
        self.runner.start(worker, on_error=self._on_export_error)
        self._update_actions()

    def _can_export(self) -> bool:
        # A result is only ever the current scan's (a new scan clears it first).
        return (self.result is not None and self.findings is not None and self._export_worker is None
                and self._dataset_std is not None)

    @Slot(object)
    def _on_exported(self, path: str) -> None:
        if self.sender() is not self._export_worker:
            return
        self._export_worker = None
        self.messages.hide_message("export")
        note = ""
        if self.findings and any(f.kind == "stats_source" for f in self.findings):
            note = " (with a stats_source finding: the normalization uses val or test data)"
        self.statusBar().showMessage(f"Exported to {path}{note}", 10000)
        self._update_actions()
        self.exportFinished.emit(path)

    @Slot(str)
    def _on_export_error(self, message: str) -> None:
        if self.sender() is not self._export_worker:
            return
        self._export_worker = None
        self.statusBar().clearMessage()  # not "Exporting..." any more
        self.messages.show_message("export", "error", "Export failed: " + _escape(message))
        self._update_actions()
        self.exportFailed.emit(message)

    def _on_snippet_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.copy_snippet(str(action.data()))

    def copy_snippet(self, library: str) -> str | None:
        if self.result is None:
            return None
        try:
            text = copy_snippet(self.result, self.source, library)
        except StatsSourceError as exc:
            self.messages.show_message("snippet", "error", "No snippet: " + _escape(str(exc)))
            return None
        label = dict(LIBRARIES).get(library, library)
        leak = " (includes val/test data!)" if leaky_sources(self.source) and "train" in self.result.splits else ""
        self.statusBar().showMessage(f"Copied the {label} snippet (mean/std of {'+'.join(self.source)}){leak}.",
                                     6000)
        return text

    def _on_per_image(self) -> None:
        self.settings.setValue("export/perImage", self.per_image_action.isChecked())

    # ================================================================== actions state

    def _update_actions(self) -> None:
        has_result = self.result is not None
        # The worker thread outlives the scan by a moment (it winds down after ``finished``).
        scanning = self._scan_worker is not None and not self._scan_done
        self.rescan_action.setEnabled(self.root is not None and not scanning)
        self.cancel_action.setEnabled(scanning)
        self.export_action.setEnabled(self._can_export())
        # Snippets and export need normalization numbers: none when the source has no readable pixel.
        numbers = has_result and self._dataset_std is not None
        for act in self.snippet_actions.values():
            act.setEnabled(numbers)
        self.snippet_button.setEnabled(numbers)
        self.amplified_action.setEnabled(has_result)

    # ================================================================== recent folders

    def recent_folders(self) -> list[str]:
        return self.recent.paths()

    def _fill_recent_menu(self) -> None:
        self.recent.fill_menu(self.recent_menu, self.open_folder)

    def _ask_open(self) -> None:
        start = self.root or (self.recent_folders() or [""])[0]
        path = dialogs.choose_folder(self, os.path.dirname(start) if start else "")
        if path:
            self.open_folder(path)

    # ================================================================== theme, tabs, about

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        applied = apply_theme(app, name) if app is not None else name
        self.theme_actions[applied].setChecked(True)
        self.stats_panel.histograms.set_theme(applied)
        self.settings.setValue("view/theme", applied)

    def _on_theme_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.set_theme(str(action.data()))

    def _toggle_theme(self) -> None:
        self.set_theme("light" if current_theme() == "dark" else "dark")

    def _on_tab_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.tabs.setCurrentIndex(int(action.data()))

    def _about(self) -> None:
        dialogs.show_about(self)

    # ================================================================== drag and drop

    @staticmethod
    def dropped_folder(urls: Sequence[QUrl]) -> str | None:
        """The dataset folder in a drop: a folder, or the folder of a dropped file."""
        for url in urls:
            if url.isLocalFile():
                path = url.toLocalFile()
                if os.path.isdir(path):
                    return path
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and self.dropped_folder(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = self.dropped_folder(event.mimeData().urls()) if event.mimeData().hasUrls() else None
        if path:
            event.acceptProposedAction()
            self.open_folder(path)
        else:
            event.ignore()

    # ================================================================== settings and closing

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        for key, splitter, default in (("window/statsSplitter", self.stats_panel.splitter, [860, 560]),
                                       ("window/imagesSplitter", self.images_splitter, [1030, 440])):
            value = s.value(key)
            if not (isinstance(value, QByteArray) and not value.isEmpty() and splitter.restoreState(value)):
                splitter.setSizes(default)
        self.tabs.setCurrentIndex(_int(s.value("window/tab", 0), 0, self.tabs.count() - 1))
        self.per_image_action.setChecked(_bool(s.value("export/perImage", False)))
        self.stats_panel.histograms.log_box.setChecked(_bool(s.value("view/histogramLog", False)))
        theme = str(s.value("view/theme", "light"))
        self.set_theme(theme if theme in THEMES else "light")

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/statsSplitter", self.stats_panel.splitter.saveState())
        s.setValue("window/imagesSplitter", self.images_splitter.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.sync()

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Stop every worker (abort, then wait with a time limit). True when all have stopped."""
        self._stop_jobs()
        ok = self.runner.stop_all(timeout_ms)
        self.preview.wait_idle(timeout_ms)
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)


def _escape(text: str) -> str:
    return html.escape(text)


def _int(value, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(value)))
    except (TypeError, ValueError):
        return lo


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _scrolling(panel: QWidget) -> QScrollArea:
    """The panel fills the tab and, in a window too short for its minimum height, scrolls
    instead of squeezing its plots to unreadable slivers."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # QScrollArea asks the layout of its widget (not the widget) for height-for-width; a plain
    # container hides the panel's wrapped labels from it, so only the minimum height counts.
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel)
    area.setWidget(holder)
    return area
