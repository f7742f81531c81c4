"""The scan engine: bad input, parallel equals serial, progress, cancel, bounded work."""
from __future__ import annotations

import os

import numpy as np
import pytest

from imagefactory import make_bad_inputs, make_good_images, write_image
from inspector.core.scan import iter_scan, scan

EXPECTED_FAILURES = {
    "zero_byte": "empty file",
    "truncated_jpeg": "truncated",
    "truncated_png": "truncated",
    "html_as_jpg": "HTML",
    "text_as_png": "plain text",
    "decompression_bomb": "too large",
    "broken_symlink": "broken symbolic link",
    "symlink_loop": "loop",
    "float_tiff": "floating-point",
}
EXPECTED_FLAGS = {
    "animated_gif": "animated (first frame)",
    "cmyk_jpeg": "CMYK",
    "one_bit_png": "1-bit",
    "palette_transparency_png": "alpha dropped",
    "la_png": "alpha dropped",
    "i16_png": "16-bit",
    "exif_rotated_jpeg": "EXIF-rotated",
    "jpeg_with_png_ext": "extension does not match content",
    "non_utf8_name": "non-UTF-8 file name",
}


@pytest.fixture(scope="module")
def bad_scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad") / "ds"
    cases = make_bad_inputs(root)
    make_good_images(root, "val", 3)
    return cases, scan(str(root), workers=1)


def test_every_bad_input_is_listed_with_a_reason(bad_scan):
    cases, result = bad_scan
    failures = {f.path: f.reason for f in result.failures}
    for case, words in EXPECTED_FAILURES.items():
        assert words.lower() in failures[cases[case]].lower(), case
    skipped = {s.path: s.reason for s in result.skipped}
    assert "outside" in skipped[cases["symlink_outside"]]
    assert "not an image" in skipped[cases["text_file"]]
    # Files that decode are counted, with what a loader did to them.
    table = result.images
    rows = {p: i for i, p in enumerate(table.paths)}
    for case, flag in EXPECTED_FLAGS.items():
        if case in cases:
            assert flag in table.flag_names(rows[cases[case]]), case
    assert cases["no_extension_png"] in rows
    assert cases["dir_named_like_image_content"] in rows
    if os.geteuid() != 0:
        assert "permission" in failures[cases["no_permission"]]
    # Nothing is lost: every entry is decoded, failed or skipped.
    assert len(result.images) + len(result.failures) + len(result.skipped) >= len(cases) - 1
    st = result.split_stats["train"]
    assert st.failed == sum(1 for f in result.failures if f.split == "train")
    assert st.images == sum(1 for p in table.paths if p.startswith("train/"))


