"""File -> canonical decoded image + metadata, or a classified failure (DESIGN sections 3 and 6).

Canonical images are what a training loader sees: ``Image.open(f).convert("RGB")`` for colour data,
``"L"`` for single-channel 8-bit data (``convert("RGB")`` would only replicate it), and ``"I;16"``
for 16-bit single-channel data, which we keep at full precision (scaled by 1/65535 later).
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from . import fastdecode
from .table import (FLAG_16BIT, FLAG_16BIT_COLOUR, FLAG_ALPHA, FLAG_ANIMATED, FLAG_BILEVEL, FLAG_CMYK,
                    FLAG_EXIF_ROTATED, FLAG_PALETTE, FLAG_WRONG_EXTENSION)

_EXIF_ORIENTATION = 0x0112
_SINGLE_CHANNEL_8BIT = {"L": None, "1": FLAG_BILEVEL, "LA": FLAG_ALPHA, "La": FLAG_ALPHA}
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
# The only decoders a dataset may reach. Pillow would otherwise pick any plugin by the file's
# first bytes, and its EPS plugin runs Ghostscript (``gs`` from PATH) on the file: a dataset
# from the internet must never make us execute a program. (A JPEG with extra frames, as phones
# write, still opens through the JPEG decoder, as format MPO.)
READ_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")
# Formats whose RGB rows Pillow's load writes every one of through that unpacker, or fails: not
# PNG, whose image data may end a row or more early without an error (the rows left are zeros,
# pad bytes too); a PNG Pillow decodes has its pad bytes checked (the fast path's never end early)
_RGB_UNPACKED = frozenset({"JPEG", "MPO"})
_EXTENSION_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF",
    ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
}


class DecodeError(Exception):
    """A file that cannot contribute pixels; ``str(exc)`` is the reason shown to the user."""


@dataclass
class Decoded:
    image: Image.Image  # canonical: "RGB", "L" or "I;16"
    format: str         # JPEG, PNG, ...
    mode: str           # the file's own mode (before conversion)
    width: int
    height: int
    nbytes: int
    flags: int
    # Every pad byte of the RGB image's 4-byte storage is 255 (hashing.content_hash then skips
    # checking it): true of the files Pillow unpacks from plain 8-bit RGB rows, JPEG and PNG.
    pad_filled: bool = False

    @property
    def depth(self) -> int:
        return 16 if self.image.mode == "I;16" else 8

    @property
    def channels(self) -> int:
        return 3 if self.image.mode == "RGB" else 1


Source = str | bytes


def _open(source: Source) -> Image.Image:
    return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=READ_FORMATS)


def decode(source: Source, name: str | None = None) -> Decoded:
    """Open, check and fully decode one image; raise DecodeError with a clear reason otherwise.

    ``source`` is a file path or the encoded bytes (a tar member, a Parquet cell); ``name`` is the
    item's file name when ``source`` is bytes, for the extension check.
    """
    if isinstance(source, bytes):
        nbytes, name = len(source), name or ""
    else:
        name = name or source
        try:
            nbytes = os.path.getsize(source)
        except OSError as exc:
            raise DecodeError(_os_reason(exc)) from None
    if nbytes == 0:
        raise DecodeError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow refuses images above 2x MAX_IMAGE_PIXELS and only warns above 1x; we refuse
            # above 1x, at open time, before any pixel buffer is allocated.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open(source) as im:
                return _decode_open(im, name, nbytes)
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DecodeError(_bomb_reason(source)) from None
    except UnidentifiedImageError:
        raise DecodeError(_not_an_image_reason(source)) from None
    except PermissionError:
        raise DecodeError("permission denied: the file cannot be read") from None
    except OSError as exc:
        raise DecodeError(_os_reason(exc)) from None
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError) as exc:
        raise DecodeError(f"corrupt image data: {exc}") from None
    except MemoryError:
        raise DecodeError("not enough memory to decode this image") from None


def _decode_open(im: Image.Image, name: str, nbytes: int) -> Decoded:
    fmt = im.format or "unknown"
    mode = im.mode
    flags = 0
    # Read the tile before anything loads the image (loading clears it).
    rawmode = _tile_rawmode(im) if mode in ("RGB", "RGBA", "L") else ""
    if rawmode.endswith(";16B"):
        flags |= FLAG_16BIT_COLOUR  # statistics are of the 8-bit pixels every Pillow loader gets
    if getattr(im, "n_frames", 1) > 1:
        flags |= FLAG_ANIMATED
    # Pillow's unpacker of 8-bit "RGB" rows sets the pad byte of every pixel it writes to 255 (a
    # single frame only: an animation's first frame may be composed of others by Pillow)
    pad_filled = mode == "RGB" and rawmode == "RGB" and fmt in _RGB_UNPACKED and not flags & FLAG_ANIMATED
    # JPEGs and RGB/RGBA PNGs: a faster decoder, same pixels (fastdecode.py); the rest, and any
    # file it refuses, Pillow, in the same steps as always
    fast = None if flags & FLAG_ANIMATED else fastdecode.prepare(im, fmt, rawmode)
    decoded = fastdecode.finish(fast) if fast is not None else None
    if decoded is None:
        # decode now so truncation errors surface here, inside the try; before getexif(), which
        # loads a PNG itself and would swallow a damaged one's error (its pixels then half unset)
        im.load()
    if _exif_orientation(im, loaded=decoded is None) not in (0, 1):
        flags |= FLAG_EXIF_ROTATED
    expected = _EXTENSION_FORMATS.get(os.path.splitext(name)[1].lower())
    if expected and fmt != expected and not (expected == "JPEG" and fmt == "MPO"):  # MPO is a JPEG
        flags |= FLAG_WRONG_EXTENSION
    width, height = im.size
    if decoded is not None:
        canonical, pad_filled = decoded
        conv_flags = FLAG_ALPHA if mode == "RGBA" else 0  # as _canonical flags RGBA
    else:
        canonical, conv_flags = _canonical(im)
    return Decoded(canonical, fmt, mode, width, height, nbytes, flags | conv_flags, pad_filled)


def _canonical(im: Image.Image) -> tuple[Image.Image, int]:
    mode = im.mode
    if mode in ("RGB", "L"):
        return im, 0
    if mode in _SINGLE_CHANNEL_8BIT:
        return im.convert("L"), _SINGLE_CHANNEL_8BIT[mode] or 0
    if mode in _SIXTEEN_BIT:
        return _to_uint16(im), FLAG_16BIT
    if mode == "F":
        raise DecodeError("32-bit floating-point image (mode F): no standard 8-bit loader reads it "
                          "faithfully; not included in statistics")
    flags = 0
    if mode in ("P", "PA"):
        flags |= FLAG_PALETTE
        if mode == "PA" or "transparency" in im.info:
            flags |= FLAG_ALPHA
    elif mode in ("RGBA", "RGBa", "LA", "La"):
        flags |= FLAG_ALPHA
    elif mode == "CMYK":
        flags |= FLAG_CMYK
    return im.convert("RGB"), flags


def _to_uint16(im: Image.Image) -> Image.Image:
    if im.mode == "I;16":
        return im
    if im.mode == "I":
        lo, hi = im.getextrema()
        if lo < 0 or hi > 65535:
            raise DecodeError(f"32-bit integer image with values {lo}..{hi} outside 0-65535; "
                              "not included in statistics")
    return im.convert("I;16") if im.mode != "I" else _int32_to_i16(im)


def _int32_to_i16(im: Image.Image) -> Image.Image:
    import numpy as np

    arr = np.asarray(im, dtype=np.int32).astype("<u2")
    return Image.frombuffer("I;16", im.size, arr.tobytes(), "raw", "I;16", 0, 1)


def _tile_rawmode(im: Image.Image) -> str:
    try:
        args = im.tile[0][3]
    except (IndexError, TypeError, AttributeError):
        return ""
    return args if isinstance(args, str) else str(args[0]) if args else ""


def _exif_orientation(im: Image.Image, loaded: bool = True) -> int:
    """The EXIF orientation tag. ``loaded=False``: read it without decoding the pixels (a PNG's
    getexif() loads the image first, for EXIF after the image data; fastdecode only takes PNGs
    with nothing after it, so the tags read at open are all there are)."""
    try:
        exif = im.getexif() if loaded else Image.Image.getexif(im)
        return int(exif.get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not fail a readable image
        return 1


def _bomb_reason(source: Source) -> str:
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Image.MAX_IMAGE_PIXELS = None
            with _open(source) as im:
                w, h = im.size
        dims = f"{w} x {h} = {w * h:,} pixels"
    except Exception:
        dims = "too many pixels"
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return f"image too large ({dims}); refused above Pillow's limit of {limit:,} pixels (decompression-bomb protection)"


def _not_an_image_reason(source: Source) -> str:
    try:
        if isinstance(source, bytes):
            head = source[:512]
        else:
            with open(source, "rb") as fh:
                head = fh.read(512)
    except OSError as exc:
        return _os_reason(exc)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "not an image: the file is an HTML page (a failed download?)"
    if text.startswith((b"<?xml", b"<svg")):
        return "not an image that we read: XML/SVG text"
    try:
        head.decode("utf-8")
        return "not an image: the file holds plain text"
    except UnicodeDecodeError:
        return "not a recognised image format (unknown or corrupt header)"


def _os_reason(exc: OSError) -> str:
    msg = str(exc)
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    if "truncated" in msg.lower():
        return f"truncated file: {msg}"
    if isinstance(exc, FileNotFoundError):
        return "file disappeared or is a broken link"
    return f"cannot decode: {msg}"
