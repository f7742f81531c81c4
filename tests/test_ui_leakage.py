"""The leakage panel on findings from a real scan of a small planted dataset (offscreen Qt)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from inspector.core.scan import scan  # noqa: E402
from inspector.ui.leakage_model import COL_FILES, COL_KIND, COL_MESSAGE, COL_SEVERITY  # noqa: E402
from inspector.ui.leakage_panel import LeakagePanel  # noqa: E402

CLASSES = ("cat", "dog")
PER_SPLIT = {"train": 4, "val": 2, "test": 2}
EXACT_SRC, EXACT_COPY = "train/cat/cat_train_0.png", "test/cat/copy_exact.png"
JPEG_SRC, JPEG_COPY = "train/dog/dog_train_1.png", "val/dog/copy_q70.jpg"
CONFLICT_SRC, CONFLICT_COPY = "train/dog/dog_train_2.png", "test/cat/copy_other_class.png"


def _natural(seed: int, size=(96, 72)) -> Image.Image:
    """Smoothed noise with a colour gradient: photo-like, distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.random((6, 8, 3)) * 255
    img = Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    arr = np.asarray(img, float) + rng.normal(0, 6, (h, w, 3))
    arr += np.linspace(-30, 30, w)[None, :, None] * rng.choice([-1, 1], 3)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


def _make_dataset(root: Path) -> None:
    seed = 0
    for split, n in PER_SPLIT.items():
        for cls in CLASSES:
            for k in range(n):
                p = root / split / cls / f"{cls}_{split}_{k}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                _natural(seed).save(p)
                seed += 1
    Image.open(root / EXACT_SRC).save(root / EXACT_COPY)              # exact, train <-> test
    Image.open(root / JPEG_SRC).convert("RGB").save(root / JPEG_COPY, quality=70)  # near, train <-> val
    Image.open(root / CONFLICT_SRC).save(root / CONFLICT_COPY)        # exact in another class


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    _make_dataset(root)
    result = scan(str(root))
    assert result is not None and not result.failures
    return result


@pytest.fixture(scope="module")
def scanned(planted):
    leakage = pytest.importorskip("inspector.core.leakage")
    result = planted
    means = {s: list(st.mean) for s, st in result.split_stats.items()}
    findings = leakage.find_leakage(result.images, means, source_splits=["train", "test"])
    return result, findings


@pytest.fixture
def panel(qtbot, scanned):
    result, findings = scanned
    w = LeakagePanel()
    qtbot.addWidget(w)
    w.resize(1100, 760)
    w.set_findings(result, findings)
    w.show()
    qtbot.waitExposed(w)
    return w


def _pair(f, result) -> set[str]:
    return {result.images.paths[r] for r in f.rows}


def _find(findings, result, kind, a, b):
    hits = [f for f in findings if f.kind == kind and {a, b} <= _pair(f, result)]
    assert hits, f"no {kind} finding for {a} / {b}: {[(f.kind, f.paths) for f in findings]}"
    return hits[0]


def test_core_finds_the_planted_pairs(scanned):
    result, findings = scanned
    assert _find(findings, result, "exact", EXACT_SRC, EXACT_COPY).severity == "error"
    assert _find(findings, result, "near", JPEG_SRC, JPEG_COPY).severity == "warning"
    assert _find(findings, result, "label_conflict", CONFLICT_SRC, CONFLICT_COPY).severity == "error"
    assert any(f.kind == "stats_source" for f in findings)


