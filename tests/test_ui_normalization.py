"""Normalization view (inspector/ui/normalization_view.py): shared colour scale, the blank sky with a
tiny cloud blown up by per-image standardization, below-zero fractions against numpy references,
scheme and channel switching, empty and error states, the dataset summary."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inspector.core import normalize as nz
from inspector.core.scan import scan
from inspector.app import normalization as model
from inspector.ui.normalization_view import NormalizationView

SKY = "train/sky/blank_sky.png"
LUMA = np.array([0.299, 0.587, 0.114])


# --- a tiny dataset ------------------------------------------------------------------------------


def _blank_sky(seed: int = 0) -> np.ndarray:
    """Uniform sky blue with faint noise and one small bright cloud (64x48)."""
    rng = np.random.default_rng(seed)
    h, w = 48, 64
    img = np.array([118.0, 172.0, 232.0]) + rng.normal(0, 0.8, (h, w, 3))
    yy, xx = np.mgrid[0:h, 0:w]
    cloud = np.exp(-(((yy - 14) / 2.0) ** 2 + ((xx - 40) / 3.0) ** 2))[..., None]
    img = img * (1 - cloud) + 250 * cloud
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _textured(seed: int, shape=(40, 56)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.5 + 0.3 * np.sin(2 * np.pi * (xx * rng.uniform(1, 3) + yy * rng.uniform(1, 3)))
    chans = [base + rng.normal(0, 0.15, base.shape) + rng.uniform(-0.2, 0.2) for _ in range(3)]
    return np.clip(np.rint(np.stack(chans, -1) * 255), 0, 255).astype(np.uint8)


def _write(root: Path, rel: str, arr: np.ndarray) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("normview")
    _write(root, SKY, _blank_sky())
    for i in range(5):
        _write(root, f"train/texture/tex_{i}.png", _textured(i))
    _write(root, "val/sky/val_sky.png", _blank_sky(7))
    _write(root, "val/texture/val_tex.png", _textured(11))
    _write(root, "test/texture/test_tex.png", _textured(12))
    result = scan(str(root))
    assert result.mode == "RGB" and len(result.images) == 9
    return root, result


def _pixels(root: Path, rel: str) -> np.ndarray:
    with Image.open(root / rel) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def _train_mean_std(root: Path, result) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-weighted float64 reference over every train pixel (0-1 scale)."""
    rows = result.images.rows_in("train")
    values = np.concatenate([_pixels(root, result.images.paths[i]).reshape(-1, 3) for i in rows]) / 255.0
    return values.mean(axis=0), values.std(axis=0)


@pytest.fixture
def view(qtbot):
    v = NormalizationView()
    qtbot.addWidget(v)
    v.resize(1500, 900)
    v.show()
    return v


def render(qtbot, view, action, *, fails: bool = False) -> None:
    """Run ``action`` and wait until the view shows the image (or says why it cannot): the
    decoding and the panels are computed off the GUI thread."""
    with qtbot.waitSignal(view.imageFailed if fails else view.imageShown, timeout=10_000):
        action()


def _pct(fraction: float) -> str:
    return f"below zero {100.0 * fraction:.1f}%"


# --- tests ---------------------------------------------------------------------------------------


def test_empty_state_shows_hints_not_errors(view, dataset, qtbot):
    _, result = dataset
    assert "Open a dataset" in view.message_label.text()
    assert view.stack.currentIndex() == 0
    assert not view.side_panel.isVisibleTo(view)
    view.show_image(0)  # no result yet: still just the hint
    assert "Open a dataset" in view.message_label.text()
    view.set_result(result, ["train"])
    assert "Select an image" in view.message_label.text()
    assert view.side_panel.isVisibleTo(view)
    view.set_result(None, [])
    assert "Open a dataset" in view.message_label.text() and view.error_message is None


