"""A rescan's candidate search, patched from the last search's choices, finds exactly what a search
from nothing finds, also where a naive patch would not: an added image that displaces an unchanged
image's best partner, a deleted image that was one, an added copy that becomes its exact group's
representative, and crowded hash buckets whose neighbourhoods gain and lose entries and marks."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from inspector.core.hashing import FIRST_REGION_VIEW, N_VIEWS
from inspector.core.leakage import checks, incremental, join, mark_runs, rescan
from inspector.core.leakage.candidates import stable_ids
from inspector.core.leakage.progress import drain
from inspector.core.table_from_images import table_from_images

SPLITS = ("train", "val", "test")
_U = np.uint64


def _picture(seed: int, tweak: int = 0) -> np.ndarray:
    """A smooth 64x64 picture; with `tweak`, the same picture with a few pixels one level off."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 6)).astype(np.uint8)
    out = np.asarray(Image.fromarray(small).resize((64, 64), Image.BILINEAR)).copy()
    if tweak:
        out.reshape(-1)[np.random.default_rng(tweak).choice(out.size, 5, replace=False)] += 1
    return out


@dataclasses.dataclass
class Item:
    """One image of a synthetic dataset: its pixels come from `seed`, its hashes are given (so that
    buckets can be crowded on purpose)."""
    path: str
    split: str
    seed: int
    hashes: np.ndarray
    tweak: int = 0


def _table(items: list[Item]):
    items = sorted(items, key=lambda it: (SPLITS.index(it.split), it.path))   # as a scan orders them
    table = table_from_images([(it.path, it.split, None, Image.fromarray(_picture(it.seed, it.tweak))) for it in items],
                              split_names=list(SPLITS))
    return dataclasses.replace(table, phash=np.stack([it.hashes for it in items]).astype(np.uint64))


def _flip(h: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    out = h.copy()
    for v in range(len(out)):
        out[v] ^= _U(sum(1 << int(b) for b in rng.choice(64, bits, replace=False)))
    return out


def _dataset(rng: np.random.Generator, n: int, crowd: int) -> list[Item]:
    """n images; `crowd` of them share the top 16-bit chunk in every view (a crowded bucket: crowd x
    14 views > FULL_BUCKET) and sit a few bits from each other; every fifth image has a near twin."""
    items = []
    base = rng.integers(0, 1 << 63, dtype=np.uint64)
    for i in range(n):
        if i < crowd:
            h = np.full(N_VIEWS, base, np.uint64)
            h = _flip(h, rng, int(rng.integers(2, 9))) & _U(0x0000FFFFFFFFFFFF) | (base & _U(0xFFFF000000000000))
        elif i % 5 == 0 and items:
            h = _flip(items[-1].hashes, rng, int(rng.integers(1, 8)))
        else:
            h = rng.integers(0, 1 << 63, N_VIEWS, dtype=np.uint64)
        h[FIRST_REGION_VIEW:] = h[FIRST_REGION_VIEW:] if i % 3 else 0   # some regions blank
        items.append(Item(f"{SPLITS[i % 3]}/img{i:05d}.png", SPLITS[i % 3], int(rng.integers(1 << 30)), h))
    return items


def _search(table, memo=None):
    rep = checks._exact_findings(table, True)[1]
    if memo is None:
        return drain(checks._near_candidates(table, rep, checks.NEAR_THRESHOLD, True, True))
    with incremental.reusing(memo):
        return drain(checks._near_candidates(table, rep, checks.NEAR_THRESHOLD, True, True))


def _patched(before, after):
    """The search of `after` patched from the search of `before` (the full search's state), and
    the number of queries the patch compared with whole neighbourhoods."""
    memo = incremental.VerdictMemo(None)
    first = _search(before, memo)
    assert memo.made_search is not None
    met = []
    real = rescan._met

    def counting(top_q, nb, queries, threshold):
        met.append(len(queries))
        return real(top_q, nb, queries, threshold)

    rescan._met = counting
    try:
        second = _search(after, incremental.VerdictMemo(memo.encoded()))
    finally:
        rescan._met = real
    return first, second, sum(met)


def _same(x, y) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(x, y))


