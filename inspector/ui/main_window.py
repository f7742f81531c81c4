"""The main window: the composition of the session's views, its actions and its controllers.

State lives in ``inspector.app.session.Session`` (no Qt): root, scan phase, result, findings,
normalization source and numbers, selection. The window subscribes its widgets to the session's
events (``_bind_session``) and forwards user actions to the session or to a controller:

- ``scan_controller.ScanController`` runs the scan worker and feeds the session (stale workers
  are ignored there);
- ``window_actions`` builds the actions, menus and toolbar; ``window_settings`` restores and
  saves what the window remembers;
- ``runner.BackgroundRunner`` decodes for the preview and the normalization view (latest request
  wins); ``worker.WorkerRunner`` runs the scan, export and demo jobs, each on its own QThread;
  ``stages.Stages`` spreads putting a new result on screen over turns of the event loop.

A new panel is one ``add_tab(widget, title, tip)`` call in ``_build_widgets`` (its Ctrl+N shortcut
follows) plus the session events it renders, connected in ``_bind_session``.
"""
from __future__ import annotations

import html
import os
from collections.abc import Sequence

from PySide6.QtCore import QSettings, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from ..app.opening import dataset_folder_of, openable
from ..app.session import Phase, Session
from ..core.formatting import count
from ..core.layout import DatasetLayout
from ..core.scan import ScanProgress, ScanResult
from . import dialogs, notices, window_actions, window_settings
from .export_controller import ExportController
from .image_list import ImageList
from .leakage_panel import LeakagePanel
from .message_bar import MessageArea
from .normalization_view import NormalizationView
from .preview import ImagePreview
from .progress_panel import ProgressPanel
from .recent import RecentFolders
from .runner import shared_runner
from .scan_controller import ScanController
from .splitters import scrolling, side_by_side
from .stages import Stages
from .statistics_panel import StatisticsPanel
from .theme import app_icon, apply_theme
from .validation_panel import ValidationPanel
from .worker import CallWorker, WorkerRunner

