"""What the window remembers between sessions (QSettings): geometry, splitters, tab, theme,
log-scale histograms, the per-image export option, the
Dask scheduler and whether scans use the cache. Keys are listed here once."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

from . import cluster_setting
from .theme import THEMES

if TYPE_CHECKING:
    from .main_window import MainWindow

DEFAULT_SIZE = (1400, 900)
SPLITTER_DEFAULTS = {"window/statsSplitter": [860, 560], "window/imagesSplitter": [1030, 440]}


def _splitters(w: MainWindow) -> dict:
    return {"window/statsSplitter": w.stats_panel.splitter, "window/imagesSplitter": w.images_splitter}


def restore(w: MainWindow) -> None:
    s = w.settings
    geometry = s.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        w.restoreGeometry(geometry)
    else:
        w.resize(*DEFAULT_SIZE)
    state = s.value("window/state")
    if isinstance(state, QByteArray) and not state.isEmpty():
        w.restoreState(state)
    for key, splitter in _splitters(w).items():
        value = s.value(key)
        if not (isinstance(value, QByteArray) and not value.isEmpty() and splitter.restoreState(value)):
            splitter.setSizes(SPLITTER_DEFAULTS[key])
    w.tabs.setCurrentIndex(to_int(s.value("window/tab", 0), 0, w.tabs.count() - 1))
    w.per_image_action.setChecked(to_bool(s.value("export/perImage", False)))
    w.stats_panel.histograms.log_box.setChecked(to_bool(s.value("view/histogramLog", False)))
    theme = str(s.value("view/theme", "light"))
    w.set_theme(theme if theme in THEMES else "light")
    cluster_setting.restore(w)
    w.cache_commands.restore()


def save(w: MainWindow) -> None:
    s = w.settings
    s.setValue("window/geometry", w.saveGeometry())
    s.setValue("window/state", w.saveState())
    for key, splitter in _splitters(w).items():
        s.setValue(key, splitter.saveState())
    s.setValue("window/tab", w.tabs.currentIndex())
    s.sync()


def to_int(value, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(value)))
    except (TypeError, ValueError):
        return lo


def to_bool(value) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
