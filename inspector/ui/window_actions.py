"""The window's actions, menus and toolbar (what each command is called, its shortcut and tip).

``install(window)`` creates the actions as attributes of the window (``window.open_action``...)
and fills its menu bar and toolbar; the slots are the window's. A feature adds a command by adding
an action here (and a menu entry), or at run time with ``window.add_action(menu_name, action)``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolButton

from . import cluster_setting, dialogs
from .cache_actions import CacheCommands
from .export_actions import LIBRARIES
from .source_selector import SourceSelector
from .theme import THEMES, current_theme

if TYPE_CHECKING:
    from .main_window import MainWindow


def other_theme() -> str:
    return "light" if current_theme() == "dark" else "dark"


def install(w: MainWindow) -> None:
    _build_actions(w)
    _build_menus(w)
    _build_toolbar(w)


def make_action(w: MainWindow, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
    action = QAction(text, w)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip + (f" ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                                 if shortcut is not None else ""))
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    return action


def _build_actions(w: MainWindow) -> None:
    style = w.style()
    sp = style.StandardPixmap
    w.open_action = make_action(w, "&Open Folder…", w._ask_open, QKeySequence.StandardKey.Open,
                                   "Open a dataset folder")
    w.open_action.setIcon(style.standardIcon(sp.SP_DirOpenIcon))
    w.open_file_action = make_action(w, "Open &File…", lambda: w._ask_open(file=True), "Ctrl+Shift+O",
                                     "Open a dataset file: a manifest (.csv, .tsv, .jsonl), Parquet, "
                                     "a WebDataset .tar (or .tar.gz) shard or a YOLO data.yaml")
    w.demo_action = make_action(w, "Open &Demo Dataset", w.open_demo, None,
                                   "Open the built-in demo dataset (generated on first use)")
    w.rescan_action = make_action(w, "&Rescan", w.rescan, "F5", "Scan the dataset again")
    w.rescan_action.setShortcuts([QKeySequence("F5"), QKeySequence("Ctrl+R")])
    w.rescan_action.setIcon(style.standardIcon(sp.SP_BrowserReload))
    w.cancel_action = make_action(w, "&Cancel Scan", w.cancel_scan, "Esc",
                                     "Stop the running scan; the statistics so far stay, marked partial")
    w.cancel_action.setIcon(style.standardIcon(sp.SP_BrowserStop))
    w.cluster_action = make_action(w, "Dask &Cluster…", lambda: cluster_setting.ask(w), None,
                                   "Run scans on a Dask scheduler (or a local cluster) instead of this "
                                   "machine's processes")
    w.cache_commands = CacheCommands(w)
    w.use_cache_action = w.cache_commands.use_action
    w.forget_cache_action = w.cache_commands.forget_action
    w.export_action = make_action(w, "&Export JSON…", w.export_json, "Ctrl+E",
                                     "Write the statistics, normalization and leakage findings as JSON "
                                     "(the same schema-1 document as the command line)")
    w.export_action.setIcon(style.standardIcon(sp.SP_DialogSaveButton))
    from .report_controller import ReportController
    w.reports = ReportController(w)
    w.report_action = make_action(w, "Save &Report…", lambda: w.reports.save_report(), "Ctrl+Shift+S",
                                  "Write one self-contained HTML file: statistics, plots, normalization, "
                                  "class balance and every finding with its thumbnails")
    # The two sides of the command line's --drop-side: which copy of a cross-split pair goes.
    w.drop_list_action = make_action(w, "Drop &Training Copies (Held-out Images Stay)…",
                                     lambda: w.reports.export_drop_list(side="train"), None,
                                     "Write a CSV of the fewest files to remove so no exact, near or mirrored "
                                     "copy is shared between splits, taking the training copies")
    w.drop_heldout_action = make_action(w, "Drop &Held-out Copies (Training Images Stay)…",
                                        lambda: w.reports.export_drop_list(side="heldout"), None,
                                        "Write a CSV of the fewest files to remove so no exact, near or "
                                        "mirrored copy is shared between splits, taking the val/test copies")
    w.per_image_action = make_action(w, "Include Per-Image Records in Export", w._on_per_image, None,
                                        "Add one record per image (path, size, mean, std, amplification)",
                                        checkable=True)
    w.snippet_actions: dict[str, QAction] = {}
    for key, label in LIBRARIES:
        shortcut = "Ctrl+Shift+C" if key == "torchvision" else None
        act = make_action(w, f"{label}", lambda _=False, key=key: w.copy_snippet(key), shortcut,
                          f"Copy a {label} normalization snippet with this dataset's mean/std")
        act.setData(key)
        w.snippet_actions[key] = act
    w.quit_action = make_action(w, "&Quit", w.close, QKeySequence.StandardKey.Quit, "Quit")
    w.theme_actions: dict[str, QAction] = {}
    group = QActionGroup(w)
    for name in THEMES:
        act = make_action(w, f"{name.capitalize()} Theme", lambda _=False, name=name: w.set_theme(name), None,
                          f"Use the {name} palette", checkable=True)
        act.setData(name)
        group.addAction(act)
        w.theme_actions[name] = act
    w.toggle_theme_action = make_action(w, "Toggle Dark/Light", lambda: w.set_theme(other_theme()), "Ctrl+Shift+L",
                                           "Switch between the dark and light palettes")
    w.tab_actions = []
    for k in range(w.tabs.count()):  # Ctrl+1... in tab order, for every tab the window has
        name = w.tabs.tabText(k)
        act = make_action(w, f"Show {name}", lambda _=False, k=k: w.tabs.setCurrentIndex(k), f"Ctrl+{k + 1}" if k < 9 else None,
                          f"Show the {name} tab")
        act.setData(k)
        w.tab_actions.append(act)
    w.find_action = make_action(w, "Find Images by Path", w._find, QKeySequence.StandardKey.Find,
                                   "Filter the image list by path")
    w.amplified_action = make_action(w, "Most Amplified Images", w._most_amplified, "Ctrl+M",
                                        "List the images per-image standardization stretches the most")
    w.about_action = make_action(w, "&About", lambda: dialogs.show_about(w), None, "About Dataset Inspector")


def _build_menus(w: MainWindow) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(w.open_action)
    file_menu.addAction(w.open_file_action)
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w._fill_recent_menu)
    file_menu.addAction(w.demo_action)
    file_menu.addSeparator()
    file_menu.addAction(w.rescan_action)
    file_menu.addAction(w.cancel_action)
    file_menu.addAction(w.cluster_action)
    w.cache_commands.add_to(file_menu)
    file_menu.addSeparator()
    file_menu.addAction(w.export_action)
    file_menu.addAction(w.per_image_action)
    file_menu.addAction(w.report_action)
    w.drop_menu = file_menu.addMenu("Export Files to &Drop")
    w.drop_menu.setToolTipsVisible(True)
    w.drop_menu.addAction(w.drop_list_action)
    w.drop_menu.addAction(w.drop_heldout_action)
    w.snippet_menu = file_menu.addMenu("Copy &Snippet")
    w.snippet_menu.setToolTipsVisible(True)
    for act in w.snippet_actions.values():
        w.snippet_menu.addAction(act)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    view = bar.addMenu("&View")
    for act in w.tab_actions:
        view.addAction(act)
    view.addSeparator()
    view.addAction(w.find_action)
    view.addAction(w.amplified_action)
    view.addSeparator()
    for act in w.theme_actions.values():
        view.addAction(act)
    view.addAction(w.toggle_theme_action)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(w.about_action)


def _build_toolbar(w: MainWindow) -> None:
    tb = w.addToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.addAction(w.open_action)
    tb.addAction(w.rescan_action)
    tb.addAction(w.cancel_action)
    tb.addSeparator()
    tb.addAction(w.export_action)
    snippet_button = QToolButton()
    snippet_button.setText("Copy Snippet")
    snippet_button.setToolTip("Copy a normalization snippet for a training library to the clipboard")
    snippet_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    snippet_button.setMenu(w.snippet_menu)
    snippet_button.setIcon(w.style().standardIcon(w.style().StandardPixmap.SP_FileDialogDetailedView))
    snippet_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.snippet_button = snippet_button
    tb.addWidget(snippet_button)
    tb.addSeparator()
    w.source_selector = SourceSelector()
    tb.addWidget(w.source_selector)