def _partners(pairs, table, path) -> set[str]:
    """The images paired with `path` (its own best partners and those it is a best partner of)."""
    row = list(table.paths).index(path)
    a, b, _ = pairs
    return {table.paths[int(j)] for j in np.r_[b[a == row], a[b == row]]}


def _own_best(table, path) -> set[str]:
    """The best partners of `path` itself, from a full search's kept choices."""
    memo = incremental.VerdictMemo(None)
    _search(table, memo)
    rows = np.flatnonzero(checks._exact_findings(table, True)[1] == np.arange(len(table)))
    item = int(np.flatnonzero(rows == list(table.paths).index(path))[0])
    return {table.paths[int(rows[j])] for j in memo.made_search["best"][item] if j >= 0}


def test_the_full_search_with_kept_choices_equals_the_plain_search():
    table = _table(_dataset(np.random.default_rng(1), 240, 110))
    memo = incremental.VerdictMemo(None)
    assert _same(_search(table, memo), _search(table))
    assert len(_search(table)[0]) > 100


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_a_patched_rescan_equals_a_search_from_nothing_after_random_changes(seed):
    rng = np.random.default_rng(seed)
    items = _dataset(rng, 300, 120)
    before = _table(items)
    kept = [it for it in items if rng.random() > 0.04]
    for it in rng.choice(len(kept), 6, replace=False):              # rewritten: new pixels and hashes
        kept[it] = dataclasses.replace(kept[it], seed=int(rng.integers(1 << 30)),
                                       hashes=_flip(kept[it].hashes, rng, 2))
    added = [dataclasses.replace(it, path=it.path.replace("img", "new"), seed=int(rng.integers(1 << 30)),
                                 hashes=_flip(it.hashes, rng, int(rng.integers(0, 6))))
             for it in (items[int(i)] for i in rng.choice(len(items), 12, replace=False))]
    after = _table(kept + added)
    _, patched, compared = _patched(before, after)
    assert _same(patched, _search(after))
    # the patch compares few queries with whole neighbourhoods (one pass each: 4 chunks, 3 joins)
    assert compared < 0.5 * len(after) * 4


def test_an_added_look_alike_displaces_an_unchanged_images_partner_and_a_deleted_partner_is_replaced():
    rng = np.random.default_rng(5)
    items = _dataset(rng, 200, 0)
    hub = items[40]
    # eight images near the hub's hashes: more candidates than it keeps partners
    near = [dataclasses.replace(items[41 + k], hashes=_flip(hub.hashes, rng, 2 + k % 4)) for k in range(8)]
    items[41:49] = near
    before = _table(items)
    kept_before = _own_best(before, hub.path)
    assert len(kept_before) == checks.CONFIRM_NEIGHBOURS
    # added: a near twin of the hub (a few pixels one level off), which takes the best place and
    # pushes out the last; or deleted: one of the hub's partners, whose place the next one takes
    twin = Item("test/zz_twin.png", "test", hub.seed, _flip(hub.hashes, rng, 1), tweak=1)
    lost = sorted(kept_before)[0]
    displaced = _table(items + [twin])
    replaced = _table([it for it in items if it.path != lost])
    for after in (displaced, replaced):
        _, patched, _ = _patched(before, after)
        assert _same(patched, _search(after))
    kept = _own_best(displaced, hub.path)
    assert twin.path in kept and len(kept - kept_before) == 1 and len(kept) == checks.CONFIRM_NEIGHBOURS
    kept = _own_best(replaced, hub.path)
    assert lost not in kept and len(kept - kept_before) == 1 and len(kept) == checks.CONFIRM_NEIGHBOURS


def test_an_added_copy_that_comes_first_in_its_exact_group_becomes_the_representative():
    rng = np.random.default_rng(6)
    items = _dataset(rng, 150, 0)
    original = items[30]
    copy = dataclasses.replace(original, path=original.path.replace("img", "aaa"))  # same pixels, earlier
    before = _table(items)
    after = _table(items + [copy])
    rep = checks._exact_findings(after, True)[1]
    row_copy, row_orig = list(after.paths).index(copy.path), list(after.paths).index(original.path)
    assert rep[row_orig] == row_copy != row_orig
    _, patched, _ = _patched(before, after)
    assert _same(patched, _search(after))
    assert _partners(patched, after, copy.path) and not _partners(patched, after, original.path)


