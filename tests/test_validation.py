"""Class balance, label and property drift, and image issues on scanned datasets."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image, ImageFilter

from inspector.cli import main
from inspector.core import hashing
from inspector.core.export import build_document
from inspector.core.leakage import scan_leakage
from inspector.core.scan import scan
from inspector.core.pixelbuffer import pixel_view
from inspector.core.stats import image_histogram, image_moments
from inspector.core.validation import ISSUES, image_quality, validate
from inspector.core.validation import properties as P
from imagefactory import write_image

HERE = Path(__file__).parent
SCHEMAS = [json.loads((HERE / name).read_text()) for name in ("export-v1.schema.json", "validation.schema.json")]


def _check_schema(doc: dict) -> None:
    for schema in SCHEMAS:
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


def photo_like(seed: int, size: tuple[int, int] = (96, 72)) -> Image.Image:
    """A colour image with detail at every scale (sum of upsampled noise octaves)."""
    rng = np.random.default_rng(seed)
    w, h = size
    acc = np.zeros((h, w, 3))
    for octave in (4, 8, 16, 32, 96):
        small = rng.normal(0, 1, (max(2, h * octave // 96), max(2, w * octave // 96), 3))
        acc += np.asarray(Image.fromarray(small.astype(np.float32)[..., 0]).resize((w, h), Image.BICUBIC))[..., None] \
            * rng.uniform(0.5, 1.5, 3) / np.sqrt(octave)
    acc = (acc - acc.mean()) / (acc.std() + 1e-9) * 50 + rng.uniform(90, 160, 3)
    return Image.fromarray(np.clip(acc, 0, 255).astype(np.uint8))


def _props(im: Image.Image) -> np.ndarray:
    hist = image_histogram(im)
    m = np.array(image_moments(hist))
    _, _, grid = hashing.signature_and_grid(im)
    return P.measure(im, hist, m[0], m[1], grid)


def test_properties_equal_float64_references():
    im = photo_like(1)
    a = np.asarray(im, dtype=np.float64) / 255
    p = _props(im)
    luma = np.array([0.299, 0.587, 0.114])
    assert p[P.BRIGHTNESS] == pytest.approx(float(a.mean(axis=(0, 1)) @ luma), rel=1e-9)
    assert p[P.CONTRAST] == pytest.approx(float(a.std(axis=(0, 1)) @ luma), rel=1e-9)
    # the colour lattice: every step-th pixel, centred, at most 32 a side
    h, w = a.shape[:2]
    def lattice(n):  # 32 positions step n // 32 apart, the unused margin split evenly
        step = n // 32
        first = (n - 1 - 31 * step) // 2
        return [first + i * step for i in range(32)]
    ys, xs = lattice(h), lattice(w)
    sample = np.round(a[np.ix_(ys, xs)] * 255)
    sat = np.where(sample.max(axis=2) > 0, np.ptp(sample, axis=2) / np.maximum(sample.max(axis=2), 1), 0)
    assert p[P.SATURATION] == pytest.approx(sat.mean(), rel=1e-9)
    assert p[P.COLOUR_SPREAD] == pytest.approx(np.ptp(sample, axis=2).max() / 255, rel=1e-9)
    assert p[P.DARK] == pytest.approx(max(np.quantile(np.round(a[..., c] * 255), 0.99, method="inverted_cdf")
                                          for c in range(3)) / 255)
    assert p[P.LIGHT] == pytest.approx(min(np.quantile(np.round(a[..., c] * 255), 0.05, method="inverted_cdf")
                                           for c in range(3)) / 255)
    # sharpness: the band ratio of four 32x32 green patches centred in the quarters, pooled, with
    # the rounding noise (2/12 per difference) taken out (photo_like(1) is 96x72)
    green = np.asarray(im, dtype=np.float64)[..., 1]
    patches = [green[y:y + 32, x:x + 32] for y in (2, 38) for x in (8, 56)]
    e1 = sum(np.mean(np.diff(g, axis=1) ** 2) + np.mean(np.diff(g, axis=0) ** 2) for g in patches) / 4
    e2 = sum(np.mean((g[:, 2:] - g[:, :-2]) ** 2) + np.mean((g[2:] - g[:-2]) ** 2) for g in patches) / 4
    assert p[P.SHARPNESS] == pytest.approx(2 * np.sqrt((e1 - 1 / 3) / (e2 - 1 / 3)) - 1, rel=1e-4)
    grey = im.convert("L")
    g = _props(grey)
    assert g[P.SATURATION] == 0 and g[P.COLOUR_SPREAD] == 0
    assert g[P.BRIGHTNESS] == pytest.approx(np.asarray(grey, dtype=np.float64).mean() / 255, rel=1e-9)


def _sample(im: Image.Image) -> P.Sample:
    hist = image_histogram(im)
    m = np.array(image_moments(hist))
    _, _, grid = hashing.signature_and_grid(im)
    return P.sample(im, hist, m[0], m[1], grid)


def test_a_chunk_measured_at_once_equals_each_image_alone(monkeypatch):
    """measure_all groups images by shape: a mixed chunk (sizes, RGB, grey, 16-bit, 2 px) gives
    every image the values it gets alone, and Pillow's crops (no pixel export) the same as the
    in-place read."""
    images = [photo_like(3), photo_like(4, (40, 200)), photo_like(9, (17, 9)), photo_like(5).convert("L"), photo_like(6, (2, 9)),
              Image.fromarray((np.asarray(photo_like(5).convert("L"), np.uint16) * 257)).convert("I;16"),
              photo_like(8, (300, 220))]
    samples = [_sample(im) for im in images]
    for im, s in zip(images, samples):  # copies: the image's pixel memory goes away with it
        view = pixel_view(im)
        if view is not None:
            pixels = np.frombuffer(view.buffer, np.uint8)
            assert not any(np.shares_memory(a, pixels) for a in (s.patches, s.lattice, s.rows, s.cols)
                           if a is not None)
    together = P.measure_all(samples)
    alone = np.array([P.measure_all([s])[0] for s in samples])
    np.testing.assert_array_equal(together, alone)
    assert np.isnan(together[4, P.SHARPNESS]) and np.isfinite(together[4, P.BRIGHTNESS])
    # blur is not judged on images under the grid's 64 px both ways (17x9, 2x9): the grid repeats pixels
    assert np.isnan(together[[2, 4], P.DETAIL]).all()
    others = [c for c in range(P.N_PROPERTIES) if c != P.DETAIL]
    assert np.isfinite(together[[0, 1, 2, 3, 5, 6]][:, others]).all()
    assert np.isfinite(together[[0, 1, 3, 5, 6], P.DETAIL]).all()
    assert together[5, P.SHARPNESS] == pytest.approx(together[3, P.SHARPNESS], abs=0.02)  # same picture
    monkeypatch.setattr(P, "pixel_view", lambda im: None)
    cropped = P.measure_all([_sample(im) for im in images])
    np.testing.assert_array_equal(cropped, together)


def test_blur_lowers_sharpness_and_detail_and_noise_has_full_detail():
    im = photo_like(2, (160, 120))
    blurred = im.filter(ImageFilter.GaussianBlur(6))
    p, b = _props(im), _props(blurred)
    assert b[P.SHARPNESS] < 0.5 * p[P.SHARPNESS]
    assert b[P.DETAIL] < 0.5 * p[P.DETAIL]
    # a blur along one direction only (motion): the blur score takes the blurred direction
    a = np.asarray(im, dtype=np.float64)
    streak = sum(np.roll(a, k, axis=1) for k in range(-12, 13)) / 25
    motion = _props(Image.fromarray(streak.round().astype(np.uint8)))
    assert motion[P.DETAIL] < 0.5 * p[P.DETAIL]
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128), dtype=np.uint8))
    assert _props(noise)[P.DETAIL] > 0.8 and _props(noise)[P.SHARPNESS] > 0.8


def _dataset(root: Path, counts: dict[str, dict[str, int]], size=(96, 72), transform=None) -> Path:
    seed = 0
    for split, classes in counts.items():
        for cls, n in classes.items():
            for k in range(n):
                seed += 1
                im = photo_like(seed, size)
                if transform:
                    im = transform(split, im)
                write_image(root / split / cls / f"{cls}_{k:03d}.png", im)
    return root


def _kinds(findings, kind):
    return [f for f in findings if f.kind == kind]


def test_missing_new_class_and_label_drift(tmp_path):
    root = _dataset(tmp_path / "d", {"train": {"big": 40, "small": 8},
                                    "val": {"big": 4, "small": 20, "extra": 2},
                                    "test": {"big": 12}})
    result = scan(str(root), workers=1)
    findings = scan_leakage(result)
    missing = _kinds(findings, "missing_class")
    assert [(f.splits, f.severity, f.classes) for f in missing] == [(("test", "train"), "warning", ("small",))]
    new = _kinds(findings, "new_class")
    assert [(f.splits, f.severity, f.classes) for f in new] == [(("val", "train"), "error", ("extra",))]
    drift = _kinds(findings, "label_drift")
    assert [f.splits[0] for f in drift] == ["val"]  # 12 test images: too few to tell 100% from 83%
    assert drift[0].statistic == "cramers_v" and drift[0].value >= drift[0].threshold
    doc = build_document(result, findings)
    _check_schema(doc)
    assert doc["balance"]["train"]["imbalance_ratio"] == 5.0
    assert doc["balance"]["test"]["counts"] == {"big": 12}
    label = next(f for f in doc["leakage"] if f["kind"] == "label_drift")
    assert {"property", "statistic", "value", "threshold", "p_value"} <= set(label)


def test_balance_and_label_drift_count_decoded_images_only(tmp_path):
    """Files that could not be decoded are in no statistic: 40 broken files in val/a neither make
    a label drift (val's decoded shares are train's) nor count in the export's balance, which
    agrees with the window's balance chart; a class whose every file failed is missing."""
    from inspector.app.dataset_facts import decoded_class_counts

    root = _dataset(tmp_path / "d", {"train": {"a": 30, "b": 30}, "val": {"a": 15, "b": 15}})
    for k in range(40):
        (root / "val" / "a" / f"broken_{k:02d}.png").write_bytes(b"not an image")
    (root / "val" / "c").mkdir()
    (root / "val" / "c" / "broken.png").write_bytes(b"not an image either")
    (root / "train" / "c").mkdir()
    for k in range(30):
        write_image(root / "train" / "c" / f"c_{k:02d}.png", photo_like(500 + k))
    result = scan(str(root), workers=1)
    assert result.classes["val"] == {"a": 55, "b": 15, "c": 1}  # the layout lists every file
    findings = validate(result).findings
    assert _kinds(findings, "label_drift") == []
    assert [(f.splits, f.classes) for f in _kinds(findings, "missing_class")] == [(("val", "train"), ("c",))]
    doc = build_document(result, scan_leakage(result))
    _check_schema(doc)
    assert doc["balance"]["val"]["counts"] == {"a": 15, "b": 15}
    assert doc["balance"]["val"]["shares"] == {"a": 0.5, "b": 0.5}
    assert doc["balance"]["train"]["counts"] == {"a": 30, "b": 30, "c": 30}
    assert validate(result).balance == doc["balance"]
    assert decoded_class_counts(result)["val"] == {"a": 15, "b": 15, "c": 0}  # the chart's counts


