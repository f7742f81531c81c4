"""Class balance per split and the label findings: label_drift, missing_class, new_class."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..table import ImageTable
from .findings import (LABEL_ERROR_AT, LABEL_INFO_AT, LABEL_WARNING_AT, ValidationFinding,
                       drift_severity)
from .statistics import chi_square_homogeneity, cramers_v, js_distance

REFERENCE = "train"
MAX_LISTED = 10  # classes named in a message; the finding's `classes` holds them all


def class_balance(classes: Mapping[str, Mapping[str, int]]) -> dict[str, dict]:
    """Per split: counts, shares and the imbalance ratio (largest / smallest class present)."""
    out = {}
    for split, counts in classes.items():
        present = {c: int(n) for c, n in counts.items() if n > 0}
        total = sum(present.values())
        out[split] = {
            "counts": dict(sorted(present.items())),
            "shares": {c: n / total for c, n in sorted(present.items())} if total else {},
            "imbalance_ratio": (max(present.values()) / min(present.values())) if present else None,
        }
    return out


def decoded_class_counts(table: ImageTable, classes: Mapping[str, Mapping[str, int]],
                         splits: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """Decoded images per class in each split (default: the splits of ``classes``), for the
    classes the layout listed there (a class whose files all failed shows 0). A file that could
    not be decoded is in no statistic, so it is no member of its class either: ``classes`` (the
    layout's) counts every listed file."""
    index = {name: k for k, name in enumerate(table.label_names)}
    width = max(len(index), 1)
    labelled = table.label >= 0  # one pass over the table for every split (a million rows: ms)
    pairs = np.bincount(table.split[labelled].astype(np.int64) * width + table.label[labelled],
                        minlength=len(table.split_names) * width).reshape(len(table.split_names), width)
    counts: dict[str, dict[str, int]] = {}
    for split in classes if splits is None else splits:
        per = pairs[table.split_names.index(split)] if split in table.split_names else np.zeros(width, np.int64)
        counts[split] = {name: int(per[index[name]]) if name in index else 0
                         for name in classes.get(split, {})}
    return counts


def failed_per_split(failures, splits) -> dict[str, int]:
    """Files of each split that could not be decoded (ScanResult.failures)."""
    out = {s: 0 for s in splits}
    for f in failures:
        if f.split in out:
            out[f.split] += 1
    return out


def _names(classes: list[str]) -> str:
    shown = ", ".join(classes[:MAX_LISTED])
    return shown + (f" and {len(classes) - MAX_LISTED} more" if len(classes) > MAX_LISTED else "")


def label_findings(classes: Mapping[str, Mapping[str, int]],
                   reference: str = REFERENCE) -> list[ValidationFinding]:
    """missing_class / new_class / label_drift of every labelled split against train's classes."""
    ref = {c: n for c, n in classes.get(reference, {}).items() if n > 0}
    if not ref:
        return []
    findings: list[ValidationFinding] = []
    for split, counts in classes.items():
        here = {c: n for c, n in counts.items() if n > 0}
        if split == reference or not here:
            continue
        missing = sorted(set(ref) - set(here))
        new = sorted(set(here) - set(ref))
        pair = (split, reference)
        if missing:
            findings.append(ValidationFinding(
                "missing_class", "warning", pair, (), None,
                f"{len(missing)} class(es) of {reference} have no image in {split}: {_names(missing)}. "
                f"Results on {split} say nothing about them.", (), property="class", classes=tuple(missing)))
        if new:
            findings.append(ValidationFinding(
                "new_class", "error", pair, (), None,
                f"{len(new)} class(es) in {split} have no image in {reference}: {_names(new)}. "
                "A model trained on this split cannot predict them.", (), property="class",
                classes=tuple(new)))
        drift = _label_drift(split, here, reference, ref)
        if drift:
            findings.append(drift)
    return findings


def _label_drift(split: str, here: Mapping[str, int], reference: str,
                 ref: Mapping[str, int]) -> ValidationFinding | None:
    names = sorted(set(ref) | set(here))
    table = np.array([[ref.get(c, 0) for c in names], [here.get(c, 0) for c in names]])
    _, dof, p = chi_square_homogeneity(table)
    if dof == 0:
        return None
    v = cramers_v(table)
    severity = drift_severity(v, p, LABEL_INFO_AT, LABEL_WARNING_AT, LABEL_ERROR_AT)
    if severity is None:
        return None
    threshold = {"info": LABEL_INFO_AT, "warning": LABEL_WARNING_AT, "error": LABEL_ERROR_AT}[severity]
    share_ref, share_here = table[0] / table[0].sum(), table[1] / table[1].sum()
    worst = int(np.argmax(np.abs(share_here - share_ref)))
    msg = (f"Label drift: the class shares of {split} differ from {reference}'s (Cramer's V {v:.3f} >= "
           f"{threshold}, chi-square p = {p:.2g}, Jensen-Shannon distance {js_distance(table[0], table[1]):.3f}); "
           f"largest change: {names[worst]} {share_here[worst]:.1%} vs {share_ref[worst]:.1%}.")
    return ValidationFinding("label_drift", severity, (split, reference), (), None, msg, (),
                             property="class", statistic="cramers_v", value=v, threshold=threshold,
                             p_value=p)
