"""Rescanning and cancelling in the window keep nothing of the previous scans: after the first
cycles (caches, lazily built widgets), the count of live Python objects of every type stays flat."""
from __future__ import annotations

import gc
from collections import Counter

from test_ui_main import SCAN_TIMEOUT, small_dataset

CYCLES = 4


def _live_types() -> Counter[str]:
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def _cycle(qtbot, window) -> None:
    """A cancelled rescan, then a rescan to the end (statistics, findings, the panels' decodes)."""
    window.rescan()
    window.cancel_scan()
    qtbot.waitUntil(lambda: not window.scanning and window.scan.worker is None, timeout=SCAN_TIMEOUT)
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        window.rescan()
    qtbot.waitUntil(lambda: window.scan.worker is None, timeout=SCAN_TIMEOUT)
    assert window.image_list.select_path("train/cat/cat_0.png")  # the preview and normalization decode it
    assert window.panel_runner.wait_idle(5000)
    qtbot.wait(20)  # the answers of the panels' last jobs, and deferred deletions


def test_cancel_and_rescan_cycles_keep_no_objects(qtbot, make_window, tmp_path):
    from inspector.core.scan import ScanResult

    window = make_window()
    window.scan.use_cache = False
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        window.open_folder(str(small_dataset(tmp_path / "ds")))
    for _ in range(2):
        _cycle(qtbot, window)
    counts = []
    for _ in range(2):  # two windows of cycles: a leak grows in both, a paint in flight in one
        counts.append(_live_types())
        for _ in range(CYCLES):
            _cycle(qtbot, window)
    counts.append(_live_types())
    results = [o for o in gc.get_objects() if isinstance(o, ScanResult)]
    assert len(results) == 1 and results[0] is window.result  # the current scan only
    first, second = (Counter({k: b[k] - a[k] for k in b}) for a, b in zip(counts, counts[1:]))
    grown = {k: (first[k], second[k]) for k in second
             if min(first[k], second[k]) >= CYCLES and not k.startswith("pytestqt.")}  # its captured Qt messages
    assert not grown, f"objects kept by every cycle (growth in each window of {CYCLES} cycles): {grown}"