def test_same_distribution_gives_no_validation_finding(tmp_path):
    root = _dataset(tmp_path / "d", {"train": {"a": 30, "b": 30}, "val": {"a": 15, "b": 15}})
    findings = validate(scan(str(root), workers=1)).findings
    assert findings == []


def test_blurred_val_gives_sharpness_drift_and_downscaled_test_size_drift(tmp_path):
    def change(split, im):
        if split == "val":
            return im.filter(ImageFilter.GaussianBlur(3))
        if split == "test":
            return im.resize((im.width // 2, im.height // 2), Image.BILINEAR)
        return im

    root = _dataset(tmp_path / "d", {"train": {"a": 40}, "val": {"a": 30}, "test": {"a": 30}},
                    size=(128, 96), transform=change)
    result = scan(str(root), workers=1)
    drift = {(f.splits[0], f.property): f for f in validate(result).findings if f.kind == "property_drift"}
    assert drift[("val", "sharpness")].severity == "error"
    assert drift[("val", "sharpness")].statistic == "ks"
    for prop in ("width", "height", "area", "file_size"):
        assert drift[("test", prop)].severity == "error" and drift[("test", prop)].value == 1.0
    assert ("val", "width") not in drift and ("test", "aspect_ratio") not in drift
    doc = build_document(result, scan_leakage(result))
    _check_schema(doc)


def test_patch_noise_estimates_the_pixel_noise_of_smooth_and_detailed_patches():
    """(e1 - e2/4) / 3 of the least detailed patch is the noise variance on a smooth patch (a
    gradient plus noise) and never less than it on a detailed one."""
    rng = np.random.default_rng(4)
    y, x = np.mgrid[0:32, 0:32]
    for sd in (1.0, 2.0, 4.0):
        noise = rng.normal(0, sd, (4, 32, 32))
        smooth = np.clip(np.round(90 + 1.5 * x + 0.7 * y + noise), 0, 255).astype(np.uint8)
        want = np.var(smooth.astype(np.float64) - (90 + 1.5 * x + 0.7 * y))  # noise + rounding
        e1, e2 = P.patch_energies(smooth[None])
        assert P.patch_noise(e1, e2)[0] == pytest.approx(want, rel=0.15, abs=0.03), sd
        detailed = np.asarray(photo_like(7, (64, 64)).convert("L"), np.float64)
        tiles = np.stack([detailed[:32, :32], detailed[:32, 32:], detailed[32:, :32], detailed[32:, 32:]])
        rough = np.clip(np.round(tiles + noise), 0, 255).astype(np.uint8)
        assert P.patch_noise(*P.patch_energies(rough[None]))[0] >= 0.8 * want
    # rough across, smooth along (a photo squashed into a strip): the smooth direction tells the noise
    stripes = np.clip(np.round(rng.uniform(40, 200, (4, 32, 1)) + rng.normal(0, 1.0, (4, 32, 32))), 0, 255)
    e1, e2 = P.patch_energies(stripes.astype(np.uint8)[None])
    assert P.patch_noise(e1, e2)[0] == pytest.approx(1.0 + 1 / 12, rel=0.2)


def test_blur_score_leaves_out_a_side_shorter_than_the_grid():
    """Along a side under 64 px the grid repeats pixels: a sharp photo squashed into a 300x40
    strip keeps a sharp score (its rows), a 28x28 image gets none."""
    photo = photo_like(11, (300, 225))
    strip = photo.resize((300, 40), Image.BILINEAR)
    s = _sample(strip)
    rows_only = P.grid_detail(s.grid[None].astype(np.float32), 0.0, np.array([[300.0, 40.0]]))[0]
    assert P.measure_all([s])[0, P.DETAIL] == pytest.approx(rows_only, rel=0.05)
    assert rows_only > 5 * 0.028
    both = P.grid_detail(s.grid[None].astype(np.float32))[0]
    assert both != pytest.approx(rows_only, rel=0.05)  # the columns' ratio is not the photo's
    assert np.isnan(_props(photo.resize((28, 28), Image.BILINEAR))[P.DETAIL])


def test_noise_does_not_hide_a_blur_from_the_blur_score():
    """A blurred photo with sensor-like noise (std 3 levels) is still flagged blurry: the noise the
    patches show is taken out of the grid's energies (left in, it reads as fine detail: about
    twice the threshold); the same noise on a sharp photo leaves it far above the threshold."""
    from inspector.core.validation.issues import THRESHOLDS, blur_score

    rng = np.random.default_rng(0)
    cut = THRESHOLDS["blurry"]

    def noisy(im: Image.Image) -> Image.Image:
        a = np.asarray(im, np.float64) + rng.normal(0, 3.0, (im.height, im.width, 1))
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))

    for seed in (1, 2, 3):
        photo = photo_like(seed, (192, 144))
        blurred = noisy(photo.filter(ImageFilter.GaussianBlur(8)))
        s = _sample(blurred)
        props = P.measure_all([s])
        assert blur_score(props)[0] < 0.8 * cut, seed
        noise_left_in = P.grid_detail(s.grid[None].astype(np.float32))[0]
        assert noise_left_in > 2 * props[0, P.DETAIL], seed
        assert blur_score(_props(noisy(photo))[None])[0] > 5 * cut


