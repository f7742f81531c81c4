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
    # a read-only memoryview straight over Pillow's memory: no ctypes array type per image size
    assert isinstance(view.buffer, memoryview) and view.buffer.readonly
    assert bytes(pixel_view(Image.new("RGB", (0, 5))).buffer) == b""


def test_content_hash_of_multi_block_image_equals_single_block():
    pixels = RNG.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    single = content_hash(Image.fromarray(pixels, "RGB"))
    old = Image.core.get_block_size()
    try:
        Image.core.set_block_size(4096)  # rows spread over many blocks: Pillow exports no view
        split = Image.fromarray(pixels, "RGB")
        assert pixel_view(split) is None
        assert content_hash(split) == single
        grey = Image.fromarray(pixels[..., 0], "L").copy()  # the grey expansion from copied bytes
        assert pixel_view(grey) is None
        assert content_hash(grey) == content_hash(grey.convert("RGB"))
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


def _pillow_thumbnail(grid: np.ndarray) -> np.ndarray:
    """The thumbnail as Pillow makes it: the float grid's reduce(2), then the contrast stretch."""
    im = Image.frombuffer("F", grid.shape[::-1], np.ascontiguousarray(grid).tobytes(), "raw", "F", 0, 1)
    t = np.frombuffer(im.reduce(2).tobytes(), np.float32).reshape(hashing.THUMB_SIZE, hashing.THUMB_SIZE)
    lo, span = t.min(), t.max() - t.min()
    if span < 1e-3:
        return np.zeros(t.shape, np.uint8)
    return ((t - lo) * (255.0 / span) + 0.5).astype(np.uint8)


