"""Write image files for tests: good images of every mode, and every bad input of DESIGN section 6.

Everything is deterministic (seeded) and small, so tests stay fast and reproducible.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Modes the exactness tests must cover (DESIGN section 3: alpha, palette, CMYK, 1-bit, 16-bit).
GOOD_MODES: tuple[str, ...] = ("RGB", "L", "RGBA", "P", "CMYK", "1", "LA", "I;16")

# Pillow refuses to open above 2 * MAX_IMAGE_PIXELS; 20000^2 = 4e8 is well above it.
BOMB_SIZE = 20000


def random_image(mode: str, size: tuple[int, int] = (32, 24), seed: int = 0) -> Image.Image:
    """A random image of ``mode`` (``size`` is width, height). ``P`` carries palette transparency."""
    rng = np.random.default_rng(seed)
    w, h = size
    if mode == "I;16":
        arr = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
        arr.flat[0], arr.flat[-1] = 0, 65535  # span the full range, like real 16-bit data
        return Image.fromarray(arr)
    if mode == "F":
        return Image.fromarray(rng.random((h, w), dtype=np.float32) * 4.0 - 1.0)
    if mode == "1":
        return Image.fromarray(rng.integers(0, 2, size=(h, w), dtype=np.uint8) * 255).convert("1")
    if mode == "P":
        img = Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).quantize(16)
        img.info["transparency"] = 0  # palette index 0 is transparent
        return img
    bands = len(Image.new(mode, (1, 1)).getbands())  # L, LA, RGB, RGBA, CMYK: 8 bits per band
    arr = rng.integers(0, 256, size=(h, w, bands), dtype=np.uint8)
    return Image.frombytes(mode, (w, h), arr.tobytes())

def write_image(path: str | os.PathLike[str], array_or_mode: np.ndarray | str | Image.Image = "RGB",
                size: tuple[int, int] = (32, 24), seed: int = 0, format: str | None = None,
                **save_kwargs: Any) -> Path:
    """Write an image to ``path`` (parents created) and return the path.

    ``array_or_mode`` is a numpy array (uint8 HxW / HxWxC, uint16 -> I;16, float32 -> F), a PIL image,
    or a mode name for random content of ``size``. ``format`` overrides the extension (e.g. a JPEG
    saved as ``.png``); extra keyword arguments go to ``Image.save``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(array_or_mode, Image.Image):
        img = array_or_mode
    elif isinstance(array_or_mode, np.ndarray):
        img = Image.fromarray(array_or_mode)
    else:
        img = random_image(array_or_mode, size, seed)
    if img.mode == "P" and "transparency" in img.info and "transparency" not in save_kwargs:
        save_kwargs["transparency"] = img.info["transparency"]
    img.save(path, format=format, **save_kwargs)
    return path


def _jpeg_bytes(seed: int = 0, size: tuple[int, int] = (48, 32)) -> bytes:
    buf = io.BytesIO()
    random_image("RGB", size, seed).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png_bytes(seed: int = 0, size: tuple[int, int] = (48, 32)) -> bytes:
    buf = io.BytesIO()
    random_image("RGB", size, seed).save(buf, "PNG")
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bomb_png(path: str | os.PathLike[str], side: int = BOMB_SIZE) -> Path:
    """A valid all-black 1-bit PNG of side x side px, written row by row (never allocates the image).

    Why by hand: ``Image.new("1", ...)`` stores a byte per pixel (400 MB) and takes most of a second.
    """
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    path = Path(path)
    path.write_bytes(data)
    return path