def _planted(kind: str, rng: np.random.Generator, base: Image.Image) -> Image.Image:
    a = np.asarray(base, dtype=np.float64)
    if kind == "dark":
        return Image.fromarray((a * rng.uniform(0.03, 0.12)).round().astype(np.uint8))
    if kind == "light":
        return Image.fromarray((255 - (255 - a) * rng.uniform(0.03, 0.12)).round().astype(np.uint8))
    if kind == "blurry":
        return base.filter(ImageFilter.GaussianBlur(rng.uniform(0.06, 0.1) * min(base.size)))
    if kind == "low_information":
        flat = np.clip(rng.integers(30, 220, 3) + rng.normal(0, 1.0, (base.height, base.width, 1)), 0, 255)
        return Image.fromarray(np.broadcast_to(flat, (base.height, base.width, 3)).round().astype(np.uint8))
    if kind == "odd_aspect_ratio":
        return base.resize((base.width, max(4, int(base.width * rng.uniform(0.1, 0.3)))))
    if kind == "odd_size":
        return base.resize((base.width // 6, base.height // 6))
    if kind == "grayscale":
        return base.convert("L").convert("RGB")
    raise AssertionError(kind)


def test_planted_image_issues_are_flagged_and_exported(tmp_path):
    rng = np.random.default_rng(7)
    root = tmp_path / "d"
    for k in range(40):
        write_image(root / "train" / f"clean_{k:02d}.png", photo_like(100 + k, (144, 108)))
    for k, kind in enumerate(ISSUES):
        for j in range(2):
            im = _planted(kind, rng, photo_like(300 + 10 * k + j, (144, 108)))
            write_image(root / "val" / f"{kind}_{j}.png", im)
    result = scan(str(root), workers=1)
    quality = image_quality(result)
    t = result.images
    for i, path in enumerate(t.paths):
        issues = quality.issues_of(i)
        if path.startswith("train/"):
            assert issues == [], path
        else:
            planted = path.split("/")[1].rsplit("_", 1)[0]
            assert planted in issues, (path, issues)
    doc = build_document(result, scan_leakage(result))
    _check_schema(doc)
    assert doc["quality"]["grayscale"] == {"train": 0, "val": 2}
    flagged = {q["path"] for q in doc["quality_issues"]}
    assert flagged == {p for p in t.paths if p.startswith("val/")}
    for q in doc["quality_issues"]:  # every score, but blur is not judged under 64 px both ways
        i = t.paths.index(q["path"])
        tiny = t.width[i] < 64 and t.height[i] < 64
        assert set(q["scores"]) == set(ISSUES) - ({"blurry"} if tiny else set()), q


def test_grey_dataset_is_not_flagged_grayscale(tmp_path):
    root = tmp_path / "d"
    for k in range(6):
        write_image(root / "train" / f"g{k}.png", photo_like(k).convert("L"))
    result = scan(str(root), workers=1)
    assert result.mode == "L"
    assert image_quality(result).summary["grayscale"] == {"train": 0}


def test_cli_summary_names_missing_class_and_issue_counts(tmp_path, capsys):
    root = _dataset(tmp_path / "d", {"train": {"big": 30, "small": 5}, "test": {"big": 10}})
    out = tmp_path / "out.json"
    assert main(["scan", str(root), "--json", str(out), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "class imbalance (largest / smallest class): train 6.0" in text
    assert "[warning] 1 class(es) of train have no image in test: small" in text
    doc = json.loads(out.read_text())
    _check_schema(doc)
    assert [f["classes"] for f in doc["leakage"] if f["kind"] == "missing_class"] == [["small"]]


def test_image_list_sorts_by_the_measured_properties(tmp_path, qtbot):
    from PySide6.QtCore import Qt

    from inspector.ui.image_model import BRIGHTNESS, HEADERS, PATH, SHARPNESS, ImageListModel

    root = tmp_path / "d"
    for k, factor in enumerate((0.2, 1.0, 0.5)):
        a = np.asarray(photo_like(k, (128, 96)), dtype=np.float64) * factor
        write_image(root / "train" / f"img{k}.png", a.round().astype(np.uint8))
    write_image(root / "train" / "blurred.png", photo_like(9, (128, 96)).filter(ImageFilter.GaussianBlur(5)))
    result = scan(str(root), workers=1)
    model = ImageListModel()
    model.set_table(result.images)
    assert model.headerData(BRIGHTNESS, Qt.Orientation.Horizontal) == HEADERS[BRIGHTNESS]
    model.sort(BRIGHTNESS, Qt.SortOrder.AscendingOrder)
    values = [float(model.data(model.index(r, BRIGHTNESS))) for r in range(model.rowCount())]
    assert values == sorted(values) and model.data(model.index(0, PATH)) == "train/img0.png"
    model.sort(SHARPNESS, Qt.SortOrder.AscendingOrder)
    order = [model.data(model.index(r, PATH)) for r in range(model.rowCount())]
    sharp = [float(model.data(model.index(r, SHARPNESS))) for r in range(model.rowCount())]
    assert sharp == sorted(sharp) and order.index("train/blurred.png") < order.index("train/img1.png")


def test_image_list_sorts_by_every_property_column(tmp_path, qtbot):
    """Each property column (and size, file size, format, mode) sorts the rows as the table's own
    column does, both ways; a failed file has no value in any of them and stays last either way."""
    from PySide6.QtCore import Qt

    from inspector.ui.image_model import (BYTES, FORMAT, MODE, PATH, PROPERTY_COLUMNS, SIZE,
                                          ImageListModel)

    root = tmp_path / "d"
    rng = np.random.default_rng(3)
    for k in range(8):
        im = photo_like(50 + k, (int(rng.integers(60, 140)), int(rng.integers(60, 140))))
        im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 3))))
        write_image(root / "train" / f"img{k}.{'png' if k % 2 else 'jpg'}", im.convert("L") if k % 3 == 0 else im)
    (root / "train" / "broken.png").write_bytes(b"not an image")
    result = scan(str(root), workers=1)
    t = result.images
    model = ImageListModel()
    model.set_table(t, result.failures)
    keys = {column: t.properties[:, prop] for column, prop in PROPERTY_COLUMNS.items()}
    keys[SIZE] = t.width.astype(np.int64) * t.height
    keys[BYTES] = t.nbytes
    keys[FORMAT] = np.array([t.format_names[c] for c in t.format])
    keys[MODE] = np.array([t.mode_names[c] for c in t.mode])
    for column, key in keys.items():
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.sort(column, order)
            paths = [model.data(model.index(r, PATH)) for r in range(model.rowCount())]
            assert paths[-1] == "train/broken.png", (column, order)  # no value: last either way
            got = [key[t.paths.index(p)] for p in paths if p != "train/broken.png"]
            want = sorted(got, reverse=order == Qt.SortOrder.DescendingOrder)
            assert got == want, (column, order)


