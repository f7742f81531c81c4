"""The cache's record encoding and how stored rows become a chunk again: every value comes back
exactly, and the per-split sums rebuilt from a batch at once equal the worker's row-by-row ones."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from imagefactory import write_image
from inspector.core import cache as cache_mod
from inspector.core.cache import codec, rows
from inspector.core.cache.reuse import chunk_from_batches
from inspector.core.layout import ImageFile
from inspector.core.scan import _ChunkResult, _scan_chunk
from inspector.core.stats import exact_fixed


def _exact_fixed_sum(values: np.ndarray) -> list:
    total = np.array([0] * values.shape[1], object)
    for row in values:
        total = total + exact_fixed(row)
    return list(total)


@pytest.mark.parametrize("seed", range(4))
def test_exact_sum_equals_the_sum_of_exact_fixed_values(seed):
    rng = np.random.default_rng(seed)
    values = np.concatenate([
        rng.random((50, 3)) * 0.5,                        # image stds
        rng.normal(0, 1e6, (20, 3)),                      # negative and large
        np.full((3, 3), 5e-324), np.full((2, 3), -2.5e-320),  # subnormals
        np.zeros((4, 3)), np.full((1, 3), 1.7e308),
    ])
    rng.shuffle(values)
    assert list(rows.exact_sum(values)) == _exact_fixed_sum(values)


def test_exact_sum_keeps_a_non_finite_value_as_a_float_sum_would():
    values = np.array([[0.25, math.nan], [0.5, 0.125]])
    out = rows.exact_sum(values)
    assert out[0] == _exact_fixed_sum(values[:, :1])[0] and isinstance(out[1], float) and math.isnan(out[1])


def _items(tmp_path, modes, splits):
    items = []
    for k, (mode, split) in enumerate(zip(modes, splits)):
        p = write_image(tmp_path / f"{k}_{mode.replace(';', '_')}.png", mode, size=(9 + k % 5, 7 + k % 3), seed=k)
        items.append((k, ImageFile(p.name, str(p), split, None)))
    return items


def _same_accumulators(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for split in a:
        for f in dataclasses.fields(a[split]):
            x, y = getattr(a[split], f.name), getattr(b[split], f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), (split, f.name)
            else:
                assert x == y, (split, f.name)


def _scan(root, cache_dir, chunk_size):
    """A scan's result, by one worker in chunks of ``chunk_size`` (each a stored batch)."""
    from inspector.core.scan import iter_scan
    from inspector.core.leakage.progress import drain
    return drain(iter_scan(str(root), workers=1, chunk_size=chunk_size,
                           cache_dir=str(cache_dir) if cache_dir else None))


def _rebuilt(parts, files):
    return chunk_from_batches(parts, lambda index: [files[i].split for i in index.tolist()],
                              lambda *a: rows.rebuild_chunk(_ChunkResult, *a))


