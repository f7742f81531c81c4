"""Reading the stored whole result in a child process while the folder is listed
(cache/prefetch.py): used only for the very listing it was made from, never trusted otherwise,
and never left running."""
from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from imagefactory import write_image
from inspector.core import cache as cache_mod
from inspector.core.cache import prefetch
from test_cache import HOUR_NS, age, dataset, export, without_cache  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not prefetch._ENABLED, reason="the child process needs fork (Linux)")


@pytest.fixture()
def adopted(monkeypatch) -> list[int]:
    """Counts the reopens that took the child's result (the parent restored nothing itself)."""
    calls: list[int] = []
    real = cache_mod.adopt_snapshot

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_mod, "adopt_snapshot", counted)
    return calls


@pytest.fixture()
def children(monkeypatch) -> list[prefetch.Prefetch]:
    """Every child started, to check each was waited for or stopped."""
    started: list[prefetch.Prefetch] = []
    real = prefetch.Prefetch.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(prefetch.Prefetch, "__init__", init)
    return started


def _reaped(child: prefetch.Prefetch) -> bool:
    """Every process of it waited for (none left running, no zombie)."""
    for pid in child.pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return child.status is not None and len(child.pids) == prefetch.CHILDREN


def test_an_unchanged_folder_is_restored_by_the_child_and_exports_what_a_fresh_scan_does(dataset, tmp_path,
                                                                                       adopted, children):
    cache_dir = tmp_path / "cache"
    cold = export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    assert not children  # nothing stored yet: no child
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    again = export(dataset, tmp_path / "again.json", "--cache-dir", str(cache_dir))
    assert len(children) == 2 and adopted == [1, 1] and all(c.status == 0 and _reaped(c) for c in children)
    fresh = export(dataset, tmp_path / "fresh.json", "--no-cache")
    assert without_cache(warm) == without_cache(again) == without_cache(fresh) == without_cache(cold)
    assert warm["dataset"]["cache"] == {"used": cold["dataset"]["images"] + cold["dataset"]["failed"], "rescanned": 0}
    assert not prefetch._PENDING


