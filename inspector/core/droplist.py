"""The drop list: the fewest files whose removal leaves no cross-split exact, near or mirror pair.

Copies form groups: every file with the same decoded pixels (content hash) is one copy class, and a
near or mirror finding joins two classes (so every exact copy of one side, in any split, counts as
a copy of every exact copy of the other). Inside a class, all files of one split are interchangeable
(same pixels, same split, same partners), so the unit of decision is a *bin*: the files of one copy
class in one split. Bins of different splits that are copies of each other are joined by an edge;
the connected bins form a group, and each group is decided once, not once per pair.

Choosing what to drop is a vertex cover of the group's edges (every cross-split pair loses at least
one side). The cost of a choice is compared in this order:
1. files dropped from the protected side (`side="train"`, the default: every split except train is
   protected, so held-out images stay; `side="heldout"`: train is protected);
2. files dropped in all;
3. a tie-break by split: the training copy goes before a val copy, a val copy before a test copy.
Groups of up to `EXACT_LIMIT` bins are solved exactly (branch and bound over the uncovered edges);
larger groups, which only crowds of look-alikes produce, take a greedy rule: repeatedly drop the
bin with the lowest cost per newly covered pair, then put back any bin whose partners were all
dropped. Each dropped file names a kept partner in another split, so the reason can be checked.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .table import ImageTable

COPY_KINDS = ("exact", "near", "mirror")
SIDES = ("train", "heldout")
EXACT_LIMIT = 24            # bins per group solved exactly; branch and bound stays in milliseconds
COLUMNS = ("path", "split", "kind", "partner", "reason")
_KIND_ORDER = {k: i for i, k in enumerate(COPY_KINDS)}


@dataclass(frozen=True)
class DropRow:
    path: str
    split: str
    kind: str       # how it copies `partner`: exact, near or mirror
    partner: str    # a kept file in another split that it duplicates
    reason: str


@dataclass
class _Bin:
    rows: list[int]
    split: str


def _split_rank(split: str) -> int:
    """Tie-break: train is dropped first, test last, other splits in between."""
    return {"train": 0, "val": 1, "test": 3}.get(split, 2)


def _cost(b: _Bin, side: str) -> tuple[int, int, int]:
    protected = (b.split != "train") if side == "train" else (b.split == "train")
    n = len(b.rows)
    return (n if protected else 0, n, n * _split_rank(b.split))


def _add(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _pair_rows(findings: Iterable[Any], table: ImageTable) -> list[tuple[int, int, str]]:
    """(row, row, kind) of the cross-split copy findings; rows from the finding, else from its paths."""
    index: dict[str, int] | None = None
    pairs = []
    for f in findings:
        if f.kind not in COPY_KINDS or len(f.paths) != 2:
            continue
        rows = tuple(getattr(f, "rows", ()) or ())
        if len(rows) != 2:
            if index is None:
                index = {p: i for i, p in enumerate(table.paths)}
            if f.paths[0] not in index or f.paths[1] not in index:
                continue
            rows = (index[f.paths[0]], index[f.paths[1]])
        pairs.append((int(rows[0]), int(rows[1]), f.kind))
    return pairs


def _copy_classes(table: ImageTable) -> np.ndarray:
    """Copy class of each row: rows with equal content hashes share one id."""
    n = len(table)
    if n == 0:
        return np.zeros(0, np.int64)
    ch = np.ascontiguousarray(table.content_hash, dtype=np.uint64).reshape(n, 2)
    _, inverse = np.unique(ch, axis=0, return_inverse=True)
    return np.asarray(inverse).reshape(-1)


class _Graph:
    """Bins and the copy edges between bins of different splits."""

    def __init__(self, table: ImageTable, pairs: list[tuple[int, int, str]]) -> None:
        self.table = table
        cls = _copy_classes(table)
        self.bins: list[_Bin] = []
        self.kind: dict[tuple[int, int], str] = {}
        self.adj: dict[int, set[int]] = defaultdict(set)
        self._bin_of: dict[tuple[int, int], int] = {}
        # exact copies across splits: every copy class present in two or more splits
        split = np.asarray(table.split).tolist()
        splits_of: dict[int, set[int]] = defaultdict(set)
        for c, sp in zip(cls.tolist(), split):
            splits_of[c].add(sp)
        across = {c for c, ss in splits_of.items() if len(ss) > 1}
        touched = across | {int(cls[i]) for a, b, _ in pairs for i in (a, b)}
        for r in np.flatnonzero(np.isin(cls, sorted(touched))).tolist():
            self._bin(int(cls[r]), r)
        by_class: dict[int, list[int]] = defaultdict(list)
        for (c, _), b in self._bin_of.items():
            by_class[c].append(b)
        for c in across:
            members = by_class[c]
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    self._edge(members[x], members[y], "exact")
        # a near or mirror pair joins two copy classes: each exact copy of one side (in any split)
        # is that kind of copy of each exact copy of the other
        for a, b, kind in pairs:
            if cls[a] == cls[b]:
                continue
            for x in by_class[int(cls[a])]:
                for y in by_class[int(cls[b])]:
                    if self.bins[x].split != self.bins[y].split:
                        self._edge(x, y, kind)

    def _bin(self, cls: int, row: int) -> None:
        key = (cls, int(self.table.split[row]))
        b = self._bin_of.get(key)
        if b is None:
            b = self._bin_of[key] = len(self.bins)
            self.bins.append(_Bin([], self.table.split_of(row)))
        self.bins[b].rows.append(row)

    def _edge(self, a: int, b: int, kind: str) -> None:
        key = (min(a, b), max(a, b))
        old = self.kind.get(key)
        if old is None or _KIND_ORDER[kind] < _KIND_ORDER[old]:
            self.kind[key] = kind
        self.adj[a].add(b)
        self.adj[b].add(a)

    def edge_kind(self, a: int, b: int) -> str:
        return self.kind[(min(a, b), max(a, b))]

    def groups(self) -> list[list[int]]:
        seen: set[int] = set()
        out = []
        for start in sorted(self.adj):
            if start in seen:
                continue
            stack, comp = [start], []
            seen.add(start)
            while stack:
                v = stack.pop()
                comp.append(v)
                for w in self.adj[v]:
                    if w not in seen:
                        seen.add(w)
                        stack.append(w)
            out.append(sorted(comp))
        return out


def _exact_cover(g: _Graph, group: list[int], side: str) -> set[int]:
    """Least-cost vertex cover by branch and bound: take an uncovered edge (u, v); either u goes,
    or u stays and then all of u's partners go."""
    costs = {b: _cost(g.bins[b], side) for b in group}
    best: list[Any] = [None, set(group)]

    def uncovered_edge(dropped: set[int], kept: set[int]) -> tuple[int, int] | None:
        for u in group:
            if u in dropped:
                continue
            for v in g.adj[u]:
                if v not in dropped:
                    return u, v
        return None

    def search(dropped: set[int], kept: set[int], cost: tuple[int, int, int]) -> None:
        if best[0] is not None and cost >= best[0]:
            return
        edge = uncovered_edge(dropped, kept)
        if edge is None:
            best[0], best[1] = cost, set(dropped)
            return
        u, v = edge
        # prefer the cheaper endpoint first so a good bound is found early
        if costs[v] < costs[u]:
            u, v = v, u
        if u not in kept:
            search(dropped | {u}, kept, _add(cost, costs[u]))
        partners = g.adj[u] - dropped
        if not (partners & kept) and u not in dropped:
            extra = (0, 0, 0)
            for w in partners:
                extra = _add(extra, costs[w])
            search(dropped | partners, kept | {u}, _add(cost, extra))

    search(set(), set(), (0, 0, 0))
    return best[1]


