"""A minimal event emitter: plain callbacks, called in the order they were connected.

Qt-free on purpose (the application layer must run without Qt). Callbacks run synchronously in
the thread that emits; the session is only ever changed from the GUI thread, so widgets may
render directly in their callbacks.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Callback = Callable[..., Any]


class Event:
    """One kind of change (``session.events.result``, ...): ``connect``, ``disconnect``, ``emit``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        """Call ``callback(*args)`` on every emit; returns it (usable as a decorator)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):  # a callback may connect or disconnect others
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)


class EventGroup:
    """Named events of one model: ``EventGroup("a", "b").a.connect(...)``."""

    def __init__(self, *names: str) -> None:
        self._names = names
        for name in names:
            setattr(self, name, Event(name))

    @property
    def names(self) -> tuple[str, ...]:
        return self._names