def test_sky_standardized_panels_share_one_fixed_colour_scale(view, dataset, qtbot):
    root, result = dataset
    view.set_result(result, ["train"])
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    assert view.stack.currentIndex() == 1 and view.error_message is None
    dataset_panel, third = view.panels[1], view.panels[2]
    assert third.data.scheme == nz.PER_IMAGE

    lo_hi = nz.STANDARDIZED_RANGE
    assert tuple(view.std_bar.levels()) == lo_hi
    for panel in (dataset_panel, third):
        assert panel.image_item is panel.items["std"]
        assert tuple(np.asarray(panel.image_item.getLevels(), float)) == lo_hi
        assert panel.image_item.getColorMap() is view.std_bar.colorMap()
    np.testing.assert_array_equal(dataset_panel.image_item.lut, third.image_item.lut)
    assert view.std_bar.colorMap().name == "CET-D1"  # diverging: zero is the neutral colour
    assert not view.bounded_bar_view.isVisibleTo(view)

    # The cloud: faint under dataset standardization, blown up under per-image standardization.
    ds_max = np.abs(dataset_panel.image_item.image).max()
    pi_max = np.abs(third.image_item.image).max()
    assert pi_max > 5 * ds_max
    assert third.summary.max > 10 and dataset_panel.summary.max < 4

    # The amplification label reports > 10x (highlighted), and it matches train std / image std.
    cells = view.amp_label.text().split("\u2014")[0]  # the per-channel values, before the warning
    amps = [float(x.replace(",", "")) for x in re.findall(r"([\d,]+\.?\d*)×", cells)]
    assert len(amps) == 3
    assert max(amps) > 10
    assert "color:" in view.amp_label.text()
    mean, std = _train_mean_std(root, result)
    sky = _pixels(root, SKY) / 255.0
    assert max(amps) == pytest.approx((std / sky.std(axis=(0, 1))).max(), rel=0.01)

    # Images set later never auto-level: a textured image keeps the same fixed scale.
    render(qtbot, view, lambda: view.show_image(result.images.paths.index("train/texture/tex_0.png")))
    for panel in (dataset_panel, third):
        assert tuple(np.asarray(panel.image_item.getLevels(), float)) == lo_hi
    assert tuple(view.std_bar.levels()) == lo_hi


def test_below_zero_labels_match_numpy_reference(view, dataset, qtbot):
    root, result = dataset
    view.set_result(result, ["train"])
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    mean, std = _train_mean_std(root, result)
    x = _pixels(root, SKY) / 255.0
    ref_dataset = ((x - mean) / std) @ LUMA
    ref_per_image = ((x - x.mean(axis=(0, 1))) / np.maximum(x.std(axis=(0, 1)), nz.STD_FLOOR)) @ LUMA
    for panel, ref in ((view.panels[1], ref_dataset), (view.panels[2], ref_per_image)):
        frac = float(np.mean(ref < 0))
        assert panel.summary.fraction_below_zero == pytest.approx(frac, abs=1e-12)
        assert _pct(frac) in panel.stats.text()
        assert panel.summary.mean == pytest.approx(ref.mean(), abs=1e-6)
    assert _pct(0.0) in view.panels[0].stats.text()
    assert "ReLU" in view.panels[1].stats.toolTip()


def test_switching_scheme_and_channel_updates_panels(view, dataset, qtbot):
    root, result = dataset
    view.set_result(result, ["train"])
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    x = _pixels(root, SKY)
    mean, std = _train_mean_std(root, result)

    render(qtbot, view, lambda: view.set_third_scheme(nz.SYMMETRIC))
    third = view.panels[2]
    assert third.data.scheme == nz.SYMMETRIC and "[-1, 1]" in third.title.text()
    assert third.image_item is third.items["bounded"] and third.image_item.isVisible()
    assert not third.items["std"].isVisible()
    assert tuple(np.asarray(third.image_item.getLevels(), float)) == model.BOUNDED_RANGE
    assert view.bounded_bar_view.isVisibleTo(view)
    assert tuple(view.std_bar.levels()) == nz.STANDARDIZED_RANGE  # the shared bar is untouched
    ref = (x / 127.5 - 1) @ LUMA
    assert _pct(float(np.mean(ref < 0))) in third.stats.text()

    render(qtbot, view, lambda: view.set_channel(0))  # R
    ref_r = x[:, :, 0] / 127.5 - 1
    np.testing.assert_allclose(third.image_item.image, ref_r, atol=1e-6)
    assert _pct(float(np.mean(ref_r < 0))) in third.stats.text()
    np.testing.assert_allclose(view.panels[1].image_item.image, (x[:, :, 0] / 255 - mean[0]) / std[0], atol=1e-5)

    render(qtbot, view, lambda: view.set_third_scheme(nz.MINMAX))
    assert third.image_item.image.min() == pytest.approx(0.0) and third.image_item.image.max() == pytest.approx(1.0)
    assert _pct(0.0) in third.stats.text()

    render(qtbot, view, lambda: view.set_third_scheme(nz.PER_IMAGE))
    assert third.image_item is third.items["std"] and not third.items["bounded"].isVisible()
    assert not view.bounded_bar_view.isVisibleTo(view)


