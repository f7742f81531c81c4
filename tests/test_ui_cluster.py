"""The window on a Dask cluster: the scheduler setting, a scan on a local cluster with per-worker
progress, and an unreachable scheduler as a message instead of a scan."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QInputDialog

from imagefactory import make_good_images
from processhelpers import process_gone, wait_until
from inspector.core import cluster as cluster_mod
from inspector.core.scan import scan
from inspector.ui import cluster_setting

pytest.importorskip("distributed")


@pytest.fixture
def small_dataset(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 30, modes=("RGB", "L"), label="a", seed=1)
    make_good_images(root, "val", 10, modes=("RGB",), label="a", seed=2)
    return root


def answer_dialog(monkeypatch, text: str) -> None:
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kwargs: (text, True)))


def test_window_scans_on_a_local_cluster_with_per_worker_progress(make_window, qtbot, qt_settings,
                                                                  small_dataset):
    qt_settings.setValue(cluster_setting.SETTING, "local:2")  # remembered from an earlier session
    w = make_window()
    assert w.scan.cluster.address == "local:2"
    records = []
    w.scan.progress.connect(records.append)
    with qtbot.waitSignal(w.scanFinished, timeout=120_000):
        w.open_folder(str(small_dataset))
    local = scan(str(small_dataset), workers=1)
    assert w.result.workers == 2
    assert w.result.fingerprint == local.fingerprint
    for split in local.splits:
        assert np.array_equal(w.result.split_stats[split].histogram, local.split_stats[split].histogram)
    last = [p.per_worker for p in records if p.per_worker][-1]
    assert sum(last.values()) == len(local.images)
    tip = w.progress.workers.toolTip()
    assert all(f"{address.removeprefix('tcp://')}: {n:,}" in tip for address, n in last.items())
    pids = list(w.scan.cluster.connect().worker_pids().values())
    assert w.shutdown(10_000)
    assert wait_until(lambda: all(process_gone(p) for p in pids), 10), "cluster workers outlived the window"


def test_unreachable_scheduler_fails_the_scan_with_its_reason(make_window, qtbot, monkeypatch, small_dataset):
    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 0.5)
    w = make_window()
    answer_dialog(monkeypatch, "tcp://127.0.0.1:9")
    w.cluster_action.trigger()
    assert w.settings.value(cluster_setting.SETTING) == "tcp://127.0.0.1:9"
    with qtbot.waitSignal(w.scanFailed, timeout=30_000) as failed:
        w.open_folder(str(small_dataset))
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in failed.args[0]
    assert w.result is None


def test_a_bad_address_is_refused_and_empty_means_this_machine(make_window, monkeypatch):
    w = make_window()
    answer_dialog(monkeypatch, "local:zero")
    w.cluster_action.trigger()
    assert w.scan.cluster.address == "" and w.settings.value(cluster_setting.SETTING) is None
    assert "worker count" in w.statusBar().currentMessage()
    assert cluster_setting.apply(w, " local:3 ") and w.scan.cluster.address == "local:3"
    assert cluster_setting.apply(w, "") and w.scan.cluster.address == ""
    assert "this machine's processes" in w.statusBar().currentMessage()
