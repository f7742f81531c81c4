"""Display work spread over turns of the event loop.

Putting a big scan on screen means several views each doing tens of milliseconds of work; done
in one go the window would freeze for the sum of them. ``Stages.add(a, b, c)`` runs ``a``, then
lets the event loop breathe (paint, input), then ``b``... ``clear()`` drops what has not run yet
(a newer dataset supersedes the old one's display).
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot


class Stages(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_next)

    def add(self, *stages: Callable[[], None]) -> None:
        self._queue.extend(stages)
        if not self._timer.isActive():
            self._timer.start()

    def clear(self) -> None:
        self._queue.clear()

    @Slot()
    def _run_next(self) -> None:
        if self._queue:
            self._queue.pop(0)()
        if self._queue:
            self._timer.start()
