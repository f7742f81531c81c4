"""The candidate search of a rescan, updated where the dataset changed instead of run again over all.

The search (candidates.candidate_blocks, then each image's CONFIRM_NEIGHBOURS best-looking
candidates) is a union of local choices, so its result can be kept and patched:
- in each pass (a join of one view set on one 16-bit chunk) a query meets the entries of its
  neighbourhood (join.neighbourhoods), which is delimited by two marked entries of its bucket or by
  the bucket's edges; while those delimiters are the same entries, the unchanged entries it meets
  are the same, and only the added ones are new to it;
- of the pairs it meets, a query keeps those within GUARANTEED_RADIUS and its HASH_NEIGHBOURS
  closest further ones per kind (ties: the lower row; rows of unchanged images keep their order),
  so adding candidates is a merge with the kept ones; it also keeps up to RESERVE more of each kind
  in reserve (not candidates), so a query that loses kept pairs takes its next ones from there,
  and is searched again only when it met more of a kind than it kept (the kind is cut) and holds
  fewer than HASH_NEIGHBOURS of it;
- an image's best partners are the CONFIRM_NEIGHBOURS best-looking of the pairs it is in, so they
  change only for the images in a pair that came or went.

So the last search's choices are stored (`SearchState`: per image and pass the neighbourhood's
delimiters and the kept pairs, the pairs of the longer-key passes, each image's best partners), and
a rescan compares the changed images with everything, the unchanged queries with the added entries
of their neighbourhoods, searches again only the queries whose neighbourhood moved or whose full
reserve ran out, and ranks again only the pairs of images whose pairs changed. The result is the
full search's, exactly (tests/test_leakage_rescan.py compares them on crowded buckets, displaced
partners, deleted partners and new representatives of exact groups). A rescan's neighbourhoods
come from each pass's bucket sizes and segment marks (mark_runs.py: no sort of the pass's entries);
the longer-key passes of crowded buckets still run over all images.

An image is one representative of its (content, split) and is known by its content hash, split
and path: one of those changed is an image deleted and another added.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import xxhash

from ..sorted_lookup import search_sorted
from ..strings import StringColumn
from ..table import ImageTable
from .candidates import (NO_HASH, Pairs, _unique_pairs, ranked_pairs, stable_ids, unique_pairs_of, view_distance,
                         view_joins)
from .join import (FULL_BUCKET, GUARANTEED_RADIUS, MIH_BLOCK, N_CHUNKS, SEGMENT, compare_runs, crowded_passes,
                   neighbourhoods)
from .mark_runs import MarkRuns
from .partners import PairRanker, update_best
from .progress import Steps, scaled
from . import shared_passes
from .value_order import ValueOrder

STATE_VERSION = 2       # 2: pairs in reserve and the cut kinds
# A search keeps its choices for at most this many images: it holds them all until it ends (about
# 5 KB an image at its peak, 520 MB above the table for 100,000 tiny PNGs), where the search that
# does not keep them streams in bounded blocks. A larger dataset is searched as without the cache,
# and its rescans search in full.
KEEP_UP_TO = 200_000
NOT_A_QUERY = -2        # a delimiter for an image that takes no part in a pass (a blanked region)
MOVED = -3              # a delimiter that is an added entry (never equal to a stored one)
_WITHIN = 64            # kept pair code: distance | _WITHIN when both images are in the same split
_RESERVE = 128          # ... | _RESERVE for a pair kept beyond the quota of its kind (not a candidate)
_DISTANCE = _WITHIN - 1
# Further pairs of each kind a query keeps beyond its quota (HASH_NEIGHBOURS), not as candidates
# but so that a query that loses a kept pair (a deleted or rewritten image) takes its next one from
# them instead of being compared with its whole neighbourhood again (at 1% changed, about 17,000
# of 100,000 queries a pass lost one pair of a full quota); it runs out only when more than
# RESERVE of one kind are lost before it is searched again.
RESERVE = 2


@dataclass
class SearchState:
    """What a search chose, per image of its search (`keys`: (R, 2) uint64 identities, in table
    order) and pass: the neighbourhood delimiters (`first`, `stop`: (P, R) int32 stored entries =
    image * views + view, -1 a bucket edge; `crowded`: (P, R)); the kept pairs, sorted by pass,
    image and partner (`kept_count`: (P, R) per image, `kept_partner`, `kept_code` the distance
    with _WITHIN and _RESERVE), and the kinds each image met more further pairs of than it kept
    (`cut`: (P, R) bits 1 << kind - 1); the longer-key passes' pairs (`radius_a`, `radius_b`,
    sorted); and each image's best partners (`best`: (R, k), -1 none; `best_rank` their look
    ranks). `settings` is what the search ran with; a state of other settings is not used."""

    settings: np.ndarray
    keys: np.ndarray
    first: np.ndarray
    stop: np.ndarray
    crowded: np.ndarray
    kept_count: np.ndarray
    kept_partner: np.ndarray
    kept_code: np.ndarray
    cut: np.ndarray
    radius_a: np.ndarray
    radius_b: np.ndarray
    best: np.ndarray
    best_rank: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "SearchState | None":
        try:
            state = cls(**{f: np.asarray(arrays[f]) for f in cls.__dataclass_fields__})
        except KeyError:
            return None
        r = len(state.keys)
        sound = (state.keys.shape == (r, 2) and state.first.ndim == 2 and state.first.shape[1] == r
                 and state.stop.shape == state.crowded.shape == state.kept_count.shape == state.first.shape
                 and state.cut.shape == state.first.shape
                 and len(state.kept_partner) == len(state.kept_code) == int(state.kept_count.sum())
                 and len(state.radius_a) == len(state.radius_b)
                 and state.best.shape == state.best_rank.shape and len(state.best) == r)
        return state if sound else None

    def kept(self, through: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Each pass's kept pairs: (owner, partner) through `through` (stored image -> today's, -1
        deleted), their codes, and their owners as stored."""
        counts = self.kept_count.astype(np.int64)
        ends = np.cumsum(counts.sum(axis=1))
        images = np.arange(counts.shape[1])
        out = []
        for p in range(len(counts)):
            at = slice(int(ends[p - 1]) if p else 0, int(ends[p]))
            owner = np.repeat(images, counts[p])
            out.append((through[owner], through[self.kept_partner[at]], self.kept_code[at], owner))
        return out


