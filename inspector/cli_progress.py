"""The CLI's progress output: a live line on a terminal, plain lines every few seconds elsewhere.

Batch jobs (CI logs, `nohup`, cluster job files) capture stderr into a file, where a carriage
return line is invisible until the end; there a full line every `interval` seconds shows where a
long scan is, and the log stays readable.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from .core.formatting import clock
from .core.leakage.progress import LeakageProgress

DEFAULT_LINE_INTERVAL = 10.0  # seconds between lines when stderr is not a terminal


class ProgressPrinter:
    """Prints `ScanProgress` (and the leakage phase's `LeakageProgress`) records to a stream, either as one live line or as timed lines."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 interval: float = DEFAULT_LINE_INTERVAL, clock_fn=time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self._now = clock_fn
        self._last_line = -float("inf")
        self._pending_newline = False

    def __call__(self, p) -> None:
        text = format_progress(p)
        if self.live:
            print("\r" + text.ljust(100), end="", file=self.stream, flush=True)
            self._pending_newline = True
            return
        now = self._now()
        if now - self._last_line >= self.interval or p.fraction >= 1.0:
            self._last_line = now
            print(text, file=self.stream, flush=True)

    def finish(self) -> None:
        """Ends the live line, so what is printed next starts on a line of its own."""
        if self._pending_newline:
            print(file=self.stream, flush=True)
            self._pending_newline = False


def format_progress(p) -> str:
    if isinstance(p, LeakageProgress):
        return f"leakage check: {p.stage} ({100 * p.fraction:.0f}%) ETA {clock(p.eta)}"
    rate = p.done / p.elapsed if p.elapsed > 0 else 0.0
    splits = " ".join(f"{name} {d}/{t}" for name, (d, t) in p.per_split.items())
    return (f"{p.done}/{p.total} ({100 * p.fraction:.0f}%) [{splits}] {rate:.0f} img/s "
            f"ETA {clock(p.eta)} failed {p.failed}")
