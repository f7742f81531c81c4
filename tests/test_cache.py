"""The on-disk record cache: reuse and incremental rescans give exactly a fresh scan's export, and
a damaged, truncated, locked, foreign or half-written cache is never trusted."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagefactory import make_good_images, random_image, write_image
from inspector import cli
from inspector.core import cache as cache_mod
from inspector.core.cache import codec, store
from inspector.core.leakage.progress import drain
from inspector.core.scan import _scan_chunk, iter_scan

REPO = Path(__file__).resolve().parents[1]
HOUR_NS = 3600 * 10**9


def age(root: Path, ago_ns: int = HOUR_NS, only: tuple[Path, ...] = ()) -> None:
    """Date files in the past, as files are when a dataset is reopened (records of files
    modified within a second or two of their scan are not trusted, see cache/__init__.py)."""
    t = time.time_ns() - ago_ns
    for p in only or Path(root).rglob("*"):
        if p.is_file():
            os.utime(p, ns=(t, t))


@pytest.fixture()
def dataset(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 10, modes=("RGB", "L", "RGBA", "I;16", "P"), label="cat", seed=1)
    make_good_images(root, "train", 6, modes=("RGB",), label="dog", seed=2)
    make_good_images(root, "val", 5, modes=("RGB", "L"), label="cat", seed=3)
    make_good_images(root, "test", 5, modes=("RGB",), label="dog", seed=4)
    photo = random_image("RGB", (96, 80), seed=9).resize((96, 80))
    write_image(root / "train" / "dog" / "photo.png", photo)
    photo.save(root / "test" / "dog" / "photo_copy.jpg", quality=70)  # a near duplicate
    shutil.copy(root / "train" / "cat" / "img_0000_RGB.png", root / "val" / "cat" / "same.png")
    (root / "val" / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    age(root)
    return root


def export(root: Path, out: Path, *extra: str) -> dict:
    assert cli.main(["scan", str(root), "--json", str(out), "--quiet", "--per-image", *extra]) == 0
    return json.loads(out.read_text())


def without_cache(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["dataset"].pop("cache")
    return doc


def scan_result(root: Path, cache_dir: Path | None, **kw):
    return drain(iter_scan(str(root), cache_dir=str(cache_dir) if cache_dir else None, **kw))


def test_cached_and_incremental_exports_equal_a_fresh_scan(dataset, tmp_path):
    cache_dir = tmp_path / "cache"
    cold = export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    n = cold["dataset"]["images"] + cold["dataset"]["failed"]
    assert cold["dataset"]["cache"] == {"used": 0, "rescanned": n}
    assert {f["kind"] for f in cold["leakage"]} >= {"exact"}
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert warm["dataset"]["cache"] == {"used": n, "rescanned": 0}
    assert without_cache(warm) == without_cache(cold)

    # 1 rewritten (same name, new pixels), 1 deleted, 2 added (one an exact copy across splits)
    changed = (write_image(dataset / "train" / "cat" / "img_0001_L.png", "L", size=(20, 30), seed=77),
               write_image(dataset / "val" / "cat" / "new.png", "RGB", size=(17, 9), seed=78),
               Path(shutil.copy(dataset / "train" / "dog" / "img_0002_RGB.png", dataset / "test" / "dog" / "leak.png")))
    (dataset / "val" / "cat" / "img_0001_L.png").unlink()
    age(dataset, HOUR_NS // 2, only=changed)
    incremental = export(dataset, tmp_path / "inc.json", "--cache-dir", str(cache_dir))
    fresh = export(dataset, tmp_path / "fresh.json", "--no-cache")
    assert incremental["dataset"]["cache"] == {"used": n - 2, "rescanned": 3}
    assert fresh["dataset"]["cache"] == {"used": 0, "rescanned": n + 1}
    assert without_cache(incremental) == without_cache(fresh)
    assert without_cache(incremental) != without_cache(cold)
    assert any("leak.png" in p for f in incremental["leakage"] for p in f["paths"])


def test_warm_reopen_reuses_the_leakage_findings(dataset, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    cold = export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    calls = []
    real = cli._check_leakage
    monkeypatch.setattr(cli, "_check_leakage", lambda *a, **k: calls.append(1) or real(*a, **k))
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert calls == [] and warm["leakage"] == cold["leakage"]
    copy = Path(shutil.copy(dataset / "train" / "cat" / "img_0003_I_16.png", dataset / "test" / "dog" / "x.png"))
    age(dataset, only=(copy,))
    changed = export(dataset, tmp_path / "changed.json", "--cache-dir", str(cache_dir))
    assert calls == [1] and changed["leakage"] != cold["leakage"]


def test_damaged_stored_findings_are_computed_again(dataset, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    cold = export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    db = sqlite3.connect(_cache_file(cache_dir, dataset))
    with db:  # a digit changed in the JSON: still valid JSON, so only the checksum tells
        key, data = db.execute("SELECT key, data FROM memo").fetchone()
        at = next(i for i in range(8, len(data)) if chr(data[i]).isdigit())
        damaged = data[:at] + bytes([ord("0") + (data[at] - ord("0") + 1) % 10]) + data[at + 1:]
        db.execute("UPDATE memo SET data = ? WHERE key = ?", (damaged, key))
    db.close()
    calls = []
    real = cli._check_leakage
    monkeypatch.setattr(cli, "_check_leakage", lambda *a, **k: calls.append(1) or real(*a, **k))
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert calls == [1] and without_cache(warm) == without_cache(cold)


def test_a_rewrite_within_the_timestamp_resolution_is_not_trusted(tmp_path):
    root = tmp_path / "ds"
    path = write_image(root / "a.png", "L", size=(16, 16), seed=1)
    write_image(root / "b.png", "L", size=(16, 16), seed=2)
    mtime = os.stat(path).st_mtime_ns  # just written: within the resolution of the scan's moment
    cache_dir = tmp_path / "cache"
    first = scan_result(root, cache_dir)
    write_image(path, "L", size=(16, 16), seed=3)  # same size in bytes? force the same identity:
    os.utime(path, ns=(mtime, mtime))
    if os.path.getsize(path) != first.images.nbytes[first.images.paths.index("a.png")]:
        pytest.skip("the rewritten PNG compressed to another size")
    again = scan_result(root, cache_dir)
    fresh = scan_result(root, None)
    assert np.array_equal(again.images.content_hash, fresh.images.content_hash)
    assert not np.array_equal(again.images.content_hash, first.images.content_hash)


def _snapshot_parts(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM snapshot").fetchone()[0]
    finally:
        db.close()


def _cache_file(cache_dir: Path, root: Path) -> Path:
    return Path(cache_mod.cache_path(str(cache_dir), str(root)))


def records_only(monkeypatch) -> None:
    """Reopens read the per-image records: no scan stores its whole result (cache/snapshot.py),
    which an unchanged listing would otherwise be restored from without reading a record."""
    monkeypatch.setattr(cache_mod.ScanCache, "save", lambda self, collector: None)


def _damage_blob(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("DELETE FROM snapshot")  # the records are read only without a stored whole result
    blob = bytearray(db.execute("SELECT data FROM batches LIMIT 1").fetchone()[0])
    blob[len(blob) // 2] ^= 0xFF
    db.execute("UPDATE batches SET data = ? WHERE id = (SELECT MIN(id) FROM batches)", (bytes(blob),))
    db.commit()
    db.close()


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database" * 1000)
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)


def _truncate(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)


def _other_version(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = 'an older layout' WHERE key = 'layout'")
    db.commit()
    db.close()


@pytest.mark.parametrize("damage, words", [(_garbage, "damaged"), (_truncate, "damaged"),
                                           (_damage_blob, "damaged"), (_other_version, "another version")])
def test_a_bad_cache_is_rebuilt_with_a_message_and_never_trusted(dataset, tmp_path, damage, words):
    cache_dir = tmp_path / "cache"
    fresh = scan_result(dataset, None)
    scan_result(dataset, cache_dir)
    damage(_cache_file(cache_dir, dataset))
    rebuilt = scan_result(dataset, cache_dir)
    info = rebuilt.extra["cache"]
    assert words in info["message"] and info["used"] == 0
    assert rebuilt.fingerprint == fresh.fingerprint
    assert np.array_equal(rebuilt.images.thumb, fresh.images.thumb)
    after = scan_result(dataset, cache_dir)  # the rebuilt cache works
    assert after.extra["cache"]["used"] == len(dataset_items(fresh)) and after.extra["cache"]["message"] is None


def test_a_batch_found_damaged_half_way_through_a_reopen_rebuilds_the_cache(dataset, tmp_path, monkeypatch):
    """Stored batches are read a group at a time (the next decoded while one is added): the
    groups before a damaged batch are used, the damaged one and every later one decoded again."""
    monkeypatch.setattr(cache_mod, "FEED_BATCHES", 1)
    records_only(monkeypatch)
    cache_dir = tmp_path / "cache"
    fresh = scan_result(dataset, None)
    scan_result(dataset, cache_dir, chunk_size=4, workers=1)
    path = _cache_file(cache_dir, dataset)
    db = sqlite3.connect(path)
    ids = [i for (i,) in db.execute("SELECT id FROM batches ORDER BY id")]
    first = db.execute("SELECT COUNT(*) FROM items WHERE batch = ?", (ids[0],)).fetchone()[0]
    blob = bytearray(db.execute("SELECT data FROM batches WHERE id = ?", (ids[1],)).fetchone()[0])
    blob[len(blob) // 2] ^= 0xFF
    db.execute("UPDATE batches SET data = ? WHERE id = ?", (bytes(blob), ids[1]))
    db.commit()
    db.close()
    rebuilt = scan_result(dataset, cache_dir, chunk_size=4, workers=1)
    info = rebuilt.extra["cache"]
    assert len(ids) > 3 and "damaged" in info["message"] and info["used"] == first
    assert info["rescanned"] == len(dataset_items(fresh)) - first
    assert rebuilt.fingerprint == fresh.fingerprint and np.array_equal(rebuilt.images.thumb, fresh.images.thumb)
    assert np.array_equal(rebuilt.split_stats["train"].histogram, fresh.split_stats["train"].histogram)


def dataset_items(result) -> list[str]:
    return list(result.images.paths) + [f.path for f in result.failures]


def test_a_locked_cache_is_not_used_and_the_scan_goes_on(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    cache_dir = tmp_path / "cache"
    fresh = scan_result(dataset, None)
    scan_result(dataset, cache_dir)
    holder = sqlite3.connect(_cache_file(cache_dir, dataset), isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # another program keeps the file to itself
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM memo")
    holder.execute("COMMIT")
    try:
        result = scan_result(dataset, cache_dir)
    finally:
        holder.close()
    assert "locked" in result.extra["cache"]["message"] and result.extra["cache"]["used"] == 0
    assert result.fingerprint == fresh.fingerprint


def test_a_cache_that_cannot_be_written_is_given_up_and_the_scan_goes_on(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    cache_dir = tmp_path / "cache"
    scan_result(dataset, cache_dir)
    added = write_image(dataset / "test" / "dog" / "added.png", "RGB", size=(12, 12), seed=99)
    age(dataset, only=(added,))
    writer = sqlite3.connect(_cache_file(cache_dir, dataset), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long write by another process: readers go on, writers wait
    try:
        result = scan_result(dataset, cache_dir)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    info = result.extra["cache"]
    assert "could not be written" in info["message"] and info["rescanned"] == 1
    assert result.fingerprint == scan_result(dataset, None).fingerprint
    assert scan_result(dataset, cache_dir).extra["cache"]["rescanned"] == 1  # stored now


def test_two_processes_scanning_at_once_leave_a_sound_cache(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 60, modes=("RGB", "L"), seed=5)
    make_good_images(root, "test", 30, modes=("RGB",), seed=6)
    age(root)
    cache_dir = tmp_path / "cache"
    args = [sys.executable, str(REPO / "main.py"), "scan", str(root), "--quiet", "--per-image", "--workers", "1",
            "--cache-dir", str(cache_dir)]
    procs = [subprocess.Popen(args + ["--json", str(tmp_path / f"{k}.json")], cwd=str(REPO))
             for k in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    db = sqlite3.connect(_cache_file(cache_dir, root))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    warm = export(root, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert warm["dataset"]["cache"] == {"used": 90, "rescanned": 0}
    docs = [json.loads((tmp_path / f"{k}.json").read_text()) for k in range(2)]
    assert all(without_cache(d) == without_cache(warm) for d in docs)


KILLER = """
import os, signal, sys
from inspector.core.cache import ScanCache
from inspector.core.scan import iter_scan
store, stored = ScanCache.store_chunk, []
def store_then_die(self, chunk, items):  # killed while the 6th chunk arrives: 5 are committed
    if len(stored) == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    stored.append(1)
    store(self, chunk, items)
