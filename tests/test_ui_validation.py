"""The Balance & Drift tab: the class-balance chart draws the export's class counts, and the
property overlay draws each split's distribution on common bins with the KS statistic."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest

from inspector.core.export import build_document
from inspector.core.scan import scan
from inspector.core.validation.drift import NUMERIC, numeric_column
from inspector.core.validation.overlay import (LOG_BY_DEFAULT, category_distribution, display_bins,
                                               property_distribution)
from inspector.core.validation.drift import property_findings
from inspector.core.validation.statistics import ks_2samp, tvd
from inspector.ui.balance_chart import BalanceChart
from inspector.ui.property_overlay import AXIS_LABELS, PropertyOverlay, log_ticks
from inspector.ui.runner import shared_runner
from imagefactory import make_good_images

# val lacks "bird"; test lacks "cat": the chart must show both as absent, not drop them
LAYOUT = {"train": {"cat": 7, "dog": 3, "bird": 2}, "val": {"cat": 2, "dog": 4}, "test": {"dog": 2, "bird": 5}}


def _make(root: Path, layout) -> None:
    seed = 0
    for split, classes in layout.items():
        for cls, n in classes.items():
            make_good_images(root, split, n, modes=("RGB", "L"), seed=seed, label=cls)
            seed += 1


@pytest.fixture(scope="module")
def classed(tmp_path_factory):
    root = tmp_path_factory.mktemp("classed")
    _make(root, LAYOUT)
    result = scan(str(root), workers=1)
    assert result is not None and not result.failures
    return result


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    root = tmp_path_factory.mktemp("flat")
    for k, split in enumerate(("train", "val")):
        make_good_images(root, split, 6, modes=("RGB",), seed=k)
    return scan(str(root), workers=1)


def _export(result) -> dict:
    return build_document(result, source_splits=["train"], findings=[])


def test_chart_bars_are_the_exported_counts_and_shares(qtbot, classed):
    balance = _export(classed)["balance"]
    chart = BalanceChart()
    qtbot.addWidget(chart)
    chart.set_balance(balance)
    assert chart.classes == ["bird", "cat", "dog"]
    drawn = chart.bar_values()
    assert set(drawn) == set(LAYOUT)
    for split, b in balance.items():
        assert drawn[split] == {c: float(b["counts"].get(c, 0)) for c in chart.classes}
    assert drawn["val"]["bird"] == 0 and drawn["test"]["cat"] == 0  # missing, drawn as absent
    chart.set_mode("share")
    shares = chart.bar_values()
    for split, b in balance.items():
        for c in chart.classes:
            assert shares[split][c] == pytest.approx(100 * b["shares"].get(c, 0.0), abs=1e-9)
    text = chart.summary.text()
    for split, b in balance.items():
        assert f"{b['imbalance_ratio']:.1f}" in text
    assert "no image of 1</b>: bird" in text and "no image of 1</b>: cat" in text
    assert chart.row_text(chart.classes.index("bird")) == "bird: train 2 (16.7%), val: no image, test 5 (71.4%)"
    assert "share of the split" in chart.plot.getPlotItem().getAxis("bottom").labelText
    chart.set_mode("count")
    assert "count" in chart.plot.getPlotItem().getAxis("bottom").labelText


def test_chart_counts_decoded_images_and_names_the_failed_files(qtbot, tmp_path):
    """The chart counts what the statistics count: a file that fails to decode is not an image
    of its class; the chart says how many of a split's files it left out."""
    from inspector.app.dataset_facts import decoded_class_counts
    from inspector.core.validation import class_balance, failed_per_split

    root = tmp_path / "d"
    _make(root, {"train": {"cat": 3, "dog": 2}, "val": {"cat": 2, "dog": 2}})
    for k in range(2):
        (root / "val" / "cat" / f"broken_{k}.png").write_bytes(b"not an image at all")
    result = scan(str(root), workers=1)
    assert len(result.failures) == 2 and result.classes["val"]["cat"] == 4  # the files listed
    counts = decoded_class_counts(result)
    assert counts == {"train": {"cat": 3, "dog": 2}, "val": {"cat": 2, "dog": 2}}
    assert failed_per_split(result.failures, result.splits) == {"train": 0, "val": 2}
    chart = BalanceChart()
    qtbot.addWidget(chart)
    chart.set_balance(class_balance(counts), failed_per_split(result.failures, result.splits))
    assert chart.bar_values()["val"] == {"cat": 2.0, "dog": 2.0}
    text = chart.summary.text()
    assert "<b>val</b>: 4 decoded images" in text and "2 files that failed to decode not counted" in text
    assert "<b>train</b>: 5 decoded images" in text and "train</b>: 5 decoded images, 2 classes; imbalance" in text
    assert chart.plot.getPlotItem().getAxis("bottom").labelText.startswith("decoded images per class")