def test_rendered_pixels_use_the_shared_colour_map(view, dataset, qtbot):
    _, result = dataset
    view.set_result(result, ["train"])
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    pixmap = view.grab()
    assert not pixmap.isNull() and pixmap.width() == 1500
    lo, hi = nz.STANDARDIZED_RANGE
    cmap = view.std_bar.colorMap()
    for panel in view.panels[1:]:
        item = panel.image_item
        assert item.qimage is not None  # painted by grab()
        value = float(item.image[40, 5])  # plain sky, far from the cloud
        expected = cmap.map(np.array([(value - lo) / (hi - lo)]), mode="byte")[0]
        got = item.qimage.pixelColor(5, 40)
        assert abs(got.red() - expected[0]) <= 3 and abs(got.blue() - expected[2]) <= 3


def test_dataset_summary_and_recommendation(view, dataset, qtbot):
    root, result = dataset
    view.set_result(result, ["train"])
    text = view.summary_text
    mean, std = _train_mean_std(root, result)
    amps = np.array([(std / (_pixels(root, p) / 255.0).std(axis=(0, 1))).max() for p in result.images.paths])
    n = len(amps)
    for t in (2, 5, 10):
        k = int(np.sum(amps > t))
        assert f"Amplified > {t}x: {100 * k / n:.1f}% ({k} of {n})" in text
    assert int(np.sum(amps > 10)) >= 2  # the two skies
    train_values = np.concatenate([_pixels(root, result.images.paths[i]).reshape(-1, 3)
                                   for i in result.images.rows_in("train")]) / 255.0
    below = float(np.mean((train_values < mean).mean(axis=0)))
    assert f"Below zero, Dataset mean/std: {100 * below:.1f}%" in text
    rec = view.recommendation_label.text()
    assert "Use dataset standardization with the train mean" in rec
    assert "Warning" not in rec

    # Statistics from train + val: a leakage warning, and the shown image is re-rendered.
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    before = view.panels[1].summary.mean
    render(qtbot, view, lambda: view.set_result(result, ["train", "val"]))  # re-rendered with the new numbers
    assert "Warning" in view.recommendation_label.text()
    assert view.current_row == result.images.paths.index(SKY)
    assert view.panels[1].summary.mean != pytest.approx(before)


def test_most_amplified_button_shows_that_image(view, dataset, qtbot):
    _, result = dataset
    view.set_result(result, ["train"])
    target = view.context.amplification.most_amplified_index
    with qtbot.waitSignal(view.rowRequested) as blocker:
        view.most_amplified_button.click()
    assert blocker.args == [target]
    assert view.current_row == target and "sky" in result.images.paths[target]


def test_missing_file_shows_message(view, dataset, tmp_path, qtbot):
    root, result = dataset
    view.set_result(result, ["train"])
    rel = "test/texture/test_tex.png"
    backup = tmp_path / "moved.png"
    os.replace(root / rel, backup)
    try:
        render(qtbot, view, lambda: view.show_image(result.images.paths.index(rel)), fails=True)
        assert view.stack.currentIndex() == 0
        assert "Cannot load" in view.message_label.text() and rel in view.message_label.text()
        assert view.error_message and rel in view.header_label.text().replace("\u200b", "")
        render(qtbot, view, lambda: view.set_third_scheme(nz.UNIT), fails=True)  # settings changes while in the error state: no exception
    finally:
        os.replace(backup, root / rel)
    render(qtbot, view, lambda: view.set_third_scheme(nz.PER_IMAGE))
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    assert view.stack.currentIndex() == 1 and view.error_message is None
    render(qtbot, view, lambda: view.show_image(10_000), fails=True)
    assert "No image #10000" in view.message_label.text()


def test_set_result_none_clears(view, dataset, qtbot):
    _, result = dataset
    view.set_result(result, ["train"])
    render(qtbot, view, lambda: view.show_image(0))
    view.set_result(None, [])
    assert view.current_row is None and view.stack.currentIndex() == 0
    assert all(p.data is None for p in view.panels)
    assert view.header_label.text().replace("\u200b", "") == "" and not view.side_panel.isVisibleTo(view)


def test_large_images_are_computed_in_a_worker(view, dataset, qtbot, tmp_path):
    root, result = dataset
    view.set_result(result, ["train"])
    with qtbot.waitSignal(view.imageShown, timeout=10_000):
        view.show_image(result.images.paths.index(SKY))
    assert view.panels[2].summary.max > 10
    with qtbot.waitSignal(view.imageShown, timeout=10_000):
        view.set_channel(2)
    assert view.channel == 2 and view.panels[1].image_item.image.shape == (48, 64)
    # Requests superseded while the worker is busy: the last one wins.
    last = result.images.paths.index("train/texture/tex_3.png")
    with qtbot.waitSignal(view.imageShown, timeout=10_000, check_params_cb=lambda row: row == last):
        for row in (0, 1, 2, last):
            view.show_image(row)
    qtbot.waitUntil(lambda: not view.busy, timeout=10_000)
    assert view.current_row == last and "tex_3.png" in view.header_label.text().replace("\u200b", "")
    rel = "val/texture/val_tex.png"
    os.replace(root / rel, tmp_path / "moved.png")
    try:
        view.show_image(result.images.paths.index(rel))
        qtbot.waitUntil(lambda: view.error_message is not None, timeout=10_000)
    finally:
        os.replace(tmp_path / "moved.png", root / rel)
    assert rel in view.message_label.text()


