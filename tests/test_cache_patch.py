"""A rescan patches the stored whole result (cache/patch.py): the kept items' rows from the child
that read it while the folder was listed, the sums as stored less the records gone or changed.
Every figure equals a fresh scan's, and the histograms and means a float64 reference's."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagefactory import random_image, write_image
from inspector.core.cache import ScanCache, cache_path, prefetch
from inspector.core.cache.reuse import decode_keys
from inspector.core.cache.codec import RecordError
from inspector.core.cache.patch import code_map, codes_of_runs, old_positions, split_runs, subtract
from inspector.core.scan import prefetch_reopen
from inspector.core.stats import SplitAccumulator, exact_fixed
from test_cache import HOUR_NS, age, export, scan_result, without_cache

needs_fork = pytest.mark.skipif(not prefetch._ENABLED, reason="the child process needs fork (Linux)")


@pytest.fixture()
def patched(monkeypatch) -> list[bool]:
    """Whether each rescan's patch of the stored result was finished (False: its items fed)."""
    calls: list[bool] = []
    real = ScanCache._finish_patch

    def counted(self):
        calls.append(real(self))
        return calls[-1]

    monkeypatch.setattr(ScanCache, "_finish_patch", counted)
    return calls


def _write(root: Path, rng: np.random.Generator, name: str) -> Path:
    """An RGB or L PNG of a random size and tone range (8-bit: the float64 reference below)."""
    mode = "RGB" if rng.random() < 0.7 else "L"
    size = (int(rng.integers(3, 40)), int(rng.integers(3, 40)))
    im = random_image(mode, size, seed=int(rng.integers(1 << 30)))
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, im)
    return path