def test_counts_by_severity(panel, scanned):
    _, findings = scanned
    counts = panel.count_by_severity()
    assert counts == {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    assert counts["error"] >= 2 and counts["warning"] >= 1
    assert panel.error_count() == counts["error"]
    assert panel.chips["error"].text().startswith(f"{counts['error']} error")
    assert panel.chips["warning"].text().startswith(f"{counts['warning']} warning")
    assert panel.stack.currentIndex() == 1
    assert panel.proxy.rowCount() == len(findings)
    message = panel.proxy.index(0, COL_MESSAGE).data()
    assert message and message in {f.message for f in findings}


def test_sorting_by_severity_is_by_rank_not_alphabet(panel):
    rank = {"error": 2, "warning": 1, "info": 0}
    panel.table.sortByColumn(COL_SEVERITY, Qt.SortOrder.DescendingOrder)
    shown = [panel.proxy.index(r, COL_SEVERITY).data() for r in range(panel.proxy.rowCount())]
    assert shown[0] == "error"
    assert [rank[s] for s in shown] == sorted((rank[s] for s in shown), reverse=True)
    panel.table.sortByColumn(COL_SEVERITY, Qt.SortOrder.AscendingOrder)
    shown = [panel.proxy.index(r, COL_SEVERITY).data() for r in range(panel.proxy.rowCount())]
    assert [rank[s] for s in shown] == sorted(rank[s] for s in shown)
    assert shown[-1] == "error"


def test_sort_keeps_the_selection(panel, scanned):
    result, findings = scanned
    target = _find(findings, result, "near", JPEG_SRC, JPEG_COPY)
    row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.finding(r) is target)
    panel.table.selectRow(row)
    panel.table.sortByColumn(COL_KIND, Qt.SortOrder.DescendingOrder)
    assert panel.selected_finding() is target


def test_filter_by_kind_and_severity(panel, scanned, qtbot):
    result, findings = scanned
    panel.set_kind_filter("exact")
    listed = panel.visible_findings()
    assert listed and all(f.kind == "exact" for f in listed)
    assert len(listed) == sum(f.kind == "exact" for f in findings)
    assert panel.help_label.text().startswith("exact:")
    panel.set_kind_filter(None)
    assert panel.proxy.rowCount() == len(findings)
    qtbot.mouseClick(panel.chips["error"], Qt.MouseButton.LeftButton)   # hide errors
    listed = panel.visible_findings()
    assert listed and all(f.severity != "error" for f in listed)
    panel.set_severity_filter(["error", "warning", "info"])
    assert panel.proxy.rowCount() == len(findings)


def test_selecting_a_pair_shows_both_images(panel, scanned, qtbot):
    result, findings = scanned
    target = _find(findings, result, "label_conflict", CONFLICT_SRC, CONFLICT_COPY)
    row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.finding(r) is target)
    panel.table.selectRow(row)
    pair = panel.pair
    qtbot.waitUntil(lambda: pair.finding is target)
    assert pair.stack.currentIndex() == 1
    qtbot.waitUntil(lambda: not (pair.left.loading or pair.right.loading), timeout=10_000)  # decoded off the GUI thread
    for side in (pair.left, pair.right):
        assert not side.image.source_pixmap().isNull()
        assert side.image.pixmap() is not None and not side.image.pixmap().isNull()
    assert {pair.left.path_label.text().replace("\u200b", ""), pair.right.path_label.text().replace("\u200b", "")} == {CONFLICT_SRC, CONFLICT_COPY}
    metas = pair.left.meta_label.text() + pair.right.meta_label.text()
    assert "class <b>dog</b>" in metas and "class <b>cat</b>" in metas
    assert "split <b>train</b>" in metas and "split <b>test</b>" in metas
    assert "96 × 72 px" in metas
    assert "ERROR" in pair.header.text() and "label conflict" in pair.header.text()


def test_show_in_image_list_emits_the_row(panel, scanned, qtbot):
    result, findings = scanned
    target = _find(findings, result, "exact", EXACT_SRC, EXACT_COPY)
    row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.finding(r) is target)
    panel.table.selectRow(row)
    qtbot.waitUntil(lambda: panel.pair.finding is target)
    with qtbot.waitSignal(panel.imageRequested, timeout=2000) as blocker:
        qtbot.mouseClick(panel.pair.right.button, Qt.MouseButton.LeftButton)
    assert blocker.args == [panel.pair.right.row]
    assert result.images.paths[blocker.args[0]] == panel.pair.right.path_label.text().replace("\u200b", "")
    index = panel.proxy.index(row, 0)
    with qtbot.waitSignal(panel.imageRequested, timeout=2000) as blocker:
        panel.table.doubleClicked.emit(index)
    assert blocker.args == [int(target.rows[0])]


