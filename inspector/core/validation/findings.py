"""Validation findings: the leakage `Finding` plus the property, statistic, value and threshold
that produced it, and the shared severity rule for drift statistics."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..leakage import Finding

# Drift severities by effect size, the same scale for numbers and categories: the Kolmogorov-
# Smirnov D and the total variation distance are both the largest difference, between two splits,
# in the share of images falling in some range (KS) or set of categories (TVD). A difference must
# also be unlikely by chance (P_VALUE) so that small splits do not raise alarms on noise.
# Measured on the 2,000-photo corpus (scripts/bench_validation.py): its val and test crops are cut
# from smaller regions of the same photographs than train's, and their contrast differs from
# train's by up to D = 0.28: a real but moderate shift, reported as info. A split whose images are
# all blurred (radius 2 px: sharpness D 0.63) or downscaled (to half size) reaches 0.6 to 1.
INFO_AT = 0.10
WARNING_AT = 0.35
ERROR_AT = 0.60
P_VALUE = 1e-3

# Class shares (label drift): Cramer's V, with Cohen's conventional small / medium / large
# effects (0.1 / 0.3 / 0.5) shifted one step down, since a classifier's scores are sensitive to
# priors: info 0.05, warning 0.1, error 0.3.
LABEL_INFO_AT = 0.05
LABEL_WARNING_AT = 0.10
LABEL_ERROR_AT = 0.30


def drift_severity(value: float, p_value: float, info_at: float = INFO_AT,
                   warning_at: float = WARNING_AT, error_at: float = ERROR_AT) -> str | None:
    """error / warning / info by effect size, or None (no finding) below info_at or by chance."""
    if not p_value < P_VALUE:
        return None
    if value >= error_at:
        return "error"
    if value >= warning_at:
        return "warning"
    if value >= info_at:
        return "info"
    return None


@dataclass(frozen=True)
class ValidationFinding(Finding):
    """A dataset-level finding (no rows) with the numbers behind it (DESIGN section 10)."""

    property: str | None = None
    statistic: str | None = None
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    classes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        doc = super().to_dict()
        doc.update(extra_fields(self))
        return doc


def extra_fields(f: Finding) -> dict:
    """The validation fields a finding carries (none for duplicate findings)."""
    out: dict = {}
    for key in ("property", "statistic", "value", "threshold", "p_value"):
        v = getattr(f, key, None)
        if v is not None:
            out[key] = v if isinstance(v, str) else float(v)
    classes = getattr(f, "classes", ())
    if classes:
        out["classes"] = list(classes)
    return out
