"""The application layer without Qt: the session's events and rules, the scan job's helpers,
what a dropped or named file opens, and the facts several views share."""
from __future__ import annotations

import sys

import pytest

from imagefactory import write_image
from inspector.app.dataset_facts import decoded_class_counts
from inspector.app.opening import dataset_folder_of
from inspector.app.session import Phase, Session, leaky_sources
from inspector.core.leakage import count_by_severity, scan_leakage
from inspector.core.scan import scan


def _dataset(root, splits=("train", "val", "test")):
    seed = 0
    for split in splits:
        for cls in ("cat", "dog"):
            for k in range(2):
                write_image(root / split / cls / f"{cls}_{k}.png", "RGB", size=(20, 14), seed=seed)
                seed += 1
    return root


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = _dataset(tmp_path_factory.mktemp("session") / "ds")
    result = scan(str(root), workers=1)
    return result, scan_leakage(result, ["train"])


def _recorder(session: Session) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    for name in session.EVENT_NAMES:
        getattr(session.events, name).connect(lambda value, name=name: seen.append((name, value)))
    return seen


def test_a_scan_through_the_session_emits_each_change_once(scanned):
    result, findings = scanned
    session = Session()
    seen = _recorder(session)
    session.open(result.root)
    assert session.phase is Phase.SCANNING and session.scanning and session.result is None
    assert [name for name, _ in seen] == ["root", "phase", "result", "findings", "normalization", "selection"]
    seen.clear()
    session.set_result(result)
    assert [name for name, _ in seen] == ["result", "source", "normalization", "phase"]
    assert session.source == ["train"] and session.phase is Phase.CHECKING  # the default source, once
    assert session.normalization.usable and session.normalization.source == ("train",)
    assert not session.can_export  # the leakage check is still running
    seen.clear()
    session.set_findings(findings)
    assert [name for name, _ in seen] == ["findings", "phase"]
    assert session.phase is Phase.DONE and not session.scanning and session.can_export
    assert session.severity_counts == count_by_severity(findings)


def test_source_change_updates_numbers_and_the_stats_source_finding_only(scanned):
    result, findings = scanned
    session = Session()
    session.open(result.root)
    session.set_result(result)
    session.set_findings(findings)
    seen = _recorder(session)
    assert session.set_source(["train", "test"])
    assert [name for name, _ in seen] == ["source", "normalization", "findings"]
    assert session.normalization.source == ("train", "test") and session.leaky_sources == ["test"]
    stats = [f for f in session.findings if f.kind == "stats_source"]
    assert len(stats) == 1 and stats[0].severity == "error"
    assert session.findings == scan_leakage(result, ["train", "test"])  # as if searched anew
    assert not session.set_source(["train", "test"])  # no change, no event
    assert session.set_source(["nonexistent"]) and session.source == ["train"]  # the default again


def test_findings_of_a_search_started_before_a_source_change_follow_the_new_source(scanned):
    result, findings = scanned
    session = Session()
    session.open(result.root)
    session.set_result(result)
    session.set_source(["train", "val"])  # while the search for "train" runs
    session.set_findings(findings)
    assert session.findings == scan_leakage(result, ["train", "val"])


def test_cancelled_leakage_check_exports_only_what_needs_no_search(scanned):
    result, _ = scanned
    session = Session()
    session.open(result.root)
    session.set_result(result)
    session.set_source(["train", "val"])
    session.cancel()
    assert session.leakage_unchecked and session.can_export
    assert [f.kind for f in session.export_findings] == ["stats_source"]
    session.open(result.root)
    session.cancel()  # cancelled before the statistics: nothing to export
    assert not session.leakage_unchecked and not session.can_export


def test_rescan_keeps_the_chosen_source_and_a_new_dataset_does_not(scanned):
    result, findings = scanned
    session = Session()
    session.open(result.root)
    session.set_result(result)
    session.set_source(["train", "val"])
    session.open(result.root, keep_source=True)
    session.set_result(result)
    assert session.source == ["train", "val"]
    session.open(result.root)
    session.set_result(result)
    assert session.source == ["train"]


def test_leaky_sources_need_a_train_split():
    assert leaky_sources(["train", "val"], ["train", "val", "test"]) == ["val"]
    assert leaky_sources(["val"], ["val", "test"]) == []  # no leak-free choice exists: nothing flagged


def test_selection_events_only_on_change():
    session = Session()
    seen = _recorder(session)
    session.select_image(3)
    session.select_image(3)
    session.select_failure(0)
    session.clear_selection()
    assert [(n, v.image_row, v.failure) for n, v in seen] == [("selection", 3, None), ("selection", None, 0),
                                                              ("selection", None, None)]


def test_an_image_file_opens_the_dataset_it_belongs_to(tmp_path):
    image = write_image(tmp_path / "ds" / "train" / "cat" / "a.png", "RGB")
    yolo = write_image(tmp_path / "yolo" / "images" / "val" / "b.jpg", "RGB", format="JPEG")
    loose = write_image(tmp_path / "loose" / "c.png", "RGB")
    notes = tmp_path / "ds" / "notes.txt"
    notes.write_text("x")
    assert dataset_folder_of(str(image)) == str(tmp_path / "ds")
    assert dataset_folder_of(str(yolo)) == str(tmp_path / "yolo")
    assert dataset_folder_of(str(loose)) == str(tmp_path / "loose")
    assert dataset_folder_of(str(tmp_path / "ds")) == str(tmp_path / "ds")  # a folder stays itself
    assert dataset_folder_of(str(notes)) == str(notes)  # not an image: left to the sources


def test_failed_files_are_not_members_of_their_class(tmp_path):
    root = _dataset(tmp_path / "ds", splits=("train",))
    (root / "train" / "dog" / "broken.png").write_bytes(b"not a png")
    (root / "train" / "bird").mkdir()
    (root / "train" / "bird" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    result = scan(str(root), workers=1)
    assert result.classes["train"] == {"bird": 1, "cat": 2, "dog": 3}  # files the layout listed
    assert decoded_class_counts(result) == {"train": {"bird": 0, "cat": 2, "dog": 2}}
