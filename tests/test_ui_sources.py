"""The window opens every dataset source: File > Open File, drag and drop, the recent list, the
source kind in the status bar, and previews read from inside tar shards and Parquet files."""
from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from inspector.ui import dialogs
from inspector.ui.main_window import TAB_IMAGES, MainWindow
from sourcefactory import as_manifest, as_parquet, as_shards, make_image_set

SCAN_TIMEOUT = 30_000


@pytest.fixture(scope="module")
def image_set(tmp_path_factory):
    return make_image_set(tmp_path_factory.mktemp("set") / "folder")


def drop(window: MainWindow, path: str) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event


def test_open_file_opens_a_manifest_and_remembers_it(qtbot, make_window, image_set, monkeypatch):
    manifest = str(as_manifest(image_set, image_set / "list.csv"))
    monkeypatch.setattr(dialogs, "choose_source_file", lambda parent, start: manifest)
    window = make_window()
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.open_file_action.trigger()
    result = blocker.args[0]
    assert result.source_kind == "manifest" and len(result.images) == 38
    qtbot.waitUntil(lambda: window.dataset_label.text().startswith(f"Manifest: {manifest}"), timeout=SCAN_TIMEOUT)
    assert window.recent_folders()[0] == manifest
    window._fill_recent_menu()
    entry = next(a for a in window.recent_menu.actions() if a.data() == manifest)
    assert entry.isEnabled()


def test_drop_shards_and_preview_a_member(qtbot, make_window, image_set, tmp_path):
    shard = as_shards(image_set, tmp_path / "shards") / "train-000000.tar"
    assert MainWindow.dropped_folder([QUrl.fromLocalFile(str(shard))]) == str(shard)
    window = make_window()
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        event = drop(window, str(shard))
    result = blocker.args[0]
    assert event.isAccepted() and result.source_kind == "webdataset"
    member = result.images.paths[0]
    assert member.startswith("train-000000.tar/")
    window.tabs.setCurrentIndex(TAB_IMAGES)
    assert window.image_list.select_path(member)
    expected = os.path.join(result.root, *member.split("/"))
    qtbot.waitUntil(lambda: window.preview.loaded_path == expected, timeout=10_000)
    assert window.preview._image_label.has_image()


def test_parquet_rows_show_in_the_normalization_view(qtbot, make_window, image_set, tmp_path):
    from inspector.app.normalization import load_image

    hub = as_parquet(image_set, tmp_path / "hub")
    window = make_window()
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.open_folder(str(hub))
    result = blocker.args[0]
    assert result.source_kind == "parquet"
    row = 3
    loaded = load_image(result, row)  # decoded from the row's bytes inside the Parquet file
    assert loaded.raw.shape[:2] == (int(result.images.height[row]), int(result.images.width[row]))
    qtbot.waitUntil(lambda: window.dataset_label.text().startswith("Parquet: "), timeout=SCAN_TIMEOUT)


def test_drop_accepts_dataset_files_only(tmp_path):
    for name in ("list.csv", "data.yaml", "x.parquet", "s.tar"):
        (tmp_path / name).write_text("")
        assert MainWindow.dropped_folder([QUrl.fromLocalFile(str(tmp_path / name))]) == str(tmp_path / name)
    (tmp_path / "notes.md").write_text("")
    assert MainWindow.dropped_folder([QUrl.fromLocalFile(str(tmp_path / "notes.md"))]) is None
