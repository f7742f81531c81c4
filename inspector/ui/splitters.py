"""Two panes side by side, the way every tab of the window splits its width; a panel that scrolls."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QVBoxLayout, QWidget


def side_by_side(name: str, left: QWidget, right: QWidget, stretch: tuple[int, int]) -> QSplitter:
    """A horizontal splitter (object name `name`, so its state can be saved) that shares extra width
    in the ratio `stretch` and never lets a pane collapse to nothing."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName(name)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, stretch[0])
    splitter.setStretchFactor(1, stretch[1])
    splitter.setChildrenCollapsible(False)
    return splitter


def scrolling(panel: QWidget) -> QScrollArea:
    """The panel fills the tab and, in a window too short for its minimum height, scrolls
    instead of squeezing its plots to unreadable slivers."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # QScrollArea asks the layout of its widget (not the widget) for height-for-width; a plain
    # container hides the panel's wrapped labels from it, so only the minimum height counts.
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel)
    area.setWidget(holder)
    return area
