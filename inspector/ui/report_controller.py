"""File > Save Report and File > Export Files to Drop: the HTML report and the drop list, written by
the core in a worker (thumbnails read images again), reported in the status bar or message area."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from ..core.droplist import save_drop_list
from ..core.report import save_report
from .output_writer import OutputWriter
from .worker import CallWorker

if TYPE_CHECKING:
    from .main_window import MainWindow

DROPPED_COPIES = {"train": "training copies", "heldout": "held-out copies"}  # by drop side


def ask_path(parent, title: str, suggested: str, kind: str, suffix: str) -> str | None:
    """A save dialog; the suffix is added when the user typed a bare name. None when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, f"{kind} (*{suffix});;All files (*)")
    if not path:
        return None
    return path if path.lower().endswith(suffix) else path + suffix


class ReportController(OutputWriter):
    MESSAGE_KEY = "report"

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._path, self._what = "", ""
        self.finished.connect(window._update_actions)
        self.failed.connect(window._update_actions)

    @property
    def can_save(self) -> bool:
        return self.session.can_export and self.worker is None and self.session.layout is not None

    def update_actions(self, *actions) -> None:
        for act in actions:
            act.setEnabled(self.can_save)

    def save_report(self, path: str | None = None) -> None:
        s = self.session
        if not self.can_save:
            return
        path = path or self._ask("Save report as HTML", "report.html", "HTML files", ".html")
        if path:
            self._run(path, "report", save_report, s.result, s.layout, list(s.export_findings),
                      list(s.source), path)

    def export_drop_list(self, path: str | None = None, side: str = "train") -> None:
        """The drop list; `side` (as --drop-side) says which copy goes: train, or heldout (val/test)."""
        s = self.session
        if not self.can_save:
            return
        copies = DROPPED_COPIES[side]
        path = path or self._ask(f"Export files to drop: the {copies} (CSV)", "drop.csv", "CSV files", ".csv")
        if path:
            self._run(path, f"drop list of {copies}", save_drop_list, s.result.images, list(s.export_findings),
                      path, side)

    def _ask(self, title: str, name: str, kind: str, suffix: str) -> str | None:
        w, s = self.window, self.session
        start = str(w.settings.value("export/lastDir", "") or "") or os.path.dirname(s.result.root)
        stem = os.path.basename(os.path.normpath(s.result.root)) or "dataset"
        return ask_path(w, title, os.path.join(start, f"{stem}-{name}"), kind, suffix)

    def _run(self, path: str, what: str, fn, *args) -> None:
        w = self.window
        w.settings.setValue("export/lastDir", os.path.dirname(os.path.abspath(path)))
        self._path, self._what = path, what
        self._start(CallWorker(fn, *args), f"Writing the {what} to {path}…")
        w._update_actions()

    def _written(self, value: object) -> None:
        extra = f" ({value} file{'s' if value != 1 else ''} listed)" if isinstance(value, int) else ""
        self.window.statusBar().showMessage(f"Wrote the {self._what} to {self._path}{extra}", 10000)
        self.finished.emit(self._path)

    def _failure_text(self, message: str) -> str:
        return f"Could not write the {self._what}: "
