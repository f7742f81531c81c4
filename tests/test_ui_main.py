"""The main window (inspector/ui): open, scan in the background, live statistics, cancel and rescan,
the image list (1,000,000 rows), selection, export, snippets, bad folders, settings, themes.

Every wait is on a signal or a condition (qtbot.waitSignal / waitUntil), never on time. Dialogs are
monkeypatched (inspector.ui.dialogs), so nothing modal ever runs.
"""
from __future__ import annotations

import ast
import json
import os
import threading
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from imagefactory import write_image
from inspector.core import hashing
from inspector.core.demo import BLANK_SKY, MANIFEST
from inspector.core.export import build_document, normalization_stats, snippets
from inspector.core.normalize import max_amplification
from inspector.core.table import ImageTable
from inspector.app import scan_job as worker_module
from inspector.ui import dialogs
from inspector.ui.image_model import AMP, MEAN, PATH, SPLIT, STATUS, ImageListModel, RowFilter
from inspector.ui.main_window import TAB_IMAGES, TAB_LEAKAGE, MainWindow

SCHEMA = json.loads((Path(__file__).parent / "export-v1.schema.json").read_text(encoding="utf-8"))
SCAN_TIMEOUT = 30_000


# ----------------------------------------------------------------------------- helpers

def scan(qtbot, window: MainWindow, root: str):
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.open_folder(root)
    return blocker.args[0]


