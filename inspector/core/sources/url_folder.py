"""Folders behind a URL (``s3://bucket/prefix/``, ``gs://``, ``file://``), in the layouts of DESIGN
section 2, listed through ``storage`` (fsspec) with the same rules as a local folder walk:
split folders and their aliases, YOLO ``images/{split}``, one ``all`` split otherwise; the class
is the first folder below the split; hidden entries and non-image files are listed as skipped;
an unlisted folder is a failure of its split. Object stores have no symbolic links, so the link
rules of the local walk do not arise.

``file://`` URLs are local folders: they get the local walk itself (links, loops, permissions),
and their items are read as plain files.
"""
from __future__ import annotations

import dataclasses
import posixpath
from urllib.parse import unquote, urlparse

from ..layout import (_MAGIC, IMAGE_EXTENSIONS, SPLIT_ORDER, DatasetLayout, ImageFile, LayoutError, Skipped,
                      discover, split_name)
from . import storage


def open_url_folder(url: str, storage_options: dict | None = None) -> DatasetLayout:
    if url.lower().startswith("file://"):
        layout = discover(unquote(urlparse(url).path))
        return dataclasses.replace(layout, uri=url)
    root = url.rstrip("/")
    try:
        top = storage.list_dir(root, storage_options)
    except OSError as exc:
        raise LayoutError(f"Folder is not readable: {url} ({getattr(exc, 'strerror', None) or exc})") from None
    kind, split_dirs, images_dir = _layout_kind(root, top, storage_options)
    layout = DatasetLayout(root=root, kind=kind, splits=[], uri=url, storage_options=storage_options)
    if kind != "flat":
        _skip_beside_splits(layout, top, split_dirs, images_dir, storage_options)
    for split, path in sorted(split_dirs, key=lambda sp: (_order(sp[0]), sp[1])):
        if split not in layout.splits:
            layout.splits.append(split)
        _walk(layout, path, split, storage_options)
    layout.files.sort(key=lambda f: (_order(f.split), f.path))
    layout.skipped.sort(key=lambda s: s.path)
    layout.broken.sort(key=lambda s: s.path)
    return layout


def _order(split: str) -> int:
    return SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)


def _layout_kind(root: str, top: list[storage.Entry], options: dict | None):
    """(kind, [(split, folder URL)], images folder URL or None), as core.layout.discover decides."""
    dirs = [e for e in top if e.is_dir]
    splits = [(split_name(e.name), e.path) for e in dirs if split_name(e.name)]
    if splits:
        return "splits", splits, None
    images = next((e for e in dirs if e.name.lower() == "images"), None)
    if images is not None:
        try:
            below = storage.list_dir(images.path, options)
        except OSError:
            below = []
        yolo = [(split_name(e.name), e.path) for e in below if e.is_dir and split_name(e.name)]
        if yolo:
            return "yolo", yolo, images.path
    return "flat", [("all", root)], None


def _skip_beside_splits(layout: DatasetLayout, top: list[storage.Entry], split_dirs, images_dir,
                        options: dict | None) -> None:
    used = {p for _, p in split_dirs} | ({images_dir} if images_dir else set())
    entries = list(top)
    if images_dir:
        try:
            entries += storage.list_dir(images_dir, options)
        except OSError:
            pass
    for e in entries:
        if e.path not in used:
            reason = "hidden entry" if e.name.startswith(".") else "outside the split folders; not scanned"
            layout.skipped.append(Skipped(storage.relative(e.path, layout.root), None, reason))


def _walk(layout: DatasetLayout, top: str, split: str, options: dict | None) -> None:
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = storage.list_dir(folder, options)
        except OSError as exc:
            rel = storage.relative(folder, layout.root)
            layout.broken.append(Skipped(rel or ".", split, f"folder cannot be read: {exc}"))
            continue
        for e in entries:
            rel = storage.relative(e.path, layout.root)
            ext = posixpath.splitext(e.name)[1].lower()
            if e.name.startswith("."):
                layout.skipped.append(Skipped(rel, split, "hidden entry"))
            elif e.is_dir:
                stack.append(e.path)
                if ext in IMAGE_EXTENSIONS:
                    layout.skipped.append(Skipped(rel, split, "a folder named like an image file (its contents are scanned)"))
            elif ext not in IMAGE_EXTENSIONS and not _looks_like_image(e.path, options):
                layout.skipped.append(Skipped(rel, split, f"not an image file ({ext or 'no extension'})"))
            else:
                below = posixpath.relpath(e.path, top).split("/")
                label = below[0] if len(below) > 1 else None
                layout.files.append(ImageFile(rel, e.path, split, label, None, e.size, e.mtime_ns))


def _looks_like_image(url: str, options: dict | None) -> bool:
    """The local walk's content test for files without an image extension (one small read)."""
    try:
        with storage.open_binary(url, options) as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head.startswith(_MAGIC)
