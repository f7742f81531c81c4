"""The CI gate (`--fail-on error|warning|info`): which findings make a run fail, and the lines a
terminal shows about them. Works on the export's finding dicts, so every kind counts alike."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

LEVELS = ("error", "warning", "info")   # most severe first
EXIT_FAILED_GATE = 1
SHOWN = 10                              # findings listed on the terminal; the rest are counted


def at_or_above(severity: str, level: str) -> bool:
    """True when `severity` is `level` or more severe (an unknown severity never fails the gate)."""
    if severity not in LEVELS:
        return False
    return LEVELS.index(severity) <= LEVELS.index(level)


def failing(findings: Iterable[dict], level: str | None) -> list[dict]:
    """The findings at `level` or above, in their order; none when no gate is set."""
    if level is None:
        return []
    if level not in LEVELS:
        raise ValueError(f"--fail-on takes one of {', '.join(LEVELS)}, not {level!r}")
    return [f for f in findings if at_or_above(f.get("severity", ""), level)]


def gate_lines(failed: Sequence[dict], level: str, shown: int = SHOWN) -> list[str]:
    """What the terminal prints when the gate fails: a count by severity, then the findings."""
    counts: dict[str, int] = {}
    for f in failed:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    by = ", ".join(f"{counts[s]} {s}" for s in LEVELS if s in counts)
    lines = [f"failed: --fail-on {level}: {len(failed)} finding(s) at {level} or above ({by})"]
    lines += [f"  [{f['severity']}] {f['kind']}: {f['message']}" for f in failed[:shown]]
    if len(failed) > shown:
        lines.append(f"  ... and {len(failed) - shown} more (all of them are in the outputs)")
    return lines
