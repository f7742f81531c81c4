"""Stale state in the window: what one dataset, selection or phase leaves behind must never be
shown for the next. Each test here failed before the window kept its state in one session."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from imagefactory import write_image
from inspector.core.demo import BLANK_SKY
from inspector.core.normalize import AMPLIFICATION_WARN_FACTOR
from inspector.core.scan import scan as core_scan
from inspector.ui import theme
from inspector.ui.histogram_plot import HistogramPlot
from inspector.ui.image_model import AMP
from test_ui_main import SCAN_TIMEOUT, Gate, scan, small_dataset


def grey_dataset(root, n: int = 2):
    for split in ("train", "val"):
        for k in range(n):
            write_image(root / split / f"g_{k}.png", "L", size=(16, 12), seed=10 + k)
    return root


def test_histogram_readout_is_cleared_by_another_dataset(qtbot, tmp_path):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    plot.resize(900, 400)
    plot.show()
    rgb = core_scan(str(small_dataset(tmp_path / "rgb")), workers=1)
    plot.set_stats(rgb.split_stats, rgb.mode)
    qtbot.waitExposed(plot)
    plot._on_mouse([plot._plots[0].sceneBoundingRect().center()])  # the pointer over the red channel
    assert plot.readout_text().startswith("R = ") and "test:" in plot.readout_text()
    grey = core_scan(str(grey_dataset(tmp_path / "grey")), workers=1)
    plot.set_stats(grey.split_stats, grey.mode)
    assert plot.readout_text() == ""  # not an RGB readout with train/val/test on a grey train/val set


def test_normalization_tab_during_a_scan_says_so_and_keeps_no_old_channel(qtbot, make_window, tmp_path,
                                                                         monkeypatch):
    window = make_window()
    scan(qtbot, window, str(grey_dataset(tmp_path / "grey")))
    view = window.normalization
    assert [view.channel_combo.itemText(i) for i in range(view.channel_combo.count())] == ["L"]
    gate = Gate(monkeypatch)
    window.open_folder(str(small_dataset(tmp_path / "rgb")))
    qtbot.waitUntil(lambda: window.progress.split_text("train") != "", timeout=SCAN_TIMEOUT)
    assert "Scanning" in view.message_label.text() and "Open a dataset" not in view.message_label.text()
    assert view.channel_combo.count() == 0  # the grey dataset's "L" is gone
    with qtbot.waitSignal(window.scanFinished, timeout=SCAN_TIMEOUT):
        gate.release.set()
    assert [view.channel_combo.itemText(i) for i in range(view.channel_combo.count())][:2] == ["Luminance", "R"]


def test_a_filter_that_hides_the_selected_image_clears_the_preview(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    assert window.image_list.select_path(BLANK_SKY)  # a train image
    qtbot.waitUntil(lambda: window.preview.loaded_path is not None, timeout=10_000)
    assert window.session.selection.image_row == result.images.paths.index(BLANK_SKY)
    window.image_list.set_filter(split="test")
    assert window.preview.loaded_path is None and window.session.selection.empty
    assert BLANK_SKY not in window.preview._info.toPlainText()


@pytest.mark.parametrize("width", [1400, 1100])
def test_most_amplified_shows_the_column_it_sorts_by(qtbot, make_window, demo_root, width):
    window = make_window()
    window.resize(width, 800)
    scan(qtbot, window, demo_root)
    window.amplified_action.trigger()
    view = window.image_list.view
    x, w = view.columnViewportPosition(AMP), view.columnWidth(AMP)
    assert x >= 0 and x + w <= view.viewport().width(), (x, w, view.viewport().width())


def test_one_amplification_threshold_for_list_and_normalization_view(qtbot, make_window, demo_root):
    window = make_window()
    result = scan(qtbot, window, demo_root)
    model = window.image_list.model
    amp = model._amp_max[: len(result.images)]
    between = np.flatnonzero((amp > AMPLIFICATION_WARN_FACTOR) & (amp < 10))  # the old list threshold
    assert between.size, "the demo has an image amplified between 5x and 10x"
    row = int(between[0])
    view_row = model.view_row_of_source(row)
    assert model.data(model.index(view_row, AMP), Qt.ItemDataRole.ForegroundRole) is not None
    with qtbot.waitSignal(window.normalization.imageShown, timeout=10_000):
        window.show_image_in_list(row)
    assert "color:" in window.normalization.amp_label.text()  # highlighted there too


def test_counts_in_the_status_bar_agree_with_their_number(qtbot, make_window, tmp_path):
    write_image(tmp_path / "one" / "train" / "a.png", "RGB")
    window = make_window()
    scan(qtbot, window, str(tmp_path / "one"))
    assert "· 1 image ·" in window.dataset_label.text()
    assert window.image_list.count_label.text() == "Showing 1 of 1 image"
    assert "train</b> (1 image)" in window.stats_panel.histograms._legend_label.text()


def test_no_train_split_is_not_told_to_use_train_only(qtbot, make_window, tmp_path):
    window = make_window()
    scan(qtbot, window, str(small_dataset(tmp_path / "ds", splits=("val", "test"))))
    assert window.source == ["val"] and window.messages.message("source") is None
    text = window.normalization.recommendation_label.text()
    assert "train only" not in text and "no train split" in text
    assert "Warning" not in text


def test_switching_the_theme_only_changes_the_palette(qtbot, make_window, monkeypatch):
    """A new stylesheet or style re-polishes every widget (about a second with a dataset open);
    a theme switch must set neither, and still recolour everything, muted labels included."""
    window = make_window()
    window.set_theme("light")
    calls = []
    monkeypatch.setattr(QApplication, "setStyleSheet", lambda self, qss: calls.append("qss"))
    monkeypatch.setattr(QApplication, "setStyle", lambda self, style: calls.append("style"))
    window.toggle_theme_action.trigger()
    assert calls == [] and theme.current_theme() == "dark"
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 80
    muted = window.dataset_label.palette().color(QPalette.ColorRole.WindowText)
    assert muted == theme.muted_color("dark")
    dark_base = QApplication.instance().palette().color(QPalette.ColorRole.Base)
    for table in (window.stats_panel.table, window.image_list.view, window.leakage.table):  # styled by QSS
        assert table.palette().color(QPalette.ColorRole.Base) == dark_base
    window.toggle_theme_action.trigger()
    assert window.dataset_label.palette().color(QPalette.ColorRole.WindowText) == theme.muted_color("light")


def test_nothing_decodes_on_the_gui_thread(qtbot, make_window, demo_root, monkeypatch):
    """Preview, normalization view and leakage pair all decode on the background runner."""
    import threading

    from inspector.app import normalization
    from inspector.ui import leakage_pair, preview

    calls: list[bool] = []
    for module in (normalization, preview, leakage_pair):
        real = module.decode

        def recording(*args, real=real, **kwargs):
            calls.append(threading.current_thread() is threading.main_thread())
            return real(*args, **kwargs)

        monkeypatch.setattr(module, "decode", recording)
    window = make_window()
    scan(qtbot, window, demo_root)
    with qtbot.waitSignal(window.normalization.imageShown, timeout=10_000):
        assert window.image_list.select_path(BLANK_SKY)
    qtbot.waitUntil(lambda: window.preview.loaded_path is not None, timeout=10_000)
    window.tabs.setCurrentIndex(3)
    window.leakage.table.selectRow(0)
    pair = window.leakage.pair
    qtbot.waitUntil(lambda: pair.finding is not None and not (pair.left.loading or pair.right.loading),
                    timeout=10_000)
    assert not pair.left.image.source_pixmap().isNull()
    assert len(calls) >= 4 and not any(calls)  # image, preview and both sides of the pair