def test_a_crowded_bucket_loses_and_gains_segment_marks():
    rng = np.random.default_rng(7)
    items = _dataset(rng, 260, 160)
    before = _table(items)
    width = FIRST_REGION_VIEW
    marked = join.segment_marks(stable_ids(before.content_hash), width).reshape(len(before), width).any(axis=1)
    crowd = {it.path for it in items[:160]}
    rows = [i for i in range(len(before)) if before.paths[i] in crowd]
    gone = [before.paths[i] for i in rows if marked[i]][:3] + [before.paths[i] for i in rows if not marked[i]][:3]
    assert len(gone) == 6
    # added into the crowd: images with a marked view (they cut a segment in two) and without
    added, with_mark = [], 0
    while len(added) < 16:
        it = Item(f"train/zz{len(added):02d}.png", "train", int(rng.integers(1 << 30)),
                  _flip(items[len(added)].hashes, rng, 3))
        one = _table([it])
        mark = bool(join.segment_marks(stable_ids(one.content_hash), width).any())
        if mark and with_mark < 8 or not mark and len(added) - with_mark < 8:
            added.append(it)
            with_mark += mark
    after = _table([it for it in items if it.path not in gone] + added)
    nb_counts = np.bincount((after.phash[:, :width].reshape(-1) >> _U(48)).astype(np.int64))
    assert nb_counts.max() > join.FULL_BUCKET
    _, patched, _ = _patched(before, after)
    assert _same(patched, _search(after))


def test_equal_delimiters_mean_the_same_unchanged_entries_in_a_neighbourhood():
    """The property the patch stands on: in a crowded bucket, a query whose neighbourhood is
    delimited by the same two entries (or bucket edges) before and after entries came and went
    meets the same unchanged entries; and either delimiter alone can move."""
    rng = np.random.default_rng(8)
    n = 3000
    values = (_U(0xABCD) << _U(48)) | rng.integers(0, 1 << 48, n, dtype=np.uint64)
    ids = rng.integers(0, 1 << 63, n, dtype=np.uint64)
    queries = values[rng.choice(n, 300, replace=False)]

    def runs(keep):
        v, i = values[keep], ids[keep]
        nb = join.neighbourhoods(queries, v, i, 1, 3, join.FULL_BUCKET)   # chunk 3: the top bits
        entry = keep[nb.order]              # entry numbers -> the original entries
        met = [set(entry[s:s + c].tolist()) for s, c in zip(nb.start, nb.cnt)]
        delim = [(-1 if f < 0 else keep[f], -1 if t < 0 else keep[t]) for f, t in zip(nb.first, nb.stop)]
        return met, delim, nb.crowded

    before = np.sort(rng.choice(n, 2600, replace=False))
    after = np.sort(np.r_[rng.choice(before, 2550, replace=False), np.setdiff1d(np.arange(n), before)[:60]])
    unchanged = set(np.intersect1d(before, after).tolist())
    (m0, d0, c0), (m1, d1, c1) = runs(before), runs(after)
    assert c0.all() and c1.all()
    equal = 0
    moved = {"first": 0, "stop": 0}
    for q in range(len(queries)):
        if d0[q] == d1[q]:
            equal += 1
            assert m0[q] & unchanged == m1[q] & unchanged
        else:
            moved["first"] += d0[q][0] != d1[q][0] and d0[q][1] == d1[q][1]
            moved["stop"] += d0[q][1] != d1[q][1] and d0[q][0] == d1[q][0]
    assert equal > len(queries) // 2 and moved["first"] and moved["stop"]


def test_a_dataset_too_large_to_keep_the_choices_of_is_searched_as_without_the_cache(monkeypatch):
    table = _table(_dataset(np.random.default_rng(9), 120, 0))
    monkeypatch.setattr(rescan, "KEEP_UP_TO", 100)
    memo = incremental.VerdictMemo(None)
    assert _same(_search(table, memo), _search(table))
    assert memo.made_search is None


