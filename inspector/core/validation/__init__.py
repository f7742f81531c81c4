"""Train/test validation beyond duplicates (DESIGN section 10): class balance, label drift,
missing and new classes, per-image property drift, and image issues with cleanvision's names.

Everything is computed from the scan's result (per-image columns and class counts); no image is
read again. `validate(result)` returns all of it; `validation_findings(result)` only the findings,
which join the leakage findings in the export, the report and the window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .balance import class_balance, decoded_class_counts, failed_per_split, label_findings
from .drift import PROPERTIES, property_findings
from .findings import ValidationFinding, extra_fields
from .issues import ISSUES, THRESHOLDS, flag_matrix, flagged_images, issue_scores, quality_summary

KINDS = ("new_class", "missing_class", "label_drift", "property_drift")


@dataclass(frozen=True)
class ImageQuality:
    scores: dict[str, np.ndarray]   # issue -> (N,) score, low = strong
    flags: np.ndarray               # bool (N, len(ISSUES))
    summary: dict[str, dict[str, int]]  # {issue: {split: count}}

    def issues_of(self, row: int) -> list[str]:
        return [ISSUES[k] for k in np.flatnonzero(self.flags[row])]


@dataclass(frozen=True)
class Validation:
    findings: list[ValidationFinding]
    balance: dict[str, dict]
    quality: ImageQuality


def image_quality(result) -> ImageQuality:
    scores = issue_scores(result.images, result.mode)
    flags = flag_matrix(scores)
    return ImageQuality(scores, flags, quality_summary(result.images, flags))


def decoded_classes(result) -> dict[str, dict[str, int]]:
    """The scan's decoded images per class and split: what balance and label drift count (a
    file that could not be decoded is in no statistic), as the window's balance chart does."""
    return decoded_class_counts(result.images, result.classes)


def validation_findings(result) -> list[ValidationFinding]:
    return label_findings(decoded_classes(result)) + property_findings(result.images)


def validate(result) -> Validation:
    return Validation(validation_findings(result), class_balance(decoded_classes(result)),
                      image_quality(result))


__all__ = ["ISSUES", "KINDS", "PROPERTIES", "THRESHOLDS", "ImageQuality", "Validation",
           "ValidationFinding", "class_balance", "decoded_classes", "extra_fields", "failed_per_split", "flagged_images", "image_quality",
           "validate", "validation_findings"]
