"""Text for a terminal: control characters in names shown, never obeyed.

A file name may hold ESC and BEL (``\\x1b]0;title\\x07``, ``\\x1b[2J``): printed raw, they
retitle, clear or recolour the user's terminal. The CLI's own streams escape them as ``\\x1b``.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# C0 controls but tab and newline, DEL, and the C1 controls (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SafeStream:
    """A text stream that escapes control characters; a leading carriage return (the progress
    line redrawing itself) is kept. Everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        lead = "\r" if text.startswith("\r") else ""
        return self._stream.write(lead + escape_controls(text[len(lead):]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def escaped_streams(stdout: bool = True) -> Iterator[None]:
    """Escape control characters on standard error (and standard output, unless it carries
    data such as the JSON export) while the block runs."""
    saved = sys.stdout, sys.stderr
    sys.stderr = SafeStream(sys.stderr)  # type: ignore[assignment]
    if stdout:
        sys.stdout = SafeStream(sys.stdout)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
