"""The leakage table's commands on its selected findings: Copy Paths (Ctrl+C), Show in Image List,
Open Containing Folder, in a context menu. Several findings can be selected at once."""
from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMenu


def selected_paths(findings) -> list[str]:
    """The files the findings name, each once, in the findings' order."""
    seen: dict[str, None] = {}
    for f in findings:
        for p in f.paths:
            seen.setdefault(p, None)
    return list(seen)


def _folder(result, path: str) -> str | None:
    """The local folder holding an item, or None (tar members, Parquet rows, remote sources)."""
    if result is None:
        return None
    folder = os.path.dirname(os.path.join(str(result.root), path))
    return folder if os.path.isdir(folder) else None


class FindingActions:
    """Installs the commands on a LeakagePanel's table and runs them."""

    def __init__(self, panel) -> None:
        self.panel = panel
        table = panel.table
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.copy_action = QAction("Copy Paths", table)
        self.copy_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_paths)
        self.show_action = QAction("Show in Image List", table)
        self.show_action.triggered.connect(self.show_in_image_list)
        self.open_action = QAction("Open Containing Folder", table)
        self.open_action.triggered.connect(self.open_containing_folder)
        table.addAction(self.copy_action)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._menu)

    def selected(self) -> list:
        return self.panel.selected_findings()

    def update(self) -> None:
        chosen = self.selected()
        self.copy_action.setEnabled(bool(selected_paths(chosen)))
        self.show_action.setEnabled(any(f.rows for f in chosen))
        paths = selected_paths(chosen)
        self.open_action.setEnabled(bool(paths) and _folder(self.panel.result, paths[0]) is not None)

    def menu(self) -> QMenu:
        self.update()
        menu = QMenu(self.panel.table)
        for act in (self.copy_action, self.show_action, self.open_action):
            menu.addAction(act)
        return menu

    def _menu(self, pos: QPoint) -> None:
        self.menu().popup(self.panel.table.viewport().mapToGlobal(pos))

    def copy_paths(self) -> str:
        """Every file of the selected findings, one per line, on the clipboard."""
        text = "\n".join(selected_paths(self.selected()))
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def show_in_image_list(self) -> None:
        for f in self.selected():
            if f.rows:
                self.panel.imageRequested.emit(int(f.rows[0]))
                return

    def open_containing_folder(self) -> str | None:
        paths = selected_paths(self.selected())
        folder = _folder(self.panel.result, paths[0]) if paths else None
        if folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
        return folder
