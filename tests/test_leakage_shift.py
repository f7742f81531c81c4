"""Translated copies (content shifted with the gap filled) and off-centre pads: the fill is trimmed
before hashing (hashing.content_box, hashing.replicated_strips), so the copy is an off-centre crop
of its original, found by the window alignment and described as shifted."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inspector.core import hashing
from inspector.core.leakage import find_leakage
from inspector.core.table_from_images import table_from_images
from test_leakage import means_of, sky, texture
from test_leakage_edits import reload


def shifted(im: Image.Image, dx: int, dy: int, fill) -> Image.Image:
    """Content moved by (dx, dy) px, the gap filled with one colour or by repeating the edge."""
    w, h = im.size
    if fill == "edge":
        a = np.asarray(im.convert("RGB"))
        return Image.fromarray(a[np.clip(np.arange(h) - dy, 0, h - 1)][:, np.clip(np.arange(w) - dx, 0, w - 1)])
    out = Image.new("RGB", (w, h), fill)
    out.paste(im, (dx, dy))
    return out


def off_centre_pad(im: Image.Image, colour, fx: float, fy: float) -> Image.Image:
    side = max(im.size) + 20
    out = Image.new("RGB", (side, side), colour)
    out.paste(im, (round((side - im.width) * fx), round((side - im.height) * fy)))
    return out


def _near(items):
    table = table_from_images(items, split_names=["train", "val", "test"])
    return {frozenset(f.paths): f for f in find_leakage(table, means_of(table)) if f.kind in ("near", "mirror")}


CASES = [(22, 0, (0, 0, 0)), (-30, 0, (255, 255, 255)), (0, 20, (40, 160, 90)), (-18, -16, (0, 0, 0)),
         (26, 0, "edge"), (0, -22, "edge"), (20, 15, "edge")]


@pytest.mark.parametrize("dx, dy, fill", CASES)
def test_a_shifted_copy_is_found_and_named_shifted(dx, dy, fill):
    im = texture(510 + dx + 3 * dy, (240, 180))
    copy = reload(shifted(im, dx, dy, fill), "JPEG", quality=90)
    found = _near([("train/c/a.png", "train", "c", im), ("test/c/b.jpg", "test", "c", copy)])
    pair = frozenset(("train/c/a.png", "test/c/b.jpg"))
    assert pair in found, list(found)
    assert any("shifted by about" in d for d in found[pair].differences), found[pair].differences


@pytest.mark.parametrize("colour, fx, fy", [((0, 0, 0), 0.0, 0.2), ((255, 255, 255), 0.9, 1.0),
                                            ((120, 30, 200), 0.25, 0.0)])
def test_an_off_centre_pad_is_found_and_named_padded(colour, fx, fy):
    im = texture(530, (240, 170))
    copy = reload(off_centre_pad(im, colour, fx, fy), "JPEG", quality=90)
    found = _near([("train/c/a.png", "train", "c", im), ("val/c/b.jpg", "val", "c", copy)])
    pair = frozenset(("train/c/a.png", "val/c/b.jpg"))
    assert pair in found, list(found)
    assert "padded with uniform bars" in found[pair].differences


def test_a_padded_copy_resized_down_is_found():
    """Padded to a square and then resized smaller than the original: the padded copy is the one
    a window cuts into, and its file's proportions are its bars', not its picture's; random
    pictures, bar colours, places and sizes."""
    rng = np.random.default_rng(91)
    found = 0
    for seed in range(8):
        im = texture(560 + seed, (int(rng.integers(150, 200)), int(rng.integers(230, 280))))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        fx = 0.5 if seed % 2 else float(rng.uniform(0, 1))
        padded = off_centre_pad(im, colour, fx, 0.5).resize((s := int(rng.integers(150, 200)), s), Image.BICUBIC)
        copy = reload(padded, "JPEG", quality=int(rng.integers(80, 96)))
        found += frozenset(("train/c/a.png", "val/c/b.jpg")) in _near(
            [("train/c/a.png", "train", "c", im), ("val/c/b.jpg", "val", "c", copy)])
    assert found >= 7, found   # main before: 0 of these 8


def test_repeated_edge_lines_are_trimmed_but_a_one_axis_gradient_is_not():
    im = texture(540, (256, 192))
    a = hashing._f_array(hashing._reduced(shifted(im, 30, 0, "edge").convert("F"), hashing.GRID))
    left, top, right, bottom = hashing.replicated_strips(a)
    assert 8 <= left <= 11 and top == right == bottom == 0
    assert hashing.replicated_strips(hashing._f_array(hashing._reduced(im.convert("F"), hashing.GRID))) is None
    ramp = np.repeat(np.linspace(0, 255, 128, dtype=np.float32)[:, None], 128, axis=1)  # every column alike
    assert hashing.replicated_strips(ramp) is None


def patchy(seed: int, size: tuple[int, int] = (240, 180), share: float = 0.3) -> Image.Image:
    """A smooth ramp with a few soft-edged textured patches: detail somewhat spread (spread
    0.07-0.18, as a subject on a plain background), not all over the picture."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    tex = np.asarray(texture(seed, size).convert("L"), float) - 128
    mask = np.zeros((h, w))
    for _ in range(3):
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        r = share * min(w, h) * rng.uniform(0.5, 0.9)
        mask = np.maximum(mask, np.clip(1.5 - np.hypot(x * max(w, h) - cx, y * max(w, h) - cy) / r, 0, 1))
    a = 90 + 60 * x + 30 * y + mask * tex + rng.normal(0, 1, (h, w))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).convert("RGB")


