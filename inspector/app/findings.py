"""How findings are named and explained in the window (no Qt). The kinds and severities
themselves, their order and their counting are the core's (``inspector.core.leakage``)."""
from __future__ import annotations

import math

from ..core.leakage import KINDS, SEVERITIES

SEVERITY_PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}
SEVERITY_HELP = {
    "error": "error: between train and test; the test score is inflated by images the model trained on",
    "warning": "warning: between train and val, or val and test; model selection and early stopping are biased",
    "info": "info: within one split, or worth knowing without being leakage in itself",
}
KIND_HELP = {
    "exact": "exact: identical decoded pixels in two splits, whatever the file format or name: "
             "the model is tested on an image it trained on",
    "near": "near: a re-encoded, resized, slightly cropped or brightness-shifted copy (perceptual-hash "
            "distance at or under the threshold): the same photo in two splits",
    "mirror": "mirror: a horizontally flipped copy; with flip augmentation the model has effectively "
              "trained on it",
    "label_conflict": "label conflict: the same image carries different classes; at least one label is "
                      "wrong, and no model can get both right",
    "stats_source": "stats source: the normalization mean/std were computed with val or test data, so "
                    "evaluation data leaks into preprocessing",
    "name_collision": "name collision: the same file name in two splits with different content; not "
                      "leakage, but merging or tracking files by name will go wrong",
    "drift": "drift: a split's per-channel mean differs from train's by more than the threshold; the "
             "splits may not come from the same distribution",
}
PAIR_KINDS = frozenset({"exact", "near", "mirror", "label_conflict"})  # distance in hash bits
PAIRED_SPLIT_KINDS = PAIR_KINDS | {"name_collision"}                  # splits shown as "a ↔ b"


def kind_order(kinds) -> list[str]:
    """The core's kinds in their order, then any other kind present, alphabetically."""
    return list(KINDS) + sorted(set(kinds) - set(KINDS))


def kind_label(kind: str) -> str:
    return kind.replace("_", " ")


def kind_help(kind: str) -> str:
    return KIND_HELP.get(kind, kind_label(kind))


def severity_rank(severity: str) -> int:
    """Higher is more severe (info 0 ... error 2); -1 for an unknown severity."""
    return len(SEVERITIES) - 1 - SEVERITIES.index(severity) if severity in SEVERITIES else -1


def format_distance(kind: str, distance: float | None) -> str:
    if distance is None or (isinstance(distance, float) and math.isnan(distance)):
        return "—"
    if kind == "exact" and distance == 0:
        return "0 (identical)"
    if kind in PAIR_KINDS:
        return f"{distance:g} bits" if float(distance).is_integer() else f"{distance:.2f} bits"
    return f"{distance:.3f}"


def split_joiner(kind: str) -> str:
    return " ↔ " if kind in PAIRED_SPLIT_KINDS else ", "
