"""The window and the scan cache: on by default, "from cache, N changed items rescanned" after a
reopen, Forget Cached Records makes the next scan cold, and the setting turns the cache off."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from imagefactory import make_good_images, write_image
from inspector.core.cache import cache_path, default_cache_dir
from inspector.ui import cache_actions

HOUR_NS = 3600 * 10**9


def age(root: Path) -> None:
    """Date the files an hour back, as a reopened dataset's are (records of files modified within
    a second or two of their scan are not trusted)."""
    t = time.time_ns() - HOUR_NS
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(t, t))


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "cached-ds"
    make_good_images(root, "train", 12, modes=("RGB", "L"), label="a", seed=3)
    make_good_images(root, "val", 6, modes=("RGB",), label="a", seed=4)
    age(root)
    return root


def scan_in(w, qtbot, root: Path) -> str:
    """Open ROOT in the window, wait for the scan, and return the status bar's final message."""
    with qtbot.waitSignal(w.scanFinished, timeout=60_000):
        w.open_folder(str(root))
    qtbot.waitUntil(lambda: "Scanned" in w.statusBar().currentMessage(), timeout=5000)
    return w.statusBar().currentMessage()


def test_reopening_says_it_came_from_the_cache_and_counts_changed_items(make_window, qtbot, dataset):
    w = make_window()
    assert w.use_cache_action.isChecked() and w.scan.use_cache
    first = scan_in(w, qtbot, dataset)
    assert "from cache" not in first and "cold scan, 18 items cached" in first
    assert os.path.exists(cache_path(default_cache_dir(), w.result.root))

    second = scan_in(w, qtbot, dataset)
    assert "from cache, 0 changed items rescanned" in second
    assert w.result.extra["cache"]["used"] == 18
    assert "from cache, 0 changed items rescanned" in w.progress.summary.text()

    changed = sorted((dataset / "train").rglob("*.png"))[0]
    write_image(changed, "RGB", seed=99)
    t = time.time_ns() - HOUR_NS // 2  # a different, settled modification time
    os.utime(changed, ns=(t, t))
    third = scan_in(w, qtbot, dataset)
    assert "from cache, 1 changed item rescanned" in third


def test_forget_makes_the_next_scan_cold(make_window, qtbot, dataset):
    w = make_window()
    scan_in(w, qtbot, dataset)
    assert "from cache, 0 changed" in scan_in(w, qtbot, dataset)
    assert w.forget_cache_action.isEnabled()
    w.forget_cache_action.trigger()
    qtbot.waitUntil(lambda: "Forgot the cached records" in w.statusBar().currentMessage(), timeout=10_000)
    assert "cache" in w.messages._bars
    after = scan_in(w, qtbot, dataset)
    assert "from cache" not in after and "cold scan, 18 items cached" in after
    assert w.result.extra["cache"] == {**w.result.extra["cache"], "used": 0, "rescanned": 18}


def test_the_cache_can_be_turned_off_and_the_choice_is_remembered(make_window, qtbot, qt_settings, dataset):
    w = make_window()
    scan_in(w, qtbot, dataset)  # stores records a scan with the cache on would reuse
    w.use_cache_action.trigger()
    assert not w.scan.use_cache and qt_settings.value(cache_actions.SETTING) in (False, "false")
    off = scan_in(w, qtbot, dataset)
    assert "cache off" in off and "from cache" not in off
    assert w.result.extra["cache"]["enabled"] is False and w.result.extra["cache"]["used"] == 0
    assert not make_window().scan.use_cache  # a new window reads the setting


def test_reopening_an_unchanged_dataset_reuses_its_leakage_findings(make_window, qtbot, monkeypatch, dataset):
    from inspector.app import scan_job

    leaked = sorted((dataset / "train").rglob("*.png"))[0]
    (dataset / "val" / "a" / "copy.png").write_bytes(leaked.read_bytes())  # an exact train/val copy
    age(dataset)
    searches = []
    real = scan_job.iter_scan_leakage
    monkeypatch.setattr(scan_job, "iter_scan_leakage", lambda *a, **k: searches.append(1) or real(*a, **k))
    w = make_window()
    scan_in(w, qtbot, dataset)
    first = list(w.findings)
    assert len(searches) == 1 and any(f.kind == "exact" for f in first)
    scan_in(w, qtbot, dataset)
    assert len(searches) == 1, "the unchanged dataset's leakage search ran again"
    assert list(w.findings) == first