def test_flat_dataset_and_nothing_scanned_say_so(qtbot, flat):
    chart = BalanceChart()
    qtbot.addWidget(chart)
    chart.set_balance(_export(flat)["balance"])
    assert "No classes" in chart.summary.text() and chart.bar_values() == {}
    assert chart.plot.isHidden()
    chart.set_balance(None)
    assert "No statistics" in chart.summary.text()


def test_many_classes_get_a_row_each(qtbot):
    balance = {"train": {"counts": {f"c{i:03d}": i + 1 for i in range(150)}, "imbalance_ratio": 150.0}}
    chart = BalanceChart()
    qtbot.addWidget(chart)
    chart.set_balance(balance)
    assert len(chart.classes) == 150
    assert chart.plot.minimumHeight() >= 150 * 20  # the tab scrolls instead of squeezing the names
    ticks = chart.plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == chart.classes
    assert chart.plot.getPlotItem().getAxis("top").isVisible()


def test_distribution_counts_and_ks_match_numpy(classed):
    table = classed.images
    for name in NUMERIC:
        dist = property_distribution(table, name)
        col = numeric_column(table, name)
        ref = col[table.rows_in("train")]
        for split in table.split_names:
            v = col[table.rows_in(split)]
            expected, _ = np.histogram(v, bins=dist.edges)
            assert np.array_equal(dist.counts[split], expected)
            assert int(dist.counts[split].sum()) == v.size  # the common bins hold every image
            if split != "train":
                assert dist.ks[split] == ks_2samp(v, ref)
        assert "train" not in dist.ks
    width = property_distribution(table, "width")
    assert np.all(width.edges % 1 == 0.5)  # whole pixels, few of them: one bin per value
    assert property_distribution(table, "brightness", bins=12).counts["train"].size == 12


def test_overlay_draws_each_split_on_common_bins(qtbot, classed):
    overlay = PropertyOverlay(shared_runner())
    qtbot.addWidget(overlay)
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_table(classed.images)
    for name in ("brightness", "width", "file_size"):
        if overlay.property_name != name:
            with qtbot.waitSignal(overlay.shown, timeout=10_000) as blocker:
                overlay.set_property(name)
            assert blocker.args == [name]
        dist = property_distribution(classed.images, name, display_bins(len(classed.images)),
                                     log=name in LOG_BY_DEFAULT)
        for split in classed.images.split_names:
            edges, percent = overlay.curve_data(split)
            assert np.array_equal(edges, dist.edges)
            counts = dist.counts[split]
            assert np.allclose(percent, counts * 100.0 / counts.sum())
        text = overlay.stats_label.text()
        for split in ("val", "test"):
            assert f"KS D vs train {dist.ks[split][0]:.3f}" in text
        assert overlay.plot.getPlotItem().getAxis("bottom").labelText.startswith(AXIS_LABELS[name])


def test_format_and_mode_are_drawn_as_bars_per_split(qtbot, classed):
    table = classed.images
    overlay = PropertyOverlay(shared_runner())
    qtbot.addWidget(overlay)
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_table(table)
    findings = {(f.splits[0], f.property): f for f in property_findings(table)}
    for name, (codes, names) in (("mode", (table.mode, table.mode_names)),
                                 ("format", (table.format, table.format_names))):
        with qtbot.waitSignal(overlay.shown, timeout=10_000):
            overlay.set_property(name)
        assert not overlay.log_box.isEnabled() and overlay.curve_data("train") is None
        dist = overlay.distribution
        assert sorted(dist.categories) == sorted(names[c] for c in set(codes.tolist()))
        for split in table.split_names:
            c = codes[table.rows_in(split)]
            expected = {names[k]: 100.0 * int((c == k).sum()) / c.size for k in set(codes.tolist())}
            assert overlay.bar_data(split) == pytest.approx(expected)
            if split != "train":
                ref = np.bincount(codes[table.rows_in("train")], minlength=len(names))
                assert dist.tvd[split][0] == pytest.approx(tvd(np.bincount(c, minlength=len(names)), ref))
                assert f"TVD vs train {dist.tvd[split][0]:.3f}" in overlay.stats_label.text()
                if (split, name) in findings:  # the overlay and the findings agree
                    assert findings[(split, name)].value == pytest.approx(dist.tvd[split][0])
        ticks = overlay.plot.getPlotItem().getAxis("bottom")._tickLevels[0]
        assert [t for _, t in ticks] == dist.categories
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_property("brightness")  # back to a curve: the category ticks are gone
    assert overlay.plot.getPlotItem().getAxis("bottom")._tickLevels is None
    assert overlay.bar_data("train") is None and overlay.curve_data("train") is not None


