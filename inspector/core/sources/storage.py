"""The one place where sources touch storage: open, list and stat a path.

A local path goes through plain ``os`` calls (fast, no dependency). A path with a URL scheme
(``s3://``, ``gs://``, ``file://``, ...) goes through fsspec, imported only then, with the
``storage_options`` the user gave (``endpoint_url``, ``anon``, ...). Every function takes the
same ``storage_options`` argument so a remote filesystem is built the same way in the parent
and in the worker processes (fsspec caches filesystem instances per options).

To support a new storage, extend ``_fs``; nothing else in the sources needs to change.
"""
from __future__ import annotations

import os
import posixpath
import re
import stat as stat_module
from dataclasses import dataclass
from typing import IO, Any

# "s3://", "gs://", "file://", "memory://"...; a Windows drive ("C:\\") is not a scheme.
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")


@dataclass(frozen=True)
class Entry:
    """One listed entry: ``path`` is the full path (or URL), ``name`` its last component."""

    name: str
    path: str
    is_dir: bool
    size: int = 0
    mtime_ns: int = 0


def is_url(path: str) -> bool:
    return bool(_SCHEME.match(path))


def _fs(path: str, storage_options: dict | None) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URL. Imported lazily: local scans never load it."""
    import fsspec

    fs, inner = fsspec.core.url_to_fs(path, **(storage_options or {}))
    return fs, inner


def _unstrip(url: str, inner: str) -> str:
    """fsspec returns paths without the scheme; put it back so items stay full URLs."""
    scheme = _SCHEME.match(url)
    if scheme is None or _SCHEME.match(inner):
        return inner
    return f"{scheme.group(1)}://{inner.lstrip('/') if scheme.group(1) != 'file' else inner}"


def join(base: str, *parts: str) -> str:
    if is_url(base):
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def parent(path: str) -> str:
    if is_url(path):
        return posixpath.dirname(path.rstrip("/"))
    return os.path.dirname(path)


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) if is_url(path) else os.path.basename(path)


def absolute(path: str) -> str:
    return path if is_url(path) else os.path.abspath(os.path.expanduser(path))


def relative(path: str, root: str) -> str:
    """``path`` relative to ``root`` with ``/`` separators (the item id of DESIGN section 7)."""
    if is_url(path):
        return posixpath.relpath(path, root) if path.startswith(root.rstrip("/") + "/") else path
    # A file outside the root (an absolute manifest entry) gets a ../ id: ids are never absolute.
    return os.path.relpath(path, root).replace(os.sep, "/")


def open_binary(path: str, storage_options: dict | None = None) -> IO[bytes]:
    if is_url(path):
        fs, inner = _fs(path, storage_options)
        return fs.open(inner, "rb")
    return open(path, "rb")


def stat(path: str, storage_options: dict | None = None) -> Entry:
    """Size, mtime and kind of one path; raises FileNotFoundError (or another OSError)."""
    if is_url(path):
        fs, inner = _fs(path, storage_options)
        info = fs.info(inner)
        return _entry(path, info)
    st = os.stat(path)
    return Entry(os.path.basename(path), path, stat_module.S_ISDIR(st.st_mode), st.st_size, st.st_mtime_ns)


def is_dir(path: str, storage_options: dict | None = None) -> bool:
    try:
        return stat(path, storage_options).is_dir
    except OSError:
        return False


def exists(path: str, storage_options: dict | None = None) -> bool:
    try:
        stat(path, storage_options)
        return True
    except OSError:
        return False


def list_dir(path: str, storage_options: dict | None = None) -> list[Entry]:
    """The entries of one folder, sorted by name (hidden ones included; callers decide)."""
    if is_url(path):
        fs, inner = _fs(path, storage_options)
        return sorted((_entry(_unstrip(path, d["name"]), d) for d in fs.ls(inner, detail=True)),
                      key=lambda e: e.name)
    out = []
    with os.scandir(path) as it:
        for e in it:
            try:
                st = e.stat()
            except OSError:
                continue
            out.append(Entry(e.name, e.path, stat_module.S_ISDIR(st.st_mode), st.st_size, st.st_mtime_ns))
    return sorted(out, key=lambda e: e.name)


def _entry(path: str, info: dict) -> Entry:
    mtime = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
    if hasattr(mtime, "timestamp"):
        mtime = mtime.timestamp()
    return Entry(posixpath.basename(path.rstrip("/")), path.rstrip("/"), info.get("type") == "directory",
                 int(info.get("size") or 0), int(float(mtime) * 1e9))
