"""Dataset sources: every kind of dataset the scan reads, as one ``DatasetLayout`` of items.

``open_source(SOURCE)`` recognises the kind (DESIGN section 7) and returns a layout whose items
(``ImageFile``: id, split, label, size, mtime, locator) the scan, leakage check, export and window
use without caring where they came from:

- ``folder``: a folder in the layouts of section 2 (Hugging Face imagefolder metadata included);
- ``manifest``: a ``.csv``/``.tsv``/``.jsonl`` list of files with split and label;
- ``parquet``: Hugging Face datasets Parquet (one file, or a folder of ``data/{split}-*.parquet``);
- ``webdataset``: ``.tar`` (or ``.tar.gz``) shards (one, a folder of them, or a brace pattern);
- ``yolo``: a YOLO ``data.yaml``.

Workers read an item's bytes with ``iter_payloads`` (whole chunks, each container opened once)
and previews with ``read_bytes``. All storage access goes through ``storage`` (local or fsspec).
"""
from __future__ import annotations

import re

from ..layout import DatasetLayout, ImageFile, LayoutError
from . import storage
from .lazy import complete, discovering, iter_chunks, prefetch
from .reader import Payload, ReadError, image_payload, iter_payloads, read_bytes

KINDS = ("folder", "manifest", "parquet", "webdataset", "yolo")
_BRACES = re.compile(r"\{\d+\.\.\d+\}")

__all__ = ["KINDS", "DatasetLayout", "ImageFile", "LayoutError", "Payload", "ReadError", "complete",
           "detect_kind", "discovering", "image_payload", "iter_chunks", "iter_payloads", "open_source", "prefetch",
           "read_bytes", "storage"]


def detect_kind(source: str, storage_options: dict | None = None) -> str:
    """The kind of SOURCE, or LayoutError with what we accept."""
    if _BRACES.search(source):
        return "webdataset"
    try:
        entry = storage.stat(source, storage_options)
    except FileNotFoundError:
        raise LayoutError(f"No such file or folder: {source}") from None
    except OSError as exc:
        raise LayoutError(f"Cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    if entry.is_dir:
        return _folder_kind(source, storage_options)
    lower = source.lower()
    if lower.endswith((".csv", ".tsv", ".jsonl")):
        return "manifest"
    if lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        return "webdataset"
    if lower.endswith((".yaml", ".yml")):
        return "yolo"
    raise LayoutError(f"Not a dataset source: {source} is a file. Open a folder, a manifest "
                      "(.csv, .tsv, .jsonl), a .parquet file, a .tar or .tar.gz shard or a YOLO data.yaml")


def _folder_kind(path: str, storage_options: dict | None) -> str:
    """A folder of Parquet files or tar shards (at the top, in data/ or in split folders), else
    images. A split folder without containers means images: a stray archive beside train/ and
    val/ image folders does not turn the dataset into shards."""
    from ..layout import split_name
    from .webdataset import SHARD_SUFFIXES
    try:
        entries = storage.list_dir(path, storage_options)
    except OSError as exc:
        raise LayoutError(f"Folder is not readable: {path} ({getattr(exc, 'strerror', None) or exc})") from None
    names = [e.name.lower() for e in entries if not e.is_dir]
    for sub in (e for e in entries if e.is_dir and (e.name.lower() == "data" or split_name(e.name))):
        try:
            inside = [e.name.lower() for e in storage.list_dir(sub.path, storage_options) if not e.is_dir]
        except OSError:
            continue
        if sub.name.lower() != "data" and not any(n.endswith((".parquet", *SHARD_SUFFIXES)) for n in inside):
            return "folder"
        names += inside
    if any(n.endswith(".parquet") for n in names):
        return "parquet"
    if any(n.endswith(SHARD_SUFFIXES) for n in names):
        return "webdataset"
    return "folder"


def open_source(source: str, storage_options: dict | None = None) -> DatasetLayout:
    """Recognise SOURCE's kind and open it (lazily for manifests: items arrive as the scan goes)."""
    source = storage.absolute(source) if not _BRACES.search(source) else source
    kind = detect_kind(source, storage_options)
    if kind == "manifest":
        from .manifest import open_manifest
        return open_manifest(source, storage_options)
    if kind == "parquet":
        from .parquet import open_parquet
        return open_parquet(source, storage_options)
    if kind == "webdataset":
        from .webdataset import open_webdataset
        return open_webdataset(source, storage_options)
    if kind == "yolo":
        from .yolo import open_yolo
        return open_yolo(source, storage_options)
    from .folder import open_folder
    return open_folder(source, storage_options)