ScanCache.store_chunk = store_then_die
for p in iter_scan(sys.argv[1], workers=1, chunk_size=4, cache_dir=sys.argv[2]):
    pass
"""


def test_a_scan_killed_half_way_leaves_a_usable_cache(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 40, modes=("RGB", "L"), seed=8)
    age(root)
    cache_dir = tmp_path / "cache"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(root), str(cache_dir)], cwd=str(REPO))
    assert proc.returncode == -signal.SIGKILL
    resumed = scan_result(root, cache_dir)
    used = resumed.extra["cache"]["used"]
    assert used == 20 and resumed.extra["cache"]["rescanned"] == 40 - used
    fresh = scan_result(root, None)
    assert resumed.fingerprint == fresh.fingerprint
    assert np.array_equal(resumed.split_stats["train"].histogram, fresh.split_stats["train"].histogram)


def test_forgetting_a_dataset_and_no_cache(dataset, tmp_path):
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "a.json", "--no-cache", "--cache-dir", str(cache_dir))
    assert not cache_dir.exists()
    assert cache_mod.forget_dataset(str(cache_dir), str(dataset)) is False
    scan_result(dataset, cache_dir)
    assert scan_result(dataset, cache_dir).extra["cache"]["used"] > 0
    assert cache_mod.forget_dataset(str(cache_dir), str(dataset)) is True
    assert scan_result(dataset, cache_dir).extra["cache"]["used"] == 0


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(cache_mod.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_mod.default_cache_dir() == str(tmp_path / "xdg" / "dataset-inspector")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_mod.default_cache_dir() == str(tmp_path / "home" / ".cache" / "dataset-inspector")
    monkeypatch.setenv(cache_mod.CACHE_DIR_ENV, str(tmp_path / "explicit"))
    assert cache_mod.default_cache_dir() == str(tmp_path / "explicit")


def test_records_round_trip_exactly_for_every_histogram_kind(tmp_path):
    from inspector.core.layout import ImageFile

    items = []
    for k, mode in enumerate(("RGB", "L", "I;16", "RGBA", "P")):
        p = write_image(tmp_path / f"{k}.png", mode, size=(9 + k, 7), seed=k)
        items.append((k, ImageFile(p.name, str(p), "all", None)))
    (tmp_path / "bad.png").write_bytes(b"junk")
    items.append((5, ImageFile("bad.png", str(tmp_path / "bad.png"), "all", None)))
    chunk = _scan_chunk(items)
    batch = codec.decode_chunk(chunk.records)
    assert batch.failures == [r for _, r in chunk.failures] and batch.rows == 5
    for name, value in codec.row_columns(chunk).items():
        stored = batch.columns[name]
        assert (np.array_equal(stored, value, equal_nan=True) and stored.dtype == value.dtype) if isinstance(value, np.ndarray) \
            else stored == value
    hists = [h.shape for h in batch.hists]
    assert (1, 65536) in hists and (3, 256) in hists and (1, 256) in hists
    with pytest.raises(codec.RecordError):
        codec.decode_chunk(chunk.records[:-3])


def test_a_new_column_changes_the_record_layout_by_itself():
    @dataclass
    class Chunk:
        index: np.ndarray
        numbers: np.ndarray
        names: list = field(default_factory=list)

    @dataclass
    class Wider(Chunk):
        sharpness: np.ndarray = field(default_factory=lambda: np.zeros(0))

    base = Chunk(np.zeros(0, np.int64), np.zeros((0, 5), np.int64))
    wider = Wider(np.zeros(0, np.int64), np.zeros((0, 5), np.int64))
    reshaped = Chunk(np.zeros(0, np.int64), np.zeros((0, 6), np.int64))
    versions = {codec.layout_version(c) for c in (base, wider, reshaped)}
    assert len(versions) == 3
    assert codec.layout_version(_scan_chunk([])) == codec.layout_version(_scan_chunk([]))


CODEC_IMPORT = """
import sys
from pathlib import Path
from inspector import cli
from inspector.core.layout import ImageFile
from inspector.core.scan import _scan_chunk
root, out, cache_dir = sys.argv[1:4]
assert cli.main(["scan", root, "--json", out, "--quiet", "--no-cache", "--workers", "1"]) == 0
print("no cache", "pyarrow" in sys.modules)
files = sorted(Path(root).rglob("*.png"))[:2]
items = [(k, ImageFile(p.name, str(p), "train", None)) for k, p in enumerate(files)]
_scan_chunk(items, keep_records=False)
print("worker without records", "pyarrow" in sys.modules)
seen = []
_scan_chunk(items, keep_records=True, mark=lambda index: seen.append("pyarrow" in sys.modules))
print("worker at its first item", seen[0])
"""


def test_the_record_codec_is_loaded_only_for_a_cache_and_before_a_workers_first_item(dataset, tmp_path):
    proc = subprocess.run([sys.executable, "-c", CODEC_IMPORT, str(dataset), str(tmp_path / "a.json"),
                           str(tmp_path / "cache")], cwd=str(REPO), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["no cache False", "worker without records False",
                                           "worker at its first item True"]
    # and a scan that opens a cache loads it in the scanning process, before any worker starts
    opened = subprocess.run([sys.executable, "-c", "import sys; from inspector.core.cache import ScanCache; "
                             "from inspector.core.sources import open_source; from inspector.core.scan import _scan_chunk; "
                             "c = ScanCache.open(sys.argv[2], open_source(sys.argv[1]), _scan_chunk([])); "
                             "print(type(c).__name__, 'pyarrow' in sys.modules)", str(dataset), str(tmp_path / "cache")],
                            cwd=str(REPO), capture_output=True, text=True)
    assert opened.stdout.strip() == "ScanCache True", opened.stderr


@pytest.mark.parametrize("kind", ["manifest", "shards"])
def test_lazy_and_container_sources_reuse_their_records_and_rescans_equal_a_fresh_scan(tmp_path, monkeypatch, kind):
    """A manifest listed a few rows at a time (the cache matches each newly discovered window of
    the listing) and tar members (named by their locator, identified by their shard)."""
    from sourcefactory import as_manifest, as_shards, make_image_set
    from inspector.core import scan as scan_mod
    from inspector.core.sources import lazy, manifest

    monkeypatch.setattr(manifest, "BATCH", 7)
    monkeypatch.setattr(lazy, "LOOKAHEAD", 16)
    monkeypatch.setattr(scan_mod, "PREFETCH_PER_WORKER", 1)
    windows = []
    listed = cache_mod.listed_keys
    monkeypatch.setattr(cache_mod, "listed_keys", lambda files, *a: windows.append(len(files)) or listed(files, *a))
    images = make_image_set(tmp_path / "images")
    source = {"manifest": lambda: as_manifest(images, images / "all.csv"),
              "shards": lambda: as_shards(images, tmp_path / "shards")}[kind]()
    age(tmp_path)
    cache_dir = tmp_path / "cache"
    cold = export(source, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    n = cold["dataset"]["cache"]["rescanned"]
    windows.clear()
    warm = export(source, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert n > 20 and warm["dataset"]["cache"] == {"used": n, "rescanned": 0}
    assert without_cache(warm) == without_cache(cold)
    assert kind != "manifest" or len(windows) >= 3  # matched as it was discovered
    if kind == "manifest":  # listed as it is scanned: a whole result would never be restored, so none is stored
        assert [_snapshot_parts(p) for p in cache_dir.glob("*.sqlite")] == [0]
    if kind == "manifest":   # one listed file rewritten: only it is decoded again
        write_image(images / "val" / "dog" / "img_0001_L.png", "RGB", size=(13, 11), seed=5)
        changed, rescanned = (images / "val" / "dog" / "img_0001_L.png",), 1
    else:                     # one container rewritten (its time moves): all of its members are
        container = sorted(p for p in Path(source).rglob("*") if p.is_file() and "val" in p.name)[0]
        os.utime(container)
        changed, rescanned = (container,), None
    age(tmp_path, HOUR_NS // 2, only=changed)
    incremental = export(source, tmp_path / "inc.json", "--cache-dir", str(cache_dir))
    fresh = export(source, tmp_path / "fresh.json", "--no-cache")
    assert without_cache(incremental) == without_cache(fresh)
    info = incremental["dataset"]["cache"]
    assert info["used"] + info["rescanned"] == n and 0 < info["rescanned"] < n
    assert rescanned is None or info["rescanned"] == rescanned


def test_a_rescan_starts_one_worker_for_a_few_changed_files_and_uses_those_running(dataset, tmp_path):
    """Starting a worker process costs the CPU of decoding hundreds of small files: a rescan that
    decodes a few starts one, and uses every worker the shared pool has running already (a cold
    scan starts as many as asked)."""
    from inspector.core.pool import shutdown_pool, started_workers
    cache_dir = tmp_path / "cache"
    shutdown_pool()
    cold = scan_result(dataset, cache_dir, workers=2, chunk_size=4)
    assert cold.workers == 2 and started_workers() == 2
    write_image(dataset / "val" / "cat" / "new.png", "RGB", size=(17, 9), seed=78)
    age(dataset, HOUR_NS // 2, only=(dataset / "val" / "cat" / "new.png",))
    assert scan_result(dataset, cache_dir, workers=2, chunk_size=4).workers == 2   # running already
    write_image(dataset / "val" / "cat" / "other.png", "RGB", size=(17, 9), seed=79)
    age(dataset, HOUR_NS // 2, only=(dataset / "val" / "cat" / "other.png",))
    shutdown_pool()
    rescan = scan_result(dataset, cache_dir, workers=2, chunk_size=4)
    assert rescan.workers == 1 and started_workers() == 1
    assert rescan.extra["cache"]["rescanned"] == 1
    shutdown_pool()