def settings(threshold: int, per_image: int, k_best: int, mirrors: bool, n_views: int) -> np.ndarray:
    return np.array([STATE_VERSION, threshold, per_image, k_best, int(mirrors), n_views, FULL_BUCKET,
                     GUARANTEED_RADIUS, SEGMENT, RESERVE], np.int64)


def image_keys(table: ImageTable, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 2) uint64: an image's content hash mixed with its path and split name."""
    ch = np.asarray(table.content_hash, np.uint64).reshape(-1, 2)[rows]
    paths = StringColumn.from_strings(table.paths)
    split = np.array([xxhash.xxh3_64_intdigest(s.encode("utf-8", "surrogateescape")) for s in table.split_names]
                     + [0], np.uint64)[np.asarray(table.split)[rows]]
    return np.stack([ch[:, 0] ^ paths.digests(rows), ch[:, 1] ^ (split * np.uint64(0x9E3779B97F4A7C15))], axis=1)


def _match(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """For each new key, the index of the equal old key, or -1."""
    if len(old) == 0:
        return np.full(len(new), -1, np.int64)
    order = np.argsort(old[:, 0])           # a lexsort of both columns was 0.05 s at 100,000 images
    o = old[order]
    if (o[1:, 0] == o[:-1, 0]).any():      # equal first halves (not expected of 64-bit digests)
        order = np.lexsort((old[:, 1], old[:, 0]))
        o = old[order]
    at = np.minimum(np.searchsorted(o[:, 0], new[:, 0]), len(o) - 1)
    hit = (o[at, 0] == new[:, 0]) & (o[at, 1] == new[:, 1])
    return np.where(hit, order[at], -1)


@dataclass
class _Pass:
    """One pass of the search: a view set joined on one chunk."""
    view: int            # the query view (0, or a region view)
    cols: slice          # the index views
    chunk: int


@dataclass
class _ViewSet:
    """What the passes of one view set (its four chunks) share, made by the first that needs it:
    the rows taking part and the index's hashes (_index_hashes), and for a search from nothing the
    index's ValueOrder."""
    view: int
    index: tuple[np.ndarray, np.ndarray] | None = None
    order: ValueOrder | None = None


def _passes(n_views: int) -> list[_Pass]:
    return [_Pass(v, cols, c) for v, cols in view_joins(n_views) for c in range(N_CHUNKS)]


@dataclass
class _Kept:
    """A pass's kept pairs (items, sorted by owner and partner) and, on a rescan, the stored ones
    it no longer keeps as they were and the ones it chose again (items keys owner * R + partner),
    the keys of the stored pairs of the quota whose images are both still there (`stored`: sorted
    parts whose union they are: those not held and those held as they were, so the held ones,
    most of a rescan's, are not keyed twice) and the keys (sorted) of the pairs of its quota now."""
    owner: np.ndarray
    partner: np.ndarray
    code: np.ndarray
    dropped: np.ndarray
    chosen: np.ndarray
    stored: tuple[np.ndarray, ...]
    keys: np.ndarray

    def quota(self) -> tuple[np.ndarray, np.ndarray, None]:
        """The pairs of the quota (the candidates; those in reserve left out), as unique_pairs_of
        takes a part."""
        quota = self.code < _RESERVE
        return self.owner[quota], self.partner[quota], None


def search(table: ImageTable, phash: np.ndarray, rows: np.ndarray, threshold: int, per_image: int,
           k_best: int, mirrors: bool, previous: SearchState | None, look_block: int = 1 << 13
           ) -> Steps[tuple[Pairs, SearchState]]:
    """Each image's k_best best candidates among `rows` (pairs a < b with their pair distance, as
    checks._near_candidates finds them in full), and the state to patch them next time: from
    `previous` where it fits (same settings), else from nothing."""
    n, r_items = len(table), len(rows)
    n_views = phash.shape[1]
    config = settings(threshold, per_image, k_best, mirrors, n_views)
    keys = image_keys(table, rows)
    if previous is not None and not np.array_equal(previous.settings, config):
        previous = None
    old_of = _match(previous.keys, keys) if previous is not None else np.full(r_items, -1, np.int64)
    item_of_row = np.full(n, -1, np.int64)
    item_of_row[rows] = np.arange(r_items)
    groups = np.asarray(table.split)
    ids = stable_ids(table.content_hash)
    passes = _passes(n_views)
    new_of_old = np.full(0 if previous is None else len(previous.keys), -1, np.int64)
    new_of_old[old_of[old_of >= 0]] = np.flatnonzero(old_of >= 0)
    first = np.full((len(passes), r_items), NOT_A_QUERY, np.int32)
    stop = first.copy()
    crowded = np.zeros((len(passes), r_items), bool)
    cut = np.zeros((len(passes), r_items), np.uint8)
    stored_kept = [] if previous is None else previous.kept(new_of_old)
    shared = _ViewSet(passes[0].view if passes else 0)
    view_sets = {shared.view: shared}
    left = {}   # per view set, its passes not made yet: it is let go after its last
    for ps in passes:
        left[ps.view] = left.get(ps.view, 0) + 1
    making = threading.Lock()   # the passes may run in two threads (shared_passes.py)

    def run(p: int):
        ps = passes[p]
        with making:   # what a view set's passes share, made once, by the first that needs it
            vs = view_sets.setdefault(ps.view, _ViewSet(ps.view))
            if vs.index is None:
                vs.index = _index_hashes(phash, rows, ps)
            if previous is None and vs.order is None and len(vs.index[0]):
                vs.order = ValueOrder(vs.index[1])
        try:
            return _one_pass(phash, rows, ps, groups, ids, item_of_row, old_of, previous,
                             None if previous is None else stored_kept[p], p, threshold, per_image, n, vs)
        finally:
            with making:
                left[ps.view] -= 1
                if left[ps.view] == 0:
                    view_sets.pop(ps.view, None)

    def unpack(p: int, packed: tuple):
        return _unpacked(packed, None if previous is None else stored_kept[p], r_items)

    kept = [None] * len(passes)
    radius = [None] * len(passes)
    if len(rows) and previous is None:   # the first view set's bucket order, made once for this process and a child
        shared.index = _index_hashes(phash, rows, passes[0])
        shared.order = ValueOrder(shared.index[1])
    # the passes are independent: on two cores two threads make them, or this process and a
    # forked child (shared_passes.py)
    for done, (p, got) in enumerate(shared_passes.each(run, len(passes), _packed, unpack)):
        (first[p], stop[p], crowded[p], cut[p]), kept[p], radius[p] = got
        yield 0.8 * (done + 1) / len(passes)
    ra, rb = (np.concatenate([x[i] for x in radius]) for i in range(2))
    ra, rb, _ = unique_pairs_of([(ra, rb, None)], r_items)
    ranker = PairRanker(table, rows, mirrors, look_block, compact=previous is not None)
    if previous is None:
        # every pair the search met (query first: a pair's look rank may differ in its last bit with
        # the side it is seen from, and the full search keeps the lower), each once
        ca, cb, _ = unique_pairs_of([k.quota() for k in kept] + [(ra, rb, None)], r_items)
        best, best_rank = yield from scaled(ranker.best_of(ca, cb, k_best), 0.8, 1.0)
        del ca, cb
    else:
        quota = [k.quota() for k in kept]
        owners = np.concatenate([q[0] for q in quota] + [ra])
        partners = np.concatenate([q[1] for q in quota] + [rb])
        changed, sides = _changed_pairs(previous, new_of_old, kept, (ra, rb), r_items)
        held = np.where(previous.best >= 0, new_of_old[np.maximum(previous.best, 0)], -1)
        best, best_rank = yield from scaled(update_best(ranker, changed, sides, (owners, partners), old_of,
                                                        (previous.best, held, previous.best_rank), k_best), 0.8, 1.0)
    counts = np.stack([np.bincount(k.owner, minlength=r_items) for k in kept]).astype(np.uint16)
    state = SearchState(config, keys, first, stop, crowded, counts,
                        np.concatenate([k.partner for k in kept]).astype(np.int32),
                        np.concatenate([k.code for k in kept]).astype(np.uint8), cut,
                        ra.astype(np.int32), rb.astype(np.int32), best.astype(np.int32), best_rank.astype(np.float32))
    slot_owner = np.repeat(np.arange(r_items), k_best)
    other = best.reshape(-1)
    live = other >= 0
    a, b = rows[slot_owner[live]], rows[other[live]]
    a, b, _ = unique_pairs_of([(np.minimum(a, b), np.maximum(a, b), None)], n)
    return (a, b, view_distance(phash, a, b).astype(np.uint8)), state


def _packed(got: tuple) -> tuple:
    """What a forked child sends of one pass (shared_passes.py): the pairs narrow, and not what
    `_unpacked` makes again from them and the stored state."""
    (first, stop, crowded, cut), kept, radius = got
    return ((first.astype(np.int32), stop.astype(np.int32), crowded, cut),
            (kept.owner.astype(np.int32), kept.partner.astype(np.int32), kept.code, kept.dropped, kept.chosen), radius)


def _unpacked(packed: tuple, stored_kept, r_items: int) -> tuple:
    """`_one_pass`'s result again from `_packed`'s (`stored_kept`: the pass's, None for a search
    from nothing)."""
    delimiters, (owner, partner, code, dropped, chosen), radius = packed
    if stored_kept is None:   # as _one_pass keeps them: narrow, no change recorded
        return delimiters, _Kept(owner, partner, code, dropped, chosen, (), dropped), radius
    owner, partner = owner.astype(np.int64), partner.astype(np.int64)
    keys = (owner * r_items + partner)[code < _RESERVE]
    return delimiters, _Kept(owner, partner, code, dropped, chosen, (_quota_keys(stored_kept[:3], r_items),), keys), radius


def _changed_pairs(previous: SearchState, new_of_old: np.ndarray, kept: list[_Kept],
                   radius: tuple[np.ndarray, np.ndarray], r_items: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (unordered keys min * R + max, sorted) met from another set of sides than in the
    last search (came, went or changed sides; those with a deleted image left out), and today's
    sides of those still met (oriented keys a * R + b)."""
    old_radius = _keys(new_of_old[previous.radius_a], new_of_old[previous.radius_b], r_items)
    new_radius = radius[0] * r_items + radius[1]
    radius_moved = np.r_[old_radius[~_member(old_radius, new_radius)], new_radius[~_member(new_radius, old_radius)]]
    cand = _distinct(np.concatenate([radius_moved] + [np.r_[k.dropped, k.chosen] for k in kept]))
    then = _member(cand, old_radius)
    now = _member(cand, new_radius)
    for k in kept:
        for part in k.stored:
            then |= _member(cand, part)
        now |= _member(cand, k.keys)
    moved = cand[then != now]
    a, b = moved // r_items, moved % r_items
    changed = _distinct(np.minimum(a, b) * r_items + np.maximum(a, b))
    lo, hi = changed // r_items, changed % r_items
    both = np.r_[lo * r_items + hi, hi * r_items + lo]
    seen = _member(both, new_radius)
    for k in kept:
        seen |= _member(both, k.keys)
    return changed, both[seen]


def _distinct(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique hashes int64 keys, many times slower here)."""
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]] if len(x) else x


