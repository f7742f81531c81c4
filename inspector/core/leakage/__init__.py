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

from ..hashing import THUMB_SIZE
from ..table_from_images import table_from_images
from .candidates import (HASH_NEIGHBOURS, NEAR_THRESHOLD, brute_force_pairs, candidate_blocks,
                         closest_either_side, closest_per_query, mih_join, near_candidates, search_hashes,
                         view_distance)
from .join import CHUNK_BITS, GUARANTEED_RADIUS, N_CHUNKS
from .checks import (DRIFT_THRESHOLD, find_leakage, iter_find_leakage, iter_scan_leakage, scan_leakage,
                     stats_source_findings)
from .confirmation import (ALIGN_CROPS, CONFIRM_BLOCK,
                           CONFIRM_CORR, CONFIRM_FINE, CONFIRM_NEIGHBOURS, CONFIRM_TEXTURE,
                           MIRROR_CONFIRM_CORR, MIRROR_CONFIRM_FINE,
                           TINY_CONFIRM_CORR, TINY_CONFIRM_FINE, TINY_LOOK_FLOOR, TINY_SIDE, WIDE_FLOOR,
                           PairScores, brightness_ratio, colour_difference, confirm_pairs,
                           contrast_ratio, row_scores)
from .findings import KINDS, SEVERITIES, Finding, count_by_severity, pair_severity, sort_findings
from .progress import LeakageProgress

__all__ = [
    "ALIGN_CROPS", "CHUNK_BITS", "CONFIRM_BLOCK",
    "CONFIRM_CORR", "CONFIRM_FINE", "CONFIRM_NEIGHBOURS", "CONFIRM_TEXTURE",
    "DRIFT_THRESHOLD", "GUARANTEED_RADIUS", "HASH_NEIGHBOURS", "KINDS", "MIRROR_CONFIRM_CORR",
    "MIRROR_CONFIRM_FINE", "N_CHUNKS", "NEAR_THRESHOLD", "SEVERITIES", "THUMB_SIZE",
    "TINY_CONFIRM_CORR", "TINY_CONFIRM_FINE", "TINY_LOOK_FLOOR", "TINY_SIDE", "WIDE_FLOOR", "Finding",
    "LeakageProgress", "iter_find_leakage", "iter_scan_leakage", "PairScores", "brightness_ratio",
    "brute_force_pairs", "candidate_blocks", "closest_either_side",
    "closest_per_query", "colour_difference", "confirm_pairs", "contrast_ratio",
    "count_by_severity", "find_leakage", "mih_join", "near_candidates", "pair_severity",
    "row_scores", "scan_leakage", "search_hashes", "sort_findings", "stats_source_findings",
    "table_from_images", "view_distance",
]
