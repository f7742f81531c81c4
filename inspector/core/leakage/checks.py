"""The leakage checks: exact and near duplicates across splits, label conflicts, the normalization
source, per-split drift, and (from `names`) file-name collisions, and `find_leakage`, which runs them all.

Large groups of exact duplicates are reported against the first file of their group (O(k), not
O(k^2)), and the near search runs on one representative per (content, split).
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import TypeVar

import numpy as np

from ..blas import one_blas_thread
from ..memory import release_free_memory
from ..table import ImageTable
from .candidates import (HASH_NEIGHBOURS, NEAR_THRESHOLD, NO_HASH, Pairs, candidate_blocks, probe_blocks,
                         probe_hashes, search_hashes, stable_ids, unique_pairs_of, view_distance)
from .confirmation import CONFIRM_NEIGHBOURS, Confirmed, iter_confirm_pairs, take_rows
from .pair_scores import PairScores
from .looks import TINY_SIDE, LookRanker
from . import incremental, rescan
from .differences import describe as describe_differences, overlay_bands
from .findings import Finding, describe, label_conflict, pair_finding, sort_findings
from .names import name_collisions
from .partners import BestPartners
from .progress import LeakageProgress, PhaseClock, Steps, drain, scaled

T = TypeVar("T")

DRIFT_THRESHOLD = 0.05       # per-channel mean difference from train, 0-1 scale (about 13 grey levels)
# Candidate pairs ranked on their look at a time (the 16x16 look vectors of up to twice as many
# images: about 16 MB) and pairs confirmed at a time (the confirmation's per-pair arrays: ~10 MB).
LOOK_BLOCK = 1 << 13
CONFIRM_STREAM = 1 << 16
# CPU milliseconds per image (per pair for the confirmation) of each stage, measured with BLAS on
# one thread (blas.py) on 70,000 MNIST digits (candidate search 0.105 ms an image quiet, 0.17 at
# load 13; confirmation 0.17 ms a pair, 0.165 pairs an image) and on 2,000 photos (search 0.04 ms
# an image, confirmation 3.4-3.6 ms a pair, load 12-13): they set each stage's share of the
# progress line. Images under TINY_SIDE come in crowds of look-alikes, whose candidate search ranks
# millions of pairs; a photo pair goes through the off-centre and turned alignments, a tiny pair
# only through the centred ones.
EXACT_MS = 0.0005
CANDIDATE_MS = {"tiny": 0.13, "photo": 0.04}
PAIRS_PER_IMAGE = 0.17          # pairs confirmed per image, before the candidates are known
CONFIRM_MS = {"tiny": 0.17, "photo": 3.5}
NAMES_MS = 0.003


def _exact_findings(table: ImageTable, include_within_split: bool) -> tuple[list[Finding], np.ndarray]:
    """Exact-duplicate findings, and for each row the first row with the same content in the same split."""
    n = len(table)
    ch = np.ascontiguousarray(table.content_hash, dtype=np.uint64).reshape(n, 2)
    findings: list[Finding] = []
    rep = np.arange(n)
    if n == 0:
        return findings, rep
    order = np.lexsort((np.arange(n), ch[:, 1], ch[:, 0]))   # by content, then table order
    sc = ch[order]
    new = np.ones(n, bool)
    new[1:] = (sc[1:] != sc[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = order[s:e]                      # table order within the group
        first = int(members[0])
        first_in_split: dict[int, int] = {}
        for m in members:
            m = int(m)
            sp = int(table.split[m])
            if sp in first_in_split:
                rep[m] = first_in_split[sp]
            else:
                first_in_split[sp] = m
        for m in members[1:]:
            # every file against the first file of its group (table order: train first)
            m = int(m)
            if int(table.split[m]) == int(table.split[first]) and not include_within_split:
                continue
            msg = (f"Exact duplicate: {describe(table, m)} has the same decoded pixels as "
                   f"{describe(table, first)} (distance 0).")
            findings.append(pair_finding(table, "exact", first, m, 0.0, msg))
            lc = label_conflict(table, first, m, "exact", 0.0)
            if lc is not None:
                findings.append(lc)
    return findings, rep


def _near_candidates(table: ImageTable, rep: np.ndarray, near_threshold: int,
                     include_within_split: bool, mirrors: bool) -> Steps[Pairs]:
    """The candidate pairs worth confirming, among one representative per (content, split), exact
    copies left out: the search's blocks stream through the cheap look-alike ranking, and each
    image keeps its CONFIRM_NEIGHBOURS best (looks.LookRanker), so memory stays bounded by
    a block and the images, however many pairs the search meets. The probes' pairs
    (candidates.PROBES) are ranked apart, each image keeping its CONFIRM_NEIGHBOURS best of them
    too: the plain search may be a rescan's patch of the last one (rescan.py), the probes' search
    is made in full each time, so both give exactly what a search from nothing gives."""
    rows = np.flatnonzero(rep == np.arange(len(table)))
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    ranker = LookRanker(table, mirrors)
    phash = search_hashes(table.phash, table.width, table.height)
    ids = stable_ids(ch)
    memo = incremental.active()
    probes = probe_hashes(table.phash, table.thumb, table.width, table.height)
    probe_share = 0.3 if (probes != NO_HASH).any() else 0.0  # progress share of the probes' search
    if memo is not None and include_within_split and 2 <= len(rows) <= rescan.KEEP_UP_TO:
        # a search whose choices are kept (the dataset's cache): patched from the last one's
        previous = memo.previous_search(incremental.version(mirrors))
        (a, b, _), state = yield from scaled(rescan.search(
            table, phash, rows, near_threshold, HASH_NEIGHBOURS, CONFIRM_NEIGHBOURS, mirrors,
            None if previous is None else rescan.SearchState.from_arrays(previous), LOOK_BLOCK), 0.0, 1.0 - probe_share)
        memo.made_search = state.arrays()
    else:
        blocks = candidate_blocks(phash, near_threshold, groups=np.asarray(table.split),
                                  cross_only=not include_within_split, rows=rows, ids=ids)
        a, b = yield from scaled(_best_of_blocks(blocks, ch, ranker, len(rows) >= 2), 0.0, 1.0 - probe_share)
    blocks = probe_blocks(phash, probes, near_threshold, groups=np.asarray(table.split),
                          cross_only=not include_within_split, rows=rows, ids=ids)
    pa, pb = yield from scaled(_best_of_blocks(blocks, ch, ranker, len(rows) >= 2), 1.0 - probe_share, 1.0)
    a, b, _ = unique_pairs_of([(a, b, None), (pa, pb, None)], len(table))
    return a, b, view_distance(phash, a, b).astype(np.uint8)


def _best_of_blocks(blocks, ch: np.ndarray, ranker: LookRanker, search: bool
                    ) -> Steps[tuple[np.ndarray, np.ndarray]]:
    """Each image's CONFIRM_NEIGHBOURS best-looking pairs (a < b) of a stream of candidate blocks
    (fraction done, a, b, d), pairs of equal content left out (reported as exact); none without
    `search`."""
    best = BestPartners(len(ch), CONFIRM_NEIGHBOURS)
    pending: list[Pairs] = []
    waiting = 0

    def rank_pending(done: float) -> Steps[None]:
        """Rank the pending pairs, LOOK_BLOCK at a time, reporting `done` after each (a block of
        the search can bring hundreds of thousands of pairs in a crowd: a cancel must not wait)."""
        if pending:
            a, b, _ = (np.concatenate(x) for x in zip(*pending))
            pending.clear()
            for lo in range(0, len(a), LOOK_BLOCK):
                ok, rank = ranker(a[lo:lo + LOOK_BLOCK], b[lo:lo + LOOK_BLOCK])
                best.add(a[lo:lo + LOOK_BLOCK][ok], b[lo:lo + LOOK_BLOCK][ok], rank[ok])
                yield done

    if search:
        for done, a, b, d in blocks:
            differ = (ch[a] != ch[b]).any(axis=1)  # same content in two splits: reported as exact
            if differ.any():
                pending.append((a[differ], b[differ], d[differ]))
                waiting += int(differ.sum())
            if waiting >= LOOK_BLOCK:
                yield from rank_pending(done)
                waiting = 0
            yield done
        yield from rank_pending(1.0)
    return best.pairs()


def _confirm(table: ImageTable, pairs: Pairs, mirrors: bool) -> Steps[tuple[Pairs, Confirmed]]:
    """The confirmed pairs among `pairs` and their scores, confirmed CONFIRM_STREAM pairs at a time
    (only the confirmed ones are kept)."""
    a, b, d = pairs
    n = len(a)
    kept: list[tuple[np.ndarray, np.ndarray, PairScores]] = []
    for lo in range(0, n, CONFIRM_STREAM):
        sl = slice(lo, min(lo + CONFIRM_STREAM, n))
        ok, mirror, scores = yield from scaled(
            iter_confirm_pairs(table, a[sl], b[sl], mirrors=mirrors, per_image=None), lo / n, sl.stop / n)
        k = np.flatnonzero(ok)
        kept.append((k + lo, mirror[k], take_rows(scores, k)))
    if not kept:
        z = np.zeros(0)
        return (a[:0], b[:0], d[:0]), (np.zeros(0, bool), np.zeros(0, bool),
                                        PairScores(z, z, z, np.zeros(0, bool), z, z))
    k = np.concatenate([x[0] for x in kept])
    mirror = np.concatenate([x[1] for x in kept])
    scores = PairScores(**{f.name: (None if getattr(kept[0][2], f.name) is None
                                    else np.concatenate([getattr(x[2], f.name) for x in kept]))
                           for f in fields(PairScores)})
    return (a[k], b[k], d[k]), (np.ones(len(k), bool), mirror, scores)


def _near_findings(table: ImageTable, pairs: Pairs, confirmed: Confirmed,
                   near_threshold: int) -> list[Finding]:
    a, b, d = pairs
    ok, is_mirror, sc = confirmed
    findings: list[Finding] = []
    # where the pictures of a centred alignment differ in one band only (text, a mark); the band
    # pass's pairs have theirs, turned and off-centre ones are not compared again
    ks = np.flatnonzero(ok)
    centred = np.ones(len(ks), bool)
    for extra in (sc.off_centre, sc.angle):
        if extra is not None:
            centred &= ~np.asarray(extra[ks], bool)
    if sc.band_top is not None:
        centred &= np.asarray(sc.band_top[ks]) < 0
    kc = ks[centred]
    overlay = np.full((len(a), 2), -1.0)
    if len(kc):
        overlay[kc] = overlay_bands(table.thumb[a[kc]], table.thumb[b[kc]], sc.crop_a[kc], sc.crop_b[kc],
                                    np.asarray(is_mirror[kc], bool))
    for k in ks:
        i, j, dist = int(a[k]), int(b[k]), float(d[k])
        kind = "mirror" if is_mirror[k] else "near"
        off = bool(sc.off_centre[k]) if sc.off_centre is not None else False
        angle = float(sc.angle[k]) if sc.angle is not None else 0.0
        band = (None if sc.band_top is None or sc.band_top[k] < 0
                else (float(sc.band_top[k]), float(sc.band_bottom[k])))
        if band is None and overlay[k, 0] >= 0:
            band = (float(overlay[k, 0]), float(overlay[k, 1]))
        diff = describe_differences(table, i, j, float(sc.crop_a[k]), float(sc.crop_b[k]), off, angle, band)
        if kind == "mirror":
            head = f"Mirrored copy: {describe(table, j)} is a horizontally flipped copy of {describe(table, i)}"
        else:
            head = f"Near duplicate: {describe(table, j)} is a near copy of {describe(table, i)}"
        how = f"; {', '.join(diff)}" if diff else ""
        msg = (f"{head}{how} (perceptual-hash distance {int(dist)} of 64 bits, threshold {near_threshold}; "
               f"thumbnail correlation {sc.corr[k]:.3f}, fine detail {sc.fine[k]:.2f}).")
        findings.append(pair_finding(table, kind, i, j, dist, msg, differences=diff))
        lc = label_conflict(table, i, j, kind, dist)
        if lc is not None:
            findings.append(lc)
    return findings


def stats_source_findings(source_splits: Sequence[str],
                          dataset_splits: Sequence[str] | None = None) -> list[Finding]:
    """The exported normalization uses val or test data: error with test, warning with val only.
    `dataset_splits` (the dataset's splits) decides the advice: a dataset without a train split
    cannot be told to use it."""
    held_out = [s for s in ("val", "test") if s in source_splits]
    if not held_out:
        return []
    severity = "error" if "test" in held_out else "warning"
    which = " and ".join(held_out)
    msg = (f"Normalization statistics are computed from {', '.join(source_splits)}: they include "
           f"held-out {which} data, so information from {which} leaks into training. "
           + ("Compute mean and std on train only." if dataset_splits is None or "train" in dataset_splits
              else "This dataset has no train split: compute mean and std on the images you train "
                   "on, kept apart from the images you evaluate on."))
    # splits: the held-out splits that leaked (at most val and test: the export allows two)
    return [Finding("stats_source", severity, tuple(held_out), (), None, msg, ())]


def _drift_findings(split_means: Mapping[str, Sequence[float]], reference: str = "train",
                    threshold: float = DRIFT_THRESHOLD) -> list[Finding]:
    if reference not in split_means:
        return []
    ref = np.asarray(split_means[reference], dtype=np.float64)
    names = ["grey"] if len(ref) == 1 else (["R", "G", "B"] if len(ref) == 3 else [str(c) for c in range(len(ref))])
    findings = []
    for split, means in split_means.items():
        if split == reference:
            continue
        m = np.asarray(means, dtype=np.float64)
        if m.shape != ref.shape or not np.all(np.isfinite(m)) or not np.all(np.isfinite(ref)):
            continue
        diff = np.abs(m - ref)
        c = int(np.argmax(diff))
        if diff[c] <= threshold:
            continue
        detail = ", ".join(f"{names[k]} {m[k]:.3f} vs {ref[k]:.3f}" for k in range(len(ref)))
        msg = (f"Drift: the mean of split {split} differs from {reference} by up to {diff[c]:.3f} "
               f"(channel {names[c]}; {detail}; 0-1 scale), more than the threshold {threshold}. "
               f"The splits may not come from the same distribution.")
        findings.append(Finding("drift", "info", (split, reference), (), float(diff[c]), msg, ()))
    return findings


def find_leakage(table: ImageTable, split_means: Mapping[str, Sequence[float]],
                 source_splits: Sequence[str] = ("train",), near_threshold: int = NEAR_THRESHOLD,
                 include_within_split: bool = True, mirrors: bool = True) -> list[Finding]:
    """All leakage findings of a scanned dataset, sorted by severity, kind and paths.

    `split_means` maps a split to its per-channel mean (0-1 scale), for drift against train.
    `source_splits` are the splits the exported normalization statistics come from.
    """
    return drain(iter_find_leakage(table, split_means, source_splits, near_threshold,
                                   include_within_split, mirrors))


def iter_find_leakage(table: ImageTable, split_means: Mapping[str, Sequence[float]],
                      source_splits: Sequence[str] = ("train",), near_threshold: int = NEAR_THRESHOLD,
                      include_within_split: bool = True, mirrors: bool = True
                      ) -> Generator[LeakageProgress, None, list[Finding]]:
    """find_leakage as a generator: yields LeakageProgress a few times a second (stop iterating
    to cancel: the work stops at the next block), returns the findings."""
    with one_blas_thread():  # small products: BLAS threads would only spin (blas.py)
        return (yield from _leakage_steps(table, split_means, source_splits, near_threshold,
                                          include_within_split, mirrors))


def _leakage_steps(table: ImageTable, split_means: Mapping[str, Sequence[float]],
                   source_splits: Sequence[str], near_threshold: int, include_within_split: bool,
                   mirrors: bool) -> Generator[LeakageProgress, None, list[Finding]]:
    clock = PhaseClock(_planned_work(table))
    findings: list[Finding] = []
    exact, rep = yield from clock.run("exact duplicates", _quick(_exact_findings, table, include_within_split))
    findings += exact
    candidates = yield from clock.run("candidate search", _near_candidates(
        table, rep, int(near_threshold), include_within_split, mirrors))
    clock.plan("confirmation", _confirmation_work(table, candidates[0], candidates[1]))
    pairs, confirmed = yield from clock.run("confirmation", incremental.confirm(table, candidates, mirrors, _confirm))
    findings += _near_findings(table, pairs, confirmed, int(near_threshold))
    findings += stats_source_findings(list(source_splits), table.split_names)
    findings += yield from clock.run("names and drift", _quick(name_collisions, table))
    findings += _drift_findings(split_means)
    return sort_findings(findings)


def _tiny(table: ImageTable) -> np.ndarray:
    return np.minimum(table.width, table.height) < TINY_SIDE


def _planned_work(table: ImageTable) -> dict[str, float]:
    """Each stage's estimated CPU milliseconds, before the search (see CANDIDATE_MS)."""
    n = len(table)
    tiny = int(_tiny(table).sum())
    photo = n - tiny
    return {"exact duplicates": EXACT_MS * n,
            "candidate search": CANDIDATE_MS["tiny"] * tiny + CANDIDATE_MS["photo"] * photo,
            "confirmation": PAIRS_PER_IMAGE * (CONFIRM_MS["tiny"] * tiny + CONFIRM_MS["photo"] * photo),
            "names and drift": NAMES_MS * n}


def _confirmation_work(table: ImageTable, a: np.ndarray, b: np.ndarray) -> float:
    """The confirmation's estimated CPU milliseconds for the candidate pairs (a, b)."""
    small = _tiny(table)
    tiny = int((small[a] | small[b]).sum())
    return CONFIRM_MS["tiny"] * tiny + CONFIRM_MS["photo"] * (len(a) - tiny)


def _quick(fn: Callable[..., T], *args: object) -> Steps[T]:
    """A stage that is one quick call (no progress of its own to report)."""
    yield 0.0
    return fn(*args)


def scan_leakage(result, source_splits: Sequence[str] = ("train",)) -> list[Finding]:
    """find_leakage for a ScanResult, plus the validation findings (label and property drift,
    missing and new classes). Drift is measured on each non-empty split's exact, pixel-weighted
    mean (the split statistics), not on an average of per-image means."""
    return drain(iter_scan_leakage(result, source_splits))


def iter_scan_leakage(result, source_splits: Sequence[str] = ("train",)
                      ) -> Generator[LeakageProgress, None, list[Finding]]:
    """scan_leakage as a generator of LeakageProgress (see iter_find_leakage)."""
    split_means = {name: [float(v) for v in st.mean] for name, st in result.split_stats.items()
                   if st.images}
    from ..validation import validation_findings  # built on Finding, so imported here, not at the top
    # the validation findings read the scan's result alone: made in a thread meanwhile (mostly
    # numpy sorts without the GIL, in the search's stretches on one core; 0.12 s of a 1% rescan
    # of 100,000 tiny PNGs); a search closed early leaves it to finish on its own
    pool = ThreadPoolExecutor(1, thread_name_prefix="validation")
    validated = pool.submit(validation_findings, result)
    pool.shutdown(wait=False)
    findings = yield from iter_find_leakage(result.images, split_means, source_splits=source_splits)
    release_free_memory()  # the search's block buffers: resident memory falls back to the data
    return sort_findings(findings + validated.result())