def _noise_train_and_flat(root, seed: int, dtype, top: int, flat_path: str, level: int, spike: int, shape):
    """Three random single-channel train images, and a flat image with one brighter pixel; scanned."""
    rng = np.random.default_rng(seed)
    for i in range(3):
        _write(root, f"train/t_{i}.png", rng.integers(0, top, shape, dtype=dtype))
    flat = np.full(shape, level, dtype)
    flat[3, 4] = spike
    _write(root, flat_path, flat)
    return flat, scan(str(root))


def test_single_channel_dataset(view, tmp_path, qtbot):
    _, result = _noise_train_and_flat(tmp_path, 3, np.uint8, 256, "val/flat.png", 90, 200, (20, 24))
    assert result.mode == "L"
    view.set_result(result, ["train"])
    assert [view.channel_combo.itemText(i) for i in range(view.channel_combo.count())] == ["L"]
    render(qtbot, view, lambda: view.show_image(result.images.paths.index("val/flat.png")))
    assert view.error_message is None
    assert view.panels[0].image_item.image.ndim == 2
    assert "L " in view.amp_label.text()
    assert view.panels[2].summary.max > 10  # one bright pixel on a flat field


def test_display_is_subsampled_but_numbers_use_every_pixel():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (2100, 700, 3), dtype=np.uint8)
    img = model.LoadedImage(0, "big.png", raw, 255.0)
    panels = model.compute_panels(img, nz.PER_IMAGE, model.LUMINANCE, None)
    assert panels[0].display.shape[:2] == (700, 234)   # step 3
    assert panels[2].display.shape == (700, 234)
    assert panels[2].summary.n_values == 2100 * 700
    assert panels[1].display is None and "unavailable" in panels[1].message


def test_sixteen_bit_images(view, tmp_path, qtbot):
    flat, result = _noise_train_and_flat(tmp_path, 5, np.uint16, 65536, "test/flat16.png", 30000, 40000, (16, 20))
    view.set_result(result, ["train"])
    render(qtbot, view, lambda: view.show_image(result.images.paths.index("test/flat16.png")))
    assert view.error_message is None and "16-bit" in view.header_label.text().replace("\u200b", "")
    x = flat.astype(np.float64) / 65535.0
    train = np.concatenate([np.asarray(Image.open(tmp_path / f"train/t_{i}.png"), np.float64).ravel()
                            for i in range(3)]) / 65535.0
    ref = (x - train.mean()) / train.std()
    np.testing.assert_allclose(view.panels[1].image_item.image, ref, atol=1e-5)
    assert _pct(float(np.mean(ref < 0))) in view.panels[1].stats.text()


def test_unknown_source_split_is_explained(view, dataset, qtbot):
    _, result = dataset
    view.set_result(result, ["nonexistent"])
    assert "No normalization statistics" in view.summary_intro.text()
    assert not view.most_amplified_button.isEnabled()
    render(qtbot, view, lambda: view.show_image(result.images.paths.index(SKY)))
    assert view.error_message is None  # the other panels still work
    assert view.panels[1].data.display is None and "unavailable" in view.panels[1].stats.text()
    assert view.panels[2].summary is not None and "unavailable" in view.amp_label.text()


def test_the_window_computes_the_normalization_numbers_once_per_source(qtbot, make_window, demo_root, monkeypatch):
    """The session computes the exported mean/std; the normalization view and the snippets reuse
    them (every computation of them goes through core.export's mean_std)."""
    from inspector.core import export

    calls = []
    real = export.mean_std
    monkeypatch.setattr(export, "mean_std", lambda hist: calls.append(1) or real(hist))
    window = make_window()
    with qtbot.waitSignal(window.scanFinished, timeout=30_000):
        window.open_folder(demo_root)
    assert window.normalization.context is not None and window.normalization.context.ok
    assert len(calls) == 1
    window.copy_snippet("torchvision")
    window.set_source_splits(["train", "val"])
    assert list(window.normalization.context.sources) == ["train", "val"]
    assert len(calls) == 2
    numbers = window.session.normalization
    assert tuple(window.normalization.context.mean) == numbers.mean