def test_failures_do_not_change_statistics(tmp_path):
    files = make_good_images(tmp_path, "train", 6, modes=("RGB",))
    clean = scan(str(tmp_path), workers=1).split_stats["train"]
    (tmp_path / "train" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    dirty = scan(str(tmp_path), workers=1).split_stats["train"]
    assert dirty.failed == 1 and dirty.images == len(files)
    assert (dirty.histogram == clean.histogram).all()


def test_parallel_scan_equals_serial_scan(tmp_path):
    make_good_images(tmp_path, "train", 60, modes=("RGB", "L", "P", "RGBA"), label="x")
    make_good_images(tmp_path, "test", 20, modes=("RGB",))
    serial = scan(str(tmp_path), workers=1)
    parallel = scan(str(tmp_path), workers=2)
    assert parallel.workers == 2 and serial.workers == 1
    assert serial.images.paths == parallel.images.paths
    np.testing.assert_array_equal(serial.images.content_hash, parallel.images.content_hash)
    np.testing.assert_array_equal(serial.images.std, parallel.images.std)
    for s in serial.splits:
        np.testing.assert_array_equal(serial.split_stats[s].histogram, parallel.split_stats[s].histogram)
    assert serial.fingerprint == parallel.fingerprint


def test_progress_is_monotone_and_complete(tmp_path):
    make_good_images(tmp_path, "train", 30, modes=("RGB",))
    make_good_images(tmp_path, "val", 10, modes=("RGB",))
    gen = iter_scan(str(tmp_path), workers=1, chunk_size=4)
    seen = []
    try:
        while True:
            seen.append(next(gen))
    except StopIteration as stop:
        result = stop.value
    done = [p.done for p in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 40
    assert seen[-1].per_split == {"train": (30, 30), "val": (10, 10)}
    assert seen[-1].partial is not None and seen[-1].partial["val"].images == 10
    assert len(result.images) == 40


def test_cancel_stops_a_parallel_scan(tmp_path):
    make_good_images(tmp_path, "train", 200, modes=("RGB",))
    gen = iter_scan(str(tmp_path), workers=2, chunk_size=4)
    first = next(gen)
    assert first.done == 0 and first.total == 200
    gen.close()  # what the window's Cancel does
    with pytest.raises(StopIteration):
        next(gen)
    assert scan(str(tmp_path), workers=2, should_cancel=lambda: True) is None


def test_identical_pixels_share_a_content_hash(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_image(tmp_path / "train" / "a.png", rgb)
    write_image(tmp_path / "test" / "b.bmp", rgb)
    write_image(tmp_path / "test" / "c.png", rgb[::-1].copy())
    t = scan(str(tmp_path), workers=1).images
    hashes = [tuple(h) for h in t.content_hash]
    assert hashes[t.paths.index("train/a.png")] == hashes[t.paths.index("test/b.bmp")]
    assert hashes[t.paths.index("train/a.png")] != hashes[t.paths.index("test/c.png")]


def test_empty_split_folder_is_reported_not_fatal(tmp_path):
    make_good_images(tmp_path, "train", 3)
    (tmp_path / "test").mkdir()
    result = scan(str(tmp_path), workers=1)
    assert result.splits == ["train", "test"]
    assert result.split_stats["test"].images == 0
    assert np.isnan(result.split_stats["test"].mean).all()


def test_a_file_that_kills_its_worker_is_isolated(tmp_path, monkeypatch):
    make_good_images(tmp_path, "train", 60, modes=("RGB",))
    monkeypatch.setenv("INSPECTOR_TEST_CRASH_ON", "img_0033")  # the worker process dies on this file
    from inspector.core import scan as scan_module

    scan_module.shutdown_pool()  # workers must start with the variable set
    try:
        result = scan(str(tmp_path), workers=2)
    finally:
        scan_module.shutdown_pool()
    assert [f.path for f in result.failures] == ["train/img_0033_RGB.png"]
    assert "crashed" in result.failures[0].reason
    assert len(result.images) == 59
    assert result.split_stats["train"].failed == 1


def test_sixteen_bit_colour_png_is_flagged(tmp_path):
    import struct
    import zlib

    h, w = 4, 5
    rng = np.random.default_rng(0)
    raw = b"".join(b"\x00" + rng.integers(0, 65536, (w, 3)).astype(">u2").tobytes() for _ in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "c16.png").write_bytes(png)
    result = scan(str(tmp_path), workers=1)
    assert "16-bit colour read as 8-bit" in result.images.flag_names(0)
    assert result.split_stats["train"].flags == {"16-bit colour read as 8-bit": 1}


def test_permission_denied_is_a_listed_reason_even_as_root(tmp_path, monkeypatch):
    """Root reads any file, so the operating system's refusal is simulated where Pillow opens it."""
    from PIL import Image

    from inspector.core import decode as decode_module
    files = make_good_images(tmp_path, "train", 3, modes=("RGB",))
    locked = str(files[0])
    real_open = Image.open

    def guarded_open(fp, *args, **kwargs):
        if str(fp) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_open(fp, *args, **kwargs)
    monkeypatch.setattr(decode_module.Image, "open", guarded_open)
    result = scan(str(tmp_path), in_process=True)  # the patch lives in this process
    assert [f.reason for f in result.failures] == ["permission denied: the file cannot be read"]
    assert result.split_stats["train"].images == 2 and result.split_stats["train"].failed == 1


def test_failed_rows_leave_every_per_image_column_aligned(tmp_path, monkeypatch):
    """Rows of failed files are squeezed out of the per-image columns in place (in blocks smaller
    than the data here): each remaining row must still hold its own image's values."""
    import inspector.core.scan as scan_module

    monkeypatch.setattr(scan_module, "_COMPACT_BLOCK", 3)
    make_good_images(tmp_path / "clean", "train", 20, modes=("RGB", "L"), seed=7)
    clean = scan(str(tmp_path / "clean"), workers=1).images
    dirty_root = tmp_path / "dirty"
    make_good_images(dirty_root, "train", 20, modes=("RGB", "L"), seed=7)
    for name in ("aaa.png", "img_0004a.png", "img_0009a.png", "zzz.png"):  # first, middle, last
        (dirty_root / "train" / name).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = scan(str(dirty_root), workers=1)
    dirty = result.images
    assert len(result.failures) == 4 and dirty.paths == clean.paths
    for column in ("width", "height", "nbytes", "format", "mode", "mean", "std", "min", "max",
                   "content_hash", "phash", "thumb", "flags", "split", "label"):
        np.testing.assert_array_equal(getattr(dirty, column), getattr(clean, column), err_msg=column)
