"""Export and snippets of the window: the schema-1 JSON written in a worker, the snippet copied.

Reads the session (result, findings, source and its numbers); reports in the window's message
area and status bar (``OutputWriter``). ``finished(path)`` / ``failed(message)`` follow every export.
"""
from __future__ import annotations

import html
import os

from . import dialogs
from .export_actions import LIBRARIES, copy_snippet, suggested_export_path, write_export
from .output_writer import OutputWriter
from .worker import CallWorker


class ExportController(OutputWriter):
    MESSAGE_KEY = "export"

    @property
    def can_export(self) -> bool:
        return self.session.can_export and self.worker is None

    def export(self, path: str | None = None, *, per_image: bool = False) -> None:
        """Write the schema-1 document (atomically, in a worker). Asks for a path when none is given."""
        w, s = self.window, self.session
        if not self.can_export:
            return
        assert s.result is not None
        if not path:
            start = str(w.settings.value("export/lastDir", "") or "")
            path = dialogs.choose_export_path(w, suggested_export_path(s.result, start or None))
            if not path:
                return
        w.settings.setValue("export/lastDir", os.path.dirname(os.path.abspath(path)))
        worker = CallWorker(write_export, s.result, s.export_findings, list(s.source), path, per_image)
        self._start(worker, f"Exporting to {path}…")

    def _written(self, path: object) -> None:
        note = ""
        if self.session.leakage_unchecked:
            note = " (leakage not checked: no duplicate findings in the file; Rescan to check)"
        elif any(f.kind == "stats_source" for f in self.session.export_findings):
            note = " (with a stats_source finding: the normalization uses val or test data)"
        self.window.statusBar().showMessage(f"Exported to {path}{note}", 10000)
        self.finished.emit(str(path))

    def _failure_text(self, message: str) -> str:
        return "Export failed: "

    def copy_snippet(self, library: str) -> str | None:
        """Put a normalization snippet for ``library`` on the clipboard; None when there are no numbers."""
        s = self.session
        if s.result is None or s.normalization is None:
            return None
        if s.normalization.problem is not None:
            self.window.messages.show_message("snippet", "error", "No snippet: " + html.escape(s.normalization.problem))
            return None
        text = copy_snippet(s.normalization, s.result.mode, library)
        label = dict(LIBRARIES).get(library, library)
        leak = " (includes val/test data!)" if s.leaky_sources else ""
        self.window.statusBar().showMessage(
            f"Copied the {label} snippet (mean/std of {'+'.join(s.source)}){leak}.", 6000)
        return text
