"""Leakage between splits: duplicate images (exact, near, mirrored), label conflicts, normalization
statistics computed with val/test data, file-name collisions and per-split drift.

Everything here works on the scan's per-image columns (`ImageTable`): content hashes, the
perceptual view hashes and the small contrast-stretched thumbnails of `hashing.perceptual_signature`.
No image is decoded again. The stages, one module each:

- `candidates`: which pairs are worth a closer look (`join`: multi-index hashing on the view
  hashes), block by block; `partners` keeps each image's best few over the blocks;
- `confirmation`: which candidates are copies (the thumbnails, over crop and mirror alignments);
- `findings`: the `Finding` type, severities and the report's order;
- `checks`: every check of a dataset (`find_leakage`, `scan_leakage`, and their generators
  `iter_find_leakage`, `iter_scan_leakage`, which report `progress.LeakageProgress`).
"""
from __future__ import annotations

import importlib
from typing import Any

# Where each name of the package lives. A name's module is imported when the name is first
# used, so a process that only reads findings (a reopen's stored ones, the window's list) does not
# import the search and the confirmation, which build their tables at import (~0.1 s).
_SOURCES = {
    "..hashing": ("THUMB_SIZE",),
    "..table_from_images": ("table_from_images",),
    ".candidates": ("HASH_NEIGHBOURS", "NEAR_THRESHOLD", "brute_force_pairs", "candidate_blocks",
                    "closest_either_side", "closest_per_query", "mih_join", "near_candidates",
                    "PROBES", "probe_blocks", "probe_hashes", "search_hashes", "view_distance"),
    ".join": ("CHUNK_BITS", "GUARANTEED_RADIUS", "N_CHUNKS"),
    ".checks": ("DRIFT_THRESHOLD", "find_leakage", "iter_find_leakage", "iter_scan_leakage", "scan_leakage",
                "stats_source_findings"),
    ".pair_scores": ("ALIGN_CROPS", "PairScores", "row_scores"),
    ".tone": ("brightness_ratio", "colour_difference", "contrast_ratio"),
    ".confirmation": ("CONFIRM_BLOCK", "CONFIRM_CORR", "CONFIRM_FINE", "CONFIRM_NEIGHBOURS",
                      "CONFIRM_TEXTURE", "MIRROR_CONFIRM_CORR", "MIRROR_CONFIRM_FINE", "TINY_CONFIRM_CORR",
                      "TINY_CONFIRM_FINE", "TINY_LOOK_FLOOR", "TINY_SIDE", "WIDE_FLOOR", "confirm_pairs"),
    ".findings": ("KINDS", "SEVERITIES", "Finding", "count_by_severity", "pair_severity", "sort_findings"),
    ".progress": ("LeakageProgress",),
}
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