def test_shifted_copies_of_pictures_with_their_detail_in_places_are_mostly_found():
    """A shifted copy's trimmed file size says nothing of its picture, so the window needs spread
    detail; detail somewhat spread (a subject on a plain ground) is enough when the window agrees
    as closely as copies do (confirmation.TRIMMED_WINDOW_*). Random shifts of 6-14% of a side,
    uniform or edge fills, JPEG q80-95."""
    rng = np.random.default_rng(77)
    found = 0
    for seed in range(20):
        im = patchy(600 + seed, share=0.25)
        w, h = im.size
        dx = round(w * rng.uniform(0.06, 0.14)) * int(rng.choice([-1, 1]))
        dy = round(h * rng.uniform(0.06, 0.14)) * int(rng.choice([-1, 1])) if rng.random() < 0.3 else 0
        fill = "edge" if rng.random() < 0.3 else tuple(int(c) for c in rng.integers(0, 256, 3))
        copy = reload(shifted(im, dx, dy, fill), "JPEG", quality=int(rng.integers(80, 96)))
        found += frozenset(("train/c/a.png", "test/c/b.jpg")) in _near(
            [("train/c/a.png", "train", "c", im), ("test/c/b.jpg", "test", "c", copy)])
    assert found >= 15, found   # main before: 13 of these 20


def test_neighbouring_crops_with_their_detail_in_places_shifted_are_not_copies():
    """Two neighbouring, non-overlapping crops of one such picture, one shifted with its gap filled:
    the trimmed one shows a picture the other does not."""
    rng = np.random.default_rng(78)
    for seed in range(8):
        big = patchy(700 + seed, (480, 180), share=0.25)
        left, right = big.crop((0, 0, 240, 180)), big.crop((240, 0, 480, 180))
        dx = round(240 * rng.uniform(0.06, 0.14)) * int(rng.choice([-1, 1]))
        fill = "edge" if seed % 3 == 0 else tuple(int(c) for c in rng.integers(0, 256, 3))
        copy = reload(shifted(right, dx, 0, fill), "JPEG", quality=90)
        assert not _near([("train/c/l.png", "train", "c", left), ("val/c/r.jpg", "val", "c", copy)]), seed


def test_neighbouring_crops_and_skies_with_a_filled_gap_are_not_copies():
    """Trimming a fill leaves what the picture shows: neighbouring crops of one photo (one of them
    shifted with its gap filled, the other padded off-centre) and look-alike skies with filled
    gaps must not pair."""
    big = texture(550, (480, 180))
    left, right = big.crop((0, 0, 240, 180)), big.crop((240, 0, 480, 180))
    items = [("train/n/left.png", "train", "n", left),
             ("val/n/right_shifted.jpg", "val", "n", reload(shifted(right, -24, 0, (0, 0, 0)), "JPEG", quality=90)),
             ("test/n/right_edge.jpg", "test", "n", reload(shifted(right, 24, 10, "edge"), "JPEG", quality=90)),
             ("test/n/left_pad.jpg", "test", "n", reload(off_centre_pad(big.crop((300, 0, 480, 180)), (255, 255, 255), 0.0, 0.5), "JPEG", quality=90))]
    for k in range(6):
        split = ("train", "val", "test")[k % 3]
        s = sky(560 + k)
        items.append((f"{split}/s/sky_{k}.jpg", split, "s",
                      reload(shifted(s, (-1) ** k * (20 + 3 * k), 0, "edge" if k % 2 else (255, 255, 255)), "JPEG", quality=90)))
        items.append((f"{split}/s/plain_{k}.png", split, "s", sky(580 + k)))
    found = _near(items)
    assert not found, [f.message for f in found.values()]


@pytest.mark.parametrize("box", [(0.0, 0.0, 0.12, 0.0), (0.05, 0.10, 0.0, 0.0), (0.0, 0.0, 0.08, 0.13)])
def test_an_off_centre_crop_resized_back_is_found(box):
    """Re-exported at the old size, an off-centre crop has more pixels than the part it shows (the
    size rule's look-alikes): found when its spread detail agrees as closely as such copies do."""
    im = texture(600 + int(100 * sum(box)), (240, 180))
    w, h = im.size
    l, t, r, b = box
    copy = im.crop((round(w * l), round(h * t), w - round(w * r), h - round(h * b))).resize(im.size, Image.BICUBIC)
    found = _near([("train/c/a.png", "train", "c", im), ("test/c/b.jpg", "test", "c", reload(copy, "JPEG", quality=90))])
    pair = frozenset(("train/c/a.png", "test/c/b.jpg"))
    assert pair in found, list(found)
    assert any("cropped off-centre" in d for d in found[pair].differences), found[pair].differences
