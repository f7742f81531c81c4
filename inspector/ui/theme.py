"""Light and dark palettes, the stylesheet, and the colours that mean something (splits, channels).

One place for colour so that every widget agrees: train is always blue, val orange, test green,
in both themes. The Fusion style is used because it honours QPalette fully on every platform.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
THEMES = ("light", "dark")

# Tableau-10 hues: distinguishable for the common colour-vision deficiencies, readable on both themes.
SPLIT_COLORS = {"train": "#4C9BE8", "val": "#F28E2B", "test": "#59A14F", "all": "#B07AA1"}
_EXTRA_SPLIT_COLORS = ("#E15759", "#76B7B2", "#EDC948", "#FF9DA7")
CHANNEL_NAMES = {"RGB": ("R", "G", "B"), "L": ("L",)}
CHANNEL_LONG = {"R": "red", "G": "green", "B": "blue", "L": "grey (L)"}

SEVERITY_COLORS = {"error": "#D64541", "warning": "#E08A1E", "info": "#3A87C8"}

_current = "light"


def split_color(name: str, index: int = 0) -> QColor:
    """The fixed colour of a split (unknown split names get a stable extra colour)."""
    if name in SPLIT_COLORS:
        return QColor(SPLIT_COLORS[name])
    return QColor(_EXTRA_SPLIT_COLORS[index % len(_EXTRA_SPLIT_COLORS)])


def channel_names(mode: str) -> tuple[str, ...]:
    return CHANNEL_NAMES.get(mode, CHANNEL_NAMES["RGB"])


def _palette(theme: str) -> QPalette:
    p = QPalette()
    if theme == "dark":
        window, base, alt, text = "#2b2d30", "#1e1f22", "#26282b", "#dfe1e5"
        button, highlight, link, disabled = "#3c3f41", "#2f65ca", "#6aa7ff", "#7d8087"
    else:
        window, base, alt, text = "#f3f3f3", "#ffffff", "#f6f7f9", "#1f1f1f"
        button, highlight, link, disabled = "#e9e9e9", "#2f6fd6", "#1a5fb4", "#9a9a9a"
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: alt,
        QPalette.ColorRole.ToolTipBase: base, QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: disabled, QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: button, QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: "#ff5555", QPalette.ColorRole.Link: link,
        QPalette.ColorRole.Highlight: highlight, QPalette.ColorRole.HighlightedText: "#ffffff",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return p


MUTED_NAMES = ("muted", "hint")  # object names of labels drawn in the muted colour
_THEMED = "themePalette"          # property of the widgets whose palette apply_theme sets


def stylesheet() -> str:
    """resources/style.qss: one stylesheet for both themes (see its header)."""
    try:
        return (RESOURCES / "style.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply a theme to the whole application; returns the theme actually applied.

    Switching only changes palettes: the style and the stylesheet are set once, because setting
    either again re-polishes every widget (measured 0.2 s and 0.9 s with the demo open)."""
    global _current
    theme = theme if theme in THEMES else "light"
    if not app.property("fusionStyle"):  # app.style() names the stylesheet's proxy, not Fusion
        app.setStyle("Fusion")
        app.setProperty("fusionStyle", True)
    app.setPalette(_palette(theme))
    qss = stylesheet()
    if app.styleSheet() != qss:
        app.setStyleSheet(qss)
    _current = theme
    _repaint_styled_widgets(app, theme)
    return theme


def _repaint_styled_widgets(app: QApplication, theme: str) -> None:
    """Hand the new palette to every widget the stylesheet styled: the stylesheet gave those a
    palette of their own when it polished them, so an application palette change passes them by
    (re-setting the stylesheet would re-polish every widget instead, about 5x slower). Widgets
    with a palette set by their own code keep it."""
    palette = app.palette()
    for widget in app.allWidgets():
        if widget.testAttribute(Qt.WidgetAttribute.WA_SetPalette) and not widget.property(_THEMED):
            continue
        widget.setPalette(palette)
        widget.setProperty(_THEMED, True)
        if widget.objectName() in MUTED_NAMES:
            style_muted(widget, theme)


def style_muted(widget: QWidget, theme: str | None = None) -> None:
    """Draw a label's text in the muted colour of the theme (the palette's colour, not QSS)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, muted_color(theme))
    widget.setPalette(palette)


def current_theme() -> str:
    return _current


def plot_colors(theme: str | None = None) -> tuple[str, str]:
    """(background, foreground) for pyqtgraph plots in a theme."""
    return ("#1e1f22", "#c8cacf") if (theme or _current) == "dark" else ("#ffffff", "#303030")


def warn_color(theme: str | None = None) -> str:
    """Red for warning text, readable on each theme's background (about 5:1 contrast on both)."""
    return "#ff7b6e" if (theme or _current) == "dark" else "#b3261e"


def muted_color(theme: str | None = None) -> QColor:
    return QColor("#9aa0a6" if (theme or _current) == "dark" else "#5f6368")


def app_icon() -> QIcon:
    path = RESOURCES / "icon.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