def test_the_pairs_of_parts_keyed_one_by_one_are_the_distinct_pairs_with_their_least_distance():
    """unique_pairs_of (a search from nothing keys its pairs part by part: int32 parts among int64
    ones, repeats, self pairs, parts without distances) gives each distinct pair a != b once, in
    (a, b) order, with its least distance (0 from a part without them)."""
    from inspector.core.leakage.candidates import unique_pairs_of

    rng = np.random.default_rng(5)
    r_items = 70_000  # owner * r_items overflows int32
    parts = [(rng.integers(0, r_items, m).astype(dtype), rng.integers(0, r_items, m).astype(dtype),
              rng.integers(0, 40, m).astype(np.uint8)) for m, dtype in ((5000, np.int32), (3000, np.int64), (0, np.int32))]
    parts.append((parts[0][0][:700].astype(np.int64), parts[0][1][:700].astype(np.int64), None))  # repeats, d 0
    parts.append((parts[1][0][:500], parts[1][1][:500], parts[1][2][:500] // 2))                 # lower d
    parts.append((np.arange(50, dtype=np.int32), np.arange(50, dtype=np.int32), None))            # self pairs
    least: dict[tuple[int, int], int] = {}
    for a, b, d in parts:
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
            if x != y:
                least[(x, y)] = min(least.get((x, y), 99), 0 if d is None else int(d[i]))
    want = sorted(least.items())
    ua, ub, ud = unique_pairs_of(parts, r_items)
    assert len(ua) == len(want) < sum(len(p[0]) for p in parts) - 700
    assert [((x, y), z) for x, y, z in zip(ua.tolist(), ub.tolist(), ud.tolist())] == want


def test_neighbourhoods_from_the_marks_alone_are_the_bucket_orders():
    """mark_runs.MarkRuns (a rescan's neighbourhoods, found from the bucket sizes and the sorted
    segment marks, no sort of the index) gives join.neighbourhoods' delimiters, crowded flags and
    bucket sizes, meets the same entries (whole neighbourhoods, and added entries inside them),
    also among many equal values, marks tied with other entries and crowded buckets whose first
    entry is a mark."""
    rng = np.random.default_rng(3)
    seen = {"crowded": 0, "head mark": 0, "inner": 0}
    for trial in range(16):
        rows, width = int(rng.integers(50, 2000)), int(rng.integers(1, 6))
        base = rng.integers(0, 2 ** 63, size=int(rng.integers(5, 200)), dtype=np.uint64) * _U(2)
        flat = base[rng.integers(0, len(base), rows * width)]                 # many equal values
        flat ^= (rng.random(len(flat)) < 0.3).astype(np.uint64) << _U(int(rng.integers(0, 64)))
        flat[rng.random(len(flat)) < 0.2] ^= rng.integers(0, 1 << 20, dtype=np.uint64)   # near values
        ids = rng.integers(0, 2 ** 63, rows, dtype=np.uint64)
        query = flat[::width].copy()
        full, segment = int(rng.integers(1, 50)), int(rng.integers(2, 6))
        for c in range(join.N_CHUNKS):
            nb = join.neighbourhoods(query, flat, ids, width, c, full, segment)
            mr = mark_runs.MarkRuns(query, flat, ids, width, c, full, segment)
            assert np.array_equal(mr.first, nb.first) and np.array_equal(mr.stop, nb.stop), (trial, c)
            assert np.array_equal(mr.crowded, nb.crowded) and np.array_equal(mr.sizes, nb.sizes), (trial, c)
            seen["crowded"] += int(nb.crowded.sum())
            seen["inner"] += int((nb.first >= 0).sum())
            head = mr._bucket_heads(np.flatnonzero(mr.bucket_crowded[mr.ekey]))
            seen["head mark"] += int(head.sum())
            runs = [set(nb.order[s:s + k].tolist()) for s, k in zip(nb.start, nb.cnt)]
            some = rng.choice(len(query), size=min(len(query), 60), replace=False)
            threshold = int(rng.integers(20, 40))
            met = {(int(q), int(e)) for q, e, d in zip(*mark_runs._drained(mr.met(some, threshold)))}
            want = {(int(q), e) for q in some for e in runs[q] if np.bitwise_count(query[q] ^ flat[e]) <= threshold}
            assert met == want and want, (trial, c)
            added = rng.choice(len(flat), size=min(len(flat), 80), replace=False)
            q, e, d = mr.added_pairs(some, added, threshold)
            got = set(zip(q.tolist(), e.tolist()))
            assert got == {(qe, ee) for qe, ee in want if ee in set(added.tolist())}, (trial, c)
            assert np.array_equal(d, np.bitwise_count(query[q] ^ flat[e]))
    assert all(v > 0 for v in seen.values()), seen


def _hub_dataset(rng: np.random.Generator, near: int):
    """200 images, and `near` look-alikes of image 40 (the hub) in its split, 4 to 9 bits from it in
    every view with chunk 0 untouched: in the first pass the hub meets them all, further than
    GUARANTEED_RADIUS, more than it keeps of that kind."""
    items = _dataset(rng, 200, 0)
    hub = items[40]
    for k in range(near):
        h = hub.hashes.copy()
        for v in range(len(h)):
            h[v] ^= _U(sum(1 << int(b) for b in rng.choice(np.arange(16, 64), 4 + k % 6, replace=False)))
        items.append(Item(f"{hub.split}/near{k:02d}.png", hub.split, int(rng.integers(1 << 30)), h))
    return items, hub


def _stored_of(table, state: dict, path: str, p: int = 0) -> tuple[list[str], list[str], int]:
    """The paths a search stored for `path` in pass p: in its quota, in reserve; and its cut kinds."""
    rows = np.flatnonzero(checks._exact_findings(table, True)[1] == np.arange(len(table)))
    item = int(np.flatnonzero(rows == list(table.paths).index(path))[0])
    counts = state["kept_count"].astype(np.int64)
    start = int(counts[:p].sum() + counts[p, :item].sum())
    at = slice(start, start + int(counts[p, item]))
    partner, code = state["kept_partner"][at], state["kept_code"][at]
    far = (code & 63) > join.GUARANTEED_RADIUS
    quota = [table.paths[int(rows[j])] for j in partner[far & (code < 128)]]
    reserve = [table.paths[int(rows[j])] for j in partner[far & (code >= 128)]]
    return quota, reserve, int(state["cut"][p, item])


def _chained(tables):
    """Searches of `tables` one after the other, each patched from the one before (the first from
    nothing): per search its pairs, its stored choices, and the view-0 hashes of the queries it
    compared with whole neighbourhoods."""
    out, memo = [], incremental.VerdictMemo(None)
    real = rescan._met
    for table in tables:
        met: list[int] = []

        def counting(top_q, nb, queries, threshold):
            met.extend(top_q[queries].tolist())
            return real(top_q, nb, queries, threshold)

        rescan._met = counting
        try:
            pairs = _search(table, memo)
        finally:
            rescan._met = real
        out.append((pairs, memo.made_search, set(met)))
        memo = incremental.VerdictMemo(memo.encoded())
    return out


@pytest.mark.parametrize("reserve", [1, 2, 3])
def test_a_query_that_loses_kept_pairs_takes_the_next_ones_from_its_reserve_until_it_runs_out(reserve, monkeypatch):
    monkeypatch.setattr(rescan, "RESERVE", reserve)
    rng = np.random.default_rng(11)
    items, hub = _hub_dataset(rng, 16)
    before = _table(items)
    quota, reserve, cut = _stored_of(before, _chained([before])[0][1], hub.path)
    assert len(quota) == checks.HASH_NEIGHBOURS and len(reserve) == rescan.RESERVE and cut
    # the quota's partners deleted one rescan after another: the first RESERVE come from the
    # reserve (the hub compared with no neighbourhood), the next one leaves it short: searched
    tables = [before]
    for k in range(rescan.RESERVE + 1):
        tables.append(_table([it for it in items if it.path not in quota[:k + 1]]))
    runs = _chained(tables)
    for k, (table, (pairs, state, met)) in enumerate(zip(tables[1:], runs[1:])):
        assert _same(pairs, _search(table))
        assert (int(hub.hashes[0]) in met) == (k == rescan.RESERVE)
        q, r, _ = _stored_of(table, state, hub.path)
        assert not set(q + r) & set(quota[:k + 1])
        assert len(q) == checks.HASH_NEIGHBOURS and len(r) == (rescan.RESERVE - k - 1 if k < rescan.RESERVE else rescan.RESERVE)


def test_a_query_that_loses_more_than_its_reserve_at_once_is_searched_again():
    rng = np.random.default_rng(12)
    items, hub = _hub_dataset(rng, 16)
    before = _table(items)
    quota, reserve, _ = _stored_of(before, _chained([before])[0][1], hub.path)
    gone = set(quota[-1:] + reserve)       # the quota's last and the whole reserve
    after = _table([it for it in items if it.path not in gone])
    (_, _, _), (pairs, state, met) = _chained([before, after])
    assert _same(pairs, _search(after)) and int(hub.hashes[0]) in met
    q, r, _ = _stored_of(after, state, hub.path)
    assert len(q) == checks.HASH_NEIGHBOURS and len(r) == rescan.RESERVE and not set(q + r) & gone


def test_a_query_that_met_no_more_than_it_keeps_has_nothing_cut_and_is_never_searched_again():
    rng = np.random.default_rng(13)
    items, hub = _hub_dataset(rng, checks.HASH_NEIGHBOURS + rescan.RESERVE)
    before = _table(items)
    quota, reserve, cut = _stored_of(before, _chained([before])[0][1], hub.path)
    assert len(quota) == checks.HASH_NEIGHBOURS and len(reserve) == rescan.RESERVE and not cut
    after = _table([it for it in items if it.path not in quota[:rescan.RESERVE + 2]])
    (_, _, _), (pairs, _, met) = _chained([before, after])
    assert _same(pairs, _search(after)) and int(hub.hashes[0]) not in met


def test_an_image_added_after_a_cut_querys_last_held_pair_is_not_kept_as_if_it_came_before_unseen_ones():
    """After the hub lost a pair, its last held pair of the cut kind is its 11th closest of 12 it ever
    held; an added look-alike further than that may come after pairs it never held (the 12th+), so
    it is not kept, and when later deletions leave the hub short it is found by the search again."""
    rng = np.random.default_rng(14)
    items, hub = _hub_dataset(rng, 20)
    before = _table(items)
    quota, reserve, _ = _stored_of(before, _chained([before])[0][1], hub.path)
    far_one = hub.hashes.copy()
    for v in range(len(far_one)):    # 10 bits: further than every held look-alike (4 to 9)
        far_one[v] ^= _U(sum(1 << int(b) for b in rng.choice(np.arange(16, 64), 10, replace=False)))
    added = Item(f"{hub.split}/zz_far.png", hub.split, int(rng.integers(1 << 30)), far_one)
    step1 = _table([it for it in items if it.path != quota[0]] + [added])
    step2 = _table([it for it in items if it.path not in quota[:rescan.RESERVE + 1]] + [added])
    runs = _chained([before, step1, step2])
    for table, (pairs, _, _) in zip((step1, step2), runs[1:]):
        assert _same(pairs, _search(table))
    q, r, _ = _stored_of(step1, runs[1][1], hub.path)
    assert added.path not in q + r


@pytest.mark.parametrize("seed", [15, 16])
def test_rescans_one_after_another_each_equal_a_search_from_nothing(seed):
    rng = np.random.default_rng(seed)
    items = _dataset(rng, 300, 120)
    tables = [_table(items)]
    for step in range(4):            # each time a few deleted, rewritten and added
        items = [it for it in items if rng.random() > 0.03]
        for i in rng.choice(len(items), 3, replace=False):
            items[i] = dataclasses.replace(items[i], seed=int(rng.integers(1 << 30)), hashes=_flip(items[i].hashes, rng, 2))
        items += [dataclasses.replace(it, path=it.path.replace("img", f"s{step}_"), seed=int(rng.integers(1 << 30)),
                                      hashes=_flip(it.hashes, rng, int(rng.integers(0, 6))))
                  for it in (items[int(i)] for i in rng.choice(len(items), 6, replace=False))]
        tables.append(_table(items))
    for table, (pairs, _, _) in zip(tables[1:], _chained(tables)[1:]):
        assert _same(pairs, _search(table))


@pytest.mark.parametrize("seed", range(6))
def test_merge_order_is_a_stable_argsort(seed):
    """The kept pairs' order (held ones sorted already, then the chosen ones): a stable argsort's,
    ties included, also when the held ones are not sorted."""
    rng = np.random.default_rng(seed)
    head = np.sort(rng.integers(0, 50, int(rng.integers(0, 40))))
    if seed == 5 and len(head) > 2:
        head = head[::-1].copy()
    key = np.r_[head, rng.integers(0, 50, int(rng.integers(0, 40)))]
    assert np.array_equal(rescan._merge_order(key, len(head)), np.argsort(key, kind="stable"))


def _some_deleted_and_nine_added(seed: int):
    """A table of 300 images, and the same with about 5% deleted and 9 near copies added."""
    rng = np.random.default_rng(seed)
    items = _dataset(rng, 300, 120)
    return _table(items), _table([it for it in items if rng.random() > 0.05] + [
        dataclasses.replace(it, path=it.path.replace("img", "new"), seed=int(rng.integers(1 << 30)),
                            hashes=_flip(it.hashes, rng, 2)) for it in items[:9]])


def test_a_rescan_sharing_its_passes_with_a_forked_child_finds_the_same(monkeypatch):
    from inspector.core.leakage import shared_passes
    if not shared_passes._CAN_FORK:
        pytest.skip("no fork here")
    before, after = _some_deleted_and_nine_added(9)
    memo = incremental.VerdictMemo(None)
    _search(before, memo)
    stored = memo.encoded()
    here = incremental.VerdictMemo(stored)
    alone = _search(after, here)
    monkeypatch.setattr(shared_passes, "_allowed", True)
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    made = incremental.VerdictMemo(stored)
    shared = _search(after, made)
    assert _same(shared, alone) and _same(shared, _search(after))
    # the choices kept for the next rescan too, array for array, dtypes included
    assert made.made_search.keys() == here.made_search.keys()
    for k, v in here.made_search.items():
        assert np.array_equal(made.made_search[k], v) and made.made_search[k].dtype == v.dtype, k
    fresh = incremental.VerdictMemo(None)   # and a search from nothing, shared: what it keeps
    _search(before, fresh)
    assert all(np.array_equal(fresh.made_search[k], v) and fresh.made_search[k].dtype == v.dtype
               for k, v in memo.made_search.items())


def test_passes_made_in_two_threads_find_and_keep_the_same_as_in_one(monkeypatch):
    import threading
    from inspector.core.leakage import shared_passes
    before, after = _some_deleted_and_nine_added(11)
    monkeypatch.setattr(shared_passes, "_allowed", False)
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    real, threads = rescan._one_pass, set()

    def recording(*args):
        threads.add(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(rescan, "_one_pass", recording)

    def searches():
        """The full search of `before` and the rescan of `after` patched from it, with the choices kept."""
        first = incremental.VerdictMemo(None)
        full = _search(before, first)
        made = incremental.VerdictMemo(first.encoded())
        return full, first.made_search, _search(after, made), made.made_search

    monkeypatch.setenv(shared_passes.THREADS_ENV, "1")
    alone = searches()
    assert threads == {threading.current_thread().name}
    threads.clear()
    monkeypatch.delenv(shared_passes.THREADS_ENV)
    two = searches()
    assert len(threads) == 2 and all(name.startswith("search-pass") for name in threads)
    for one, other in ((alone[0], two[0]), (alone[2], two[2])):
        assert _same(one, other)
    for one, other in ((alone[1], two[1]), (alone[3], two[3])):   # array for array, dtypes included
        assert one.keys() == other.keys()
        assert all(np.array_equal(one[k], other[k]) and one[k].dtype == other[k].dtype for k in one)
    assert _same(two[2], _search(after))