def test_a_rebuilt_chunk_has_the_workers_sums_exactly(tmp_path):
    modes = ("RGB", "L", "I;16", "RGBA", "P", "LA", "RGB", "L", "I;16", "RGB") * 2
    splits = ["train", "val", "test", "train"] * 5
    items = _items(tmp_path, modes, splits)
    (tmp_path / "bad.png").write_bytes(b"junk")
    items.append((len(items), ImageFile("bad.png", str(tmp_path / "bad.png"), "val", None)))
    chunk = _scan_chunk(items)
    batch = codec.decode_chunk(chunk.records)
    files = [f for _, f in items]
    every = np.arange(batch.rows + 1)  # every row and the failure, as stored
    again = _rebuilt([(batch, every, every)], files)
    _same_accumulators(again.accumulators, chunk.accumulators)
    assert again.failures == chunk.failures and again.index.tolist() == [i for i, _ in items[:-1]]
    for name, value in codec.row_columns(chunk).items():
        stored = getattr(again, name)
        assert np.array_equal(stored, value, equal_nan=True) if isinstance(value, np.ndarray) else stored == value

    # every row in another order (entries follow the listing): each row's values where its item is
    backwards = np.arange(batch.rows)[::-1].copy()
    turned = _rebuilt([(batch, backwards, backwards)], files)
    assert turned.names == [chunk.names[i] for i in backwards.tolist()]
    assert np.array_equal(turned.thumb, chunk.thumb[backwards]) and turned.index.tolist() == backwards.tolist()

    # a subset (the rest of the batch changed since): the sums of just those rows
    keep = np.array([0, 3, 4, 9, 17])
    part = _rebuilt([(batch, keep, keep)], files)
    alone = _scan_chunk([items[i] for i in keep])
    _same_accumulators(part.accumulators, alone.accumulators)
    assert np.array_equal(part.thumb, alone.thumb) and np.array_equal(part.index, alone.index)

    # parts of several batches (of other histogram shapes and splits) at once: the sums of the
    # rows as if one worker had decoded them together, each row where its item is listed
    first, second = _scan_chunk(items[:7]), _scan_chunk(items[7:])
    b1, b2 = codec.decode_chunk(first.records), codec.decode_chunk(second.records)
    e1, e2 = np.array([1, 2, 5, 6]), np.array([0, 4, 8, b2.rows])  # the last: the failure
    together = _rebuilt([(b1, e1, e1), (b2, e2, e2 + 7)], files)
    alone = _scan_chunk([items[i] for i in [*e1.tolist(), *(e2 + 7).tolist()]])
    _same_accumulators(together.accumulators, alone.accumulators)
    assert together.index.tolist() == alone.index.tolist() and together.failures == alone.failures
    for name, value in codec.row_columns(alone).items():
        stored = getattr(together, name)
        assert np.array_equal(stored, value, equal_nan=True) if isinstance(value, np.ndarray) else stored == value


@dataclass
class _Chunk:
    index: np.ndarray
    failures: list
    thumb: np.ndarray
    wide: np.ndarray
    names: list = field(default_factory=list)


def test_extreme_values_come_back_exactly():
    rng = np.random.default_rng(3)
    k = 7
    thumb = rng.integers(0, 256, (k, 5, 6), dtype=np.uint8)
    thumb[0] = 255
    thumb[1, :, ::2] = 0  # wraps around in the residual
    wide = np.array([[2**63 - 1, -2**63]] * k, np.int64)
    chunk = _Chunk(np.arange(k), [(k, "unreadable")], thumb, wide, [("PNG", "RGB")] * k)
    hists = [np.zeros((3, 256), np.int64) for _ in range(k - 2)] + [np.zeros((1, 65536), np.int64)] * 2
    hists[0][:, 0] = 2**40                      # counts beyond 32 bits
    hists[1][1, ::3] = 7
    hists[-1] = hists[-1].copy()
    hists[-1][0, [0, 65535]] = [1, 2**33]       # the first and the last of 65,536 bins
    batch = codec.decode_chunk(codec.encode_chunk(chunk, hists))
    assert np.array_equal(batch.columns["thumb"], thumb) and np.array_equal(batch.columns["wide"], wide)
    assert batch.columns["names"] == [("PNG", "RGB")] * k and batch.failures == ["unreadable"]
    assert all(np.array_equal(a, b) for a, b in zip(batch.hists, hists)) and len(batch.hists) == k
    # each shape's sum over the batch is stored with the columns: exactly the rows' sum
    assert [t.tolist() for t in batch.totals] == [sum(hists[k - 2:]).tolist(), sum(hists[:k - 2]).tolist()]  # by shape
    # image columns kept as residuals are restored many batches at once to the same pixels
    residual = codec.decode_chunk(codec.encode_chunk(chunk, hists), grids=False)
    assert residual.residual == {"thumb"} and not np.array_equal(residual.columns["thumb"], thumb)
    many = np.concatenate([residual.columns["thumb"]] * 3)
    assert np.array_equal(codec.restore_grids(many), np.concatenate([thumb] * 3))  # in place, in blocks


