"""The leakage search made cheaper without changing its findings: each image's look vector is made
once per search, and a rescan reuses the confirmation of candidate pairs whose images did not change
(compared with a search from nothing on datasets whose copies are made and destroyed by the change)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inspector import cli
from inspector.core.leakage import checks, find_leakage, incremental, looks
from inspector.core.leakage.confirmation import PairScores
from inspector.core.leakage.looks import LookRanker
from inspector.core.leakage.progress import drain
from inspector.core.table_from_images import table_from_images
from test_cache import HOUR_NS, age
from test_leakage import TRANSFORMS, reload, sky, stroke, texture


def _tiny_table(n: int, seed: int):
    """Tiny images (below the confirmation's TINY_SIDE): random ones, each third one a noisy or
    mirrored copy of the one before it, and a few larger photos."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        if i % 3 == 2:
            prev = images[-1].astype(np.int16)
            noisy = np.clip(prev + rng.integers(-int(rng.integers(1, 40)), 40, prev.shape), 0, 255)
            images.append((noisy if rng.random() < 0.6 else noisy[:, ::-1]).astype(np.uint8))
        else:
            side = 32 if i % 7 else 80
            base = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
            images.append(np.asarray(Image.fromarray(base).resize((side, side), Image.BILINEAR)))
    splits = ["train", "val", "test"]
    return table_from_images([(f"{i}.png", splits[i % 3], None, Image.fromarray(im)) for i, im in enumerate(images)])


def _reference_looks(table, a, b, mirrors=True):
    """What the ranker computed before it kept anything: every pair's look correlation in full."""
    v = real_vectors(table.thumb)
    score, _ = real_pair_looks(v[a], v[b], mirrors)
    small = np.minimum(table.width, table.height) < looks.TINY_SIDE
    ok = score >= np.where(small[a] | small[b], looks.TINY_LOOK_FLOOR, -1.0)
    return ok, looks._look_rank(score, table.split[a] == table.split[b])


real_vectors = looks._look_vectors
real_pair_looks = looks._pair_looks


@pytest.mark.parametrize("compact", [False, True])   # True: a rescan's, its vectors in the order made
@pytest.mark.parametrize("memory", [looks.LOOK_MEMORY, 0])
def test_the_look_ranker_makes_each_vector_once_skips_hopeless_pairs_and_ranks_as_before(monkeypatch, memory, compact):
    table = _tiny_table(90, 3)
    rng = np.random.default_rng(4)
    near = np.arange(2, 90, 3)
    blocks = [(rng.integers(0, 90, m), rng.integers(0, 90, m)) for m in (3, 10, 300, 300)]  # vectors made in steps
    blocks.append((near - 1, near))  # the copies
    made, compared = [], []
    monkeypatch.setattr(looks, "LOOK_MEMORY", memory)
    monkeypatch.setattr(looks, "_look_vectors", lambda t: made.append(len(t)) or real_vectors(t))
    monkeypatch.setattr(looks, "_pair_looks", lambda x, y, m: compared.append(len(x)) or real_pair_looks(x, y, m))
    ranker = LookRanker(table, compact=compact)
    for a, b in blocks:
        ok, rank = ranker(a, b)
        ok0, rank0 = _reference_looks(table, a, b)
        assert np.array_equal(ok, ok0) and np.array_equal(rank[ok], rank0[ok])
    assert ok.sum() >= len(near) // 2  # copies do pass
    every = sum(len(a) for a, _ in blocks)
    assert sum(compared) < every / 2  # most pairs of distinct tiny images were ruled out by the bound
    if memory:
        assert sum(made) == len(np.unique(np.concatenate([np.r_[a, b] for a, b in blocks])))


def test_the_look_bound_never_rules_out_a_pair_that_reaches_the_floor():
    """Random unit look vectors and copies of them at every level of noise, plain and mirrored:
    a pair the bound rules out correlates below the floor, and most far pairs are ruled out."""
    from inspector.core.leakage.look_bound import LookBound

    rng = np.random.default_rng(12)
    base = rng.normal(size=(4000, 16, 16)).cumsum(axis=1).cumsum(axis=2)  # smooth, as looks are
    noise = rng.normal(size=base.shape) * rng.uniform(0, 3, (4000, 1, 1)) * base.std(axis=(1, 2), keepdims=True) / 4
    other = base + noise
    other[::2] = other[::2, :, ::-1]  # half of them mirrored
    unit = lambda x: ((x - x.mean(axis=(1, 2), keepdims=True)).reshape(len(x), -1)  # noqa: E731
                      / np.linalg.norm((x - x.mean(axis=(1, 2), keepdims=True)).reshape(len(x), -1), axis=1,
                                       keepdims=True)).astype(np.float32)
    va, vb = unit(base), unit(other)
    bound = LookBound(16)
    floor = looks.TINY_LOOK_FLOOR
    score, _ = real_pair_looks(va, vb, True)
    below = bound.below(bound.project(va), bound.project(vb), floor, True)
    assert not (below & (score >= floor)).any()
    assert (score >= floor).sum() > 100
    unrelated = rng.permutation(len(vb))
    assert bound.below(bound.project(va), bound.project(vb[unrelated]), floor, True).mean() > 0.5
    plain, _ = real_pair_looks(va, vb, False)
    assert not (bound.below(bound.project(va), bound.project(vb), floor, False) & (plain >= floor)).any()


# ------------------------------------------------------------------------------------------------
# A confirmation is a function of its pair alone, so a rescan may reuse it

def _family(rng: np.random.Generator, n_originals: int) -> list[tuple[str, str, str, Image.Image]]:
    """Originals in train and, in val and test, copies of more than half of them made by a random
    edit (JPEG, half size, 3% crop, brightness, mirror, PNG re-save, exact), look-alike skies and
    tiny digit-like strokes with a JPEG copy of one."""
    items = []
    edits = sorted(TRANSFORMS)
    for k in range(n_originals):
        seed = int(rng.integers(1 << 20))
        im = texture(seed, size=(120, 90))
        items.append((f"train/c{k % 2}/orig{k}.png", "train", f"c{k % 2}", im))
        if k % 2 == 0 or rng.random() < 0.3:
            edit = edits[int(rng.integers(len(edits)))]
            split = ("val", "test")[int(rng.integers(2))]
            items.append((f"{split}/c{k % 2}/copy{k}_{edit}.png", split, f"c{k % 2}", TRANSFORMS[edit](im)))
    for k in range(4):
        items.append((f"{('val', 'test')[k % 2]}/sky/sky{k}.png", ("val", "test")[k % 2], "sky",
                      sky(int(rng.integers(1 << 20)), size=(120, 90))))
    strokes = [stroke(int(rng.integers(1 << 20))) for _ in range(5)]
    items += [(f"train/1/s{k}.png", "train", "1", s.convert("RGB")) for k, s in enumerate(strokes)]
    items.append(("test/1/s0_q60.png", "test", "1", reload(strokes[0], "JPEG", quality=60).convert("RGB")))
    return items


def _table(items):
    order = {"train": 0, "val": 1, "test": 2}
    return table_from_images(sorted(items, key=lambda t: (order[t[1]], t[0])), split_names=["train", "val", "test"])


def _confirmed(table, a, b):
    (ca, cb, cd), (ok, mirror, scores) = drain(checks._confirm(table, (a, b, np.zeros(len(a), np.uint8)), True))
    return ca, cb, mirror, scores


def _same(x, y) -> bool:
    xa, xb, xm, xs = x
    ya, yb, ym, ys = y
    return (np.array_equal(xa, ya) and np.array_equal(xb, yb) and np.array_equal(xm, ym)
            and all((getattr(xs, f.name) is None and getattr(ys, f.name) is None)
                    or np.array_equal(getattr(xs, f.name), getattr(ys, f.name))
                    for f in dataclasses.fields(PairScores)))


def test_a_pairs_confirmation_does_not_depend_on_the_pairs_confirmed_with_it():
    rng = np.random.default_rng(11)
    table = _table(_family(rng, 10))
    n = len(table)
    a, b = np.triu_indices(n, 1)
    whole = _confirmed(table, a, b)
    assert len(whole[0]) >= 3  # copies are confirmed
    for size in (1, 7, 60):
        pick = np.sort(rng.choice(len(a), size=min(size, len(a)), replace=False))
        part = _confirmed(table, a[pick], b[pick])
        inside = np.isin(whole[0] * n + whole[1], a[pick] * n + b[pick])
        expect = (whole[0][inside], whole[1][inside], whole[2][inside],
                  PairScores(**{f.name: (None if getattr(whole[3], f.name) is None else getattr(whole[3], f.name)[inside])
                                for f in dataclasses.fields(PairScores)}))
        assert _same(part, expect), size


def _changed(rng: np.random.Generator, items: list) -> list:
    """A rescan's dataset: a random few files rewritten (new pixels, or turned into a copy of an
    unchanged original), deleted (copies and originals) and added (copies across splits and new
    images), so that copies are both made and destroyed."""
    items = list(items)
    originals = [k for k, it in enumerate(items) if "/orig" in it[0]]
    copies = [k for k, it in enumerate(items) if "/copy" in it[0]]
    gone = set(rng.choice(copies, size=2, replace=False).tolist()) | {int(rng.choice(originals))}
    kept = [k for k in originals if k not in gone]
    rewrite = [int(k) for k in rng.choice(kept, size=2, replace=False)]
    path, split, cls, _ = items[rewrite[0]]
    items[rewrite[0]] = (path, split, cls, texture(int(rng.integers(1 << 20)), size=(120, 90)))  # its copy: gone
    donor = items[[k for k in kept if k not in rewrite][0]]
    path, split, cls, _ = items[rewrite[1]]
    items[rewrite[1]] = (path, split, cls, TRANSFORMS["jpeg60"](donor[3]))  # now a copy within train
    added = [(f"test/{donor[2]}/new_mirror.png", "test", donor[2], TRANSFORMS["mirror"](donor[3])),
             (f"val/{donor[2]}/new_crop.png", "val", donor[2], TRANSFORMS["crop3"](donor[3])),
             ("test/c1/new_exact.png", "test", "c1", donor[3].copy()),
             ("val/c0/new_other.png", "val", "c0", texture(int(rng.integers(1 << 20)), size=(120, 90)))]
    return [it for k, it in enumerate(items) if k not in gone] + added


def _search(table, memo=None):
    with incremental.reusing(memo):
        return find_leakage(table, {})


@pytest.mark.parametrize("seed", [5, 6])
def test_a_search_reusing_earlier_verdicts_finds_what_a_fresh_search_finds(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    before = _family(rng, 10)
    first = incremental.VerdictMemo(None)
    _search(_table(before), first)
    after = _table(_changed(rng, before))
    fresh = _search(after)
    confirmed = []
    real = checks._confirm
    monkeypatch.setattr(checks, "_confirm", lambda t, pairs, m: confirmed.append(len(pairs[0])) or real(t, pairs, m))
    memo = incremental.VerdictMemo(first.encoded())
    reused = _search(after, memo)
    assert reused == fresh
    kinds = {f.kind for f in fresh}
    assert {"near", "mirror"} <= kinds
    assert memo.reused > 0 and confirmed[0] < len(memo.made.keys)  # only pairs with a changed image
    assert any("new_mirror" in p for f in fresh if f.kind == "mirror" for p in f.paths)
    # verdicts made by other code are not used
    monkeypatch.setattr(incremental, "version", lambda mirrors: "other code")
    other = incremental.VerdictMemo(first.encoded())
    assert _search(after, other) == fresh and other.reused == 0


def _write(root: Path, items: list) -> None:
    for path, _, _, im in items:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        im.save(root / path)


def _export(root: Path, out: Path, *extra: str) -> dict:
    assert cli.main(["scan", str(root), "--json", str(out), "--quiet", "--per-image", *extra]) == 0
    doc = json.loads(out.read_text())
    doc["dataset"].pop("cache")
    return doc


def test_a_rescan_after_files_changed_exports_what_a_fresh_scan_does(tmp_path, monkeypatch):
    rng = np.random.default_rng(21)
    root, cache_dir = tmp_path / "ds", str(tmp_path / "cache")
    before = _family(rng, 8)
    _write(root, before)
    age(root)
    _export(root, tmp_path / "cold.json", "--cache-dir", cache_dir)
    after = _changed(rng, before)
    for path, *_ in before:
        if path not in {p for p, *_ in after}:
            (root / path).unlink()
    changed = [it for it in after if it not in before]
    _write(root, changed)
    age(root, HOUR_NS // 2, only=tuple(root / p for p, *_ in changed))
    confirmed = []
    real = checks._confirm
    monkeypatch.setattr(checks, "_confirm", lambda t, pairs, m: confirmed.append(len(pairs[0])) or real(t, pairs, m))
    rescan = _export(root, tmp_path / "inc.json", "--cache-dir", cache_dir)
    fresh = _export(root, tmp_path / "fresh.json", "--no-cache")
    assert rescan == fresh
    assert {"exact", "near", "mirror"} <= {f["kind"] for f in fresh["leakage"]}
    assert 0 < confirmed[0] < confirmed[1]  # the rescan confirmed only pairs with a changed image


def test_repeated_and_unordered_candidates_get_the_verdicts_a_plain_confirmation_gives():
    rng = np.random.default_rng(8)
    table = _table(_family(rng, 4))
    a, b = np.triu_indices(len(table), 1)
    pick = rng.choice(len(a), size=2 * len(a))  # every pair about twice, in no order
    pairs = (a[pick], b[pick], np.zeros(len(pick), np.uint8))
    plain = drain(checks._confirm(table, pairs, True))
    expect = (*plain[0][:2], plain[1][1], plain[1][2])
    first = incremental.VerdictMemo(None)
    with incremental.reusing(first):
        got = drain(incremental.confirm(table, pairs, True, checks._confirm))
    assert _same((*got[0][:2], got[1][1], got[1][2]), expect) and first.reused == 0
    again = incremental.VerdictMemo(first.encoded())
    with incremental.reusing(again):
        got = drain(incremental.confirm(table, pairs, True, checks._confirm))
    assert again.reused == len(pick) and len(plain[0][0]) > 0
    assert _same((*got[0][:2], got[1][1], got[1][2]), expect)


def test_verdicts_blob_round_trips_and_is_checked():
    """The stored verdicts and search state come back as they were (every dtype and shape the
    search stores, empty ones too); another version's, a damaged or a truncated blob is none."""
    rng = np.random.default_rng(3)
    n = 37
    scores = {f.name: None for f in dataclasses.fields(PairScores)}
    first = dataclasses.fields(PairScores)[0].name
    scores[first] = rng.random(n).astype(np.float32)
    search = {"settings": np.arange(10, dtype=np.int64), "first": rng.integers(-3, 99, (12, 5)).astype(np.int32),
              "crowded": rng.random((12, 5)) < 0.5, "kept_code": rng.integers(0, 255, 7).astype(np.uint8),
              "radius_a": np.zeros(0, np.int32), "best_rank": rng.random((5, 3)).astype(np.float32)}
    made = incremental.Verdicts(rng.integers(0, 2**63, (n, 4)).astype(np.uint64), rng.random(n) < 0.5,
                                rng.random(n) < 0.2, scores, search)
    blob = made.encode("v1")
    back = incremental.Verdicts.decode(blob, "v1")
    assert back is not None
    for name in ("keys", "ok", "mirror"):
        assert getattr(back, name).dtype == getattr(made, name).dtype
        assert np.array_equal(getattr(back, name), getattr(made, name))
    assert np.array_equal(back.scores[first], scores[first]) and back.scores[first].dtype == np.float32
    assert all(back.scores[k] is None for k in scores if k != first)
    assert back.search.keys() == search.keys()
    for k, v in search.items():
        assert back.search[k].dtype == v.dtype and back.search[k].shape == v.shape
        assert np.array_equal(back.search[k], v)
    assert incremental.Verdicts.decode(blob, "v2") is None
    damaged = bytearray(blob)
    damaged[len(blob) // 2] ^= 1
    assert incremental.Verdicts.decode(bytes(damaged), "v1") is None
    assert incremental.Verdicts.decode(blob[:-5], "v1") is None
    # a sound checksum over a body whose search section lists more than it holds
    import struct
    from inspector.core.cache.codec import _compress, _decompress
    import xxhash
    (size,) = struct.unpack_from("<Q", blob, 12)
    raw = _decompress(blob[20 + size:])
    body = blob[12:20 + size] + _compress(raw[:len(raw) - 8])
    short = incremental.MAGIC + xxhash.xxh3_64(body).digest() + body
    assert incremental.Verdicts.decode(short, "v1") is None
    # the search's section made ahead (as a memo does in a thread) gives the same blob
    part = incremental.encode_section({f"q_{k}": v for k, v in search.items()}, "v1")
    assert made.encode("v1", part) == blob
    # a section made by another version is not taken for this one's
    other = made.encode("v1", incremental.encode_section({f"q_{k}": v for k, v in search.items()}, "v2"))
    assert incremental.Verdicts.decode(other, "v1") is None


def test_a_memo_compresses_the_search_choices_ahead_and_stores_them_as_made_then():
    memo = incremental.VerdictMemo(None)
    memo.load("v1")
    rng = np.random.default_rng(5)
    search = {"first": rng.integers(-3, 99, (4, 50)).astype(np.int32), "best_rank": rng.random((50, 3)).astype(np.float32)}
    memo.made_search = search
    assert memo._search_part is not None   # started at once, in a thread
    back = incremental.Verdicts.decode(memo.encoded(), "v1")
    assert back is not None and back.search.keys() == search.keys()
    assert all(np.array_equal(back.search[k], v) and back.search[k].dtype == v.dtype for k, v in search.items())
    memo.load("v2")   # the version changed after the choices were made: encoded again for it
    assert incremental.Verdicts.decode(memo.encoded(), "v2") is not None
