"""The faster JPEG and PNG decoders (core/fastdecode.py) give what Pillow gives: the same pixels,
pad bytes, flags and failure reasons, on generated files of many kinds and on damaged copies."""
from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inspector.core import decode as decode_module
from inspector.core import fastdecode
from inspector.core.decode import DecodeError, decode
from inspector.core.hashing import content_hash
from inspector.core.pixelbuffer import pixel_view


@pytest.fixture(autouse=True)
def _fresh_check():
    fastdecode.available.cache_clear()
    yield
    fastdecode.available.cache_clear()


def _outcome(data: bytes, name: str):
    try:
        d = decode(data, name)
    except DecodeError as exc:
        return ("failed", str(exc))
    view = pixel_view(d.image)
    if d.image.mode == "RGB" and view is not None and d.pad_filled:  # the content hash relies on it
        assert set(bytes(view.buffer)[3::4]) == {255}
    pads = content_hash(d.image, pad_filled=d.pad_filled)  # the pad bytes as the hash reads them
    return (d.format, d.mode, d.width, d.height, d.flags, d.image.mode, pads, d.image.tobytes())


def _pillow_outcome(data: bytes, name: str, monkeypatch):
    monkeypatch.setenv("INSPECTOR_DECODER", "pillow")
    fastdecode.available.cache_clear()
    try:
        return _outcome(data, name)
    finally:
        monkeypatch.delenv("INSPECTOR_DECODER")
        fastdecode.available.cache_clear()


def _photo_like(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * rng.uniform(0.5, 4), y * rng.uniform(0.5, 4), (x + y) * rng.uniform(0.2, 2)], 2)
    noise = rng.normal(0, rng.uniform(1, 30), (h, w, 3))
    return np.clip(base % 256 + noise, 0, 255).astype(np.uint8)