def _random_hists(rng: np.random.Generator, k: int, sparse: bool, most_bins: int, top_bits: int) -> list[np.ndarray]:
    """k random histograms of RGB and grey shapes (and a 16-bit grey one, stored sparse, with
    `sparse`): up to `most_bins` bins set, counts below 2 ** top_bits."""
    shapes = [(3, 256), (1, 256), (1, 65536)][: 3 if sparse else 2]
    hists = []
    for _ in range(k):
        h = np.zeros(shapes[int(rng.integers(0, len(shapes)))], np.int64)
        bins = rng.integers(0, h.shape[1], int(rng.integers(0, most_bins)))
        h[:, bins] = rng.integers(0, 2 ** int(rng.integers(1, top_bits)), (h.shape[0], len(bins)))
        hists.append(h)
    return hists


def test_histograms_stacked_by_shape_give_the_same_blob_as_one_per_row():
    """The scan's workers hand their rows' histograms over stacked by shape (``group_hists``, as
    the moments and split sums used them); the blob is byte for byte that of one array per row."""
    rng = np.random.default_rng(11)
    for trial in range(6):
        k = int(rng.integers(1, 40))
        hists = _random_hists(rng, k, sparse=trial % 2 == 1, most_bins=200, top_bits=36)
        chunk = _Chunk(np.arange(k), [(k, "unreadable")], rng.integers(0, 256, (k, 4, 4), dtype=np.uint8),
                       np.zeros((k, 1), np.int64), [("PNG", "RGB")] * k)
        grouped = codec.group_hists(hists)
        assert all(isinstance(stack, list) == (shape[-1] > 256) for shape, (_, stack) in grouped.items())
        blob = codec.encode_chunk(chunk, grouped)
        assert blob == codec.encode_chunk(chunk, hists)
        batch = codec.decode_chunk(blob)
        assert all(np.array_equal(a, b) for a, b in zip(batch.hists, hists)) and len(batch.hists) == k