@pytest.mark.parametrize("change", ["rewritten in place", "touched"])
def test_a_change_the_folders_do_not_show_stops_the_child_and_is_scanned(dataset, tmp_path, adopted, children, change):
    """A file rewritten in place, or only touched, leaves its folder's time as it was: the child
    reads the stored result, but the listing is not the stored one, so it is stopped unused."""
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    target = dataset / "train" / "cat" / "img_0001_L.png"
    folder_time = target.parent.stat().st_mtime_ns
    if change == "touched":
        stamp = target.stat().st_mtime_ns - 10**9
        os.utime(target, ns=(stamp, stamp))
    else:
        with open(target, "r+b") as fh:  # same name, new content and size: the folder keeps its time
            fh.truncate(0)
            fh.seek(0)
            from PIL import Image
            Image.new("L", (21, 33), 200).save(fh, format="PNG")
        age(dataset, HOUR_NS // 2, only=(target,))
    os.utime(target.parent, ns=(folder_time, folder_time))
    changed = export(dataset, tmp_path / "changed.json", "--cache-dir", str(cache_dir))
    assert len(children) == 1 and adopted == [] and _reaped(children[0])
    assert changed["dataset"]["cache"]["rescanned"] == 1  # that file only
    fresh = export(dataset, tmp_path / "fresh.json", "--no-cache")
    assert without_cache(changed) == without_cache(fresh)
    reopened = export(dataset, tmp_path / "reopened.json", "--cache-dir", str(cache_dir))
    assert adopted == [1] and without_cache(reopened) == without_cache(fresh)


def test_a_file_added_or_removed_is_patched_from_what_the_child_read(dataset, tmp_path, adopted, children):
    """Another listing: the child's read is not the result, but a rescan patches it (cache/patch.py)."""
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    (dataset / "val" / "cat" / "same.png").unlink()
    write_image(dataset / "test" / "dog" / "new.png", "RGB", size=(17, 9), seed=78)
    age(dataset, HOUR_NS // 2, only=(dataset / "test" / "dog" / "new.png",))
    changed = export(dataset, tmp_path / "changed.json", "--cache-dir", str(cache_dir))
    assert len(children) == 1 and children[0].status == 0 and _reaped(children[0]) and adopted == []
    assert changed["dataset"]["cache"]["rescanned"] == 1  # the new file only
    assert without_cache(changed) == without_cache(export(dataset, tmp_path / "fresh.json", "--no-cache"))


def test_a_damaged_batch_fails_the_child_and_the_parent_goes_on_from_the_records(dataset, tmp_path, adopted,
                                                                                children):
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    db = sqlite3.connect(cache_mod.cache_path(str(cache_dir), str(dataset)))
    with db:  # one byte of one record blob flipped: its checksum no longer holds
        bid, data = db.execute("SELECT id, data FROM batches ORDER BY id LIMIT 1").fetchone()
        data = bytearray(data)
        data[-1] ^= 0xFF
        db.execute("UPDATE batches SET data = ? WHERE id = ?", (bytes(data), bid))
    db.close()
    reopened = export(dataset, tmp_path / "reopened.json", "--cache-dir", str(cache_dir))
    assert len(children) == 1 and children[0].status not in (0, None) and adopted == []
    assert without_cache(reopened) == without_cache(export(dataset, tmp_path / "fresh.json", "--no-cache"))


def test_a_child_not_taken_is_stopped_when_the_scan_ends(dataset, tmp_path, monkeypatch, children):
    """A scan that stops before the restore (here: the listing fails) leaves no child behind."""
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    from inspector import cli
    from inspector.core import sources

    def fails(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sources, "open_source", fails)
    assert cli.main(["scan", str(dataset), "--json", str(tmp_path / "x.json"), "--quiet",
                     "--cache-dir", str(cache_dir)]) == 130
    assert len(children) == 1 and _reaped(children[0]) and not prefetch._PENDING


def test_a_cache_folder_whose_name_reads_like_a_uri_is_read_ahead_too(dataset, tmp_path, adopted):
    cache_dir = tmp_path / "odd ?mode=rw#cache%20"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert adopted == [1] and without_cache(warm) == without_cache(export(dataset, tmp_path / "f.json", "--no-cache"))


def test_a_child_that_hangs_is_stopped_and_the_scan_restores_by_itself(dataset, tmp_path, monkeypatch, adopted,
                                                                       children):
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    import time

    def hangs(*args, **kwargs):
        time.sleep(600)
        return 0

    monkeypatch.setattr(prefetch, "_restore_in_child", hangs)  # what a child deadlocked at the fork would do
    monkeypatch.setattr(prefetch, "WAIT_LIMIT", 0.5)
    started = time.monotonic()
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert time.monotonic() - started < 60 and adopted == [] and len(children) == 1
    assert children[0].status not in (0, None) and _reaped(children[0])
    assert warm["dataset"]["cache"]["rescanned"] == 0  # restored by the scan itself
    assert without_cache(warm) == without_cache(export(dataset, tmp_path / "fresh.json", "--no-cache"))


def test_a_child_runs_with_the_default_stop_signals_not_the_clis(dataset, tmp_path, monkeypatch, children):
    """The CLI's handlers raise its stop in the main process; a forked child must simply die."""
    import signal

    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    seen = tmp_path / "handlers"

    def records_handlers(*args, **kwargs):
        seen.write_text(repr([signal.getsignal(s) is signal.SIG_DFL for s in (signal.SIGINT, signal.SIGTERM)]))
        return 1  # failed: the parent restores by itself

    monkeypatch.setattr(prefetch, "_restore_in_child", records_handlers)
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    assert len(children) == 1 and _reaped(children[0])
    assert seen.read_text() == "[True, True]"
    assert without_cache(warm) == without_cache(export(dataset, tmp_path / "fresh.json", "--no-cache"))
