"""Long file paths in word-wrapped labels."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSizePolicy


def breakable(text: str) -> str:
    """`text` with zero-width spaces after / _ - . so that a word-wrapped label can break a long
    path there: one 250-character file name would otherwise set the label's, and so the window's,
    minimum width."""
    for ch in "/_-.":
        text = text.replace(ch, ch + "\u200b")
    return text


def path_label(label: QLabel) -> QLabel:
    """Make `label` wrap, and never ask for more width than its layout gives it: a path with a
    long run of letters (no / _ - . to break at) is clipped instead of widening the window."""
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
    label.setMinimumWidth(40)
    return label