def _grids(n: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    g = (rng.random((n, hashing.GRID, hashing.GRID)) * rng.uniform(0.001, 255, (n, 1, 1))).astype(np.float32)
    g[0] = 17.0  # a flat image
    g[1] = 17.0 + rng.random((hashing.GRID, hashing.GRID)).astype(np.float32) * 1e-4  # nearly flat
    return g


def test_chunk_thumbnails_are_pillows_reduce_bit_for_bit():
    grids = _grids(40)
    thumbs = hashing.thumbnails_from_grids(grids)
    assert thumbs.shape == (40, hashing.THUMB_SIZE, hashing.THUMB_SIZE) and thumbs.dtype == np.uint8
    for g, t in zip(grids, thumbs):
        np.testing.assert_array_equal(t, _pillow_thumbnail(g))
    assert not thumbs[0].any() and not thumbs[1].any()


def test_chunk_hashes_do_not_depend_on_the_batch():
    grids = _grids(24)
    batch = hashing.hashes_from_grids(grids)
    assert batch.dtype == np.uint64 and batch.shape == (24, hashing.N_VIEWS)
    for g, h in zip(grids, batch):
        np.testing.assert_array_equal(hashing.hashes_from_grid(g), h)
    np.testing.assert_array_equal(hashing.hashes_from_grids(grids[5:9]), batch[5:9])
    assert hashing.hashes_from_grids(grids[:0]).shape == (0, hashing.N_VIEWS)


def test_a_scan_without_cache_encodes_no_records_and_measures_the_same(tmp_path):
    from inspector.core.layout import ImageFile
    from inspector.core.scan import _scan_chunk

    items = []
    for k in range(6):
        p = tmp_path / f"{k}.png"
        Image.fromarray(RNG.integers(0, 256, (30 + k, 41, 3), dtype=np.uint8), "RGB").save(p)
        items.append((k, ImageFile(p.name, str(p), "train", None)))
    stored, plain = _scan_chunk(items), _scan_chunk(items, None, False)
    assert stored.records and plain.records is None
    for name in ("index", "numbers", "moments", "content", "phash", "thumb", "properties"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(plain, name))
    for k, (_, f) in enumerate(items):  # the chunk's batched hashes are each image's own
        h, t = hashing.perceptual_signature(Image.open(f.abspath).convert("RGB"))
        np.testing.assert_array_equal(plain.phash[k], h)
        np.testing.assert_array_equal(plain.thumb[k], t)


def test_chunk_moments_and_split_sums_are_each_images_own(tmp_path):
    """The worker measures moments and adds to its splits' accumulators a chunk at a time; that
    gives, bit for bit, each image measured alone and added one by one (mixed modes and splits)."""
    from imagefactory import make_good_images
    from inspector.core.decode import decode
    from inspector.core.scan import _scan_chunk
    from inspector.core.sources import complete, open_source

    for split, seed in (("train", 4), ("val", 5)):
        make_good_images(tmp_path, split, 12, modes=("RGB", "L", "I;16", "RGBA", "P"), seed=seed)
    items = list(enumerate(complete(open_source(str(tmp_path))).files))
    chunk = _scan_chunk(items, None, False)
    assert len(chunk.index) == len(items) and not chunk.failures
    one_by_one: dict[str, stats.SplitAccumulator] = {}
    for row, (_, f) in zip(chunk.moments, items):
        dec = decode(f.abspath, f.path)
        hist = stats.image_histogram(dec.image)
        alone = np.array(stats.image_moments(hist))
        np.testing.assert_array_equal(row, np.broadcast_to(alone, (4, 3)))
        one_by_one.setdefault(f.split, stats.SplitAccumulator()).add(hist, alone[1], dec.mode, dec.format, [])
    for split, acc in one_by_one.items():
        got = chunk.accumulators[split]
        for name in ("hist_rgb", "hist_l", "hist_l16", "std_sum_rgb", "std_sum_l"):
            np.testing.assert_array_equal(getattr(got, name), getattr(acc, name))
        assert (got.images_rgb, got.images_l, got.modes, got.formats) == (acc.images_rgb, acc.images_l, acc.modes, acc.formats)


def test_moments_of_a_stack_are_each_histograms_own():
    hists = np.stack([stats.image_histogram(_rgb(int(RNG.integers(1, 40)), 17)) for _ in range(9)])
    hists[4] = 0  # an image without pixels: NaN, and no effect on the others
    together = stats.moments_of(hists)
    for h, m in zip(hists, together):
        np.testing.assert_array_equal(stats.moments_of(h[None])[0], m)
    assert np.isnan(together[4]).all() and np.isfinite(np.delete(together, 4, axis=0)).all()


def test_pillow_reuses_freed_pixel_blocks_within_a_chunk_and_gives_them_back(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    from inspector.core import scan_chunk as scan_module
    from inspector.core.layout import ImageFile

    seen: list[int] = []
    measure = scan_module.measure_file

    def watched(*args, **kwargs):
        seen.append(PILImage.core.get_blocks_max())
        return measure(*args, **kwargs)

    monkeypatch.setattr(scan_module, "measure_file", watched)
    items = []
    for k in range(3):
        p = tmp_path / f"{k}.png"
        _rgb(40, 30).save(p)
        items.append((k, ImageFile(p.name, str(p), "train", None)))
    before = PILImage.core.get_blocks_max()
    chunk = scan_module._scan_chunk(items, None, False)
    assert len(chunk.index) == 3
    assert seen == [max(before, scan_module.PILLOW_BLOCKS)] * 3
    assert PILImage.core.get_blocks_max() == before  # and the cache beyond it is freed


def test_content_hash_with_the_callers_pixel_view_is_the_same():
    im = _rgb()
    assert content_hash(im, pixel_view(im)) == content_hash(im)
    grey = im.convert("L")  # hashed as its RGB expansion, made from the grey image's own view
    assert content_hash(grey, pixel_view(grey)) == content_hash(grey) == content_hash(grey.convert("RGB"))


@pytest.mark.parametrize("fmt,filled", [("JPEG", True), ("PNG", True), ("BMP", False), ("TIFF", False)])
def test_pad_filled_only_where_pillows_unpacker_writes_255(tmp_path, fmt, filled):
    """The decode paths that skip the content hash's pad check really have 255 in every pad byte
    (Pillow's unpacker of 8-bit RGB rows): if a Pillow release changed that, this fails."""
    from inspector.core.decode import decode

    path = tmp_path / f"x.{fmt.lower()}"
    _rgb(61, 83).save(path, fmt)
    dec = decode(str(path))
    assert dec.image.mode == "RGB" and dec.pad_filled is filled
    assert bytes(memoryview(pixel_view(dec.image).buffer)[3::4]) == b"\xff" * (61 * 83)
    assert content_hash(dec.image, pad_filled=dec.pad_filled) == content_hash(dec.image)
    # a palette or RGBA file is converted to RGB: Pillow's converter, so the pad byte is checked
    _rgb(61, 83).convert("RGBA").save(tmp_path / "a.png")
    assert decode(str(tmp_path / "a.png")).pad_filled is False
    if fmt == "PNG":  # an animation's first frame may be composed by Pillow: checked as well
        _rgb(61, 83).save(tmp_path / "anim.png", save_all=True, append_images=[_rgb(61, 83)])
        assert decode(str(tmp_path / "anim.png")).pad_filled is False



def test_turned_hashes_are_those_of_the_plain_bilinear_gather():
    """The turned views' samples are added corner by corner in place; the hashes must be those
    of the plain gather-and-sum (the bits of the hashes stored before)."""
    grids = RNG.uniform(0, 255, (9, hashing.GRID, hashing.GRID)).astype(np.float32)
    grids[3] = np.round(grids[3])  # whole levels: ties between coefficients are likelier
    flat = grids.reshape(len(grids), -1)
    dct = hashing._DCT32
    for i, (at, w) in enumerate(hashing._TURNS):
        turned = (flat[:, at] * w).sum(axis=1).reshape(len(grids), hashing.HASH_SIDE, hashing.HASH_SIDE)
        co = np.matmul(np.matmul(dct, turned), dct.T).reshape(len(grids), -1)[:, hashing._SEL_FLAT]
        srt = np.sort(co, axis=1)
        med = (srt[:, 31:32] + srt[:, 32:33]) * 0.5
        bits = np.ascontiguousarray(np.packbits(co > med, axis=1, bitorder="little")).view("<u8")[:, 0]
        assert np.array_equal(hashing._turned_hashes(grids)[:, i], bits)


def test_small_files_are_measured_in_bigger_chunks(tmp_path):
    """A listing whose files are mostly small (tiny PNGs) gets chunks of up to SMALL_CHUNK_FILES;
    one of photo-sized files keeps CHUNK_FILES (a chunk's decoding stays short either way)."""
    from imagefactory import write_image
    from inspector.core import scan as scan_module
    from inspector.core.sources import complete, open_source

    for k in range(7):
        write_image(tmp_path / "small" / "train" / f"{k}.png", "RGB", size=(12, 10), seed=k)
    for k in range(5):  # noise compresses badly: each file well over SMALL_FILE_BYTES
        big = k < 3
        write_image(tmp_path / "mixed" / "train" / f"{k}.png", "RGB", size=(160, 120) if big else (8, 8), seed=k)
    small = complete(open_source(str(tmp_path / "small"))).files
    mixed = complete(open_source(str(tmp_path / "mixed"))).files
    assert max(small.identities(0, len(small))[0]) < scan_module.SMALL_FILE_BYTES
    assert scan_module.chunk_files(small) == scan_module.SMALL_CHUNK_FILES > scan_module.CHUNK_FILES
    assert sorted(mixed.identities(0, len(mixed))[0])[2] > scan_module.SMALL_FILE_BYTES  # the median
    assert scan_module.chunk_files(mixed) == scan_module.CHUNK_FILES
