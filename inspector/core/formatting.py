"""Human-readable numbers shared by the CLI and the window."""
from __future__ import annotations


def clock(seconds: float | None) -> str:
    """0:42, 12:03, 1:02:03; '--:--' while unknown."""
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def human_bytes(n: float) -> str:
    """512 B, 4.3 KB, 1.2 MB, 3.0 GB (1024-based); empty for a negative (unknown) size."""
    if n < 0:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 file', '2,000 files'."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
