"""Thumbnails for the report: each image a finding names is read again (only for this), shrunk to
at most `THUMB_SIDE` pixels and embedded as a JPEG data URI. Bounded: at most `MAX_THUMBNAILS`
distinct images per report (about 4 KB each), so 500 findings stay well under 10 MB."""
from __future__ import annotations

import base64
import io
from collections.abc import Callable

from PIL import Image

THUMB_SIDE = 128          # px, longest side; a photo is then about 3-5 KB of JPEG
JPEG_QUALITY = 70
MAX_THUMBNAILS = 1200     # distinct images embedded (about 6 MB); beyond it findings show no pictures

Loader = Callable[[str], "bytes | str | None"]   # item id -> encoded bytes, a file path, or None


class Thumbnails:
    """Data URIs by item id, made once per id; `failed` says why an image has none."""

    def __init__(self, load: Loader | None, limit: int = MAX_THUMBNAILS) -> None:
        self._load = load
        self._limit = limit
        self._uris: dict[str, str | None] = {}
        self.failed: dict[str, str] = {}
        self.embedded = 0
        self.over_limit = 0

    def uri(self, item: str) -> str | None:
        if item in self._uris:
            return self._uris[item]
        if self._load is None:
            return None
        if self.embedded >= self._limit:
            self._uris[item] = None
            self.over_limit += 1
            return None
        try:
            self._uris[item] = make_thumbnail(self._load(item))
            self.embedded += self._uris[item] is not None
        except Exception as exc:  # a file changed or vanished since the scan: listed, not fatal
            self._uris[item] = None
            self.failed[item] = f"{type(exc).__name__}: {exc}"
        return self._uris[item]


def make_thumbnail(source: "bytes | str | None") -> str | None:
    """A JPEG data URI of the image shrunk to THUMB_SIDE (never enlarged), or None without a source."""
    if source is None:
        return None
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
        im.draft("RGB", (THUMB_SIDE, THUMB_SIDE))     # JPEG: decode at a reduced scale, much faster
        im.seek(0)
        im = _displayable(im)
        im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _displayable(im: Image.Image) -> Image.Image:
    """8-bit RGB or L for JPEG; 16-bit and float images are scaled down to 8 bits for display."""
    if im.mode in ("RGB", "L"):
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 257).convert("L")
    if im.mode == "F":
        return im.convert("L")
    if im.mode in ("RGBA", "LA", "P", "PA"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")
