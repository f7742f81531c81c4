"""Findings: the type every leakage check reports, severities, and the ordering of a report."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..table import ImageTable

SEVERITIES = ("error", "warning", "info")
KINDS = ("exact", "near", "mirror", "label_conflict", "stats_source", "name_collision", "drift")
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    """One leakage finding. `rows` index the ImageTable (empty for dataset-level findings)."""

    kind: str
    severity: str
    splits: tuple[str, ...]
    paths: tuple[str, ...]
    distance: float | None
    message: str
    rows: tuple[int, ...]
    # how the second file differs from the first ("greyscale", "cropped 8%"), for copies
    differences: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The export's view of a finding."""
        return {"kind": self.kind, "severity": self.severity, "splits": list(self.splits),
                "paths": list(self.paths), "distance": self.distance, "message": self.message}


def pair_severity(a: str, b: str) -> str:
    """train<->test error; any other two splits warning; within one split info."""
    if a == b:
        return "info"
    if {a, b} == {"train", "test"}:
        return "error"
    return "warning"


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    """{"error": n, "warning": n, "info": n} (all three keys, zeros included)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return counts


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Severity (error, warning, info), then kind, then paths: deterministic."""
    return sorted(findings, key=lambda f: (_SEVERITY_RANK.get(f.severity, 9),
                                           _KIND_RANK.get(f.kind, 99), f.kind, f.paths, f.rows))



def _label(table: ImageTable, i: int) -> str | None:
    k = int(table.label[i])
    return None if k < 0 else table.label_names[k]


def describe(table: ImageTable, i: int) -> str:
    return f"{table.paths[i]} ({table.split_names[int(table.split[i])]})"


def pair_finding(table: ImageTable, kind: str, i: int, j: int, distance: float | None,
                 message: str, severity: str | None = None, differences: tuple[str, ...] = ()) -> Finding:
    si, sj = table.split_names[int(table.split[i])], table.split_names[int(table.split[j])]
    return Finding(kind, severity or pair_severity(si, sj), (si, sj), (table.paths[i], table.paths[j]),
                   distance, message, (int(i), int(j)), differences)


def label_conflict(table: ImageTable, i: int, j: int, dup_kind: str, distance: float | None) -> Finding | None:
    li, lj = _label(table, i), _label(table, j)
    if li is None or lj is None or li == lj:
        return None
    what = {"exact": "identical images", "near": "near-duplicate images",
            "mirror": "mirrored copies of one image"}[dup_kind]
    msg = (f"Label conflict: {describe(table, i)} and {describe(table, j)} are {what} "
           f"but are labelled '{li}' and '{lj}'.")
    return pair_finding(table, "label_conflict", i, j, distance, msg)
