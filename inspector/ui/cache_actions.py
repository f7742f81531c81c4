"""The window's scan cache commands (File menu): "Use Scan Cache" turns the on-disk cache of
per-image records on or off for the next scans (remembered, QSettings ``scan/useCache``; on by
default), and "Forget Cached Records for This Dataset" empties the open dataset's cache so its
next scan decodes every image again. Forgetting runs in a worker thread: a cache another
program holds locked may keep it waiting for seconds.
"""
from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from ..core.cache import default_cache_dir, forget_dataset
from .window_settings import to_bool
from .worker import CallWorker

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from .main_window import MainWindow

SETTING = "scan/useCache"


class CacheCommands(QObject):
    """The two actions and the slots their background work reports to (GUI thread)."""

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        from .window_actions import make_action  # window_actions imports this module

        self.w = w
        self.use_action = make_action(w, "Use Scan &Cache", self.set_enabled, None,
                                      "Reuse the stored records of unchanged images instead of decoding "
                                      "them again (takes effect from the next scan)", checkable=True)
        self.use_action.setChecked(True)
        self.forget_action = make_action(w, "&Forget Cached Records for This Dataset", self.forget, None,
                                         "Delete this dataset's stored records: its next scan decodes "
                                         "every image again")
        self._root = ""

    def add_to(self, menu: QMenu) -> None:
        menu.addAction(self.use_action)
        menu.addAction(self.forget_action)

    def restore(self) -> None:
        on = to_bool(self.w.settings.value(SETTING, True))
        self.use_action.setChecked(on)
        self.w.scan.use_cache = on

    def update(self) -> None:
        self.forget_action.setEnabled(self.dataset_root() is not None and not self.w.scanning)

    def dataset_root(self) -> str | None:
        """The root the cache knows the open dataset by (the scan's, once it has listed the files)."""
        w = self.w
        if w.result is not None:
            return w.result.root
        if w.session.layout is not None:
            return w.session.layout.root
        return w.root

    @Slot()
    def set_enabled(self) -> None:
        on = self.use_action.isChecked()
        self.w.scan.use_cache = on
        self.w.settings.setValue(SETTING, on)
        later = " Rescan (F5) to apply it now." if self.w.root is not None else ""
        self.w.statusBar().showMessage(f"Scan cache {'on' if on else 'off'}.{later}", 10_000)

    @Slot()
    def forget(self) -> None:
        root = self.dataset_root()
        if root is None or self.w.scanning:
            return
        self._root = root
        self.forget_action.setEnabled(False)
        worker = CallWorker(forget_dataset, default_cache_dir(), root)
        worker.returned.connect(self._forgotten)
        self.w.runner.start(worker, on_error=self._failed)

    @Slot(object)
    def _forgotten(self, had_records: bool) -> None:
        name = html.escape(os.path.basename(os.path.normpath(self._root)) or self._root)
        text = (f"Forgot the cached records of <b>{name}</b>: its next scan decodes every image."
                if had_records else f"<b>{name}</b> had no cached records.")
        self.w.messages.show_message("cache", "info", text)
        self.w.statusBar().showMessage(text.replace("<b>", "").replace("</b>", ""), 10_000)
        self.update()

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.w.messages.show_message("cache", "error", "The cached records could not be forgotten: "
                                     + html.escape(message))
        self.update()