def _keys(a: np.ndarray, b: np.ndarray, r_items: int) -> np.ndarray:
    """Oriented keys of the pairs whose images are both still there (in their stored order)."""
    alive = (a >= 0) & (b >= 0)
    return a[alive] * r_items + b[alive]


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of `keys` is in `sorted_keys`."""
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(keys), bool)
    at = np.minimum(search_sorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _one_pass(phash: np.ndarray, rows: np.ndarray, ps: _Pass, groups: np.ndarray, ids: np.ndarray,
              item_of_row: np.ndarray, old_of: np.ndarray, previous: SearchState | None, stored_kept,
              p: int, threshold: int, per_image: int, n: int, shared: "_ViewSet"):
    """One pass: the delimiters of every image's neighbourhood and its cut kinds, the pairs it keeps
    and the longer-key passes' pairs (items). `stored_kept`: the pass's stored pairs in today's items
    (SearchState.kept); `shared`: what the pass's view set's passes share, made here when missing."""
    r_items = len(rows)
    if shared.index is None:
        shared.index = _index_hashes(phash, rows, ps)
    q_rows, flat = shared.index
    m_rows = q_rows
    width = ps.cols.stop - ps.cols.start
    out_first = np.full(r_items, NOT_A_QUERY, np.int64)
    out_stop, out_crowded = out_first.copy(), np.zeros(r_items, bool)
    out_cut = np.zeros(r_items, np.uint8)
    empty = np.zeros(0, np.int64)
    z8 = np.zeros(0, np.uint8)
    # every stored pair of this pass is dropped unless it is held below
    dropped = empty if previous is None else None
    if len(q_rows) == 0:
        dropped = empty if previous is None else _quota_keys(stored_kept[:3], r_items)
        return ((out_first, out_stop, out_crowded, out_cut), _Kept(empty, empty, z8, dropped, empty, (dropped,), empty),
                (empty, empty))
    query = np.ascontiguousarray(phash[q_rows, ps.view])
    if previous is None:   # a search from nothing: the whole bucket order (join.py)
        if shared.order is None:
            shared.order = ValueOrder(flat)
        nb = neighbourhoods(query, flat, ids[m_rows], width, ps.chunk, FULL_BUCKET, values=shared.order)
    else:                  # a rescan: the same neighbourhoods from the marks alone (mark_runs.py)
        nb = MarkRuns(query, flat, ids[m_rows], width, ps.chunk)
    q_items = item_of_row[q_rows]
    entry_item = item_of_row[m_rows]

    def stored(entry: np.ndarray, through: np.ndarray) -> np.ndarray:
        """Delimiter entries as stored (-1 stays), through `through` (image -> stored image)."""
        it = through[entry_item[np.maximum(entry, 0) // width]]
        return np.where(entry < 0, -1, np.where(it < 0, MOVED, it * width + np.maximum(entry, 0) % width))

    out_first[q_items] = stored(nb.first, np.arange(r_items))
    out_stop[q_items] = stored(nb.stop, np.arange(r_items))
    out_crowded[q_items] = nb.crowded
    old_q = old_of[q_items]
    fresh = old_q < 0
    held = (empty, empty, z8)      # kept pairs that stay as they are (items)
    recap = (empty, empty, z8)     # pairs of queries whose choice is made again (rows, rows, d)
    known = None                   # what those queries held: keys (rows) and cut kinds per row
    if previous is not None and (~fresh).any():
        u = np.flatnonzero(~fresh)
        same = ((previous.first[p, old_q[u]] == stored(nb.first[u], old_of))
                & (previous.stop[p, old_q[u]] == stored(nb.stop[u], old_of))
                & (previous.crowded[p, old_q[u]] == nb.crowded[u]))
        k_owner, k_partner, k_code = stored_kept[:3]
        # a query that lost a further pair of a kind it had cut, and holds fewer than its quota of
        # that kind now, may have a next pair it never held: searched again
        lost = (k_owner >= 0) & (k_partner < 0) & _far(k_code)
        again = np.zeros(r_items, bool)
        again[k_owner[_reserve_spent(stored_kept[3], k_code, k_partner >= 0, lost, previous.cut[p], per_image)]] = True
        same &= ~again[q_items[u]]
        fresh[u[~same]] = True
        delta = u[same]
        adds = (empty, empty, empty)
        if len(delta) and (old_of[entry_item] < 0).any():
            added = np.flatnonzero(old_of[entry_item] < 0)
            qa, ea, da = nb.added_pairs(delta, (added[:, None] * width + np.arange(width)).reshape(-1), threshold)
            adds = (q_rows[qa], m_rows[ea // width], da)
        out_cut[q_items[delta]] = previous.cut[p, old_q[delta]]
        # per owner (the last entry: a deleted one) 1 when its query is patched, | 2 when its pairs
        # are chosen again: it meets added entries or lost a further pair (a pair in reserve may
        # move into the quota)
        status = np.zeros(r_items + 1, np.uint8)
        status[q_items[delta]] = 1
        status[item_of_row[adds[0]]] |= 2
        status[k_owner[lost]] |= 2
        of_owner = status[k_owner]
        partner_alive = k_partner >= 0
        stay = (of_owner == 1) & partner_alive
        again_kept = (of_owner == 3) & partner_alive
        held = (k_owner[stay], k_partner[stay], k_code[stay])
        dropped = _quota_keys((k_owner[~stay], k_partner[~stay], k_code[~stay]), r_items)
        recap = (np.r_[rows[k_owner[again_kept]], adds[0]], np.r_[rows[k_partner[again_kept]], adds[1]],
                 np.r_[k_code[again_kept] & _DISTANCE, adds[2]].astype(np.uint8))
        cut_of_row = np.zeros(n, np.uint8)
        cut_of_row[rows[q_items[delta]]] = out_cut[q_items[delta]]
        known = (np.sort(rows[k_owner[again_kept]] * n + rows[k_partner[again_kept]]), cut_of_row)
    # fresh queries against their whole neighbourhoods, the others' kept pairs with added entries,
    # each query's quota chosen a block of whole queries at a time (memory bounded by the block)
    parts = [_choose(*_unique_pairs(q_rows[qi], m_rows[e // width], d, n), n, per_image, groups)
             for qi, e, d in _met(query, nb, np.flatnonzero(fresh), threshold)]
    parts.append(_choose(*_unique_pairs(recap[0], recap[1], recap[2], n), n, per_image, groups, known))
    a, b, code, cut_rows, cut_bits = (np.concatenate([x[i] for x in parts]) for i in range(5))
    np.bitwise_or.at(out_cut, item_of_row[cut_rows], cut_bits)   # a query's two kinds: two entries
    chosen_owner, chosen_partner = item_of_row[a], item_of_row[b]
    owner = np.r_[held[0], chosen_owner]
    partner = np.r_[held[1], chosen_partner]
    key = owner * r_items + partner
    order = _merge_order(key, len(held[0]))
    codes = np.r_[held[2], code][order].astype(np.uint8)
    if previous is None:  # a search from nothing: no change to record, the pairs kept narrow
        kept = _Kept(owner[order].astype(np.int32), partner[order].astype(np.int32), codes, empty, empty, (), empty)
    else:
        if dropped is None:   # no query patched: every stored pair is dropped
            dropped = _quota_keys(stored_kept[:3], r_items)
        held_keys = key[:len(held[0])][held[2] < _RESERVE]
        if len(held_keys) > 1 and not (held_keys[1:] >= held_keys[:-1]).all():
            held_keys = np.sort(held_keys)
        # of the stored pairs of the quota not held as they were, those chosen into it again are
        # no change
        chosen = np.sort(_quota_keys((chosen_owner, chosen_partner, code), r_items))
        kept = _Kept(owner[order], partner[order], codes, dropped[~_member(dropped, chosen)],
                     chosen[~_member(chosen, dropped)], (dropped, held_keys), key[order][codes < _RESERVE])
    ra, rb = _radius(query, flat, nb, ps.chunk, threshold, q_rows, m_rows, width, n)
    return (out_first, out_stop, out_crowded, out_cut), kept, (item_of_row[ra], item_of_row[rb])


def _index_hashes(phash: np.ndarray, rows: np.ndarray, ps: _Pass) -> tuple[np.ndarray, np.ndarray]:
    """The rows taking part in a pass (a region join leaves blanked regions out) and its index's
    hashes, views of a row side by side."""
    if ps.view:
        rows = rows[phash[rows, ps.view] != NO_HASH]
    return rows, np.ascontiguousarray(phash[rows, ps.cols]).reshape(-1)


def _merge_order(key: np.ndarray, sorted_head: int) -> np.ndarray:
    """The stable argsort of `key`, whose first `sorted_head` values (the held pairs, about 90% of
    a rescan's) are sorted already: the rest sorted alone and merged in (a stable argsort of the
    whole was a tenth of a second a pass at 100,000 images)."""
    head, tail = key[:sorted_head], key[sorted_head:]
    if len(head) < 2 or not (head[1:] >= head[:-1]).all():
        return np.argsort(key, kind="stable")
    t_order = np.argsort(tail, kind="stable")
    place = np.searchsorted(head, tail[t_order], side="right") + np.arange(len(tail))  # after equal held ones
    order = np.empty(len(key), np.int64)
    from_tail = np.zeros(len(key), bool)
    from_tail[place] = True
    order[place] = sorted_head + t_order
    order[~from_tail] = np.arange(sorted_head)
    return order


def _far(code: np.ndarray) -> np.ndarray:
    """Whether each kept pair is further than GUARANTEED_RADIUS (of a kind with a quota)."""
    return (code & _DISTANCE) > GUARANTEED_RADIUS


def _kind(code: np.ndarray) -> np.ndarray:
    """Each kept pair's kind as candidates.ranked_pairs numbers them (0 within the radius, 1
    further across splits, 2 further within a split)."""
    return np.where(_far(code), 1 + ((code & _WITHIN) > 0), 0)


def _quota_keys(kept: tuple[np.ndarray, np.ndarray, np.ndarray], r_items: int) -> np.ndarray:
    """Oriented keys of the kept pairs (owner, partner, code) in the quota (not in reserve) whose
    images are both still there."""
    owner, partner, code = kept
    quota = code < _RESERVE
    return _keys(owner[quota], partner[quota], r_items)


def _choose(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int, per_image: int, groups: np.ndarray,
            known: tuple[np.ndarray, np.ndarray] | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What queries keep of the unique pairs (rows a, b, d) they met: every pair within
    GUARANTEED_RADIUS and the per_image closest further ones of each kind (the quota, as
    candidates.capped_pairs), then up to RESERVE more of each kind coded _RESERVE; and the queries
    (rows) that met more of a kind than they keep, with those kinds' bits (1 << kind - 1).

    `known` = (sorted keys a * n + b, cut kinds per row) when the pairs are the ones queries held
    and the ones they newly met: in a kind a query had cut, the pairs it never held that come after
    its last held one are left out (one it never met may come before them), and the kind stays cut.
    """
    run, b, d, rank = ranked_pairs(a, b, d, n, groups)
    a, kind = np.divmod(run, 3)
    limit = np.full(len(run), per_image + RESERVE, np.int64)
    cut_then = np.zeros(len(run), bool)
    head = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]) if len(run) else np.zeros(0, np.int64)
    size = np.diff(np.r_[head, len(run)])
    if known is not None and len(run):
        keys, cut_of_row = known
        cut_then = (kind > 0) & ((cut_of_row[a] >> np.maximum(kind - 1, 0)) & 1).astype(bool)
        last = np.maximum.reduceat(np.where(_member(a * n + b, keys), rank, -1), head)   # per run
        limit = np.where(cut_then, np.minimum(limit, np.repeat(last, size) + 1), limit)
    keep = (kind == 0) | (rank < limit)
    cut = (kind > 0) & (cut_then | (np.repeat(size, size) > per_image + RESERVE))
    ends = head[cut[head]]
    code = (d | np.where(groups[a] == groups[b], _WITHIN, 0) | np.where((kind > 0) & (rank >= per_image), _RESERVE, 0))
    return (a[keep], b[keep], code[keep].astype(np.uint8), a[ends],
            (1 << (kind[ends] - 1)).astype(np.uint8))