def _greedy_cover(g: _Graph, group: list[int], side: str) -> set[int]:
    """Large groups: drop the bin with the lowest cost per newly covered edge until none is left,
    then put back dropped bins whose partners are all dropped (most expensive first)."""
    costs = {b: _cost(g.bins[b], side) for b in group}
    open_deg = {b: len(g.adj[b]) for b in group}
    dropped: set[int] = set()
    while any(d > 0 for b, d in open_deg.items() if b not in dropped):
        def score(b: int) -> tuple[float, float, float, int]:
            c, d = costs[b], open_deg[b]
            return (c[0] / d, c[1] / d, c[2] / d, b)
        u = min((b for b in group if b not in dropped and open_deg[b] > 0), key=score)
        dropped.add(u)
        for w in g.adj[u]:
            if w not in dropped:
                open_deg[w] -= 1
        open_deg[u] = 0
    for b in sorted(dropped, key=lambda b: costs[b], reverse=True):
        if all(w in dropped for w in g.adj[b]):
            dropped.discard(b)
    return dropped


def _describe_partner(kind: str) -> str:
    return {"exact": "an exact copy of", "near": "a near copy of", "mirror": "a mirrored copy of"}[kind]


def drop_list(table: ImageTable, findings: Iterable[Any], side: str = "train") -> list[DropRow]:
    """The rows of the drop list for a scan's table and its findings, sorted by path."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    g = _Graph(table, _pair_rows(findings, table))
    rows: list[DropRow] = []
    for group in g.groups():
        solve = _exact_cover if len(group) <= EXACT_LIMIT else _greedy_cover
        dropped = solve(g, group, side)
        size, n_splits = _group_size(g, group), len({g.bins[x].split for x in group})
        for b in sorted(dropped):
            kept = [w for w in g.adj[b] if w not in dropped] or sorted(g.adj[b])
            partner_bin = min(kept, key=lambda w: (_KIND_ORDER[g.edge_kind(b, w)], _first_path(g, w)))
            kind, partner, pb = g.edge_kind(b, partner_bin), _first_path(g, partner_bin), g.bins[partner_bin]
            reason = f"{_describe_partner(kind)} {partner} ({pb.split}), which stays"
            if size > 2:
                reason += f"; one decision for a group of {size} copies in {n_splits} splits"
            for r in g.bins[b].rows:
                rows.append(DropRow(table.paths[r], g.bins[b].split, kind, partner, reason))
    return sorted(rows, key=lambda r: r.path)


def _first_path(g: _Graph, b: int) -> str:
    return min(g.table.paths[r] for r in g.bins[b].rows)


def _group_size(g: _Graph, group: list[int]) -> int:
    return sum(len(g.bins[b].rows) for b in group)


def drop_list_csv(rows: Sequence[DropRow]) -> str:
    """CSV text with the header path,split,kind,partner,reason (RFC 4180 quoting)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r.path, r.split, r.kind, r.partner, r.reason])
    return out.getvalue()


def save_drop_list(table: ImageTable, findings: Iterable[Any], path: str, side: str = "train") -> int:
    """Write the drop list CSV atomically; returns the number of files listed."""
    from .atomic import write_text_atomic

    rows = drop_list(table, findings, side=side)
    write_text_atomic(drop_list_csv(rows), path, ".csv")
    return len(rows)