def test_sizes_can_be_drawn_on_a_log_axis(qtbot, classed):
    table = classed.images
    overlay = PropertyOverlay(shared_runner())
    qtbot.addWidget(overlay)
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_table(table)
    assert not overlay.log_box.isEnabled()  # brightness: no log axis
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_property("file_size")
    assert overlay.log_axis  # the default for file size
    edges, _ = overlay.curve_data("train")
    ratios = edges[1:] / edges[:-1]
    assert np.allclose(ratios, ratios[0]) and ratios[0] > 1  # equal widths on a log axis
    assert overlay.plot.getPlotItem().getAxis("bottom").logMode
    assert "log axis" in overlay.plot.getPlotItem().getAxis("bottom").labelText
    labels = [text for _, text in overlay.plot.getPlotItem().getAxis("bottom")._tickLevels[0]]
    assert labels and all(text[0] in "125" for text in labels)  # 1, 2, 5 per decade, readable
    assert log_ticks(150, 4800) == [(np.log10(200), "200"), (np.log10(500), "500"), (3.0, "1k"),
                                    (np.log10(2000), "2k")]
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_log_axis(False)
    edges, _ = overlay.curve_data("train")
    assert np.allclose(np.diff(edges), np.diff(edges)[0])  # linear bins again
    assert not overlay.plot.getPlotItem().getAxis("bottom").logMode
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_property("width")
    assert overlay.log_box.isEnabled() and not overlay.log_axis


def test_category_distribution_counts_match_numpy(classed):
    table = classed.images
    dist = category_distribution(table, "format")
    for split in table.split_names:
        rows = table.rows_in(split)
        assert int(dist.counts[split].sum()) == rows.size
    assert "train" not in dist.tvd
    with pytest.raises(ValueError):
        category_distribution(table, "brightness")
    log = property_distribution(table, "area", log=True)
    linear = property_distribution(table, "area")
    assert log.edges[0] == linear.edges[0] and log.edges[-1] == linear.edges[-1]
    assert np.allclose(np.diff(np.log(log.edges)), np.diff(np.log(log.edges))[0])
    assert property_distribution(table, "brightness", log=True).edges.tolist() == \
        property_distribution(table, "brightness").edges.tolist()  # not a positive size: linear


def test_overlay_empty_states(qtbot, classed):
    overlay = PropertyOverlay(shared_runner())
    qtbot.addWidget(overlay)
    assert "No statistics" in overlay.stats_label.text() and overlay.plot.isHidden()
    with qtbot.waitSignal(overlay.shown, timeout=10_000):
        overlay.set_table(classed.images)
    with qtbot.waitSignal(overlay.shown, timeout=10_000) as blocker:
        overlay.set_table(None)
    assert blocker.args == [""] and overlay.curve_data("train") is None


def test_window_tab_follows_the_session_and_the_theme(qtbot, make_window, demo_root):
    from inspector.ui.main_window import TAB_VALIDATION
    from inspector.ui.theme import plot_colors

    window = make_window()
    assert window.tabs.tabText(TAB_VALIDATION) == "Balance && Drift"  # && shows one &
    panel = window.validation
    with qtbot.waitSignal(panel.overlay.shown, timeout=30_000,
                          check_params_cb=lambda name: name == "brightness"):
        with qtbot.waitSignal(window.scanFinished, timeout=30_000):
            window.open_folder(demo_root)
    from inspector.app.dataset_facts import decoded_class_counts

    counts = {s: {c: k for c, k in n.items() if k} for s, n in decoded_class_counts(window.result).items()}
    counts = {s: n for s, n in counts.items() if n}
    assert counts, "the demo dataset has classes"
    assert window.result.failures, "the demo has broken files: the chart leaves them out"
    drawn = panel.balance.bar_values()
    assert drawn == {s: {c: float(n.get(c, 0)) for c in panel.balance.classes} for s, n in counts.items()}
    assert set(panel.overlay._curves) == set(window.result.images.split_names)
    window.set_theme("dark")
    assert panel.balance.plot.backgroundBrush().color().name() == plot_colors("dark")[0]
    assert panel.overlay.plot.backgroundBrush().color().name() == plot_colors("dark")[0]
    window.set_theme("light")
    assert panel.overlay.plot.backgroundBrush().color().name() == plot_colors("light")[0]
    with qtbot.waitSignal(panel.overlay.shown, timeout=10_000) as blocker:
        window.session.open(demo_root)  # a new dataset clears the tab
    assert blocker.args == [""] and panel.balance.bar_values() == {}


def test_pointer_over_a_class_row_reads_out_its_numbers(qtbot, classed):
    chart = BalanceChart()
    qtbot.addWidget(chart)
    chart.resize(700, 500)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_balance(_export(classed)["balance"])
    vb = chart.plot.getPlotItem().getViewBox()
    row = chart.classes.index("cat")
    chart.plot.scene().sigMouseMoved.emit(vb.mapViewToScene(pg.Point(1.0, row)))
    qtbot.waitUntil(lambda: chart.readout.text().startswith("cat:"), timeout=5000)
    assert chart.readout.text() == chart.row_text(row) and "test: no image" in chart.readout.text()
