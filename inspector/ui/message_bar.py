"""In-window messages (like KDE's KMessageWidget): errors and warnings the user must see, without a
modal dialog. Keyed, so a repeated condition replaces its message instead of stacking copies."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QVBoxLayout, QWidget

LEVELS = ("info", "warning", "error")
_ICONS = {"info": QStyle.StandardPixmap.SP_MessageBoxInformation,
          "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
          "error": QStyle.StandardPixmap.SP_MessageBoxCritical}


class MessageBar(QFrame):
    """One message: icon, text, an optional action button, a close button."""

    closed = Signal()

    def __init__(self, level: str, text: str, *, action: tuple[str, Callable[[], None]] | None = None,
                 closable: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("level", level)
        self.level = level
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(self.style().standardIcon(_ICONS[level]).pixmap(size, size))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.label.setOpenExternalLinks(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(icon)
        layout.addWidget(self.label, 1)
        self.action_button: QToolButton | None = None
        if action is not None:
            self.action_button = QToolButton()
            self.action_button.setText(action[0])
            self.action_button.clicked.connect(action[1])
            layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        if closable:
            close = QToolButton()
            close.setText("✕")
            close.setToolTip("Dismiss")
            close.setAutoRaise(True)
            close.clicked.connect(self._close)
            layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)

    def text(self) -> str:
        return self.label.text()

    def _close(self) -> None:
        self.hide()
        self.closed.emit()


class MessageArea(QWidget):
    """A vertical stack of keyed messages; empty (zero height) when there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 0)
        self._layout.setSpacing(4)
        self._bars: dict[str, MessageBar] = {}
        self.setVisible(False)

    def show_message(self, key: str, level: str, text: str, *,
                     action: tuple[str, Callable[[], None]] | None = None, closable: bool = True) -> MessageBar:
        self.hide_message(key)
        bar = MessageBar(level, text, action=action, closable=closable, parent=self)
        bar.closed.connect(lambda k=key: self.hide_message(k))  # GUI-thread only: a plain callable is fine
        self._bars[key] = bar
        self._layout.addWidget(bar)
        self.setVisible(True)
        return bar

    def hide_message(self, key: str) -> None:
        bar = self._bars.pop(key, None)
        if bar is not None:
            self._layout.removeWidget(bar)
            bar.deleteLater()
        self.setVisible(bool(self._bars))

    def clear(self, keep: tuple[str, ...] = ()) -> None:
        for key in [k for k in self._bars if k not in keep]:
            self.hide_message(key)

    def message(self, key: str) -> MessageBar | None:
        return self._bars.get(key)

    def keys(self) -> list[str]:
        return list(self._bars)

    def texts(self) -> dict[str, str]:
        return {k: b.text() for k, b in self._bars.items()}
