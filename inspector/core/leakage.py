"""Leakage between splits: duplicate images (exact, near, mirrored), label conflicts, normalization
statistics computed with val/test data, file-name collisions and per-split drift.

Everything here works on the scan's per-image columns (`ImageTable`): content hashes, the
perceptual view hashes and the small contrast-stretched thumbnails of `hashing.perceptual_signature`.
No image is decoded again.

Near duplicates, in two stages:

1. Candidates from the view hashes. A pair's hash distance is the least Hamming distance between
   one image's whole-image hash (view 0) and any view (whole, 3% / 6% border removed, mirrors) of
   the other. The search is multi-index hashing on the four 16-bit chunks of the 64-bit hashes:
   a pair is a candidate when one chunk of the query's whole-image hash equals the same chunk of
   some view of the other image exactly, and its distance is <= `near_threshold` bits. By the
   pigeonhole principle every pair within 3 bits shares a chunk, so up to 3 bits nothing can be
   missed; above that the exact-chunk condition is what keeps the search sub-quadratic (the cost
   is about queries x entries x 4 / 65536 hash comparisons, all in vectorised numpy). Because the
   chunks are ordered from low to high frequency and copies differ mostly in high-frequency bits,
   chunk 0 alone matches for most copies. Measured on real photos, see `NEAR_THRESHOLD`.
2. Confirmation on the thumbnails over the same crop alignments (0 to 6% border removed from
   either image, mirrored or not, compared at 24x24 after an area resampling): a copy correlates
   almost perfectly after removing the mean (`CONFIRM_CORR`), its fine detail (what is left after
   removing a locally cubic fit, so smooth shading of look-alike skies cancels out) correlates too
   (`CONFIRM_FINE`), there is real fine detail to compare (`CONFIRM_TEXTURE`), and its contrast
   (per-image std from the table) is within `CONTRAST_TOLERANCE`.

Large groups of exact duplicates are reported against the first file of their group (O(k), not
O(k^2)), and the near search runs on one representative per (content, split).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .hashing import N_VIEWS, THUMB_SIZE, content_hash, perceptual_signature
from .table import ImageTable

# ---------------------------------------------------------------------------------------------
# Thresholds (all measured on 2,000 real photo crops with planted copies: scripts/bench_leakage.py)

NEAR_THRESHOLD = 10          # hash bits (of 64): candidate pairs at or under this distance are confirmed
CHUNK_BITS = 16
N_CHUNKS = 64 // CHUNK_BITS  # 4 chunks: every pair within N_CHUNKS - 1 = 3 bits shares a chunk
GUARANTEED_RADIUS = N_CHUNKS - 1

CONFIRM_CORR = 0.97          # thumbnail correlation after removing the mean, best alignment
CONFIRM_FINE = 0.40          # correlation of the fine detail (residual after a local cubic fit)
CONFIRM_TEXTURE = 0.75       # least fine-detail std of both thumbnails (stretched 0-255 units)
CONTRAST_TOLERANCE = 0.25    # per-image std may differ by this ratio (a +10% brightness copy: 1.1)

DRIFT_THRESHOLD = 0.05       # per-channel mean difference from train, 0-1 scale (about 13 grey levels)

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


# ---------------------------------------------------------------------------------------------
# Candidate search: multi-index hashing on 16-bit chunks

def hamming_u64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise Hamming distance of two uint64 arrays (uint8)."""
    return np.bitwise_count(np.bitwise_xor(a, b))