APP_TITLE = "Dataset Inspector"
STOP_TIMEOUT_MS = 5000        # how long closing waits for running workers
TAB_STATS, TAB_IMAGES, TAB_NORMALIZATION, TAB_LEAKAGE, TAB_VALIDATION = range(5)


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
        self.session = Session()
        self.runner = WorkerRunner(self)
        self.panel_runner = shared_runner()  # the one runner of every panel that decodes
        self.scan = ScanController(self.session, self.runner, workers=scan_workers, parent=self)
        self.recent = RecentFolders(self.settings)
        self.exporter = ExportController(self)
        self.exporter.finished.connect(self.exportFinished)
        self.exporter.failed.connect(self.exportFailed)
        self.exporter.finished.connect(self._update_actions)
        self.exporter.failed.connect(self._update_actions)
        self._demo_worker: CallWorker | None = None
        self._syncing_selection = False
        self._displayed: ScanResult | None = None   # the result the views show (set by the stages)
        self._findings_shown = False                 # the leakage panel shows the session's findings
        self.stages = Stages(self)  # display work queued one event-loop turn apart

        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_widgets()
        window_actions.install(self)
        self._connect()
        self._bind_session()
        window_settings.restore(self)
        self._update_actions()
        self.statusBar().showMessage("Open a dataset folder (Ctrl+O) or drop one on the window.")

    # ================================================================== state (read-only views of the session)

    root = property(lambda self: self.session.root)
    result = property(lambda self: self.session.result)
    findings = property(lambda self: self.session.findings)
    source = property(lambda self: list(self.session.source))

    @property
    def scanning(self) -> bool:
        """True while a scan or its leakage search runs."""
        return self.scan.scanning

    # ================================================================== construction

    def _build_widgets(self) -> None:
        self.messages = MessageArea()
        self.progress = ProgressPanel()
        self.stats_panel = StatisticsPanel()
        self.image_list = ImageList()
        self.preview = ImagePreview(runner=self.panel_runner)
        self.images_splitter = side_by_side("imagesSplitter", self.image_list, self.preview, (3, 1))
        self.normalization = NormalizationView(runner=self.panel_runner)
        self.leakage = LeakagePanel()

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.add_tab(scrolling(self.stats_panel), "Statistics",
                     "Per-split mean, std, histograms and image properties")
        self.add_tab(self.images_splitter, "Images", "Every image with its statistics: sort, filter, preview")
        self.add_tab(self.normalization, "Normalization",
                     "What dataset and per-image normalization do to an image")
        self.add_tab(self.leakage, "Leakage", "Duplicates and other leakage between splits")
        self.validation = ValidationPanel(self.session, self.panel_runner)  # follows the session itself
        self.add_tab(scrolling(self.validation), "Balance && Drift", "Class balance and image properties per split")

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

    def add_tab(self, widget: QWidget, title: str, tip: str) -> int:
        """Add a panel as a tab (before ``window_actions.install``: its Ctrl+N follows the order)."""
        index = self.tabs.addTab(widget, title)
        self.tabs.setTabToolTip(index, f"{tip} (Ctrl+{index + 1})" if index < 9 else tip)
        return index

    def _connect(self) -> None:
        self.progress.cancelRequested.connect(self.cancel_scan)
        self.image_list.imageSelected.connect(self.session.select_image)
        self.image_list.failureSelected.connect(self._on_failure_selected)
        self.image_list.selectionCleared.connect(self.session.clear_selection)
        self.preview.showInNormalization.connect(self._show_in_normalization)
        self.leakage.imageRequested.connect(self.show_image_in_list)
        self.normalization.rowRequested.connect(self._on_normalization_row)
        self.source_selector.changed.connect(self.set_source_splits)
        self.stats_panel.leakageLinkActivated.connect(lambda: self.tabs.setCurrentIndex(TAB_LEAKAGE))
        self.stats_panel.histograms.log_box.toggled.connect(
            lambda on: self.settings.setValue("view/histogramLog", on))
        self.scan.progress.connect(self.progress.update_progress)
        self.scan.live.connect(self._on_live)
        self.scan.phaseText.connect(self._on_phase_text)
        self.scan.failed.connect(self._on_scan_failed)
        self.scan.ended.connect(self._on_scan_ended)

    def _bind_session(self) -> None:
        events = self.session.events
        events.root.connect(self._on_root)
        events.layout.connect(self._on_layout)
        events.result.connect(self._on_result)
        events.source.connect(self._on_source)
        events.normalization.connect(self._on_normalization)
        events.findings.connect(self._on_findings)
        events.phase.connect(self._on_phase)
        events.selection.connect(self._on_selection)

    # ================================================================== opening and scanning

    def open_folder(self, path: str) -> None:
        """Open and scan a dataset (menu, recent list, drop, command line, tests). An image file
        opens the dataset it belongs to."""
        path = dataset_folder_of(os.path.abspath(os.path.expanduser(str(path))))
        self.scan.stop()
        self.session.open(path)  # a new dataset starts from the default source (train)
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
        self.scan.stop()
        self.session.open(self.root, keep_source=True)
        self._start_scan()

    def cancel_scan(self) -> None:
        if not self.scan.cancel():
            return
        self.progress.set_phase("Cancelling…")
        self.progress.cancel_button.setEnabled(False)
        self.cancel_action.setEnabled(False)

    def _start_scan(self) -> None:
        root = self.session.root
        assert root is not None
        self.scan.start()
        self.progress.start(root)
        self.stats_panel.set_state("listing files…")
        self.image_list.show_waiting("Scanning: every image is listed here when the scan has finished.")
        self.statusBar().showMessage(f"Scanning {root}…")
        self._update_actions()
        self.scanStarted.emit(root)

    def _on_root(self, _root: str) -> None:
        """A dataset is (re)opened: every view forgets the previous one."""
        self.stages.clear()  # drops the remaining display stages of an earlier result
        self._displayed = None
        self._findings_shown = False
        self.messages.clear()
        self.stats_panel.set_result(None)
        self.stats_panel.set_normalization(None)
        self.stats_panel.set_leakage_errors(0, {})
        self.image_list.set_result(None)
        self.preview.clear()
        self.normalization.set_result(None, [], scanning=True)
        self.leakage.set_findings(None, [])
        self._update_leakage_badge()
        self.source_selector.set_splits([], [])
        self.dataset_label.setText("")

    def _on_layout(self, layout: DatasetLayout) -> None:
        self._notice("layout", notices.layout_notice(layout))
        self.recent.add(layout.uri or layout.root)  # a source that exists and holds images: worth reopening
        self.dataset_label.setText(notices.layout_label(layout))

    @Slot(object)
    def _on_live(self, p: ScanProgress) -> None:
        mode = next(iter(p.partial.values())).mode if p.partial else "RGB"
        self.stats_panel.set_live(p.partial, mode, p.done, p.total)

    @Slot(str)
    def _on_phase_text(self, text: str) -> None:
        self.progress.set_phase(text)  # the statistics themselves are final (see _on_result)
        self.statusBar().showMessage(text)
        self.scanPhase.emit(text)

    def _on_result(self, result: ScanResult | None) -> None:
        if result is None:
            return  # cleared with the root
        # Each view gets its own turn of the event loop: on a big dataset putting everything on
        # screen at once would freeze the window for the sum of them.
        self.stages.add(self._show_statistics, self._show_images, self._show_normalization,
                             self._show_statistics_done)

    def _on_phase(self, phase: Phase) -> None:
        if phase is Phase.DONE and self.result is not None:
            self.progress.finish(notices.dataset_summary(self.result))
            self.stages.add(self._show_findings, self._show_result_done)
        elif phase is Phase.CANCELLED:
            self._show_cancelled()
        self._update_actions()

    def _show_statistics(self) -> None:
        assert self.result is not None
        self.source_selector.blockSignals(True)
        self.source_selector.set_splits(self.result.splits, self.source)
        self.source_selector.blockSignals(False)
        self.stats_panel.set_result(self.result)
        self._show_numbers()

    def _show_images(self) -> None:
        self.image_list.set_result(self.result, self.session.dataset_std)

    def _show_normalization(self) -> None:
        self.normalization.set_result(self.result, self.source, numbers=self.session.normalization)

    def _show_statistics_done(self) -> None:
        result = self.result
        assert result is not None
        self._displayed = result
        self._source_warning()
        if self.session.phase is Phase.CHECKING:
            self.tabs.setTabText(TAB_LEAKAGE, "Leakage (checking…)")
        self.dataset_label.setText(notices.result_label(result))
        self._update_actions()
        self.statisticsShown.emit(result)

    def _show_findings(self) -> None:
        self.leakage.set_findings(self.result, self.findings or [])
        self._findings_shown = True
        self._update_leakage_badge()

    def _show_result_done(self) -> None:
        result = self.result
        assert result is not None
        self._result_notices(result)
        self.statusBar().showMessage(notices.scan_done_status(result), 8000)
        self._update_actions()
        self.scanFinished.emit(result)

    @Slot(str)
    def _on_scan_failed(self, message: str) -> None:
        self.messages.show_message("scan", "error", html.escape(message),
                                   action=("Open Another Folder…", self._ask_open))
        self.stats_panel.set_state("no statistics: the folder could not be scanned")
        self.normalization.set_result(None, [])
        self.statusBar().showMessage("The folder could not be scanned.", 8000)
        self.progress.finish(f"<b>{html.escape(self.root or '')}</b> could not be scanned (see the message above).")
        self._update_actions()
        self.scanFailed.emit(message)

    def _show_cancelled(self) -> None:
        if self.result is not None:  # cancelled during the leakage search: the statistics are final
            self.progress.finish(notices.dataset_summary(self.result) + " · leakage not checked")
            self.messages.show_message(
                "scan", "warning", "Leakage check cancelled: the statistics are complete and can be exported, "
                                   "but without duplicate findings (not checked).", action=("Rescan", self.rescan))
            self.tabs.setTabText(TAB_LEAKAGE, "Leakage (not checked)")
            self.statusBar().showMessage("Leakage check cancelled.", 8000)
            self.scanCancelled.emit()
            return
        p = self.scan.take_partial()
        if p is not None and p.partial:
            self._on_live(p)
            self.stats_panel.set_state(f"partial: scan cancelled after {p.done:,} of {p.total:,} files")
        else:
            self.stats_panel.set_state("scan cancelled before any statistics")
        self.normalization.set_result(None, [])
        self.messages.show_message("scan", "warning",
                                   "Scan cancelled: the statistics shown are partial and cannot be exported.",
                                   action=("Rescan", self.rescan))
        self.statusBar().showMessage("Scan cancelled.", 8000)
        done = f" after {p.done:,} of {p.total:,} files" if p is not None else ""
        self.progress.finish(f"<b>{html.escape(os.path.basename(self.root or ''))}</b>: scan cancelled{done}; "
                             "the statistics are partial. Rescan with F5.")
        self.scanCancelled.emit()

    @Slot()
    def _on_scan_ended(self) -> None:
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
        self.messages.show_message("demo", "error", "The demo dataset could not be created: " + html.escape(message))

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
            self._notice("leakage", notices.leakage_failed_notice(self.session.leakage_error),
                         action=("Rescan", self.rescan))

    def _source_warning(self) -> None:
        self._notice("source", notices.source_notice(self.session.leaky_sources),
                     action=("Use Train Only", self._use_train_only), closable=False)

    def _show_failures(self) -> None:
        self.tabs.setCurrentIndex(TAB_IMAGES)
        self.image_list.set_filter(status="failed")

    # ================================================================== normalization source

    def set_source_splits(self, splits: Sequence[str]) -> None:
        """Choose the splits the exported mean/std come from (the session updates the findings)."""
        self.session.set_source(list(splits))

    def _use_train_only(self) -> None:
        self.set_source_splits(["train"])

    def _on_source(self, source: list[str]) -> None:
        if self._displayed is not self.result:
            return  # the display stages show the new result's source themselves
        if self.source_selector.selected() != source:
            self.source_selector.blockSignals(True)
            self.source_selector.set_selected(source)
            self.source_selector.blockSignals(False)
        self._source_warning()

    def _on_normalization(self, _numbers) -> None:
        if self._displayed is not self.result or self.result is None:
            return
        self._show_numbers()
        self.image_list.set_dataset_std(self.session.dataset_std)
        self.normalization.set_result(self.result, self.source, numbers=self.session.normalization)

    def _show_numbers(self) -> None:
        """The exported-normalization line, and its warnings (none when the source has no pixel)."""
        numbers = self.session.normalization
        assert numbers is not None
        if numbers.problem is not None:
            self.stats_panel.set_normalization(self.source, problem=html.escape(numbers.problem))
            self._notice("normalization", None)
        else:
            self.stats_panel.set_normalization(self.source, list(numbers.mean), list(numbers.std), numbers.max_value)
            self._notice("normalization", notices.normalization_notice(numbers.warnings))
        self._update_actions()

    def _on_findings(self, findings) -> None:
        if not self._findings_shown or findings is None:
            return  # a finished scan's findings are shown by its display stages
        self.leakage.set_findings(self.result, findings)
        self._update_leakage_badge()
        self.leakageUpdated.emit(findings)

    def _update_leakage_badge(self) -> None:
        errors = self.session.error_count
        text = f"Leakage ({count(errors, 'error')})" if errors else "Leakage"
        self.tabs.setTabText(TAB_LEAKAGE, text)
        icon = self.style().standardIcon(self.style().StandardPixmap.SP_MessageBoxWarning) if errors else QIcon()
        self.tabs.setTabIcon(TAB_LEAKAGE, icon)
        self.stats_panel.set_leakage_errors(errors, self.session.errors_by_split())

    # ================================================================== selection

    def _on_selection(self, selection) -> None:
        if selection.image_row is None:
            if selection.empty:
                self.preview.clear()
            return
        if self.result is None:
            return
        row = selection.image_row
        self.preview.show_row(self.result, row, self.image_list.model.amplification_of(row))
        if not self._syncing_selection:
            self.normalization.show_image(row)

    @Slot(str, str, str)
    def _on_failure_selected(self, path: str, split: str, reason: str) -> None:
        self.session.clear_selection()
        self.preview.show_failure(path, split, reason)

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
        self.exporter.export(path, per_image=self.per_image_action.isChecked())
        self._update_actions()

    def copy_snippet(self, library: str) -> str | None:
        return self.exporter.copy_snippet(library)

    def _on_per_image(self) -> None:
        self.settings.setValue("export/perImage", self.per_image_action.isChecked())

    # ================================================================== actions state

    def _update_actions(self) -> None:
        has_result = self.result is not None
        scanning = self.scanning
        self.rescan_action.setEnabled(self.root is not None and not scanning)
        self.cancel_action.setEnabled(scanning)
        self.export_action.setEnabled(self.exporter.can_export)
        self.reports.update_actions(self.report_action, self.drop_list_action, self.drop_heldout_action)
        # Snippets need normalization numbers: none when the source has no readable pixel.
        numbers = has_result and self.session.dataset_std is not None
        for act in self.snippet_actions.values():
            act.setEnabled(numbers)
        self.snippet_button.setEnabled(numbers)
        self.amplified_action.setEnabled(has_result)
        self.cache_commands.update()

    # ================================================================== recent folders

    def recent_folders(self) -> list[str]:
        return self.recent.paths()

    def _fill_recent_menu(self) -> None:
        self.recent.fill_menu(self.recent_menu, self.open_folder)

    def _ask_open(self, *, file: bool = False) -> None:
        """File > Open Folder, or with ``file`` File > Open File (manifest, Parquet, shard, data.yaml)."""
        start = self.root or (self.recent_folders() or [""])[0]
        choose = dialogs.choose_source_file if file else dialogs.choose_folder
        path = choose(self, os.path.dirname(start) if start else "")
        if path:
            self.open_folder(path)

    # ================================================================== theme, tabs, about

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        applied = apply_theme(app, name) if app is not None else name
        self.theme_actions[applied].setChecked(True)
        self.stats_panel.histograms.set_theme(applied)
        self.settings.setValue("view/theme", applied)

    # ================================================================== drag and drop

    @staticmethod
    def dropped_folder(urls: Sequence[QUrl]) -> str | None:
        """The dataset in a drop: a folder, or the dataset a dropped image file belongs to."""
        for url in urls:
            if url.isLocalFile():
                path = url.toLocalFile()
                folder = dataset_folder_of(path)
                if openable(folder):  # a folder, or a manifest, Parquet, tar shard or data.yaml
                    return folder
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

    def save_settings(self) -> None:
        window_settings.save(self)

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Stop every worker (abort, then wait with a time limit). True when all have stopped."""
        self.scan.stop()
        ok = self.runner.stop_all(timeout_ms)
        self.scan.cluster.close()  # a local Dask cluster's processes end with the window
        self.preview.wait_idle(timeout_ms)
        self.normalization.wait_idle(timeout_ms)
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)
