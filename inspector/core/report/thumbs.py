"""Thumbnails for the report: each image a finding names is read again (only for this), shrunk to
at most `THUMB_SIDE` pixels and embedded as a JPEG data URI. Bounded: at most `MAX_THUMBNAILS`
distinct pictures per report (about 5 KB each), so 500 findings stay well under 10 MB."""
from __future__ import annotations

import base64
import io
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from ..decode import READ_FORMATS

THUMB_SIDE = 128          # px, longest side; a photo is then about 3-5 KB of JPEG
JPEG_QUALITY = 70
MAX_THUMBNAILS = 1200     # distinct images embedded (about 6 MB); beyond it findings show no pictures
# Threads that read and shrink pictures. More than the cores: a read may wait on storage (an
# object store, a network disk) while another thread decodes, and on a machine busy with other
# work the report gets a share of the cores as large as a scan's. Pillow releases the GIL.
READ_THREADS = 8

Loader = Callable[[str], "bytes | str | None"]   # item id -> encoded bytes, a file path, or None
Identity = Callable[[list[str]], dict[str, Hashable]]  # item ids -> a key shared by identical files


class Thumbnails:
    """Thumbnails by item id, made once per id. Each distinct picture is embedded once, as a CSS class
    (`css()`), however many findings show it; `failed` says why an image has none."""

    def __init__(self, load: Loader | None, limit: int = MAX_THUMBNAILS, identity: Identity | None = None) -> None:
        self._load = load
        self._identity = identity   # exact copies (same content hash) are read and shrunk once
        self._limit = limit
        self._class_of: dict[str, str | None] = {}
        self._by_uri: dict[str, str] = {}        # data URI -> class: exact copies share one picture
        self.failed: dict[str, str] = {}
        self.over_limit = 0

    @property
    def embedded(self) -> int:
        return len(self._by_uri)

    def prefetch(self, items: Iterable[str], threads: int | None = None) -> None:
        """Make the thumbnails of these items now (see `start_prefetch`)."""
        self.start_prefetch(items, threads)()

    def start_prefetch(self, items: Iterable[str], threads: int | None = None) -> Callable[[], None]:
        """Start making the thumbnails of these items (in order, up to the limit) on `READ_THREADS`
        threads and return the call that waits for them: Pillow releases the GIL while it decodes,
        resizes and encodes, so the caller can build the rest of the page meanwhile. No other
        method may be called before that wait."""
        if self._load is None:
            return _nothing
        todo = [i for i in dict.fromkeys(items) if i not in self._class_of][:max(0, self._limit - self.embedded)]
        if len(todo) < 8:
            return _nothing
        keys = self._identity(todo) if self._identity is not None else {}
        first: dict[Hashable, str] = {}   # key -> the item whose thumbnail stands for every file with that content
        for item in todo:
            first.setdefault(keys.get(item, ("item", item)), item)
        unique = list(first.values())
        pool = ThreadPoolExecutor(max_workers=threads or READ_THREADS)
        futures = [pool.submit(self._attempt, item) for item in unique]

        def wait() -> None:
            try:
                made = {item: f.result() for item, f in zip(unique, futures)}
            finally:
                pool.shutdown(cancel_futures=True)
            for item in todo:   # classes numbered in item order: deterministic
                self._store(item, *made[first[keys.get(item, ("item", item))]])
        return wait

    def _attempt(self, item: str) -> tuple[str | None, str | None]:
        try:
            return make_thumbnail(self._load(item)), None
        except Exception as exc:  # a file changed or vanished since the scan: listed, not fatal
            return None, f"{type(exc).__name__}: {exc}"

    def _store(self, item: str, uri: str | None, error: str | None) -> str | None:
        if uri is None:
            self._class_of[item] = None
            self.failed[item] = error or "the source cannot be read again"
            return None
        cls = self._by_uri.setdefault(uri, f"i{len(self._by_uri)}")
        self._class_of[item] = cls
        return cls

    def css_class(self, item: str) -> str | None:
        """The class whose background is this item's thumbnail, or None (see `failed`)."""
        if item in self._class_of:
            return self._class_of[item]
        if self._load is None:
            return None
        if self.embedded >= self._limit:
            self._class_of[item] = None
            self.over_limit += 1
            return None
        return self._store(item, *self._attempt(item))

    def css(self) -> str:
        # .pic.iN outranks the figure's own background rules whatever their order
        return "".join(f'.pic.{cls}{{background-image:url("{uri}")}}' for uri, cls in self._by_uri.items())


def _nothing() -> None:
    return None


def content_identity(paths: Sequence[str], content_hash) -> Identity:
    """`Identity` from a scan's image table (its paths and (n, 2) content hashes): files with the
    same content share one key, so a report shows exact copies without decoding each of them."""
    def identity(items: list[str]) -> dict[str, Hashable]:
        wanted = set(items)
        return {p: ("content", int(content_hash[i, 0]), int(content_hash[i, 1]))
                for i, p in enumerate(paths) if p in wanted}
    return identity


def make_thumbnail(source: "bytes | str | None") -> str | None:
    """A JPEG data URI of the image shrunk to THUMB_SIDE (never enlarged), or None without a source."""
    if source is None:
        return None
    # Only the decoders the scan lists: a file replaced since the scan by, say, an EPS must not
    # make the report start Ghostscript.
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=READ_FORMATS) as im:
        im.draft("RGB", (THUMB_SIDE, THUMB_SIDE))     # JPEG: decode at a reduced scale, much faster
        im.seek(0)
        im = _displayable(im)
        im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=JPEG_QUALITY)
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
