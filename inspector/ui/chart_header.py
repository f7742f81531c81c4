"""The header row of a chart panel (class balance, image properties): a section title that takes
the spare width, the panel's own controls at the right, and a rich-text summary line below."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget


def header_row(title: str, *controls: QWidget) -> QHBoxLayout:
    label = QLabel(title)
    label.setObjectName("sectionTitle")
    row = QHBoxLayout()
    row.addWidget(label, 1)
    for control in controls:
        row.addWidget(control)
    return row


def summary_label() -> QLabel:
    """Wrapped rich text the user can select and copy (figures under a chart's title)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
