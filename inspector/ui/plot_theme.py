"""One themed pyqtgraph plot for the validation views: background and axis colours follow the
application's theme by themselves (they listen for the palette change that apply_theme causes)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QWidget

from .theme import current_theme, plot_colors


class ThemedPlot(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.apply_theme(current_theme())

    def apply_theme(self, theme: str) -> None:
        self._theme = theme
        bg, fg = plot_colors(theme)
        self.setBackground(bg)
        item = self.getPlotItem()
        for name in ("left", "bottom", "top"):
            axis = item.getAxis(name)
            axis.setPen(fg)
            axis.setTextPen(fg)
        item.titleLabel.setText(item.titleLabel.text, color=fg)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and "_theme" in self.__dict__ and current_theme() != self._theme:
            self.apply_theme(current_theme())
        super().changeEvent(event)