def view_distance(phash: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Pair hash distance: least distance between one row's view 0 and any view of the other (both ways)."""
    a = phash[i]
    b = phash[j]
    d1 = np.bitwise_count(a[:, :1] ^ b).min(axis=1)
    d2 = np.bitwise_count(b[:, :1] ^ a).min(axis=1)
    return np.minimum(d1, d2)


def mih_join(query: np.ndarray, index: np.ndarray, threshold: int,
             block: int = 1 << 22) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (q, m, d): query[q] (uint64 (Q,)) against index[m] (uint64 (M, V), all views).

    A pair is returned (possibly more than once) when some view v has a 16-bit chunk equal to the
    same chunk of query[q] and d = hamming(query[q], index[m, v]) <= threshold. Every pair with a
    view within GUARANTEED_RADIUS bits is found. Memory is bounded by `block` candidates at a time.
    """
    query = np.ascontiguousarray(query, dtype=np.uint64).reshape(-1)
    index = np.ascontiguousarray(index, dtype=np.uint64)
    if index.ndim == 1:
        index = index[:, None]
    n_views = index.shape[1]
    flat = index.reshape(-1)
    out_q: list[np.ndarray] = []
    out_m: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    if len(query) == 0 or len(flat) == 0:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    mask = np.uint64((1 << CHUNK_BITS) - 1)
    for c in range(N_CHUNKS):
        shift = np.uint64(CHUNK_BITS * c)
        ikeys = ((flat >> shift) & mask).astype(np.uint16)
        order = np.argsort(ikeys, kind="stable")          # radix sort on uint16
        sorted_h = flat[order]
        counts = np.bincount(ikeys, minlength=1 << CHUNK_BITS).astype(np.int64)
        starts = np.cumsum(counts) - counts
        qkeys = ((query >> shift) & mask).astype(np.int64)
        qcnt = counts[qkeys]
        live = np.flatnonzero(qcnt)
        if len(live) == 0:
            continue
        cum = np.cumsum(qcnt[live])
        lo = 0
        while lo < len(live):
            # as many queries as fit in `block` candidates (at least one)
            base = cum[lo - 1] if lo else 0
            hi = max(int(np.searchsorted(cum, base + block, side="right")), lo + 1)
            qs = live[lo:hi]
            cnt = qcnt[qs]
            tot = int(cnt.sum())
            excl = np.cumsum(cnt) - cnt
            pos = np.repeat(starts[qkeys[qs]] - excl, cnt) + np.arange(tot, dtype=np.int64)
            rep = np.repeat(qs, cnt)
            d = np.bitwise_count(query[rep] ^ sorted_h[pos])
            ok = np.flatnonzero(d <= threshold)
            if len(ok):
                out_q.append(rep[ok])
                out_m.append(order[pos[ok]] // n_views)
                out_d.append(d[ok])
            lo = hi
    if not out_q:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    return np.concatenate(out_q), np.concatenate(out_m), np.concatenate(out_d)


def _best_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical (a < b) unique pairs with their least distance; a == b dropped."""
    keep = a != b
    a, b, d = a[keep], b[keep], d[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo.astype(np.int64) * n + hi
    order = np.lexsort((d, key))
    key, d = key[order], d[order]
    first = np.ones(len(key), bool)
    first[1:] = key[1:] != key[:-1]
    key, d = key[first], d[first]
    return key // n, key % n, d


def near_candidates(phash: np.ndarray, threshold: int = NEAR_THRESHOLD,
                    groups: np.ndarray | None = None, cross_only: bool = False,
                    rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (i < j, row numbers) with their pair hash distance (see module docstring).

    `phash` is uint64 (N, V). With `cross_only`, only pairs whose `groups` (e.g. split codes)
    differ are searched (each group's whole-image hashes against the other groups' views).
    `rows` restricts the search to those rows (e.g. one representative per exact-duplicate group).
    """
    phash = np.asarray(phash, dtype=np.uint64)
    n = len(phash)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    parts_a, parts_b, parts_d = [], [], []
    if cross_only and groups is not None:
        g = np.asarray(groups)[rows]
        for code in np.unique(g):
            q = rows[g == code]
            m = rows[g != code]
            qi, mi, d = mih_join(phash[q, 0], phash[m], threshold)
            parts_a.append(q[qi])
            parts_b.append(m[mi])
            parts_d.append(d)
    else:
        qi, mi, d = mih_join(phash[rows, 0], phash[rows], threshold)
        parts_a.append(rows[qi])
        parts_b.append(rows[mi])
        parts_d.append(d)
    a = np.concatenate(parts_a) if parts_a else np.zeros(0, np.int64)
    b = np.concatenate(parts_b) if parts_b else np.zeros(0, np.int64)
    d = np.concatenate(parts_d) if parts_d else np.zeros(0, np.uint8)
    return _best_pairs(a, b, d, max(n, 1))


def brute_force_pairs(phash: np.ndarray, threshold: int, groups: np.ndarray | None = None,
                      cross_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) within `threshold` of pair hash distance, O(N^2): a reference for tests."""
    phash = np.asarray(phash, dtype=np.uint64)
    n = len(phash)
    out_a, out_b, out_d = [], [], []
    for i in range(n - 1):
        j = np.arange(i + 1, n)
        if cross_only and groups is not None:
            j = j[groups[j] != groups[i]]
        if len(j) == 0:
            continue
        d = view_distance(phash, np.full(len(j), i), j)
        ok = d <= threshold
        out_a.append(np.full(int(ok.sum()), i))
        out_b.append(j[ok])
        out_d.append(d[ok])
    if not out_a:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_d).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Confirmation on thumbnails

_CMP = 24                                       # comparison side (area-resampled from THUMB_SIZE)
ALIGN_CROPS = tuple(np.round(np.linspace(0.0, 0.06, 9), 4))  # border fraction removed, per side
_SG5 = np.array([-3.0, 12.0, 17.0, 12.0, -3.0]) / 35.0      # Savitzky-Golay 5-point, cubic-exact


def _area_matrix(n_out: int, n_in: int, lo: float, hi: float) -> np.ndarray:
    """(n_out, n_in) box-filter resampling of the interval [lo, hi) (pixel units) onto n_out cells."""
    edges = lo + np.arange(n_out + 1) * (hi - lo) / n_out
    j = np.arange(n_in)
    ov = np.minimum(edges[1:, None], j[None, :] + 1.0) - np.maximum(edges[:-1, None], j[None, :])
    ov = np.clip(ov, 0.0, None)
    return ov / ov.sum(axis=1, keepdims=True)


_AREA = np.stack([_area_matrix(_CMP, THUMB_SIZE, c * THUMB_SIZE, (1 - c) * THUMB_SIZE)
                  for c in ALIGN_CROPS]).astype(np.float32)    # (n_align, CMP, T)


def _fine(x: np.ndarray) -> np.ndarray:
    """Fine detail: x minus a separable 5-point Savitzky-Golay (cubic) smoothing, valid region.

    Smooth shading (gradients, vignetting, the soft curves of skies) up to cubic order cancels,
    so what remains is texture and noise, which copies share and look-alikes do not.
    """
    h, w = x.shape[-2:]
    sx = sum(_SG5[k] * x[..., :, k:w - 4 + k] for k in range(5))
    sxy = sum(_SG5[k] * sx[..., k:h - 4 + k, :] for k in range(5))
    return x[..., 2:-2, 2:-2] - sxy


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean-removed, unit-norm vectors over the last two axes flattened, their std)."""
    flat = x.reshape(*x.shape[:-2], -1)
    flat = flat - flat.mean(axis=-1, keepdims=True)
    norm = np.sqrt((flat * flat).sum(axis=-1, keepdims=True))
    std = norm[..., 0] / np.sqrt(flat.shape[-1])
    return flat / np.maximum(norm, 1e-9), std


def _aligned(thumbs: np.ndarray) -> np.ndarray:
    """(P, n_align, CMP, CMP) float32: each thumbnail with each border fraction removed, resampled."""
    t = thumbs.astype(np.float32)
    return np.einsum("aij,pjk,alk->pail", _AREA, t, _AREA, optimize=True)


@dataclass(frozen=True)
class PairScores:
    """Best-alignment scores of candidate pairs (arrays of length P)."""

    corr: np.ndarray       # correlation after removing the mean
    fine: np.ndarray       # correlation of the fine detail
    texture: np.ndarray    # least fine-detail std of the two thumbnails at that alignment
    mirrored: np.ndarray   # bool: the best alignment is mirrored
    crop_a: np.ndarray     # border fraction removed from a / from b at the best alignment
    crop_b: np.ndarray


def thumb_scores(thumb_a: np.ndarray, thumb_b: np.ndarray, mirrors: bool = True,
                 block: int = 512) -> PairScores:
    """Compare thumbnails pairwise over the crop alignments (and mirrors) and keep the best one.

    Alignments: a whole vs b with c removed, and a with c removed vs b whole, for c in ALIGN_CROPS,
    each also with b mirrored. The best alignment maximises corr + fine.
    """
    p = len(thumb_a)
    n_al = len(ALIGN_CROPS)
    res = {k: np.zeros(p, np.float64) for k in ("corr", "fine", "texture", "crop_a", "crop_b")}
    mir = np.zeros(p, bool)
    crops = np.asarray(ALIGN_CROPS)
    for lo in range(0, p, block):
        hi = min(p, lo + block)
        A = _aligned(thumb_a[lo:hi])
        B = _aligned(thumb_b[lo:hi])
        variants = [(B, False)] + ([(B[..., ::-1], True)] if mirrors else [])
        ua, sa = _unit(A)
        fa, fsa = _unit(_fine(A))
        best = None
        for Bv, is_m in variants:
            ub, sb = _unit(Bv)
            fb, fsb = _unit(_fine(Bv))
            # a whole vs b cropped (index c), then a cropped vs b whole (c >= 1)
            c1 = np.concatenate([np.einsum("pd,pad->pa", ua[:, 0], ub),
                                 np.einsum("pad,pd->pa", ua[:, 1:], ub[:, 0])], axis=1)
            c2 = np.concatenate([np.einsum("pd,pad->pa", fa[:, 0], fb),
                                 np.einsum("pad,pd->pa", fa[:, 1:], fb[:, 0])], axis=1)
            tx = np.concatenate([np.minimum(fsa[:, :1], fsb), np.minimum(fsa[:, 1:], fsb[:, :1])], axis=1)
            ca = np.concatenate([np.zeros(n_al), crops[1:]])
            cb = np.concatenate([crops, np.zeros(n_al - 1)])
            score = c1 + c2
            k = np.argmax(score, axis=1)
            r = np.arange(hi - lo)
            cand = (score[r, k], c1[r, k], c2[r, k], tx[r, k], ca[k], cb[k], np.full(hi - lo, is_m))
            if best is None:
                best = cand
            else:
                better = cand[0] > best[0]
                best = tuple(np.where(better, x, y) for x, y in zip(cand, best))
        _, c1b, c2b, txb, cab, cbb, mb = best
        res["corr"][lo:hi] = c1b
        res["fine"][lo:hi] = c2b
        res["texture"][lo:hi] = txb
        res["crop_a"][lo:hi] = cab
        res["crop_b"][lo:hi] = cbb
        mir[lo:hi] = mb
    return PairScores(res["corr"], res["fine"], res["texture"], mir, res["crop_a"], res["crop_b"])


def contrast_ratio(std: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ratio (>= 1) of the two images' contrast: per-image std averaged over channels."""
    s = np.asarray(std, dtype=np.float64)
    s = s.mean(axis=1) if s.ndim == 2 else s
    sa, sb = s[a], s[b]
    hi, lo = np.maximum(sa, sb), np.minimum(sa, sb)
    return np.where(hi <= 1e-9, 1.0, hi / np.maximum(lo, 1e-9))


def confirm_pairs(table: ImageTable, a: np.ndarray, b: np.ndarray, mirrors: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, PairScores]:
    """(is_copy, is_mirror, scores) for candidate pairs (row arrays a, b)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        z = np.zeros(0)
        return np.zeros(0, bool), np.zeros(0, bool), PairScores(z, z, z, np.zeros(0, bool), z, z)
    sc = thumb_scores(table.thumb[a], table.thumb[b], mirrors=mirrors)
    ok = ((sc.corr >= CONFIRM_CORR) & (sc.fine >= CONFIRM_FINE) & (sc.texture >= CONFIRM_TEXTURE)
          & (contrast_ratio(table.std, a, b) <= 1.0 + CONTRAST_TOLERANCE))
    return ok, ok & sc.mirrored, sc


# ---------------------------------------------------------------------------------------------
# Findings

def _label(table: ImageTable, i: int) -> str | None:
    k = int(table.label[i])
    return None if k < 0 else table.label_names[k]


def _describe(table: ImageTable, i: int) -> str:
    return f"{table.paths[i]} ({table.split_names[int(table.split[i])]})"


def _pair_finding(table: ImageTable, kind: str, i: int, j: int, distance: float | None,
                  message: str, severity: str | None = None) -> Finding:
    si, sj = table.split_names[int(table.split[i])], table.split_names[int(table.split[j])]
    return Finding(kind, severity or pair_severity(si, sj), (si, sj), (table.paths[i], table.paths[j]),
                   distance, message, (int(i), int(j)))


def _label_conflict(table: ImageTable, i: int, j: int, dup_kind: str, distance: float | None) -> Finding | None:
    li, lj = _label(table, i), _label(table, j)
    if li is None or lj is None or li == lj:
        return None
    what = {"exact": "identical images", "near": "near-duplicate images",
            "mirror": "mirrored copies of one image"}[dup_kind]
    msg = (f"Label conflict: {_describe(table, i)} and {_describe(table, j)} are {what} "
           f"but are labelled '{li}' and '{lj}'.")
    return _pair_finding(table, "label_conflict", i, j, distance, msg)


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
            m = int(m)
            # cross-split members against the first file of the group; a member in the group's first
            # split against that first file too (info); other within-split copies against the first
            # file of their own split
            anchor = first
            same = int(table.split[m]) == int(table.split[first])
            if not same and rep[m] != m:
                anchor = int(rep[m])
                same = True
            if same and not include_within_split:
                continue
            msg = (f"Exact duplicate: {_describe(table, m)} has the same decoded pixels as "
                   f"{_describe(table, anchor)} (distance 0).")
            findings.append(_pair_finding(table, "exact", anchor, m, 0.0, msg))
            lc = _label_conflict(table, anchor, m, "exact", 0.0)
            if lc is not None:
                findings.append(lc)
    return findings, rep


def _near_findings(table: ImageTable, rep: np.ndarray, near_threshold: int,
                   include_within_split: bool, mirrors: bool = True) -> list[Finding]:
    rows = np.flatnonzero(rep == np.arange(len(table)))
    if len(rows) < 2:
        return []
    a, b, d = near_candidates(table.phash, near_threshold, groups=np.asarray(table.split),
                              cross_only=not include_within_split, rows=rows)
    if len(a) == 0:
        return []
    # exact duplicates (same content, different splits) are already reported as exact
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    differ = (ch[a] != ch[b]).any(axis=1)
    a, b, d = a[differ], b[differ], d[differ]
    ok, is_mirror, sc = confirm_pairs(table, a, b, mirrors=mirrors)
    findings: list[Finding] = []
    for k in np.flatnonzero(ok):
        i, j, dist = int(a[k]), int(b[k]), float(d[k])
        kind = "mirror" if is_mirror[k] else "near"
        if kind == "mirror":
            head = f"Mirrored copy: {_describe(table, j)} is a horizontally flipped copy of {_describe(table, i)}"
        else:
            head = f"Near duplicate: {_describe(table, j)} is a near copy of {_describe(table, i)}"
        crop = max(sc.crop_a[k], sc.crop_b[k])
        crop_txt = f", about {crop:.1%} border cropped" if crop >= 0.01 else ""
        msg = (f"{head} (perceptual-hash distance {int(dist)} of 64 bits, threshold {near_threshold}; "
               f"thumbnail correlation {sc.corr[k]:.3f}, fine detail {sc.fine[k]:.2f}{crop_txt}).")
        findings.append(_pair_finding(table, kind, i, j, dist, msg))
        lc = _label_conflict(table, i, j, kind, dist)
        if lc is not None:
            findings.append(lc)
    return findings


def _stats_source_findings(source_splits: Sequence[str]) -> list[Finding]:
    bad = [s for s in source_splits if s != "train"]
    held_out = [s for s in source_splits if s in ("val", "test")]
    if not held_out:
        return []
    severity = "error" if "test" in held_out else "warning"
    which = " and ".join(held_out)
    msg = (f"Normalization statistics are computed from {', '.join(source_splits)}: they include "
           f"{which} data, so information from the held-out {which} split leaks into training. "
           f"Compute mean and std on train only.")
    del bad
    return [Finding("stats_source", severity, tuple(source_splits), (), None, msg, ())]


def _name_collisions(table: ImageTable) -> list[Finding]:
    """Same basename in two splits with different content: first file of each split per name."""
    by_name: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(table.paths):
        by_name[p.rsplit("/", 1)[-1]][int(table.split[i])].append(i)
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    findings = []
    for name in sorted(by_name):
        per_split = by_name[name]
        if len(per_split) < 2:
            continue
        codes = sorted(per_split)
        for x in range(len(codes)):
            for y in range(x + 1, len(codes)):
                ri, rj = per_split[codes[x]], per_split[codes[y]]
                hi = {tuple(ch[r]) for r in ri}
                # a pair of different content (if every file in one split equals one in the other,
                # it is an exact duplicate, reported as such)
                pair = next(((i, j) for i in ri for j in rj if tuple(ch[j]) not in hi
                             or tuple(ch[i]) != tuple(ch[j])), None) if len(ri) * len(rj) <= 64 else \
                    next(((i, j) for i in ri[:8] for j in rj[:8] if tuple(ch[i]) != tuple(ch[j])), None)
                if pair is None:
                    continue
                i, j = pair
                if tuple(ch[i]) == tuple(ch[j]):
                    continue
                msg = (f"Name collision: {_describe(table, i)} and {_describe(table, j)} share the file "
                       f"name '{name}' but have different content (worth knowing if files are matched "
                       f"by name, e.g. to labels or masks).")
                findings.append(_pair_finding(table, "name_collision", i, j, None, msg, severity="info"))
    return findings


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
    findings: list[Finding] = []
    exact, rep = _exact_findings(table, include_within_split)
    findings += exact
    findings += _near_findings(table, rep, int(near_threshold), include_within_split, mirrors=mirrors)
    findings += _stats_source_findings(list(source_splits))
    findings += _name_collisions(table)
    findings += _drift_findings(split_means)
    return sort_findings(findings)


# ---------------------------------------------------------------------------------------------
# Building a table without the scan engine (tests, benchmarks)

def table_from_images(items: Iterable[tuple[str, str, str | None, Image.Image]],
                      split_names: Sequence[str] | None = None) -> ImageTable:
    """An ImageTable from (path, split, class or None, PIL image) items, measured like the scan does.

    The canonical mode is "L" when every image is single-channel 8-bit, else "RGB".
    Rows keep the order given.
    """
    items = list(items)
    single = all(im.mode in ("L", "1") for *_, im in items) and bool(items)
    mode = "L" if single else "RGB"
    splits = list(split_names) if split_names else []
    labels: list[str] = []
    fmts: list[str] = []
    modes: list[str] = []
    n = len(items)
    c = 1 if single else 3
    cols = {k: np.zeros((n, c)) for k in ("mean", "std", "min", "max")}
    content = np.zeros((n, 2), np.uint64)
    phash = np.zeros((n, N_VIEWS), np.uint64)
    thumb = np.zeros((n, THUMB_SIZE, THUMB_SIZE), np.uint8)
    split = np.zeros(n, np.int16)
    label = np.zeros(n, np.int32)
    width = np.zeros(n, np.int32)
    height = np.zeros(n, np.int32)
    fmt = np.zeros(n, np.int16)
    md = np.zeros(n, np.int16)
    paths = []
    for r, (path, sp, cls, im) in enumerate(items):
        if sp not in splits:
            splits.append(sp)
        split[r] = splits.index(sp)
        if cls is None:
            label[r] = -1
        else:
            if cls not in labels:
                labels.append(cls)
            label[r] = labels.index(cls)
        f = im.format or "PIL"
        if f not in fmts:
            fmts.append(f)
        fmt[r] = fmts.index(f)
        if im.mode not in modes:
            modes.append(im.mode)
        md[r] = modes.index(im.mode)
        canon = im if im.mode == mode else im.convert(mode)
        a = np.asarray(canon, dtype=np.float64).reshape(canon.size[1], canon.size[0], -1) / 255.0
        cols["mean"][r] = a.mean(axis=(0, 1))
        cols["std"][r] = a.std(axis=(0, 1))
        cols["min"][r] = a.min(axis=(0, 1))
        cols["max"][r] = a.max(axis=(0, 1))
        content[r] = content_hash(canon)
        phash[r], thumb[r] = perceptual_signature(canon)
        width[r], height[r] = canon.size
        paths.append(path)
    return ImageTable(
        paths=paths, split_names=splits, split=split, label_names=labels, label=label,
        width=width, height=height, nbytes=np.zeros(n, np.int64), format_names=fmts, format=fmt,
        mode_names=modes, mode=md, mean=cols["mean"], std=cols["std"], min=cols["min"],
        max=cols["max"], content_hash=content, phash=phash, thumb=thumb,
        flags=np.zeros(n, np.uint16))