def _encoded(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def _random_files(seed: int, n: int) -> list[tuple[str, bytes, bool]]:
    """(name, bytes, whether the fast path should take it) for random JPEGs and PNGs."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = (int(v) for v in rng.integers(1, 150, 2))
        rgb = Image.fromarray(_photo_like(rng, w, h), "RGB")
        kind = i % 6
        if kind == 0:
            out.append((f"{i}.jpg", _encoded(rgb, "JPEG", quality=int(rng.integers(30, 100)),
                                             subsampling=int(rng.integers(0, 3))), True))
        elif kind == 1:
            out.append((f"{i}.jpg", _encoded(rgb, "JPEG", progressive=True, optimize=True), True))
        elif kind == 2:
            out.append((f"{i}.jpg", _encoded(rgb.convert("L"), "JPEG", quality=int(rng.integers(30, 100))), True))
        elif kind == 3:
            out.append((f"{i}.png", _encoded(rgb, "PNG", compress_level=int(rng.integers(0, 10))), True))
        elif kind == 4:
            rgba = rgb.copy()
            rgba.putalpha(Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L"))
            out.append((f"{i}.png", _encoded(rgba, "PNG"), True))
        else:  # grey PNGs; the Pillow path: palette PNGs, a text chunk after the image data
            choice = int(rng.integers(0, 3))
            if choice == 2:
                out.append((f"{i}.png", _with_chunk_after_image(_encoded(rgb, "PNG"), b"tEXt", b"k\0v"), False))
            elif choice == 1:
                out.append((f"{i}.png", _encoded(rgb.quantize(16), "PNG"), False))
            else:
                out.append((f"{i}.png", _encoded(rgb.convert("L"), "PNG", compress_level=int(rng.integers(0, 10))), True))
    return out


def _with_chunk_after_image(png: bytes, kind: bytes, payload: bytes) -> bytes:
    iend = png.rindex(b"IEND") - 4
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return png[:iend] + chunk + png[iend:]


def test_the_check_against_pillow_passes_here():
    assert fastdecode.available()


@pytest.mark.parametrize("seed", [1, 2])
def test_same_pixels_flags_and_pad_bytes_as_pillow(seed, monkeypatch):
    taken = 0
    for name, data, fast in _random_files(seed, 36):
        with Image.open(io.BytesIO(data)) as im:
            rawmode = decode_module._tile_rawmode(im)
            pending = fastdecode.prepare(im, im.format, rawmode)
        assert (pending is not None) == fast, name
        taken += pending is not None
        assert _outcome(data, name) == _pillow_outcome(data, name, monkeypatch), name
    assert taken >= 25


def test_damaged_files_get_pillows_verdict(monkeypatch):
    rng = random.Random(5)
    files = [(n, d) for n, d, fast in _random_files(3, 12) if fast]
    verdicts = set()
    for name, raw in files:
        for _ in range(12):
            b = bytearray(raw)
            op = rng.choice(["truncate", "flip", "scramble", "cut", "append"])
            if op == "truncate":
                b = b[:rng.randrange(20, len(b))]
            elif op == "flip":
                i = rng.randrange(20, len(b))
                b[i] ^= 1 << rng.randrange(8)
            elif op == "scramble":
                for _ in range(10):
                    b[rng.randrange(20, len(b))] = rng.randrange(256)
            elif op == "cut":
                i = rng.randrange(20, len(b) - 2)
                del b[i:i + rng.randrange(1, 300)]
            else:
                b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 50)))
            got = _outcome(bytes(b), name)
            assert got == _pillow_outcome(bytes(b), name, monkeypatch), (name, op)
            verdicts.add(got[0] == "failed")
    assert verdicts == {True, False}  # both refused and accepted damaged files were compared




def test_png_with_exif_after_the_image_data_is_left_to_pillow(monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    png = _encoded(Image.fromarray(_photo_like(np.random.default_rng(0), 30, 20)), "PNG")
    raw = exif.tobytes()
    data = _with_chunk_after_image(png, b"eXIf", raw[6:] if raw.startswith(b"Exif") else raw)
    with Image.open(io.BytesIO(data)) as im:
        assert fastdecode.prepare(im, "PNG", "RGB") is None
    got = _outcome(data, "x.png")
    assert got == _pillow_outcome(data, "x.png", monkeypatch)
    assert got[4] & decode_module.FLAG_EXIF_ROTATED


def test_a_decoder_that_disagrees_with_pillow_is_not_used(monkeypatch):
    import simplejpeg

    real = simplejpeg.decode_jpeg

    def off_by_one(data, *args, buffer=None, **kwargs):
        out = real(data, *args, buffer=buffer, **kwargs)
        buffer[0] = (buffer[0] + 1) % 256
        return out

    monkeypatch.setattr(simplejpeg, "decode_jpeg", off_by_one)
    assert not fastdecode.available()
    data = _random_files(4, 1)[0][1]
    with Image.open(io.BytesIO(data)) as im:
        assert fastdecode.prepare(im, "JPEG", "RGB") is None


def test_a_damaged_png_is_a_failure_not_a_half_decoded_image():
    # Pillow's getexif() of a PNG loads it and swallows a load error; decode loads first, so the
    # damage is the file's listed reason (it was taken as an image with rows left unset before)
    rng = np.random.default_rng(11)
    png = _encoded(Image.fromarray(_photo_like(rng, 60, 40)).convert("L"), "PNG")
    start = png.index(b"IDAT") + 4
    damaged = []
    for seed in range(40):
        b = bytearray(png)
        r = random.Random(seed)
        for _ in range(8):
            b[r.randrange(start + 10, len(png) - 16)] = r.randrange(256)
        try:
            with Image.open(io.BytesIO(bytes(b))) as im:
                im.load()
        except OSError:
            damaged.append(bytes(b))
    assert damaged
    for data in damaged:
        with pytest.raises(DecodeError, match="cannot decode|corrupt|truncated"):
            decode(data, "grey.png")


def _png_with_rows(png: bytes, change) -> bytes:
    """``png`` (one IDAT chunk or more) with its filtered rows changed by ``change`` and
    compressed again into one IDAT chunk with an intact CRC."""
    start = png.index(b"IDAT") - 4
    end = png.rindex(b"IEND") - 4
    pos, stream = start, b""
    while pos < end:
        length = struct.unpack_from(">I", png, pos)[0]
        stream += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    data = zlib.compress(change(zlib.decompress(stream)))
    chunk = struct.pack(">I", len(data)) + b"IDAT" + data + struct.pack(">I", zlib.crc32(b"IDAT" + data))
    return png[:start] + chunk + png[end:]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_png_image_data_longer_or_shorter_than_its_rows_gets_pillows_verdict(mode, monkeypatch):
    # the inflate is asked for exactly the rows' bytes: more, fewer or a broken filter byte is
    # refused or decoded as Pillow does
    rng = np.random.default_rng(21)
    im = Image.fromarray(_photo_like(rng, 41, 23)).convert(mode)
    png = _encoded(im, "PNG")
    row = 1 + 41 * len(mode)
    for change in (lambda r: r + b"\0", lambda r: r + bytes(row), lambda r: r[:-1],
                   lambda r: r[:-row], lambda r: bytes([7]) + r[1:]):
        data = _png_with_rows(png, change)
        assert _outcome(data, "x.png") == _pillow_outcome(data, "x.png", monkeypatch)
    same = _png_with_rows(png, lambda r: r)  # re-compressed, still the same image: taken
    with Image.open(io.BytesIO(same)) as opened:
        assert fastdecode.prepare(opened, "PNG", mode) is not None
    assert _outcome(same, "x.png") == _outcome(png, "x.png")
    assert _outcome(same, "x.png")[-1] == im.convert("RGB" if mode == "RGBA" else mode).tobytes()


def test_a_png_too_large_for_the_fast_path_is_decoded_by_pillow(monkeypatch):
    rng = np.random.default_rng(8)
    png = _encoded(Image.fromarray(_photo_like(rng, 50, 30)), "PNG")
    fast = _outcome(png, "x.png")
    monkeypatch.setattr(fastdecode, "PNG_MAX_ROW_BYTES", 30 * (1 + 50 * 3) - 1)
    import pyspng
    calls = []
    monkeypatch.setattr(pyspng, "load", lambda *a, **k: calls.append(1))
    assert _outcome(png, "x.png") == fast == _pillow_outcome(png, "x.png", monkeypatch)
    assert not calls  # libspng was never asked: Pillow decoded it
