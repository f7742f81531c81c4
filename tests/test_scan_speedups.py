"""Exactness of the scan worker's fast paths: each must give what the plain computation gives."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inspector.core import hashing, pixelbuffer, stats
from inspector.core.hashing import content_box, content_hash
from inspector.core.pixelbuffer import pixel_view

RNG = np.random.default_rng(18)


def _rgb(h: int = 37, w: int = 53) -> Image.Image:
    return Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def test_pixel_view_is_pillows_storage_without_a_copy():
    im = _rgb()
    view = pixel_view(im)
    assert bytes(view.buffer) == im.tobytes("raw", "RGBX")
    assert bytes(memoryview(view.buffer)[3::4]) == b"\xff" * (37 * 53)
    grey = im.convert("L")
    assert bytes(pixel_view(grey).buffer) == grey.tobytes()
    assert pixel_view(Image.new("I;16", (4, 4))) is None


def test_content_hash_of_multi_block_image_equals_single_block():
    pixels = RNG.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    single = content_hash(Image.fromarray(pixels, "RGB"))
    old = Image.core.get_block_size()
    try:
        Image.core.set_block_size(4096)  # rows spread over many blocks: Pillow exports no view
        split = Image.fromarray(pixels, "RGB")
        assert pixel_view(split) is None
        assert content_hash(split) == single
    finally:
        Image.core.set_block_size(old)


def test_content_hash_forces_the_pad_byte(monkeypatch):
    im = _rgb()
    expected = content_hash(im)
    padded = np.frombuffer(im.tobytes("raw", "RGBX"), np.uint8).reshape(-1, 4).copy()
    padded[:, 3] = RNG.integers(0, 255, len(padded))  # pad bytes other than 255
    fake = pixelbuffer.PixelView((), (np.ctypeslib.as_ctypes(padded.ravel())))
    monkeypatch.setattr(hashing, "pixel_view", lambda _im: fake)
    assert content_hash(im) == expected


def test_content_hash_grey_equals_its_rgb_expansion_and_sees_one_pixel():
    grey = Image.fromarray(RNG.integers(0, 256, (20, 30), dtype=np.uint8), "L")
    assert content_hash(grey) == content_hash(grey.convert("RGB"))
    im = _rgb()
    other = im.copy()
    other.putpixel((5, 7), tuple((v + 1) % 256 for v in im.getpixel((5, 7))))
    assert content_hash(im) != content_hash(other)
    assert content_hash(im) != content_hash(im.crop((0, 0, 53, 36)))


@pytest.mark.parametrize("safe", [stats._INT64_SAFE, 0])  # int64 path, Python-integer path
def test_image_moments_exact_against_float64_reference(monkeypatch, safe):
    monkeypatch.setattr(stats, "_INT64_SAFE", safe)
    for _ in range(20):
        a = RNG.integers(0, 256, (int(RNG.integers(1, 60)), int(RNG.integers(1, 60)), 3), dtype=np.uint8)
        hist = stats.image_histogram(Image.fromarray(a, "RGB"))
        mean, std, lo, hi = stats.image_moments(hist)
        ref = a.reshape(-1, 3).astype(np.float64) / 255
        np.testing.assert_allclose(mean, ref.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(std, ref.std(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(lo, ref.min(axis=0))
        np.testing.assert_array_equal(hi, ref.max(axis=0))


def test_int64_and_python_integer_moments_agree_bit_for_bit(monkeypatch):
    hist = stats.image_histogram(_rgb(90, 70))
    fast = stats.image_moments(hist)
    monkeypatch.setattr(stats, "_INT64_SAFE", 0)
    slow = stats.image_moments(hist)
    for f, s in zip(fast, slow):
        np.testing.assert_array_equal(f, s)


def _padded(rng: np.random.Generator) -> np.ndarray:
    """A random grey picture, sometimes pasted centred on a uniform canvas, sometimes with a
    uniform edge on one side only."""
    h, w = int(rng.integers(40, 90)), int(rng.integers(40, 90))
    a = rng.normal(128, 40, (h, w)).astype(np.float32)
    kind = rng.integers(0, 4)
    if kind == 1:
        b = int(rng.integers(2, h // 4))
        a[:b], a[h - b:] = 17.0, 17.0
    elif kind == 2:
        b = int(rng.integers(2, w // 4))
        a[:, :b], a[:, w - b:] = 200.0, 200.0 + rng.uniform(0, 1)
    elif kind == 3:
        a[:, :int(rng.integers(2, 10))] = 90.0
    return a


def test_bar_search_shortcut_never_changes_the_box(monkeypatch):
    rng = np.random.default_rng(7)
    cases = [_padded(rng) for _ in range(300)]
    fast = [content_box(a) for a in cases]
    monkeypatch.setattr(hashing, "_edges_may_be_bars", lambda a: True)
    assert fast == [content_box(a) for a in cases]
    assert sum(b is not None for b in fast) > 30  # the families include real bars
