"""How a confirmed copy's message says the pair differs (leakage/differences.py): each word named
when its edit was made and not named on unedited copies (re-encoded, resized), on small synthetic
pictures: colour balance, saturation, tone, text or a mark in one band, fine detail."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from inspector.core.leakage import find_leakage
from inspector.core.leakage.differences import colour_words, overlay_bands
from inspector.core.table_from_images import table_from_images
from test_leakage import means_of, texture
from test_leakage_edits import gamma, lettering, reload

EDIT_WORDS = ("colour balance", "saturated", "colours changed", "greyscale", "brighter", "darker",
              "contrast", "fine detail", "text or a mark", "caption")


def photo(seed: int, size: tuple[int, int] = (240, 180), cast=(1.15, 1.0, 0.8)) -> Image.Image:
    """A photo-like picture: the channels share one texture (as a photo's do) under a colour cast
    (warm by default) that varies smoothly across it."""
    rng = np.random.default_rng(seed)
    w, h = size
    grey = np.asarray(texture(seed, size, colour=False), np.float64)[..., None]
    small = rng.uniform(0.9, 1.1, (3, 4, 3)).astype(np.float32)
    tint = np.stack([np.asarray(Image.fromarray(small[..., c], "F").resize((w, h), Image.BICUBIC))
                     for c in range(3)], -1)
    return Image.fromarray(np.clip(grey * tint * np.asarray(cast), 0, 255).round().astype(np.uint8))


def gains(im: Image.Image, g) -> Image.Image:
    a = np.asarray(im.convert("RGB"), np.float64) * np.asarray(g)
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))


EDITS = {
    # name: (edit, words one of which the message must hold, words it must not hold)
    # (on a greenish picture: gains along a picture's own cast scale it as a saturation would)
    "warm": (lambda im: gains(im, (1.18, 1.02, 0.82)), ("colour balance warmer", "colours changed"),
             ("cooler", "saturated", "contrast")),
    "cool": (lambda im: gains(im, (0.84, 1.0, 1.17)), ("colour balance cooler", "colours changed"),
             ("warmer", "saturated", "contrast")),
    "less_saturated": (lambda im: ImageEnhance.Color(im).enhance(0.4), ("less saturated",),
                       ("colour balance", "contrast", "brighter", "darker")),
    "more_saturated": (lambda im: ImageEnhance.Color(im).enhance(1.8), ("more saturated",),
                       ("colour balance", "brighter", "darker")),
    "contrast": (lambda im: ImageEnhance.Contrast(im).enhance(1.5), ("more contrast",),
                 ("colour", "saturated")),
    "gamma": (lambda im: reload(gamma(im, 1.6), "JPEG", quality=90), ("darker",), ("colour", "saturated")),
    "greyscale": (lambda im: im.convert("L").convert("RGB"), ("greyscale",), ("saturated", "colour balance")),
    "watermark": (lambda im: reload(lettering(im, 0.40, 0.12, band=False, seed=1), "JPEG", quality=90),
                  ("text or a mark across",), ("colour", "contrast", "brighter", "darker")),
    "caption": (lambda im: reload(lettering(im, 0.86, 0.14, band=True, seed=5), "JPEG", quality=90),
                ("a caption, text or a mark over the bottom",), ("colour", "contrast", "brighter", "darker")),
    "corner_text": (lambda im: reload(lettering(im, 0.04, 0.10, band=False, seed=2), "JPEG", quality=90),
                    ("a caption, text or a mark over the top", "text or a mark across"), ("colour",)),
    # unedited copies: nothing but the file
    "jpeg": (lambda im: reload(im, "JPEG", quality=60), (), EDIT_WORDS),
    "webp": (lambda im: reload(im, "WEBP", quality=50), ("WEBP instead of PNG",), EDIT_WORDS),
    "resized": (lambda im: reload(im.resize((180, 135), Image.LANCZOS), "JPEG", quality=85), ("resized",),
                EDIT_WORDS),
}


@pytest.fixture(scope="module")
def described():
    items, pairs = [], {}
    for k, (name, (edit, _, _)) in enumerate(EDITS.items()):
        im = photo(700 + k, cast=(0.95, 1.1, 0.9) if name in ("warm", "cool") else (1.15, 1.0, 0.8))
        orig, copy = f"train/c/{name}_orig.png", f"test/c/{name}_copy.png"
        items += [(orig, "train", "c", reload(im, "PNG")), (copy, "test", "c", edit(im))]
        pairs[name] = frozenset((orig, copy))
    order = {"train": 0, "test": 1}
    items.sort(key=lambda t: (order[t[1]], t[0]))
    table = table_from_images(items, split_names=["train", "test"])
    found = {frozenset(f.paths): f for f in find_leakage(table, means_of(table)) if f.kind in ("near", "mirror")}
    return found, pairs


@pytest.mark.parametrize("name", list(EDITS))
def test_a_copy_is_described_by_its_edit_and_nothing_else(described, name):
    found, pairs = described
    _, want, unwanted = EDITS[name]
    f = found.get(pairs[name])
    assert f is not None, name
    words = ", ".join(f.differences)
    assert all(not w for w in want) or any(w in words for w in want), words
    assert not [w for w in unwanted if w in words], words
    assert (f"; {words} (" if words else f"{f.paths[1]} ({f.splits[1]}) (") in f.message, f.message


def test_colour_words_tell_a_white_balance_from_a_saturation_and_a_tone_change():
    mean = np.array([0.45, 0.5, 0.35])           # a greenish picture
    luma = mean @ np.array([0.299, 0.587, 0.114])
    assert colour_words(mean, mean) is None
    assert colour_words(mean, mean + 0.003) is None                     # re-encoding noise
    assert colour_words(mean, mean * (0.85, 1.0, 1.2)) == "colour balance cooler"
    assert colour_words(mean, mean * (1.15, 1.0, 0.85)) == "colour balance warmer"
    # gains along the picture's own cast scale it: which edit it was is not told
    blue = np.array([0.4, 0.45, 0.5])
    assert colour_words(blue, blue * (0.85, 1.0, 1.2)) in ("more saturated", "colours changed")
    assert colour_words(mean, luma + 0.5 * (mean - luma)) == "less saturated"
    assert colour_words(mean, luma + 1.6 * (mean - luma)) == "more saturated"
    grey = np.array([0.4, 0.4, 0.4])             # a neutral mean has no cast to scale: a tint shifts it
    assert colour_words(grey, grey * (1.15, 1.0, 0.85)) == "colour balance warmer"
    assert colour_words(np.array([0.4]), np.array([0.5])) is None       # one channel: no colour


def test_overlay_bands_find_one_band_of_text_and_nothing_on_re_encoded_or_graded_copies():
    from inspector.core.hashing import perceptual_signature
    im = texture(801)
    copies = [lettering(im, 0.70, 0.14, band=False, seed=3), reload(im, "JPEG", quality=50),
              ImageEnhance.Contrast(im).enhance(1.4), im.filter(ImageFilter.GaussianBlur(1.0))]
    ta = np.stack([perceptual_signature(im)[1]] * len(copies))
    tb = np.stack([perceptual_signature(c)[1] for c in copies])
    z = np.zeros(len(copies))
    bands = overlay_bands(ta, tb, z, z, np.zeros(len(copies), bool))
    top, bottom = bands[0]
    assert 0.6 <= top <= 0.72 and 0.8 <= bottom <= 0.92, bands[0]
    assert (bands[1:] == -1).all(), bands


def test_fine_detail_is_named_from_the_properties_of_a_scan(tmp_path):
    """Sharpness at full resolution and the grid's detail both lower in one file of one size: less
    fine detail (blurred, or the other sharpened); a re-encoded copy keeps both."""
    from inspector.core.leakage import scan_leakage
    from inspector.core.scan import scan

    im = texture(811, (320, 240))
    files = {"train/c/a.png": im, "test/c/blurred.png": im.filter(ImageFilter.GaussianBlur(1.6)),
             "train/d/b.png": texture(812, (320, 240))}
    files["test/d/b.jpg"] = files["train/d/b.png"]
    for rel, pic in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        pic.save(tmp_path / rel, **({"quality": 88} if rel.endswith(".jpg") else {}))
    result = scan(str(tmp_path), workers=1)
    found = {frozenset(f.paths): f for f in scan_leakage(result) if f.kind == "near"}
    blurred = found[frozenset(("train/c/a.png", "test/c/blurred.png"))]
    assert any("fine detail" in w and "blurred" in w for w in blurred.differences), blurred.differences
    plain = found[frozenset(("train/d/b.png", "test/d/b.jpg"))]
    assert not any("fine detail" in w or "contrast" in w for w in plain.differences), plain.differences


def test_greyscale_is_read_from_the_colour_spread_when_the_table_has_it():
    """A colourful picture whose channel means balance (red and cyan halves) is no grey picture:
    with the properties the lattice's colour spread tells; a grey copy of it is greyscale."""
    import dataclasses

    from inspector.core.leakage.differences import describe
    from inspector.core.validation.properties import COLOUR_SPREAD, N_PROPERTIES

    a = np.zeros((120, 160, 3), np.uint8)
    a[:, :80] = (200, 60, 60)
    a[:, 80:] = (60, 130, 130)
    a = np.clip(a + np.asarray(texture(830, (160, 120)), np.int16)[..., :1] // 4 - 32, 0, 255).astype(np.uint8)
    im = Image.fromarray(a)
    sharp = im.filter(ImageFilter.UnsharpMask(2, 150, 2))
    grey = im.convert("L").convert("RGB")
    table = table_from_images([("train/c/a.png", "train", "c", im), ("test/c/b.png", "test", "c", sharp),
                               ("test/c/g.png", "test", "c", grey)], split_names=["train", "test"])
    props = np.full((3, N_PROPERTIES), np.nan)
    props[:, COLOUR_SPREAD] = [0.55, 0.6, 0.0]
    mean = table.mean.copy()
    mean[1] = mean[1].mean()          # the sharpened copy's channel means balance
    balanced = dataclasses.replace(table, mean=mean)
    # its means alone would call it grey: the spread says otherwise
    with_props = dataclasses.replace(balanced, properties=props)
    assert "greyscale" not in ", ".join(describe(with_props, 0, 1))
    assert "greyscale" in describe(with_props, 0, 2)
    assert "in colour (the other is greyscale)" in describe(with_props, 2, 0)
