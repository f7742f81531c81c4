"""Chunks in, results out in chunk order, whatever the executor lost on the way.

``run_chunks`` keeps up to ``executor.capacity`` chunks in flight and yields each chunk's results
in the order the chunks were cut (a deterministic merge: the same sums in the same order on
every run). A chunk the executor lost (``ChunkLost``) is recovered here, the same way for every
executor:
- the item it was on is known (a time limit, a crash inside a decode): that item becomes a
  failure with the reason, and the chunk's other items run again;
- it never ran (its worker was stopped for another chunk): it runs again as it is;
- a crash outside any item: its items run one at a time, so only the culprit fails.
Between results it yields ``None`` at least every ``heartbeat`` seconds, so the caller can
report progress and honour a cancel while every worker is stuck; closing the generator cancels
the executor's work in flight.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from .pool import ChunkExecutor, ChunkLost


@dataclass
class _Slot:
    """One chunk as cut, and the pieces it became."""

    parts: list[tuple[Any, list]] = field(default_factory=list)  # (result, its items)
    waiting: dict[int, list] = field(default_factory=dict)       # ticket -> items in flight


def run_chunks(executor: ChunkExecutor, fn: Callable[..., Any], args: tuple, chunks: Iterator[list],
               failed: Callable[[list, str], Any], heartbeat: float
               ) -> Generator[tuple[Any, list] | None, None, None]:
    """Yield ``(result, items)`` per piece of ``fn(items, *args)``, in chunk order, or ``None``
    as a heartbeat.

    Items are ``(index, payload)`` tuples (``ChunkLost.item`` names an index);
    ``failed(items, reason)`` builds the result that lists ``items`` as failures."""
    slots: deque[_Slot] = deque()
    owner: dict[int, _Slot] = {}

    def send(slot: _Slot, items: list) -> None:
        ticket = executor.submit(fn, items, *args)
        slot.waiting[ticket] = items
        owner[ticket] = slot

    def refill() -> None:
        while len(owner) < executor.capacity:
            items = next(chunks, None)
            if items is None:
                return
            slots.append(_Slot())
            send(slots[-1], items)

    try:
        refill()
        while slots:
            for ticket, outcome in executor.wait(heartbeat):
                slot = owner.pop(ticket)
                items = slot.waiting.pop(ticket)
                if isinstance(outcome, ChunkLost):
                    _recover(outcome, items, slot, send, failed)
                else:
                    slot.parts.append((outcome, items))
            merged = False
            while slots and not slots[0].waiting:
                for part in sorted(slots.popleft().parts, key=lambda p: p[1][0][0]):
                    merged = True
                    yield part
            refill()
            if not merged:
                yield None
    finally:
        if owner:  # cancelled (or an error): nobody will read what is in flight
            executor.cancel()


def _recover(lost: ChunkLost, items: list, slot: _Slot, send: Callable[[_Slot, list], None],
             failed: Callable[[list, str], Any]) -> None:
    culprit = [it for it in items if it[0] == lost.item]
    if culprit or len(items) == 1 and not lost.innocent:
        culprit = culprit or items
        slot.parts.append((failed(culprit, lost.reason), culprit))
        rest = [it for it in items if it[0] != culprit[0][0]]
        if rest:
            send(slot, rest)
    elif lost.innocent:
        send(slot, items)
    else:
        for it in items:
            send(slot, [it])
