"""Scoring of the held-out leakage benchmark (scripts/bench_heldout.py) against its manifest.

Pure functions on the manifest (what was planted) and the export's leakage findings, so that a
test can check them on a tiny made-up case (tests/test_bench_heldout.py).

- A planted copy is found when a copy finding (exact, near, mirror) names its two files; a mirror
  copy counts as reported as a mirror when that finding's kind is "mirror".
- A copy planted under another class is a label conflict: found when a label_conflict finding
  names the pair.
- Any other pair finding is false, unless it is an exact one (the same decoded pixels: two
  blown-out white tiles are copies of each other) or its two files show mostly the same pixels of one
  source photo (their source boxes overlap by at least RELATED_OVERLAP of the smaller one's
  area): those are "related" (the corpus's own crops of one photo overlap), counted apart, never
  as found copies. A false pair is charged to the negative category of its files (the hard
  negatives are neighbouring crops, look-alike skies / walls / sunsets, distinct crops of one scene,
  tiny look-alikes), else to "other".
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

COPY_KINDS = ("exact", "near", "mirror")
RELATED_OVERLAP = 0.5


def overlap(a: dict | None, b: dict | None) -> float:
    """Intersection of two provenances' source boxes over the smaller box's area (0 when the
    sources differ or either is unknown)."""
    if not a or not b or a["source"] != b["source"]:
        return 0.0
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["box"], b["box"]
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    small = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return iw * ih / small if small > 0 else 0.0


@dataclass
class Score:
    family_total: Counter = field(default_factory=Counter)
    family_found: Counter = field(default_factory=Counter)
    mirror_as_mirror: int = 0
    mirror_total: int = 0
    conflicts_total: int = 0
    conflicts_found: int = 0
    conflicts_copy_found: int = 0    # planted conflicts whose copy was found (a conflict needs it)
    false_pairs: Counter = field(default_factory=Counter)    # category -> count
    false_examples: dict = field(default_factory=lambda: defaultdict(list))
    related: int = 0
    negatives: Counter = field(default_factory=Counter)      # category -> images
    missed: list = field(default_factory=list)               # the planted copies not found
    found: list = field(default_factory=list)                # (copy entry, finding)

    @property
    def total(self) -> int:
        return sum(self.family_total.values())

    @property
    def hits(self) -> int:
        return sum(self.family_found.values())


def _pair(paths) -> frozenset:
    return frozenset(str(p) for p in paths)


def score(manifest: dict, findings: list[dict]) -> Score:
    """Score an export's leakage findings against the manifest (see the module's docstring).

    manifest: {"copies": [{"family", "original", "copy", "label_conflict", "mirror", ...}],
               "provenance": {path: {"source", "box"} or None},
               "negative": {path: category}}"""
    s = Score()
    prov = manifest.get("provenance", {})
    negative = manifest.get("negative", {})
    s.negatives.update(negative.values())
    planted = {_pair((c["original"], c["copy"])): c for c in manifest["copies"]}
    copy_hits: dict[frozenset, dict] = {}
    conflict_hits: set[frozenset] = set()
    for f in findings:
        if len(f.get("paths", ())) != 2 or f["kind"] not in COPY_KINDS + ("label_conflict",):
            continue
        key = _pair(f["paths"])
        c = planted.get(key)
        if c is not None:
            if f["kind"] == "label_conflict":
                if c.get("label_conflict"):
                    conflict_hits.add(key)
                else:
                    _false(s, f, prov, negative, "label_conflict on a same-class copy")
            else:
                copy_hits.setdefault(key, f)
            continue
        p, q = sorted(key)
        if f["kind"] == "exact" or overlap(prov.get(p), prov.get(q)) >= RELATED_OVERLAP:
            s.related += 1
            continue
        _false(s, f, prov, negative, None)
    for key, c in planted.items():
        s.family_total[c["family"]] += 1
        if c.get("mirror"):
            s.mirror_total += 1
        if c.get("label_conflict"):
            s.conflicts_total += 1
            s.conflicts_found += key in conflict_hits
            s.conflicts_copy_found += key in copy_hits
        f = copy_hits.get(key)
        if f is None:
            s.missed.append(c)
            continue
        s.family_found[c["family"]] += 1
        s.found.append((c, f))
        if c.get("mirror") and f["kind"] == "mirror":
            s.mirror_as_mirror += 1
    return s


def _false(s: Score, f: dict, prov: dict, negative: dict, why: str | None) -> None:
    p, q = sorted(_pair(f["paths"]))
    cat = negative.get(p) or negative.get(q) or "other"
    s.false_pairs[cat] += 1
    s.false_examples[cat].append({"paths": [p, q], "kind": f["kind"], "message": f.get("message", ""),
                                  "overlap": round(overlap(prov.get(p), prov.get(q)), 3),
                                  **({"why": why} if why else {})})
