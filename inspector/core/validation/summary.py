"""Plain-text lines for the command line's summary: class balance and image issues."""
from __future__ import annotations

from .issues import ISSUES

def summary_lines(doc: dict) -> list[str]:
    """From an export document: per-split class imbalance and image-issue counts per split (the
    findings' own lines are printed with the others)."""
    lines = []
    ratios = [f"{split} {b['imbalance_ratio']:.1f}" for split, b in doc.get("balance", {}).items()
              if b.get("imbalance_ratio") is not None and len(b["counts"]) > 1]
    if ratios:
        lines.append("class imbalance (largest / smallest class): " + ", ".join(ratios))
    quality = doc.get("quality", {})
    flagged = [(issue, quality[issue]) for issue in ISSUES if sum(quality.get(issue, {}).values())]
    if flagged:
        parts = [f"{issue} {sum(c.values())} (" + ", ".join(f"{s} {n}" for s, n in c.items() if n) + ")"
                 for issue, c in flagged]
        lines.append("image issues: " + "; ".join(parts))
    return lines
