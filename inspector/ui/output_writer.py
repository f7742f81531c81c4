"""The common part of the window's file outputs (Export JSON, Save Report, Export Files to Drop):
one core call in a ``CallWorker``, "Writing…" in the status bar, then the outcome there or, on
failure, in the message area under the controller's key. Only the current worker's signals count.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from .worker import CallWorker

if TYPE_CHECKING:
    from .main_window import MainWindow


class OutputWriter(QObject):
    finished = Signal(str)   # path written
    failed = Signal(str)     # user-facing message

    MESSAGE_KEY = "output"   # the message area's key for this output's errors

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.worker: CallWorker | None = None

    def _start(self, worker: CallWorker, status: str) -> None:
        worker.returned.connect(self._on_returned)   # bound slots only: they run in the GUI thread
        self.worker = worker
        self.window.statusBar().showMessage(status)
        self.window.runner.start(worker, on_error=self._on_error)

    def _written(self, value: object) -> None:
        """The worker returned ``value``: say so and emit ``finished`` (subclasses)."""
        raise NotImplementedError

    def _failure_text(self, message: str) -> str:
        """Plain text before the escaped reason in the message area (subclasses)."""
        raise NotImplementedError

    @Slot(object)
    def _on_returned(self, value: object) -> None:
        if self.sender() is not self.worker:
            return
        self.worker = None
        self.window.messages.hide_message(self.MESSAGE_KEY)
        self._written(value)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        if self.sender() is not self.worker:
            return
        self.worker = None
        self.window.statusBar().clearMessage()  # not "Writing..." any more
        self.window.messages.show_message(self.MESSAGE_KEY, "error",
                                          html.escape(self._failure_text(message)) + html.escape(message))
        self.failed.emit(message)
