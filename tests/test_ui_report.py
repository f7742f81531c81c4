"""Window: File > Save Report, File > Export Files to Drop, and the leakage table's multi-select
commands (Copy Paths, Show in Image List, Open Containing Folder)."""
from __future__ import annotations

import csv
import os

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QDesktopServices, QGuiApplication

from inspector.ui import report_controller

SCAN_TIMEOUT = 30_000


def _scan(qtbot, window, root: str):
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT) as blocker:
        window.open_folder(root)
    return blocker.args[0]


def _select_rows(panel, rows) -> None:
    sm = panel.table.selectionModel()
    sm.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in rows:
        sm.select(panel.proxy.index(r, 0), flags)


def test_save_report_and_drop_list_from_the_menu(qtbot, make_window, demo_root, tmp_path, monkeypatch):
    window = make_window()
    assert not window.report_action.isEnabled()          # nothing scanned yet
    result = _scan(qtbot, window, demo_root)
    assert window.report_action.isEnabled() and window.drop_list_action.isEnabled()
    names = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Save &Report…" in names and "Export Files to &Drop" in names
    assert window.drop_menu.actions() == [window.drop_list_action, window.drop_heldout_action]
    assert window.drop_heldout_action.isEnabled()
    asked = []
    out = tmp_path / "r.html"
    monkeypatch.setattr(report_controller, "ask_path", lambda *a: asked.append(a) or str(out))
    with qtbot.waitSignal(window.reports.finished, timeout=SCAN_TIMEOUT) as blocker:
        window.report_action.trigger()
    assert blocker.args == [str(out)] and asked
    html = out.read_text(encoding="utf-8")
    findings = [f for f in window.session.export_findings if f.paths]
    assert findings and all(f'aria-label="{f.paths[0]}"' in html for f in findings)
    assert "Wrote the report" in window.statusBar().currentMessage()

    drop = tmp_path / "d.csv"
    monkeypatch.setattr(report_controller, "ask_path", lambda *a: str(drop))
    with qtbot.waitSignal(window.reports.finished, timeout=SCAN_TIMEOUT):
        window.drop_list_action.trigger()
    rows = list(csv.DictReader(drop.open(newline="")))
    assert rows and {r["split"] for r in rows} == {"train"}
    assert all(r["path"] in result.images.paths for r in rows)
    assert f"{len(rows)} files listed" in window.statusBar().currentMessage()
    # The other side, as --drop-side heldout: the held-out copies go, the training images stay.
    from inspector.core.droplist import drop_list

    kept = tmp_path / "kept.csv"
    monkeypatch.setattr(report_controller, "ask_path", lambda *a: str(kept))
    with qtbot.waitSignal(window.reports.finished, timeout=SCAN_TIMEOUT):
        window.drop_heldout_action.trigger()
    held = list(csv.DictReader(kept.open(newline="")))
    assert held and "train" not in {r["split"] for r in held}
    expected = drop_list(result.images, window.session.export_findings, side="heldout")
    assert [r["path"] for r in held] == [r.path for r in expected]
    assert "held-out copies" in window.statusBar().currentMessage()


def test_a_report_that_cannot_be_written_is_a_message(qtbot, make_window, demo_root, tmp_path):
    window = make_window()
    _scan(qtbot, window, demo_root)
    with qtbot.waitSignal(window.reports.failed, timeout=SCAN_TIMEOUT):
        window.reports.save_report(str(tmp_path / "no" / "such" / "r.html"))
    assert "Could not write the report" in window.messages.texts()["report"]


def test_leakage_table_copies_the_paths_of_several_findings(qtbot, make_window, demo_root, monkeypatch):
    window = make_window()
    result = _scan(qtbot, window, demo_root)
    panel = window.leakage
    n = panel.proxy.rowCount()
    assert n >= 3
    _select_rows(panel, [0, 2])
    chosen = panel.selected_findings()
    assert len(chosen) == 2
    acts = panel.finding_actions
    text = acts.copy_paths()
    expected = list(dict.fromkeys(p for f in chosen for p in f.paths))
    assert text.splitlines() == expected and QGuiApplication.clipboard().text() == text
    menu = acts.menu()
    assert [a.text() for a in menu.actions()] == ["Copy Paths", "Show in Image List", "Open Containing Folder"]
    assert all(a.isEnabled() for a in menu.actions())
    # Show in image list: the first selected finding's first image
    with qtbot.waitSignal(panel.imageRequested) as blocker:
        acts.show_action.trigger()
    assert blocker.args == [int(chosen[0].rows[0])]
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    acts.open_action.trigger()
    assert opened == [os.path.dirname(os.path.join(result.root, chosen[0].paths[0]))]
    _select_rows(panel, [])
    acts.update()
    assert not acts.copy_action.isEnabled() and not acts.show_action.isEnabled()