def test_image_list_filters_by_image_issue(tmp_path, qtbot):
    from inspector.ui.image_list import ImageList

    root = tmp_path / "d"
    for k in range(6):
        write_image(root / "train" / f"clean_{k}.png", photo_like(20 + k, (120, 90)))
    dark = (np.asarray(photo_like(40, (120, 90)), dtype=np.float64) * 0.05).round().astype(np.uint8)
    write_image(root / "train" / "dark.png", dark)
    write_image(root / "train" / "grey.png", photo_like(41, (120, 90)).convert("L").convert("RGB"))
    result = scan(str(root), workers=1)
    widget = ImageList()
    qtbot.addWidget(widget)
    widget.set_result(result)

    def shown():
        m = widget.model
        return sorted(m.data(m.index(r, 2)) for r in range(m.rowCount()))

    widget.set_filter(issue="dark")
    assert shown() == ["train/dark.png"]
    widget.set_filter(issue="any")
    assert shown() == ["train/dark.png", "train/grey.png"]
    widget.issue_box.setCurrentIndex(widget.issue_box.findData("grayscale"))  # as a user picks it
    assert shown() == ["train/grey.png"]
    widget.set_filter()
    assert len(shown()) == 8


def test_a_dataset_of_sparse_digits_flags_only_its_blank_images_low_information(tmp_path):
    from PIL import ImageDraw

    from inspector.core.validation import THRESHOLDS, issue_scores

    rng = np.random.default_rng(3)
    root = tmp_path / "d"
    for k in range(30):  # MNIST-like: a white stroke on black, a few grey levels from the downscale
        big = Image.new("L", (112, 112), 0)
        pts = [tuple(int(v) for v in rng.integers(16, 96, 2)) for _ in range(4)]
        ImageDraw.Draw(big).line(pts, fill=255, width=int(rng.integers(8, 14)))
        write_image(root / "train" / f"digit_{k:02d}.png", big.resize((28, 28), Image.BOX))
    write_image(root / "train" / "blank.png", Image.new("L", (28, 28), 0))
    result = scan(str(root), workers=1)
    t = result.images
    entropy = issue_scores(t, "L")["low_information"]
    digits = [i for i, p in enumerate(t.paths) if "digit" in p]
    assert (entropy[digits] < THRESHOLDS["low_information"]).all()  # a fixed cut would flag every digit
    quality = image_quality(result)
    flagged = {t.paths[i] for i in range(len(t)) if "low_information" in quality.issues_of(i)}
    assert flagged == {"train/blank.png"}