def small_dataset(root: Path, splits=("train", "val", "test"), per_split: int = 4) -> Path:
    seed = 0
    for split in splits:
        for cls in ("cat", "dog"):
            for k in range(per_split // 2):
                write_image(root / split / cls / f"{cls}_{k}.png", "RGB", size=(24, 16), seed=seed)
                seed += 1
    return root


class Gate:
    """Wraps core iter_scan so a test decides when the scan may go past its first progress record."""

    def __init__(self, monkeypatch) -> None:
        self.release = threading.Event()
        from inspector.core import scan as scan_module

        real = scan_module.iter_scan

        def gated(source, **kwargs):
            gen = real(source, **kwargs)
            first = next(gen)
            yield first
            self.release.wait(20)
            return (yield from gen)

        monkeypatch.setattr(scan_module, "iter_scan", gated)  # what core.scan.scan() drives


def synthetic_table(n: int, seed: int = 0) -> ImageTable:
    """An ImageTable of n rows in scan order (split, then path), without touching any file."""
    rng = np.random.default_rng(seed)
    splits, labels = ["train", "val", "test"], [f"class{k}" for k in range(5)]
    split = np.sort(rng.choice(3, n, p=[0.7, 0.15, 0.15])).astype(np.int16)
    label = rng.integers(0, 5, n).astype(np.int32)
    paths = [f"{splits[s]}/{labels[c]}/img_{i:07d}.jpg" for i, s, c in zip(range(n), split.tolist(), label.tolist())]
    return ImageTable(
        paths=paths, split_names=splits, split=split, label_names=labels, label=label,
        width=rng.integers(32, 1024, n).astype(np.int32), height=rng.integers(32, 1024, n).astype(np.int32),
        nbytes=rng.integers(1000, 10**6, n).astype(np.int64), format_names=["PNG", "JPEG"],
        format=rng.integers(0, 2, n).astype(np.int16), mode_names=["RGB", "L"], mode=np.zeros(n, np.int16),
        mean=rng.uniform(0, 1, (n, 3)), std=rng.uniform(0.0005, 0.3, (n, 3)),
        min=np.zeros((n, 3)), max=np.ones((n, 3)), content_hash=np.zeros((n, 2), np.uint64),
        phash=np.zeros((n, hashing.N_VIEWS), np.uint64),
        thumb=np.zeros((n, hashing.THUMB_SIZE, hashing.THUMB_SIZE), np.uint8),  # calloc: never touched
        flags=np.where(rng.random(n) < 0.01, 1, 0).astype(np.uint16))


# ----------------------------------------------------------------------------- architecture

def test_late_signals_of_a_superseded_scan_are_ignored(qtbot, make_window, tmp_path, monkeypatch):
    """The race the scan controller guards against: a scan abandoned for another folder still
    sends its signals (its thread stops only at its next check). None may touch the session."""
    from inspector.app.session import Phase
    from inspector.core.layout import discover
    from inspector.core.scan import scan as core_scan

    first, second = small_dataset(tmp_path / "first"), small_dataset(tmp_path / "second", per_split=2)
    stale = core_scan(str(first), workers=1)
    gate = Gate(monkeypatch)
    window = make_window()
    window.open_folder(str(first))
    qtbot.waitUntil(lambda: window.progress.split_text("train") != "", timeout=SCAN_TIMEOUT)
    old = window.scan.worker
    gate.release.set()  # the old scan may run on; it is aborted by the next open
    result = scan(qtbot, window, str(second))
    findings, label = window.findings, window.dataset_label.text()
    phases = []
    window.scanPhase.connect(phases.append)
    # Everything the old worker could still send, in the order it would (delivered now, on the GUI thread).
    old.layoutFound.emit(discover(str(first)))
    old.scanned.emit(stale)
    old.phase.emit("stale phase")
    old.leakageFailed.emit("stale failure")
    old.finished.emit(stale, [])
    old.errored.emit("stale error")
    old.cancelled.emit()
    assert window.result is result and window.findings is findings
    assert window.session.phase is Phase.DONE and window.session.leakage_error is None
    assert window.dataset_label.text() == label and "scan" not in window.messages.keys()
    assert window.stats_panel.table.split_names() == result.splits
    assert phases == [] and window.statusBar().currentMessage() != "stale phase"


# ----------------------------------------------------------------------------- open and scan

def test_open_scan_shows_exact_statistics(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    assert window.result is result and window.findings is not None
    assert result.splits == ["train", "val", "test"]
    assert {s: st.images for s, st in result.split_stats.items()} == MANIFEST["images"]

    table = window.stats_panel.table
    assert table.split_names() == ["train", "val", "test"]
    for split, st in result.split_stats.items():
        assert table.cell_text(split, 0, 1) == f"{st.images:,}"
        assert table.cell_text(split, 0, 2) == f"{st.failed:,}"
        for c in range(3):
            assert table.cell_text(split, c, 5) == f"{st.mean[c]:.4f}"      # mean, 0-1 scale
            assert table.cell_text(split, c, 6) == f"{st.std[c]:.4f}"       # std, 0-1 scale
            assert table.cell_text(split, c, 7) == f"{st.mean[c] * 255:.2f}"  # mean, 0-255 scale
            assert table.cell_text(split, c, 8) == f"{st.std[c] * 255:.2f}"
            # The histogram on screen is the split's exact histogram as a share of its pixels.
            edges, share = window.stats_panel.histograms.curve_data(split, c)
            hist = st.histogram_256[c]
            assert len(edges) == len(share) + 1 == 257
            np.testing.assert_allclose(share, hist * 100.0 / hist.sum())
    assert window.stats_panel.state_label.text().startswith("exact")

    # Normalization line = the export's numbers (train, 0-1 scale).
    mean, std, _ = normalization_stats(result, ["train"])
    assert f"{mean[0]:.4f}" in window.stats_panel.norm_label.text()
    assert window.source_selector.selected() == ["train"]

    # Image properties: the demo's two broken files and one skipped README, with reasons.
    props = window.stats_panel.properties
    assert props.failures.rowCount() == len(MANIFEST["broken"]) == len(result.failures)
    assert {props.failures.record(r)[0] for r in range(2)} == set(MANIFEST["broken"])
    assert all(props.failures.record(r)[2] for r in range(2))
    assert props.skipped.rowCount() == 1 and props.skipped.record(0)[0] == "README.txt"
    assert "Failures (2)" == props.tabText(1)

    # Image list: every decoded image plus the failed files.
    assert window.image_list.model.rowCount() == len(result.images) + len(result.failures)
    assert window.export_action.isEnabled() and window.rescan_action.isEnabled()
    assert not window.cancel_action.isEnabled() and not window.progress.busy
    assert f"{len(result.images):,} images" in window.progress.summary.text()
    assert "demo" in window.windowTitle()


def test_histograms_log_scale_keeps_rare_values_visible(qtbot, make_window, demo_root):
    import numpy as np
    window = make_window()
    scan(qtbot, window, demo_root)
    hist = window.stats_panel.histograms
    x, linear = hist.curve_data("train", 0)
    hist.log_box.setChecked(True)
    _, logged = hist.curve_data("train", 0)
    nonzero = linear > 0
    np.testing.assert_allclose(logged[nonzero], np.log10(linear[nonzero]))   # same bars, log units
    assert (logged[~nonzero] == np.log10(1e-4)).all()                        # empty values at the floor
    low, high = hist.plots[0].getViewBox().viewRange()[1]
    assert low == np.log10(1e-4) and 10 ** high >= linear.max()
    assert hist.plots[0].getAxis("left").logMode
    hist.log_box.setChecked(False)
    np.testing.assert_array_equal(hist.curve_data("train", 0)[1], linear)


def test_live_statistics_while_scanning(qtbot, make_window, demo_root, monkeypatch):
    gate = Gate(monkeypatch)
    window = make_window()
    window.open_folder(demo_root)
    # The first progress record carries partial statistics: the table shows the splits, marked live.
    qtbot.waitUntil(lambda: window.stats_panel.state_label.text().startswith("live"), timeout=SCAN_TIMEOUT)
    assert window.stats_panel.table.split_names() == ["train", "val", "test"]
    assert window.progress.busy and window.cancel_action.isEnabled()
    assert window.progress.split_text("train").startswith("train 0/")
    assert not window.export_action.isEnabled()  # nothing final to export yet
    assert "when the scan has finished" in window.image_list.count_label.text()
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        gate.release.set()
    assert window.stats_panel.state_label.text().startswith("exact")
    assert window.image_list.count_label.text().startswith("Showing 183 of 183 images")


def test_statistics_shown_while_leakage_search_runs(qtbot, make_window, demo_root, monkeypatch, tmp_path):
    release = threading.Event()
    real = worker_module.run_leakage

    def slow_leakage(result, source, *progress_and_cancel, **options):
        release.wait(20)
        return real(result, source, *progress_and_cancel, **options)

    monkeypatch.setattr(worker_module, "run_leakage", slow_leakage)
    window = make_window()
    with qtbot.waitSignal(window.statisticsShown, timeout=SCAN_TIMEOUT) as blocker:
        window.open_folder(demo_root)
    result = blocker.args[0]
    # Final statistics and the image list are usable; export waits for the findings.
    assert window.stats_panel.state_label.text().startswith("exact")
    assert window.image_list.model.rowCount() == len(result.images) + len(result.failures)
    assert window.findings is None and not window.export_action.isEnabled()
    assert window.cancel_action.isEnabled() and window.tabs.tabText(TAB_LEAKAGE) == "Leakage (checking…)"
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        release.set()
    assert window.findings is not None and window.export_action.isEnabled()
    assert not window.cancel_action.isEnabled()
    # Cancelling during the leakage search keeps the (final) statistics.
    release.clear()
    with qtbot.waitSignal(window.statisticsShown, timeout=SCAN_TIMEOUT):
        window.rescan_action.trigger()
    with qtbot.waitSignal(window.scanCancelled, timeout=SCAN_TIMEOUT):
        window.cancel_action.trigger()
        release.set()
    assert window.result is not None and window.findings is None
    assert "Leakage check cancelled" in window.messages.texts()["scan"]
    assert window.stats_panel.state_label.text().startswith("exact")
    assert window.rescan_action.isEnabled() and not window.cancel_action.isEnabled()
    assert "Checking" not in window.statusBar().currentMessage()  # the phase it was in is over
    # The statistics are complete, so they can be exported; the file says nothing of duplicates.
    assert window.export_action.isEnabled()
    with qtbot.waitSignal(window.exportFinished, timeout=SCAN_TIMEOUT) as exported:
        window.export_json(str(tmp_path / "unchecked.json"))
    doc = json.loads(Path(exported.args[0]).read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["leakage"] == [] and doc["normalization"]["source_splits"] == ["train"]
    assert "leakage not checked" in window.statusBar().currentMessage()


def test_scan_with_worker_processes(qtbot, make_window, demo_root):
    """The real configuration: the core's spawn process pool, started from the worker QThread."""
    window = make_window(scan_workers=2)
    result = scan(qtbot, window, demo_root)
    assert result.workers == 2 and len(result.images) == sum(MANIFEST["images"].values())


def test_cancel_mid_scan_then_rescan(qtbot, make_window, demo_root, monkeypatch):
    gate = Gate(monkeypatch)
    window = make_window()
    with qtbot.waitSignal(window.scanStarted):
        window.open_folder(demo_root)
    qtbot.waitUntil(lambda: window.progress.split_text("train") != "", timeout=SCAN_TIMEOUT)
    with qtbot.waitSignal(window.scanCancelled, timeout=SCAN_TIMEOUT):
        window.cancel_action.trigger()
        gate.release.set()  # the worker sees the abort flag at its next step
    qtbot.waitUntil(lambda: not window.scanning)
    assert window.result is None
    assert window.stats_panel.state_label.text().startswith("partial")
    assert "cancelled" in window.messages.texts()["scan"]
    assert not window.export_action.isEnabled() and window.rescan_action.isEnabled()

    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        window.rescan_action.trigger()
    assert window.result is not None and "scan" not in window.messages.keys()
    assert window.export_action.isEnabled()


def test_new_folder_supersedes_running_scan(qtbot, make_window, demo_root, tmp_path, monkeypatch):
    gate = Gate(monkeypatch)
    window = make_window()
    window.open_folder(demo_root)
    qtbot.waitUntil(lambda: window.progress.split_text("train") != "", timeout=SCAN_TIMEOUT)
    other = small_dataset(tmp_path / "other")
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.open_folder(str(other))
        gate.release.set()
    assert blocker.args[0].root == str(other)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=SCAN_TIMEOUT)
    assert window.result.root == str(other)  # the abandoned demo scan never replaced it


# ----------------------------------------------------------------------------- image list

def test_selection_previews_and_shows_in_normalization(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    window.tabs.setCurrentIndex(TAB_IMAGES)
    row = result.images.paths.index(BLANK_SKY)
    assert window.image_list.select_path(BLANK_SKY)
    expected = os.path.join(result.root, *BLANK_SKY.split("/"))
    qtbot.waitUntil(lambda: window.preview.loaded_path == expected, timeout=10_000)
    assert window.normalization.current_row == row
    assert BLANK_SKY in window.preview._info.toPlainText()
    # A failed file shows its reason instead of pixels.
    window.image_list.set_filter(status="failed")
    assert window.image_list.model.rowCount() == 2
    window.image_list.select_view_row(0)
    failure = window.image_list.model.failure_at(0)
    assert failure.reason in window.preview._info.toPlainText()
    assert window.preview.loaded_path is None


def test_most_amplified_first_in_one_click(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    window.image_list.amp_button.click()
    model = window.image_list.model
    _, train_std, _ = normalization_stats(result, ["train"])
    amp = max_amplification(result.images.std, np.asarray(train_std))
    order = [model.source_row(r) for r in range(len(result.images))]
    assert order[0] == int(np.argmax(amp))
    assert np.all(np.diff(amp[order]) <= 0)                       # descending
    assert all(model.image_row(r) is None for r in range(len(result.images), model.rowCount()))  # failed last
    assert result.images.paths[order[0]] in (BLANK_SKY, MANIFEST["dark_frame"])
    assert model.data(model.index(0, AMP)) == f"{amp[order[0]]:.1f}×"


def test_filters_split_class_status_and_text(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    lst, model = window.image_list, window.image_list.model
    lst.set_filter(split="val")
    assert model.rowCount() == result.split_stats["val"].images + 2
    lst.set_filter(split="val", label="city", status="failed")
    assert [model.data(model.index(r, PATH)) for r in range(model.rowCount())] == ["val/city/broken_truncated.jpg"]
    assert model.data(model.index(0, STATUS)).startswith("failed: ")
    lst.set_filter(text="SKY  blank")
    assert [model.data(model.index(r, PATH)) for r in range(model.rowCount())] == [BLANK_SKY]
    lst.set_filter(status="converted")
    assert model.rowCount() == sum(1 for i in range(len(result.images)) if result.images.flags[i])
    lst.set_filter()
    assert model.rowCount() == len(result.images) + 2
    assert "Showing" in lst.count_label.text()
    # The debounced search box applies the same filter.
    lst.search.setText("city_copy")
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=5000)  # q60, crop, exact


def test_image_model_million_rows_sort_and_filter(qtbot):
    # Speed is measured by scripts, not asserted here; this checks a 1,000,000-row model is right.
    from inspector.core.scan import Failure

    table = synthetic_table(1_000_000)
    failures = [Failure("val/class1/broken.jpg", "val", "truncated file")]
    model = ImageListModel()
    model.set_table(table, failures, dataset_std=[0.25, 0.25, 0.25])
    with qtbot.waitSignal(model.orderApplied, timeout=60_000):
        model.sort(AMP, Qt.SortOrder.DescendingOrder)
    assert model.rowCount() == 1_000_001
    amp = max_amplification(table.std, np.full(3, 0.25))
    assert model.source_row(0) == int(np.argmax(amp))
    assert model.image_row(1_000_000) is None and model.failure_at(1_000_000) is failures[0]
    with qtbot.waitSignal(model.orderApplied, timeout=60_000):
        model.set_filter(RowFilter(split="val", label="class3"))
    with qtbot.waitSignal(model.orderApplied, timeout=60_000):
        model.sort(MEAN, Qt.SortOrder.AscendingOrder)
    expected = np.count_nonzero((table.split == 1) & (table.label == 3))
    assert model.rowCount() == expected
    means = [table.mean[model.source_row(r)].mean() for r in range(0, expected, 997)]
    assert means == sorted(means)
    with qtbot.waitSignal(model.orderApplied, timeout=60_000):  # paths: pyarrow over the path buffer
        model.set_filter(RowFilter(text="IMG_00004 class2"))
    shown = [model.data(model.index(r, PATH)) for r in range(model.rowCount())]
    assert shown == sorted((p for p in table.paths if "img_00004" in p and "class2" in p),
                           key=lambda p: table.mean[table.paths.index(p)].mean())
    with qtbot.waitSignal(model.orderApplied, timeout=60_000):
        model.sort(PATH, Qt.SortOrder.DescendingOrder)
    assert [model.data(model.index(r, PATH)) for r in range(model.rowCount())] == sorted(shown, reverse=True)


def test_large_list_sorts_and_filters_off_the_gui_thread(qtbot, monkeypatch):
    """At scale the order is worked out on a worker thread; until it arrives the view keeps the old
    order (a header click returns at once), and the newest request wins."""
    from inspector.app import image_rows

    threads = []
    real = image_rows.ImageRows.order
    monkeypatch.setattr(image_rows.ImageRows, "order",
                        lambda self, *a: threads.append(threading.get_ident()) or real(self, *a))
    model = ImageListModel()
    monkeypatch.setattr(model, "ASYNC_ROWS", 100)
    table = synthetic_table(500)
    model.set_table(table, [], dataset_std=[0.25, 0.25, 0.25])
    assert not threads  # table order needs no work at all
    with qtbot.waitSignal(model.orderApplied, timeout=10_000):
        model.sort(MEAN, Qt.SortOrder.AscendingOrder)
        assert model.busy() and model.source_row(0) == 0  # not applied yet: still table order
        model.set_filter(RowFilter(split="test"))          # replaces the waiting request
    qtbot.waitUntil(lambda: not model.busy(), timeout=10_000)
    assert threads and threading.get_ident() not in threads
    rows = [model.source_row(r) for r in range(model.rowCount())]
    assert rows == [int(i) for i in np.argsort(table.mean.mean(axis=1), kind="stable") if table.split[i] == 2]
    # Small lists stay synchronous: a sort is applied before sort() returns.
    small = ImageListModel()
    small.set_table(synthetic_table(50), [], dataset_std=[0.25, 0.25, 0.25])
    small.sort(MEAN, Qt.SortOrder.DescendingOrder)
    assert not small.busy() and small.source_row(0) == int(np.argmax(synthetic_table(50).mean.mean(axis=1)))


def test_image_model_passes_qt_model_checks(qtmodeltester):
    from inspector.core.scan import Failure

    model = ImageListModel()
    model.set_table(synthetic_table(300), [Failure("test/class0/x.jpg", "test", "empty file (0 bytes)")],
                    dataset_std=[0.2, 0.2, 0.2])
    qtmodeltester.check(model)
    model.sort(PATH, Qt.SortOrder.DescendingOrder)
    model.set_filter(RowFilter(split="test", status="all", text="img_"))
    qtmodeltester.check(model)
    assert all(model.data(model.index(r, SPLIT)) == "test" for r in range(model.rowCount()))


# ----------------------------------------------------------------------------- export and snippets

def test_export_json_matches_cli_document_and_schema(qtbot, make_window, demo_root, tmp_path, monkeypatch):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    out = tmp_path / "exports" / "stats.json"
    out.parent.mkdir()
    asked = []
    monkeypatch.setattr(dialogs, "choose_export_path", lambda parent, suggested: asked.append(suggested) or str(out))
    with qtbot.waitSignal(window.exportFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.export_action.trigger()
    assert blocker.args == [str(out)] and asked and asked[0].endswith("-stats.json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc == json.loads(json.dumps(build_document(result, window.findings, source_splits=["train"])))
    assert doc["normalization"]["source_splits"] == ["train"]
    assert [f["path"] for f in doc["failures"]] == sorted(MANIFEST["broken"])
    assert len(doc["leakage"]) == len(window.findings) > 0
    assert not [p for p in os.listdir(out.parent) if p != "stats.json"]  # no temporary file left behind
    # Per-image records on request (the option persists in the settings).
    window.per_image_action.trigger()
    with qtbot.waitSignal(window.exportFinished, timeout=SCAN_TIMEOUT):
        window.export_json(str(tmp_path / "per_image.json"))
    doc = json.loads((tmp_path / "per_image.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["images"]) == len(result.images)
    assert window.settings.value("export/perImage") in (True, "true")


def test_export_failure_is_a_message_not_an_exception(qtbot, make_window, tmp_path):
    window = make_window()
    scan(qtbot, window, str(small_dataset(tmp_path / "ds")))
    with qtbot.waitSignal(window.exportFailed, timeout=SCAN_TIMEOUT):
        window.export_json(str(tmp_path / "no" / "such" / "folder" / "x.json"))
    assert "Export failed" in window.messages.texts()["export"]


def test_source_with_val_warns_and_export_records_stats_source(qtbot, make_window, demo_root, tmp_path):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    assert not any(f.kind == "stats_source" for f in window.findings)
    with qtbot.waitSignal(window.leakageUpdated, timeout=SCAN_TIMEOUT):
        window.source_selector._boxes["val"].setChecked(True)  # the user ticks "val"
    assert window.source == ["train", "val"]
    warning = window.messages.message("source")
    assert warning is not None and warning.level == "warning" and "val" in warning.text()
    assert "val" in window.source_selector.warning_text()
    assert any(f.kind == "stats_source" for f in window.findings)
    # The instant update equals a full search with the new source.
    from inspector.core.leakage import find_leakage

    means = {s: list(st.mean) for s, st in result.split_stats.items()}
    assert window.findings == find_leakage(result.images, means, source_splits=["train", "val"])
    out = tmp_path / "leaky.json"
    with qtbot.waitSignal(window.exportFinished, timeout=SCAN_TIMEOUT):
        window.export_json(str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["normalization"]["source_splits"] == ["train", "val"]
    mean, std, _ = normalization_stats(result, ["train", "val"])
    assert doc["normalization"]["mean"] == mean and doc["normalization"]["std"] == std
    assert any(f["kind"] == "stats_source" for f in doc["leakage"])
    # The warning's own button goes back to train only, and the finding disappears.
    with qtbot.waitSignal(window.leakageUpdated, timeout=SCAN_TIMEOUT):
        warning.action_button.click()
    assert window.source == ["train"] and window.messages.message("source") is None
    assert not any(f.kind == "stats_source" for f in window.findings)


@pytest.mark.parametrize("library", ["torchvision", "albumentations", "timm", "huggingface", "keras"])
def test_copy_snippet_puts_export_numbers_on_clipboard(qtbot, make_window, tmp_path, library):
    window = make_window()
    result = scan(qtbot, window, str(small_dataset(tmp_path / "ds")))
    QGuiApplication.clipboard().clear()
    window.snippet_actions[library].trigger()
    mean, std, max_value = normalization_stats(result, ["train"])
    assert QGuiApplication.clipboard().text() == snippets(mean, std, result.mode, max_value, ["train"])[library]


# ----------------------------------------------------------------------------- bad folders

@pytest.mark.parametrize("kind, expected", [
    ("missing", "No such file or folder"),
    ("empty", "is empty"),
    ("no_images", "No image files were found"),
    ("file", "Not a dataset source"),
])
def test_bad_folder_gives_a_clear_message(qtbot, make_window, tmp_path, kind, expected):
    root = tmp_path / "dataset"
    if kind == "empty":
        root.mkdir()
    elif kind == "no_images":
        (root / "train").mkdir(parents=True)
        (root / "train" / "notes.txt").write_text("not an image")
        (root / "labels.csv").write_text("a,b\n")
    elif kind == "file":
        root.write_text("just a file")
    window = make_window()
    with qtbot.waitSignal(window.scanFailed, timeout=SCAN_TIMEOUT) as blocker:
        window.open_folder(str(root))
    assert expected in blocker.args[0]
    bar = window.messages.message("scan")
    assert bar is not None and bar.level == "error" and expected in bar.text() and bar.isVisible()
    qtbot.waitUntil(lambda: not window.scanning)
    assert window.result is None and not window.export_action.isEnabled()
    assert window.rescan_action.isEnabled()
    assert str(root) not in window.recent_folders()  # nothing worth reopening


def test_missing_and_empty_splits_are_explained(qtbot, make_window, tmp_path):
    root = small_dataset(tmp_path / "ds", splits=("train", "test"))
    (root / "val").mkdir()  # an empty split folder
    window = make_window()
    result = scan(qtbot, window, str(root))
    assert result.splits == ["train", "val", "test"]
    text = window.messages.texts()["layout"]
    assert "val" in text and "no images" in text
    assert window.messages.message("layout").level == "warning"
    assert window.stats_panel.table.cell_text("val", 0, 1) == "0"
    assert window.export_action.isEnabled()


def test_flat_folder_is_one_split_called_all(qtbot, make_window, tmp_path):
    for k in range(3):
        write_image(tmp_path / "flat" / f"img_{k}.png", "RGB", size=(8, 8), seed=k)
    window = make_window()
    result = scan(qtbot, window, str(tmp_path / "flat"))
    assert result.splits == ["all"] and window.source == ["all"]
    assert "all" in window.messages.texts()["layout"]
    assert window.messages.message("source") is None  # no train split: nothing leaks by choice
    assert "leakage between splits needs two splits" in window.leakage.empty_title.text()


def test_sixteen_bit_and_flat_sources_are_warned_about(qtbot, make_window, tmp_path):
    import numpy as np
    write_image(tmp_path / "ds" / "train" / "g16.png", np.full((8, 8), 1000, np.uint16))
    write_image(tmp_path / "ds" / "train" / "g8.png", np.full((8, 8), 200, np.uint8))
    write_image(tmp_path / "ds" / "val" / "v.png", np.full((8, 8), 9, np.uint8))
    window = make_window()
    scan(qtbot, window, str(tmp_path / "ds"))
    text = window.messages.texts()["normalization"]
    assert "1 of 2 source images are 16-bit" in text and "clips" in text
    window.set_source_splits(["val"])  # one flat image: std 0
    text = window.messages.texts()["normalization"]
    assert "std is 0" in text.lower() and "1 image outside the source splits is 16-bit" in text
    assert window.messages.message("normalization").level == "warning"


def test_short_window_scrolls_the_statistics_instead_of_crushing_the_plots(qtbot, make_window, demo_root):
    from PySide6.QtWidgets import QScrollArea

    from inspector.ui.statistics_panel import HISTOGRAMS_MIN_HEIGHT
    window = make_window()
    scan(qtbot, window, demo_root)
    area = window.tabs.widget(0)
    assert isinstance(area, QScrollArea)
    window.resize(1100, 560)
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)
    assert window.stats_panel.splitter.height() >= HISTOGRAMS_MIN_HEIGHT
    window.resize(1500, 1000)
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() == 0)  # room enough: no scroll bar
    assert window.stats_panel.table.height() == window.stats_panel.table.maximumHeight()  # every row


def test_a_long_file_name_never_widens_the_window(qtbot, make_window, tmp_path):
    from inspector.ui.main_window import TAB_LEAKAGE, TAB_NORMALIZATION
    root = small_dataset(tmp_path / "ds")
    long_name = "very_long_name_" + "x" * 120 + "_" + "y" * 100 + ".png"  # 250 characters, one word
    write_image(root / "train" / "cat" / long_name, "RGB", size=(24, 16), seed=99)
    write_image(root / "test" / "cat" / ("copy_" + long_name), "RGB", size=(24, 16), seed=99)
    window = make_window()
    window.resize(1100, 700)
    scan(qtbot, window, str(root))
    assert window.image_list.select_path(f"train/cat/{long_name}")
    for tab in (TAB_NORMALIZATION, TAB_LEAKAGE):
        window.tabs.setCurrentIndex(tab)
        qtbot.wait(50)
        assert window.minimumSizeHint().width() < 1100 and window.width() <= 1100, tab


def test_only_broken_files_disable_snippets_but_export_lists_the_failures(qtbot, make_window, tmp_path):
    (tmp_path / "ds" / "train").mkdir(parents=True)
    (tmp_path / "ds" / "train" / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (tmp_path / "ds" / "train" / "b.png").write_text("<html>a failed download</html>")
    window = make_window()
    result = scan(qtbot, window, str(tmp_path / "ds"))
    assert len(result.failures) == 2 and result.total_images == 0
    assert not window.snippet_button.isEnabled()
    assert "no readable images" in window.stats_panel.norm_label.text()
    assert window.leakage.empty_title.text() == "Nothing to check: no image could be decoded"
    # The export is still written: it holds the failures and says why there is no mean/std.
    assert window.export_action.isEnabled()
    out = tmp_path / "failed.json"
    with qtbot.waitSignal(window.exportFinished, timeout=SCAN_TIMEOUT):
        window.export_json(str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert sorted(f["path"] for f in doc["failures"]) == ["train/a.jpg", "train/b.png"]
    assert "2 file(s) failed to decode" in doc["normalization"]["unavailable"]


# ----------------------------------------------------------------------------- ways to open

def test_drop_a_folder_opens_it(qtbot, make_window, tmp_path):
    root = small_dataset(tmp_path / "dropped")
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(root))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.dropEvent(event)
    assert event.isAccepted() and blocker.args[0].root == str(root)
    # An image file opens the dataset it belongs to; any other file is not a dataset.
    assert MainWindow.dropped_folder([QUrl.fromLocalFile(str(root / "train" / "cat" / "cat_0.png"))]) == str(root)
    (tmp_path / "notes.txt").write_text("not a dataset")
    assert MainWindow.dropped_folder([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))]) is None


def test_open_dialog_and_recent_folders(qtbot, make_window, tmp_path, monkeypatch):
    first, second = small_dataset(tmp_path / "first"), small_dataset(tmp_path / "second")
    monkeypatch.setattr(dialogs, "choose_folder", lambda parent, start: str(first))
    window = make_window()
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        window.open_action.trigger()
    scan(qtbot, window, str(second))
    assert window.recent_folders()[:2] == [str(second), str(first)]
    window._fill_recent_menu()
    recent = [a for a in window.recent_menu.actions() if a.data() == str(first)]
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        recent[0].trigger()
    assert blocker.args[0].root == str(first)
    assert window.recent_folders()[0] == str(first)
    monkeypatch.setattr(dialogs, "choose_folder", lambda parent, start: None)  # cancelled: nothing happens
    window.open_action.trigger()
    assert window.root == str(first) and not window.scanning


def test_demo_is_generated_off_the_gui_thread(qtbot, make_window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    window = make_window()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    with qtbot.waitSignal(window.demoReady, timeout=SCAN_TIMEOUT) as blocker:
        window.open_demo()
    timer.stop()
    demo = Path(blocker.args[0])
    assert demo.is_dir() and demo.parent.parent == tmp_path / "cache"
    # The event loop kept running while the demo was written (about a second of work).
    assert len(ticks) >= 2
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        pass
    assert window.root == str(demo)


@pytest.mark.parametrize("given", ["", "train/cat/cat_0.png"])  # the folder, or an image in it
def test_run_app_opens_the_folder_given_on_the_command_line(qtbot, tmp_path, monkeypatch, given):
    from inspector.cli import main

    root = small_dataset(tmp_path / "cli")
    seen = {}

    def fake_exec(app) -> int:  # stands in for the event loop: wait for the scan, then quit
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        window = windows[0]
        qtbot.waitUntil(lambda: window.result is not None, timeout=SCAN_TIMEOUT)
        seen["root"] = window.result.root
        seen["name"] = QApplication.applicationName()
        window.close()
        window.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert main([str(root / given) if given else str(root)]) == 0
    assert seen == {"root": str(root), "name": "Dataset Inspector"}


# ----------------------------------------------------------------------------- leakage, settings, theme

def test_leakage_badge_and_jump_to_image(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    errors = sum(1 for f in window.findings if f.severity == "error")
    assert errors >= 1  # the demo plants an exact train/test copy
    assert window.leakage.error_count() == errors
    assert window.tabs.tabText(TAB_LEAKAGE) == f"Leakage ({errors} error{'s' if errors != 1 else ''})"
    assert window.stats_panel.badge.isVisibleTo(window)
    assert "⚠" in window.stats_panel.table.cell_text("test", 0, 0)
    copy = next(d["copy"] for d in MANIFEST["duplicates"] if d["kind"] == "exact")
    row = result.images.paths.index(copy)
    window.leakage.imageRequested.emit(row)
    assert window.tabs.currentIndex() == TAB_IMAGES
    current = window.image_list.view.currentIndex()
    assert window.image_list.model.image_row(current.row()) == row


def test_failed_leakage_search_keeps_the_statistics(qtbot, make_window, tmp_path, monkeypatch):
    def broken(result, source, *progress_and_cancel, **options):
        raise MemoryError("simulated")

    monkeypatch.setattr(worker_module, "run_leakage", broken)
    window = make_window()
    result = scan(qtbot, window, str(small_dataset(tmp_path / "ds")))
    assert window.result is result and window.findings is None
    assert window.stats_panel.table.split_names() == ["train", "val", "test"]
    assert "MemoryError" in window.messages.texts()["leakage"]
    assert not window.export_action.isEnabled()


def test_settings_geometry_theme_and_recent_persist(qtbot, make_window, qt_settings, tmp_path):
    root = small_dataset(tmp_path / "ds")
    first = make_window(settings=qt_settings)
    first.resize(790, 640)  # the offscreen screen is 800 x 800: restoreGeometry keeps windows on it
    first.theme_actions["dark"].trigger()
    scan(qtbot, first, str(root))
    first.tabs.setCurrentIndex(TAB_LEAKAGE)
    first.stats_panel.histograms.log_box.setChecked(True)
    expected = (first.width(), first.height())
    first.close()
    second = make_window(settings=qt_settings)
    assert (second.width(), second.height()) == expected
    assert second.stats_panel.histograms.log_box.isChecked()
    assert second.theme_actions["dark"].isChecked()
    assert second.tabs.currentIndex() == TAB_LEAKAGE
    assert second.recent_folders() == [str(root)]
    second.theme_actions["light"].trigger()
    assert qt_settings.value("view/theme") == "light"


def test_dark_and_light_palettes(qtbot, make_window):
    window = make_window()
    window.set_theme("dark")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert window.stats_panel.histograms._graphics.backgroundBrush().color().lightness() < 80
    window.toggle_theme_action.trigger()
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert window.theme_actions["light"].isChecked()


def test_shortcuts_and_tooltips(make_window):
    window = make_window()
    shortcuts = {a.shortcut().toString() for a in window.findChildren(type(window.open_action))}
    assert {"Ctrl+O", "Ctrl+E", "F5", "Esc", "Ctrl+1", "Ctrl+4", "Ctrl+F", "Ctrl+Shift+C"} <= shortcuts
    table = window.stats_panel.table
    for col in range(table.columnCount()):  # every metric explains itself, with its scale
        tip = table.horizontalHeaderItem(col).toolTip()
        assert len(tip) > 20
        title = table.horizontalHeaderItem(col).text()
        if "(0–1)" in title:
            assert "0–1 scale" in tip
    model = window.image_list.model
    for col in range(model.columnCount()):
        assert model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


def test_close_during_scan_stops_the_worker(qtbot, make_window, demo_root):
    window = make_window(scan_workers=2)
    with qtbot.waitSignal(window.scanStarted):
        window.open_folder(demo_root)
    window.close()
    assert window.runner.running == []


def test_common_sizes_wording():
    from inspector.ui.properties_view import _common_sizes
    assert _common_sizes({"most_common": [[28, 28, 1]]}) == "28×28: 1"             # a single image
    assert _common_sizes({"most_common": [[10, 20, 1], [30, 40, 1]]}) == "all different"
    assert _common_sizes({"most_common": [[28, 28, 60000]]}) == "28×28: 60,000"
    assert _common_sizes({}) == "—"


def test_megapixels_of_tiny_images_are_not_zero():
    from inspector.ui.properties_view import _fmt_megapixels
    assert _fmt_megapixels({"min": 0.000784, "median": 0.000784, "max": 0.000784}) == "0.000784 / 0.000784 / 0.000784"
    assert _fmt_megapixels({"min": 0.01, "median": 0.25, "max": 12.0}) == "0.01 / 0.25 / 12.00"