@pytest.fixture()
def folder(tmp_path) -> Path:
    rng = np.random.default_rng(11)
    root = tmp_path / "ds"
    for split, n in (("train", 70), ("val", 25), ("test", 15)):
        for k in range(n):
            _write(root, rng, f"{split}/{'ab'[k % 2]}/img_{k:03d}.png")
    (root / "val" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    age(root)
    return root


def _change(root: Path, seed: int, rewrite: int, delete: int, add: int) -> None:
    """Rewrite, delete and add files picked at random (new files dated well before now)."""
    rng = np.random.default_rng(seed)
    files = sorted(p for p in root.rglob("*.png") if p.name != "broken.png")
    picked = rng.choice(len(files), rewrite + delete, replace=False)
    made = []
    for j in picked[:rewrite]:
        files[j].unlink()
        made.append(_write(root, rng, str(files[j].relative_to(root))))
    for j in picked[rewrite:]:
        files[j].unlink()
    for k in range(add):
        split = ("train", "val", "test")[k % 3]
        made.append(_write(root, rng, f"{split}/new/added_{seed}_{k}.png"))
    if made:  # (with nothing named, age dates every file)
        age(root, HOUR_NS // 2, only=tuple(made))


def _reference(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(int64 (3, 256) histogram, float64 per-channel mean on the 0-1 scale) of a split's
    decodable images as RGB, straight from the files with numpy."""
    hist = np.zeros((3, 256), np.int64)
    for p in sorted((root / split).rglob("*.png")):
        try:
            a = np.asarray(Image.open(p).convert("RGB"))
        except OSError:
            continue
        for c in range(3):
            hist[c] += np.bincount(a[:, :, c].ravel(), minlength=256)
    values = np.arange(256, dtype=np.float64) / 255.0
    return hist, (hist * values).sum(axis=1) / hist.sum(axis=1)


@needs_fork
@pytest.mark.parametrize("rewrite, delete, add", [(3, 0, 0), (0, 4, 0), (0, 0, 5), (3, 4, 5)])
def test_a_rescan_patches_the_stored_result_exactly(folder, tmp_path, patched, rewrite, delete, add):
    cache_dir = tmp_path / "cache"
    export(folder, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    _change(folder, 5 + rewrite + 7 * delete + 13 * add, rewrite, delete, add)
    rescan = export(folder, tmp_path / "rescan.json", "--cache-dir", str(cache_dir))
    assert patched == [True]
    assert rescan["dataset"]["cache"]["rescanned"] == rewrite + add
    fresh = export(folder, tmp_path / "fresh.json", "--no-cache")
    assert without_cache(rescan) == without_cache(fresh)
    # the stored result saved after the patch is whole again: a reopen restores it as it is
    reopened = export(folder, tmp_path / "reopened.json", "--cache-dir", str(cache_dir))
    assert patched == [True] and reopened["dataset"]["cache"]["rescanned"] == 0
    assert without_cache(reopened) == without_cache(fresh)


@needs_fork
def test_patched_histograms_and_means_equal_a_float64_reference(folder, tmp_path, patched):
    cache_dir = tmp_path / "cache"
    scan_result(folder, cache_dir)
    for round_ in range(3):  # a patch of a patched result, and so on
        _change(folder, 100 + round_, 2, 2, 3)
        prefetch_reopen(str(folder), str(cache_dir))
        result = scan_result(folder, cache_dir)
        assert patched[-1] is True and len(patched) == round_ + 1
        for split in ("train", "val", "test"):
            hist, mean = _reference(folder, split)
            stats = result.split_stats[split]
            assert np.array_equal(stats.histogram, hist)
            np.testing.assert_allclose(stats.mean, mean, rtol=1e-12, atol=0)
        assert result.split_stats["val"].failed == 1


@needs_fork
def test_a_split_emptied_and_a_split_added_are_patched(folder, tmp_path, patched):
    cache_dir = tmp_path / "cache"
    export(folder, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    for p in (folder / "test").rglob("*.png"):
        p.unlink()
    rng = np.random.default_rng(3)
    made = [_write(folder, rng, f"extra/a/x_{k}.png") for k in range(4)]
    age(folder, HOUR_NS // 2, only=tuple(made))
    rescan = export(folder, tmp_path / "rescan.json", "--cache-dir", str(cache_dir))
    fresh = export(folder, tmp_path / "fresh.json", "--no-cache")
    assert patched == [True] and without_cache(rescan) == without_cache(fresh)


@needs_fork
def test_a_stored_sum_that_cannot_be_patched_feeds_the_records(folder, tmp_path, patched, monkeypatch):
    cache_dir = tmp_path / "cache"
    export(folder, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    _change(folder, 9, 2, 2, 2)
    from inspector.core.cache import patching

    def refuses(acc, gone):
        raise RecordError("not exact")

    monkeypatch.setattr(patching, "subtract", refuses)
    rescan = export(folder, tmp_path / "rescan.json", "--cache-dir", str(cache_dir))
    assert patched == [False]
    assert without_cache(rescan) == without_cache(export(folder, tmp_path / "fresh.json", "--no-cache"))


@needs_fork
def test_candidates_their_batch_does_not_vouch_for_are_decoded_and_the_rest_patched(folder, tmp_path, patched):
    """The workers get the changed files before the candidates are checked against their batch's
    own item list (in the patch's thread); those it does not name are decoded after all."""
    cache_dir = tmp_path / "cache"
    export(folder, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    db = sqlite3.connect(cache_path(str(cache_dir), str(folder)))
    (a, keys_a, n_a), (b, keys_b, n_b) = [
        (bid, keys, len(decode_keys(keys))) for bid, keys in db.execute("SELECT id, keys FROM batches ORDER BY id LIMIT 2")]
    with db:  # each batch's list now names the other's items: checksummed, so damaged only in what it says
        db.execute("UPDATE batches SET keys = ? WHERE id = ?", (keys_b, a))
        db.execute("UPDATE batches SET keys = ? WHERE id = ?", (keys_a, b))
    (changed,) = db.execute("SELECT COUNT(*) FROM items WHERE batch IN (?, ?)", (a, b)).fetchone()
    db.close()
    _change(folder, 21, 0, 0, 3)   # files added elsewhere: the two batches' items are still valid
    rescan = export(folder, tmp_path / "rescan.json", "--cache-dir", str(cache_dir))
    assert patched == [True]
    assert 0 < changed <= n_a + n_b
    assert rescan["dataset"]["cache"]["rescanned"] == 3 + changed
    assert without_cache(rescan) == without_cache(export(folder, tmp_path / "fresh.json", "--no-cache"))


def _random_accumulator(rng: np.random.Generator, l16: bool) -> SplitAccumulator:
    acc = SplitAccumulator()
    for _ in range(int(rng.integers(1, 6))):
        grey = rng.random() < 0.4
        hist = rng.integers(0, 50, (1 if grey else 3, 65536 if grey and l16 else 256)).astype(np.int64)
        std = rng.random(1 if grey else 3) * 0.3
        acc.add_sums(hist, 1, exact_fixed(std), ["L" if grey else "RGB"], [rng.choice(["PNG", "JPEG"])],
                     ["padded"] if rng.random() < 0.3 else [])
    acc.failed = int(rng.integers(0, 3))
    return acc


def _same(a: SplitAccumulator, b: SplitAccumulator) -> bool:
    return (np.array_equal(a.hist_rgb, b.hist_rgb) and np.array_equal(a.hist_l, b.hist_l)
            and (a.hist_l16 is None) == (b.hist_l16 is None)
            and (a.hist_l16 is None or np.array_equal(a.hist_l16, b.hist_l16))
            and (a.images_rgb, a.images_l, a.failed) == (b.images_rgb, b.images_l, b.failed)
            and a.std_sum_rgb.tolist() == b.std_sum_rgb.tolist() and a.std_sum_l.tolist() == b.std_sum_l.tolist()
            and (a.modes, a.formats, a.flags) == (b.modes, b.formats, b.flags))


@pytest.mark.parametrize("seed", range(6))
def test_subtract_undoes_a_merge_exactly(seed):
    rng = np.random.default_rng(seed)
    kept, gone = _random_accumulator(rng, seed % 2 == 0), _random_accumulator(rng, seed % 3 == 0)
    total = SplitAccumulator()
    total.merge(kept)
    total.merge(gone)
    subtract(total, gone)
    assert _same(total, kept)
    assert all(v > 0 for c in (total.modes, total.formats, total.flags) for v in c.values())
    with pytest.raises(RecordError):
        subtract(kept, _random_accumulator(np.random.default_rng(seed + 100), True))


def test_subtract_refuses_a_sum_that_is_not_exact():
    acc = SplitAccumulator()
    acc.add_sums(np.ones((3, 256), np.int64), 1, exact_fixed(np.array([np.nan, 0.1, 0.2])), ["RGB"], ["PNG"], [])
    with pytest.raises(RecordError):
        subtract(acc, SplitAccumulator())


def test_split_runs_round_trip_and_positions():
    codes = np.array([0, 0, 0, 2, 2, 1, 1, 1, 1, 0], np.int16)
    runs = split_runs(codes)
    assert runs == [[0, 3], [2, 2], [1, 4], [0, 1]]
    assert np.array_equal(codes_of_runs(runs, len(codes)), codes)
    with pytest.raises(RecordError):
        codes_of_runs(runs, len(codes) + 1)
    assert split_runs(np.zeros(0, np.int16)) == [] and len(codes_of_runs([], 0)) == 0
    old_batch, old_entry = np.array([5, 5, 7, 9]), np.array([0, 1, 0, 3])
    assert old_positions(old_batch, old_entry, np.array([7, 5, 9, 9, 8]), np.array([0, 1, 3, 2, 0])).tolist() == \
        [2, 1, 3, -1, -1]
    codes2, names = code_map(np.array([3, 1, 3, 3]), ["a", "b", "c", "d"])
    assert names == ["b", "d"] and codes2.tolist() == [1, 0, 1, 1]


def test_hist_rows_sums_rows_as_the_decoded_batch_does(folder, tmp_path):
    """A batch's histograms summed with its noted layout, its other columns left compressed."""
    import sqlite3

    from inspector.core.cache import cache_path
    from inspector.core.cache.codec import decode_chunk, hist_rows
    cache_dir = tmp_path / "cache"
    scan_result(folder, cache_dir)
    db = sqlite3.connect(cache_path(str(cache_dir), str(folder)))
    blobs = [data for (data,) in db.execute("SELECT data FROM batches")]
    db.close()
    rng = np.random.default_rng(4)
    for blob in blobs:
        batch = decode_chunk(blob)
        codes, slots, total = hist_rows(blob, decode_chunk(blob, grids=False).hist_layout())
        assert np.array_equal(codes, batch.codes) and np.array_equal(slots, batch.slots)
        for code in range(len(batch.groups)):
            members = slots[codes == code]
            chosen = rng.choice(members, size=max(1, len(members) // 3), replace=False)
            assert np.array_equal(total(code, chosen), batch.groups[code].total(chosen))
        damaged = bytearray(blob)
        damaged[-1] ^= 0xFF
        with pytest.raises(RecordError):
            hist_rows(bytes(damaged), batch.hist_layout())


@needs_fork
def test_the_children_note_every_batch_s_histogram_layout(folder, tmp_path, monkeypatch, patched):
    noted: list[int] = []
    real = prefetch.Prefetch.hist_layouts

    def counted(self):
        out = real(self)
        noted.append(len(out))
        return out

    monkeypatch.setattr(prefetch.Prefetch, "hist_layouts", counted)
    cache_dir = tmp_path / "cache"
    export(folder, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    import sqlite3

    from inspector.core.cache import cache_path
    db = sqlite3.connect(cache_path(str(cache_dir), str(folder)))
    (batches,) = db.execute("SELECT COUNT(*) FROM batches").fetchone()
    db.close()
    _change(folder, 21, 1, 1, 1)
    export(folder, tmp_path / "rescan.json", "--cache-dir", str(cache_dir))
    assert patched == [True] and noted == [batches]