def test_recheck_of_the_same_result_keeps_filter_and_selection(panel, scanned):
    """The window re-runs the check when the normalization source changes: same result, new list."""
    result, findings = scanned
    panel.set_kind_filter("exact")
    target = _find(findings, result, "exact", CONFLICT_SRC, CONFLICT_COPY)
    panel.table.selectRow(next(r for r in range(panel.proxy.rowCount()) if panel.proxy.finding(r) is target))
    rechecked = [f for f in findings if f.kind != "stats_source"]
    panel.set_findings(result, rechecked)
    assert panel.kind_combo.currentData() == "exact"
    assert all(f.kind == "exact" for f in panel.visible_findings())
    assert panel.selected_finding() is target and panel.pair.finding is target
    assert panel.error_count() == sum(f.severity == "error" for f in rechecked)


def test_whole_split_finding_has_no_pair(panel, scanned, qtbot):
    result, findings = scanned
    target = next(f for f in findings if f.kind == "stats_source")
    row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.finding(r) is target)
    panel.table.selectRow(row)
    qtbot.waitUntil(lambda: panel.pair.finding is target)
    assert panel.pair.stack.currentIndex() == 2
    assert not panel.pair.left.button.isEnabled()


def test_a_group_of_three_files_lets_the_user_pick_the_second(qtbot, planted):
    """Findings are read by attribute; a group of three shows A and a choice of the other two."""
    result = planted
    t = result.images
    rows = tuple(t.paths.index(p) for p in (EXACT_SRC, JPEG_SRC, CONFLICT_COPY))
    group = SimpleNamespace(kind="exact", severity="error", splits=("train", "test"),
                            paths=tuple(t.paths[r] for r in rows), distance=0.0,
                            message="three files, one picture", rows=rows)
    w = LeakagePanel()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.set_findings(result, [group])
    qtbot.waitUntil(lambda: w.pair.finding is group)
    right = w.pair.right
    assert right.choice.isVisible() and right.choice.count() == 2
    assert right.path_label.text().replace("\u200b", "") == JPEG_SRC
    right.choice.setCurrentIndex(1)
    assert right.path_label.text().replace("\u200b", "") == CONFLICT_COPY and right.row == rows[2]
    assert "+1" in w.proxy.index(0, COL_FILES).data()
    w.set_findings(None, [])
    assert w.proxy.rowCount() == 0 and w.pair.finding is None and w.error_count() == 0
    assert w.empty_title.text() == "No dataset"


def test_empty_findings_show_what_was_checked(qtbot, planted):
    result = planted
    w = LeakagePanel()
    qtbot.addWidget(w)
    w.set_findings(result, [])
    assert w.stack.currentIndex() == 0
    assert w.empty_title.text() == "No leakage found between splits"
    assert f"Checked {len(result.images)} images" in w.empty_detail.text()
    assert w.error_count() == 0


def test_none_clears(panel):
    assert panel.proxy.rowCount() > 0
    panel.set_findings(None, [])
    assert panel.proxy.rowCount() == 0 and panel.model.rowCount() == 0
    assert panel.error_count() == 0
    assert panel.stack.currentIndex() == 0
    assert panel.pair.finding is None


def test_model_is_consistent(qtmodeltester, scanned):
    from inspector.ui.leakage_model import FindingsModel
    result, findings = scanned
    model = FindingsModel()
    model.set_findings(findings, result.images)
    qtmodeltester.check(model)


def test_render(panel, scanned, tmp_path):
    """Renders without errors; the PNG is for looking at while developing."""
    out = Path(os.environ.get("LEAKAGE_PNG", tmp_path / "leakage.png"))
    assert panel.grab().save(str(out))
