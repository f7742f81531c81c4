"""The choice of splits the exported normalization mean/std come from (train by default).

Including val or test leaks evaluation data into training, so the selector says so in place and
the window shows a warning; the export then records a ``stats_source`` finding.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from ..app.session import leaky_sources

TIP = ("Splits whose pixels give the normalization mean and std (export, snippets, amplification).\n"
       "Use train only: statistics from val or test leak evaluation data into training.")


class SourceSelector(QWidget):
    changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(TIP)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 0)
        title = QLabel("Normalize with:")
        title.setToolTip(TIP)
        self._layout.addWidget(title)
        self._boxes: dict[str, QCheckBox] = {}
        self._warning = QLabel()
        self._warning.setObjectName("sourceWarning")
        self._layout.addWidget(self._warning)
        self.setEnabled(False)

    def set_splits(self, splits: Sequence[str], selected: Sequence[str]) -> None:
        for box in self._boxes.values():
            self._layout.removeWidget(box)
            box.deleteLater()
        self._boxes = {}
        for k, name in enumerate(splits):
            box = QCheckBox(name)
            box.setChecked(name in selected)
            box.setToolTip(TIP if name == "train" else
                           f"Include {name} in the normalization statistics (leaks {name} into training)")
            box.toggled.connect(self._on_toggled)
            self._layout.insertWidget(1 + k, box)
            self._boxes[name] = box
        self.setEnabled(bool(splits))
        self._update_warning()

    def selected(self) -> list[str]:
        return [name for name, box in self._boxes.items() if box.isChecked()]

    def set_selected(self, names: Sequence[str]) -> None:
        """Programmatic choice (emits ``changed`` once)."""
        for name, box in self._boxes.items():
            box.blockSignals(True)
            box.setChecked(name in names)
            box.blockSignals(False)
        self._on_toggled()

    def warning_text(self) -> str:
        return self._warning.text()

    @Slot()
    def _on_toggled(self) -> None:
        if self._boxes and not self.selected():  # at least one split: re-check the one just cleared
            box = self.sender() if isinstance(self.sender(), QCheckBox) else next(iter(self._boxes.values()))
            box.blockSignals(True)
            box.setChecked(True)
            box.blockSignals(False)
            return
        self._update_warning()
        self.changed.emit(self.selected())

    def _update_warning(self) -> None:
        leaks = leaky_sources(self.selected(), list(self._boxes))
        self._warning.setText(f"⚠ includes {' + '.join(leaks)}" if leaks else "")
        self._warning.setVisible(bool(leaks))