def test_a_batch_sums_some_rows_as_its_stack_does_decoding_only_the_fewer_side():
    """Most rows of a shape are summed as the stored total less the others, a few rows as
    themselves, both decoding only those rows of a dense shape: the same integers as the stack."""
    rng = np.random.default_rng(23)
    for trial in range(8):
        k = int(rng.integers(2, 60))
        hists = _random_hists(rng, k, sparse=trial % 2 == 1, most_bins=300, top_bits=20)
        chunk = _Chunk(np.arange(k), [], rng.integers(0, 256, (k, 4, 4), dtype=np.uint8),
                       np.zeros((k, 1), np.int64), [("PNG", "RGB")] * k)
        blob = codec.encode_chunk(chunk, hists)
        reference = codec.decode_chunk(blob).groups
        batch = codec.decode_chunk(blob)
        for code, stack in enumerate(reference):
            m = len(stack.values)
            for size in sorted({0, 1, m // 3, m - 1, m}):
                slots = np.sort(rng.choice(m, size, replace=False)) if trial % 3 else rng.permutation(m)[:size]
                assert np.array_equal(batch.total(code, slots), stack.total(slots)), (trial, code, size)
        if all(g.running for g in reference):  # dense shapes only: no whole stack was decoded
            assert callable(batch._groups)


def test_a_warm_reopen_sums_whole_stored_batches_without_decoding_their_histograms(tmp_path, monkeypatch):
    import os
    import time

    root, cache_dir = tmp_path / "ds", tmp_path / "cache"
    paths = [write_image(root / ("train" if k % 3 else "val") / f"{k:02d}.png", ("RGB", "L", "I;16")[k % 3],
                         size=(9 + k % 4, 7), seed=k) for k in range(30)]
    past = time.time_ns() - 3600 * 10**9
    for p in paths:
        os.utime(p, ns=(past, past))

    def scan(cache):
        return _scan(root, cache, chunk_size=6)

    # the per-image records path: no whole result stored (an unchanged listing would be restored)
    monkeypatch.setattr(cache_mod.ScanCache, "save", lambda self, collector: None)
    decoded = []
    stacks = codec.Batch.groups
    monkeypatch.setattr(codec.Batch, "groups", property(lambda b: decoded.append(b) or stacks.fget(b)))
    scan(cache_dir)
    decoded.clear()
    warm = scan(cache_dir)
    assert warm.extra["cache"]["used"] == 30 and decoded == []  # every batch whole: its stored totals
    paths[4].unlink()  # one batch now partly used: its rows' histograms are decoded and summed
    partly = scan(cache_dir)
    assert partly.extra["cache"]["used"] == 29 and len({id(b) for b in decoded}) == 1
    fresh = scan(None)
    for split in ("train", "val"):
        a, b = partly.split_stats[split], fresh.split_stats[split]
        assert a.images == b.images and np.array_equal(a.histogram, b.histogram)
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std) and a.modes == b.modes


def test_thumbnails_are_stored_as_residuals_which_take_less_room(monkeypatch):
    rng = np.random.default_rng(5)
    k, side = 64, 32
    coarse = rng.random((k, 5, 5)) * 255  # distinct smooth photo-like thumbnails with some noise
    t = np.linspace(0, 4, side)
    i, f = np.minimum(t.astype(int), 3), t - np.minimum(t.astype(int), 3)
    rows_ = coarse[:, i] * (1 - f)[None, :, None] + coarse[:, i + 1] * f[None, :, None]
    smooth = rows_[:, :, i] * (1 - f) + rows_[:, :, i + 1] * f
    thumbs = np.clip(smooth + rng.normal(0, 2, smooth.shape), 0, 255).astype(np.uint8)
    chunk = _Chunk(np.arange(k), [], thumbs, np.zeros((k, 1), np.int64), [("PNG", "L")] * k)
    hists = [np.zeros((1, 256), np.int64)] * k
    with_residuals = len(codec.encode_chunk(chunk, hists))
    monkeypatch.setattr(codec, "_is_grid", lambda value: False)
    plain = len(codec.encode_chunk(chunk, hists))
    assert with_residuals < 0.8 * plain, (with_residuals, plain)


def test_a_damaged_section_is_refused():
    chunk = _Chunk(np.arange(2), [], np.zeros((2, 4, 4), np.uint8), np.zeros((2, 1), np.int64), [("PNG", "L")] * 2)
    blob = codec.encode_chunk(chunk, [np.zeros((1, 256), np.int64)] * 2)
    with pytest.raises(codec.RecordError):
        codec.decode_chunk(blob[:-1])
    body = bytearray(blob)
    body[20] ^= 1
    with pytest.raises(codec.RecordError):
        codec.decode_chunk(bytes(body))


def test_findings_are_recomputed_when_a_file_changes_size_but_not_its_pixels(tmp_path, monkeypatch):
    """The drift checks read file sizes: a file saved again with other compression (the same
    pixels, so the same content hash) must not get the previous scan's findings."""
    import json
    import os
    import time
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo
    from inspector import cli

    root = tmp_path / "ds"
    for split, n in (("train", 12), ("val", 12)):
        for k in range(n):
            write_image(root / split / "a" / f"{k}.png", "RGB", size=(24, 20), seed=k + (50 if split == "val" else 0))
    past = time.time_ns() - 3600 * 10**9
    for p in root.rglob("*.png"):
        os.utime(p, ns=(past, past))
    calls = []
    real = cli._check_leakage
    monkeypatch.setattr(cli, "_check_leakage", lambda *a, **k: calls.append(1) or real(*a, **k))
    cache = ["--cache-dir", str(tmp_path / "cache")]

    def export(name, *extra):
        out = tmp_path / name
        assert cli.main(["scan", str(root), "--json", str(out), "--quiet", *extra]) == 0
        doc = json.loads(out.read_text())
        doc["dataset"].pop("cache")
        return doc

    export("cold.json", *cache)
    note = PngInfo()
    note.add_text("Comment", "saved again " * 200)
    for p in (root / "val" / "a").glob("*.png"):  # the same pixels in bigger files
        Image.open(p).save(p, pnginfo=note)
        os.utime(p, ns=(past + 10**9, past + 10**9))
    assert calls == [1]
    again = export("again.json", *cache)
    assert calls == [1, 1]
    assert again == export("fresh.json", "--no-cache")


def test_a_batch_mostly_stale_is_compacted_and_still_reused(tmp_path):
    import os
    import sqlite3
    import time
    from inspector.core import cache as cache_mod

    def scan(cache_dir):
        return _scan(root, cache_dir, chunk_size=8)

    past = time.time_ns() - 3600 * 10**9

    def age(*paths):
        for p in paths or root.rglob("*.png"):
            os.utime(p, ns=(past, past))

    def entries_per_batch() -> list[int]:
        db = sqlite3.connect(cache_mod.cache_path(str(cache_dir), str(root)))
        blobs = [keys for (keys,) in db.execute("SELECT keys FROM batches")]
        db.close()
        return sorted(len(cache_mod.decode_keys(k)) for k in blobs)

    root, cache_dir = tmp_path / "ds", tmp_path / "cache"
    paths = [write_image(root / "train" / f"{k:02d}.png", "RGB", size=(12, 10), seed=k) for k in range(24)]
    age()
    scan(cache_dir)
    assert entries_per_batch() == [8, 8, 8]
    for p in paths[:5]:   # 5 of the first batch's 8 files go
        p.unlink()
    write_image(paths[9], "RGB", size=(12, 10), seed=99)  # 1 of the second batch's changes
    past += 10**9
    age(paths[9])
    changed = scan(cache_dir)
    assert changed.extra["cache"]["used"] == 18 and changed.extra["cache"]["rescanned"] == 1
    assert entries_per_batch() == [1, 3, 8, 8]  # the first rewritten with its 3 live items
    warm = scan(cache_dir)
    assert warm.extra["cache"]["used"] == 19 and warm.extra["cache"]["rescanned"] == 0
    fresh = scan(None)
    assert warm.fingerprint == fresh.fingerprint
    assert np.array_equal(warm.images.thumb, fresh.images.thumb)
    assert np.array_equal(warm.split_stats["train"].histogram, fresh.split_stats["train"].histogram)
    assert np.array_equal(warm.images.properties, fresh.images.properties, equal_nan=True)

    # changed files spread over several chunks are decoded and stored together, not one by one
    for k in (10, 17, 22):
        write_image(paths[k], "RGB", size=(12, 10), seed=200 + k)
    past += 10**9
    age(*(paths[k] for k in (10, 17, 22)))
    assert scan(cache_dir).extra["cache"]["rescanned"] == 3
    assert entries_per_batch() == [1, 3, 3, 8, 8]


def test_exact_sum_of_values_close_together_and_far_apart():
    rng = np.random.default_rng(11)
    close = rng.random((64, 3)) * 0.25 + 0.25     # one exponent band: the one-sum path
    far = np.concatenate([close, rng.random((5, 3)) * 1e-12, np.zeros((3, 3))])
    for values in (close, far, np.zeros((4, 3))):
        assert list(rows.exact_sum(values)) == _exact_fixed_sum(values)


@pytest.mark.parametrize("stored_result", [False, True])
def test_a_warm_reopen_reports_progress_and_can_be_cancelled(tmp_path, monkeypatch, stored_result):
    """From the per-image records (a pause after each stored batch) and from the stored whole
    result (one after each group of the batches it reads)."""
    import os
    import time
    from inspector.core import scan as scan_mod
    from inspector.core.cache import snapshot
    from inspector.core.scan import iter_scan

    if stored_result:
        monkeypatch.setattr(snapshot, "GROUP_BATCHES", 1)
    else:
        monkeypatch.setattr(cache_mod.ScanCache, "save", lambda self, collector: None)

    root, cache_dir = tmp_path / "ds", tmp_path / "cache"
    for k in range(40):
        write_image(root / "train" / f"{k:02d}.png", "L", size=(8, 8), seed=k)
    past = time.time_ns() - 3600 * 10**9
    for p in root.rglob("*.png"):
        os.utime(p, ns=(past, past))

    def run(stop_at=None):
        gen = iter_scan(str(root), workers=1, chunk_size=4, cache_dir=str(cache_dir))
        done = []
        try:
            while True:
                p = next(gen)
                done.append(p.done)
                if stop_at is not None and stop_at(p):
                    gen.close()
                    return done, None
        except StopIteration as stop:
            return done, stop.value

    run()
    monkeypatch.setattr(scan_mod, "PROGRESS_INTERVAL", 0.0)  # a progress record at each pause
    monkeypatch.setattr(cache_mod, "FEED_BATCHES", 1)        # which follows each stored batch
    done, result = run()
    assert result.extra["cache"]["used"] == 40
    assert len([d for d in done if 0 < d < 40]) >= 5  # read from the cache with progress, not in one go
    done, result = run(stop_at=lambda p: 0 < p.done < 40)  # cancelled while reading the cache
    assert result is None and 0 < done[-1] < 40
    final = run()[1].extra["cache"]
    assert final["used"] == 40 and final["rescanned"] == 0


def test_the_fingerprint_built_as_columns_is_the_digest_of_every_rows_split_and_path():
    import xxhash
    from inspector.core.scan import _split_paths
    from inspector.core.strings import StringColumn

    rng = np.random.default_rng(2)
    paths = [f"{'é' * (k % 3)}{k % 5}/img_{k}.png" for k in range(300)]
    split = rng.integers(0, 3, len(paths)).astype(np.int16)
    names = ["train", "val", "test"]
    table = type("Table", (), {"paths": StringColumn.from_strings(paths), "split": split, "split_names": names})
    expected = xxhash.xxh3_64(b"".join(f"{names[s]}/{p}\0".encode() for s, p in zip(split.tolist(), paths)))
    built = xxhash.xxh3_64()
    for piece in _split_paths(table, block=64):  # several blocks
        built.update(piece)
    assert built.hexdigest() == expected.hexdigest()


@pytest.mark.parametrize("top", [0, 3, 1000, 16383, 16384, 2**20, 2**30, 2**40])
def test_narrow_neighbour_differences_equal_the_int64_ones(top):
    """Dense histograms' bin differences are worked out in a narrow type when the counts allow:
    the stored values and their type are those of the int64 differences."""
    rng = np.random.default_rng(top)
    for shape in ((5, 3, 256), (1, 1, 256), (0, 3, 256)):
        stack = rng.integers(0, top + 1, shape).astype(np.int64)
        if stack.size:
            stack.flat[0] = top  # the largest count at a bin edge
        wide = codec._narrow(codec._zigzag(np.diff(stack, axis=-1, prepend=0)))
        narrow = codec._narrow(codec._zigzag_diff(stack))
        assert narrow.dtype == wide.dtype and np.array_equal(narrow, wide)


@pytest.mark.parametrize("case", ["one folder", "non-ascii name", "two bases", "outside the root", "members"])
def test_listed_keys_are_each_items_absolute_path_below_the_root_with_its_locator(case):
    """The keys cut from the listing's buffer in one pass (one base under the root, ASCII paths)
    and those joined per item are the same definition: the absolute path's bytes, less the root,
    and a container member's locator."""
    import os

    from inspector.core.cache.reuse import listed_keys
    from inspector.core.file_list import FileList
    from inspector.core.layout import ImageFile

    root = "/data/ds/"
    names = [f"train/cat/{k:03d}.png" for k in range(5)]
    if case == "non-ascii name":
        names[2] = "train/cat/caf\u00e9.png"
    files = [ImageFile(n, root + n, "train", "cat", size=k, mtime_ns=k) for k, n in enumerate(names)]
    if case == "two bases":
        files.append(ImageFile("b.png", "/elsewhere/ds/b.png", "train", None))
    if case == "outside the root":
        files = [ImageFile(n, "/other/" + n, "train", "cat") for n in names]
    if case == "members":
        files = [dataclasses.replace(f, abspath=root + "shard.tar", locator=("member", k)) for k, f in enumerate(files)]
    listing = FileList(files)
    for start, stop in ((0, len(files)), (1, 3), (2, 2)):
        expected = []
        for f in files[start:stop]:
            key = os.fsencode(f.abspath)
            key = key[len(root):] if key.startswith(root.encode()) else key
            expected.append(key + (b"\0" + repr(f.locator).encode() if f.locator is not None else b""))
        assert listed_keys(listing, start, stop, root.encode()) == expected, (case, start, stop)