def make_bad_inputs(root: Path, split: str = "train") -> dict[str, str]:
    """Write every bad input of DESIGN section 6 into ``root/split`` and return {case: relative path}.

    Relative paths use ``/`` and are what ``layout.discover`` reports (so the non-UTF-8 name is given
    with U+FFFD, its display form). The symlink-outside target lives in a sibling folder
    ``<root>_outside``. ``no_permission`` is readable anyway when running as root: skip it then.
    Cases a file system refuses (non-UTF-8 names on some) are left out of the result.
    """
    root = Path(root)
    d = root / split
    d.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    def put(case: str, name: str, data: bytes) -> Path:
        p = d / name
        p.write_bytes(data)
        out[case] = rel(p)
        return p

    jpeg, png = _jpeg_bytes(1), _png_bytes(2)
    put("zero_byte", "zero_byte.jpg", b"")
    put("truncated_jpeg", "truncated.jpg", jpeg[: len(jpeg) // 2])
    put("truncated_png", "truncated.png", png[: len(png) // 2])
    put("html_as_jpg", "page.jpg", b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
                                   b"<body><h1>Not Found</h1></body></html>\n")
    put("text_as_png", "text.png", b"this is plain text, not a PNG\n" * 4)
    out["decompression_bomb"] = rel(write_bomb_png(d / "bomb.png"))

    p = put("no_permission", "no_permission.jpg", jpeg)
    p.chmod(0)

    os.symlink("does_not_exist.jpg", d / "broken_link.jpg")
    out["broken_symlink"] = rel(d / "broken_link.jpg")
    os.symlink("loop_b.jpg", d / "loop_a.jpg")
    os.symlink("loop_a.jpg", d / "loop_b.jpg")
    out["symlink_loop"] = rel(d / "loop_a.jpg")
    out["symlink_loop_b"] = rel(d / "loop_b.jpg")

    outside = root.parent / f"{root.name}_outside"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "outside.jpg").write_bytes(jpeg)
    os.symlink(outside / "outside.jpg", d / "link_outside.jpg")
    out["symlink_outside"] = rel(d / "link_outside.jpg")

    # A valid PNG whose name is Latin-1 bytes (not UTF-8): written through a bytes path.
    bad = os.path.join(os.fsencode(d), b"caf\xe9.png")
    try:
        fd = os.open(bad, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_png_bytes(3))
        out["non_utf8_name"] = f"{split}/caf\ufffd.png"

    write_image(d / "folder.jpg" / "inside.png", "RGB", seed=4)
    out["dir_named_like_image"] = rel(d / "folder.jpg")
    out["dir_named_like_image_content"] = rel(d / "folder.jpg" / "inside.png")

    frames = [random_image("RGB", (24, 16), s).quantize(32) for s in (5, 6, 7)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out["animated_gif"] = rel(d / "animated.gif")

    out["cmyk_jpeg"] = rel(write_image(d / "cmyk.jpg", "CMYK", seed=8, quality=95))
    out["one_bit_png"] = rel(write_image(d / "one_bit.png", "1", seed=9))
    out["palette_transparency_png"] = rel(write_image(d / "palette_transparent.png", "P", seed=10))
    out["la_png"] = rel(write_image(d / "la.png", "LA", seed=11))
    grad = np.linspace(0, 65535, 24 * 32).round().astype(np.uint16).reshape(24, 32)  # 0..65535 exactly
    out["i16_png"] = rel(write_image(d / "grey16.png", grad))
    out["float_tiff"] = rel(write_image(d / "float.tif", "F", seed=12))

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    out["exif_rotated_jpeg"] = rel(write_image(d / "exif_rotated.jpg", "RGB", size=(40, 24), seed=13,
                                               exif=exif.tobytes()))
    put("jpeg_with_png_ext", "really_a_jpeg.png", jpeg)
    put("no_extension_png", "no_extension", png)
    put("text_file", "notes.txt", b"just some notes\n")
    return out


def make_good_images(root: Path, split: str, n: int, modes: tuple[str, ...] = GOOD_MODES,
                     seed: int = 0, label: str | None = None) -> list[Path]:
    """Write ``n`` small random images cycling through ``modes`` into ``root/split[/label]``.

    Lossless formats only (PNG; TIFF for CMYK, which PNG cannot hold) so a test's numpy reference
    decodes exactly what was written. Sizes vary (8..40 px) so pixel weighting matters.
    """
    rng = np.random.default_rng(seed)
    d = Path(root) / split / label if label else Path(root) / split
    paths = []
    for i in range(n):
        mode = modes[i % len(modes)]
        size = (int(rng.integers(8, 41)), int(rng.integers(8, 41)))
        ext = ".tif" if mode == "CMYK" else ".png"
        name = f"img_{i:04d}_{mode.replace(';', '_')}{ext}"
        paths.append(write_image(d / name, mode, size=size, seed=seed * 100003 + i))
    return paths
