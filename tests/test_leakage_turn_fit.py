"""A turned alignment must be the pair's own transform: over pictures whose detail is one smooth
curve (the rim of a fundus photo), a turn of a few degrees can stand in for a zoom. Overlapping
crops of one such picture, one a zoom of the other, are not turned copies; turned copies still are,
up to the largest turn searched."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from inspector.core.leakage import confirmation, find_leakage
from inspector.core.leakage.residual import misfit
from inspector.core.table_from_images import table_from_images
from test_leakage import means_of, texture


def fundus(rng: np.random.Generator, side: int = 400) -> Image.Image:
    """A smooth fundus-like picture: a shaded disc whose rim arcs across the frame, a few faint
    vessels, black outside the disc (disc, vessels and their contrast drawn from rng)."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float64)
    cx, cy = rng.uniform(-0.3, 0.1, 2) * side
    r = rng.uniform(0.95, 1.15) * side
    d = np.hypot(x - cx, y - cy)
    a = np.array([210.0, 90.0, 45.0])[None, None] * (1.0 - 0.3 * (d / r) ** 2)[..., None]
    vessels = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(vessels)
    for _ in range(int(rng.integers(2, 6))):
        p, heading = rng.uniform(0, side, 2), rng.uniform(0, 2 * np.pi)
        points = [tuple(p)]
        for _ in range(60):
            heading += rng.normal(0, 0.1)
            p = p + 10 * np.array([np.cos(heading), np.sin(heading)])
            points.append(tuple(p))
        draw.line(points, fill=int(rng.integers(80, 200)), width=int(rng.integers(2, 6)))
    v = np.asarray(vessels.filter(ImageFilter.GaussianBlur(1.5)), np.float64) / 255
    a = a * (1 - rng.uniform(0.1, 0.3) * v[..., None]) + rng.normal(0, 1.5, a.shape)
    a[d > r] = 0
    return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))


def zoomed_crops(seed: int) -> tuple[Image.Image, Image.Image]:
    """The whole picture at 279 px, and a window of 0.74-0.86 of its side near the bottom-left
    corner exported at 239 px (a 1.1-1.3x zoom of those pixels) as JPEG."""
    rng = np.random.default_rng(seed)
    src = fundus(rng)
    side = src.width
    w = rng.uniform(0.74, 0.86) * side
    x0, y0 = rng.uniform(0, 0.3) * (side - w), rng.uniform(0.7, 1.0) * (side - w)
    whole = src.resize((279, 279), Image.BICUBIC)
    part = src.crop((round(x0), round(y0), round(x0 + w), round(y0 + w))).resize((239, 239), Image.BICUBIC)
    buf = io.BytesIO()
    part.save(buf, "JPEG", quality=90)
    return Image.open(io.BytesIO(buf.getvalue())), whole


def test_zoomed_overlapping_crops_of_a_fundus_are_not_turned_copies():
    """Turned about the middle, the rim moves much as it does zoomed: without the fit checks
    (residual.misfit, rotation.PAST_EDGE, the unturned window's scores) draws 24 and 35 matched
    turned by 6.25 and 5.75 degrees. Those that match at all are described as crops."""
    for seed in range(20, 40):
        part, whole = zoomed_crops(seed)
        table = table_from_images([("train/a/part.jpg", "train", "a", part), ("test/a/whole.png", "test", "a", whole)],
                                  split_names=["train", "val", "test"])
        ok, _, sc = confirmation.confirm_pairs(table, np.array([0]), np.array([1]), per_image=None)
        assert not (ok[0] and sc.angle[0] != 0.0), (seed, sc.angle[0])
        for f in find_leakage(table, means_of(table)):
            if f.kind not in ("near", "mirror"):
                continue
            assert not any("turned" in w for w in f.differences), (seed, f.differences)
            assert any("more at the borders" in w for w in f.differences), (seed, f.differences)


@pytest.mark.parametrize("degrees", [6.0, -6.0])
def test_a_copy_turned_by_the_largest_turn_made_is_still_confirmed_turned(degrees):
    """Turned copies are made up to 6 degrees: their correlation peaks inside the turns searched,
    so the check for a best turn at the search's edge leaves them."""
    im = texture(62, (300, 300))
    m = 1.05 * np.sin(np.radians(abs(degrees)))
    w, h = im.size
    copy = im.rotate(degrees, Image.BICUBIC).crop((round(m * h), round(m * w), w - round(m * h), h - round(m * w)))
    buf = io.BytesIO()
    copy.save(buf, "JPEG", quality=88)
    table = table_from_images([("test/a/orig.png", "test", "a", im), ("train/a/turned.jpg", "train", "a", Image.open(buf))],
                              split_names=["train", "val", "test"])
    ok, _, sc = confirmation.confirm_pairs(table, np.array([0]), np.array([1]), per_image=None)
    assert ok[0] and abs(abs(sc.angle[0]) - 6.0) <= 0.25


def test_misfit_is_how_much_better_a_quarter_agrees_moved():
    """0 for a pair aligned as it was made; large when one quarter of it is displaced."""
    from inspector.core.leakage.thumbs import CMP
    rng = np.random.default_rng(5)
    xa = rng.normal(size=(1, CMP, CMP)).astype(np.float32)
    moved = xa.copy()
    moved[0, CMP // 2:, CMP // 2:] = np.roll(xa[0], (1, 2), axis=(0, 1))[CMP // 2:, CMP // 2:]
    assert misfit(xa, xa.copy())[0] == pytest.approx(0.0, abs=1e-6)
    assert misfit(xa, moved)[0] > 0.5