def _reserve_spent(owner: np.ndarray, code: np.ndarray, alive: np.ndarray, lost: np.ndarray, cut: np.ndarray,
                   per_image: int) -> np.ndarray:
    """Per stored pair (sorted by owner, a stored image) whether its owner had cut its kind and
    holds fewer than per_image pairs of it alive: counted over the owners that `lost` one only (a
    few; an owner that lost none holds at least its quota of every kind it cut)."""
    losing = np.zeros(int(owner.max(initial=-1)) + 1, bool)
    losing[owner[lost]] = True
    mine = np.flatnonzero(losing[owner])
    kind = _kind(code[mine])
    key = owner[mine].astype(np.int64) * 3 + kind
    left = np.bincount(key, weights=alive[mine], minlength=len(losing) * 3)
    had_cut = ((cut[owner[mine]] >> np.maximum(kind - 1, 0)) & 1).astype(bool)
    out = np.zeros(len(owner), bool)
    out[mine] = (kind > 0) & had_cut & (left[key] < per_image)
    return out


def _met(query: np.ndarray, nb, queries: np.ndarray, threshold: int
         ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The `queries` against their whole neighbourhoods: (q, entry, d) within the threshold."""
    if len(queries) == 0:
        return
    if isinstance(nb, MarkRuns):
        yield from nb.met(queries, threshold)
        return
    for _, q, entry, d in compare_runs(query, nb, queries, MIH_BLOCK, threshold):
        yield q, entry, d


def _radius(query: np.ndarray, flat: np.ndarray, nb, chunk: int, threshold: int, q_rows: np.ndarray,
            m_rows: np.ndarray, width: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The longer-key passes of the crowded buckets (join.mih_entries), over every query."""
    crowd = np.flatnonzero(nb.crowded)
    if len(crowd) == 0:
        e = np.zeros(0, np.int64)
        return e, e.copy()
    parts = []
    for _, q, entry, d in crowded_passes(query, flat, crowd, nb.sizes[crowd], chunk, threshold):
        a, b, _ = _unique_pairs(q_rows[q], m_rows[entry // width], d, n)
        parts.append((a, b))
    if not parts:
        e = np.zeros(0, np.int64)
        return e, e.copy()
    return np.concatenate([x[0] for x in parts]), np.concatenate([x[1] for x in parts])


