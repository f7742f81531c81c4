"""Recently opened datasets (folders, manifests, Parquet, shards, data.yaml), kept in QSettings
(most recent first)."""
from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

KEY = "recent/folders"
MAX_RECENT = 8


class RecentFolders:
    def __init__(self, settings: QSettings, limit: int = MAX_RECENT) -> None:
        self.settings = settings
        self.limit = limit

    def paths(self) -> list[str]:
        value = self.settings.value(KEY, [])
        if isinstance(value, str):  # QSettings returns a bare string for a one-item list (INI format)
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add(self, path: str) -> None:
        rest = [p for p in self.paths() if p != path]
        self.settings.setValue(KEY, [path] + rest[: self.limit - 1])

    def clear(self) -> None:
        self.settings.setValue(KEY, [])

    def fill_menu(self, menu: QMenu, open_path: Callable[[str], None]) -> None:
        """Rebuild ``menu`` (on aboutToShow): one numbered entry per folder, then Clear List.
        Folders that no longer exist stay listed, disabled, so the user sees what happened."""
        menu.clear()
        paths = self.paths()
        for k, path in enumerate(paths):
            action = menu.addAction(f"&{k + 1} {path}" if k < 9 else path)
            action.setData(path)
            exists = os.path.exists(path) or ("{" in path and os.path.isdir(os.path.dirname(path)))
            action.setEnabled(exists)
            if not exists:
                action.setToolTip("This dataset no longer exists")
            action.triggered.connect(lambda _checked=False, p=path: open_path(p))  # GUI thread only
        if not paths:
            menu.addAction("No recent folders").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear List")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(self.clear)
