"""Reading items' encoded bytes: the one way workers (and previews) get at an item's data.

``iter_payloads`` walks a chunk of items and opens each container once for the consecutive items
that live in it: a chunk of tar members costs one open and one seek per member; a compressed
shard is decompressed once, forward, up to its last member in the chunk; a chunk of Parquet rows
streams only the image column of its row group, up to its last row, continuing where the
worker's previous chunk of that group stopped (``parquet_rows``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import groupby

from ..file_list import FileList
from ..layout import ImageFile
from . import storage
from .common import Payload, ReadError
from .locators import TarMember, container_key
from .parquet_rows import read_rows, release

__all__ = ["Payload", "ReadError", "image_payload", "iter_payloads", "read_bytes"]


def iter_payloads(items: Iterable[ImageFile], storage_options: dict | None = None
                  ) -> Iterator[tuple[ImageFile, Payload | ReadError]]:
    """Each item with its payload (path or bytes), or the ReadError saying why there is none."""
    for key, group in groupby(items, key=lambda f: container_key(f.locator, f.abspath)):
        group = list(group)
        if key is None:
            for f in group:
                yield f, _plain(f, storage_options)
        elif key[0] == "parquet":
            yield from read_rows(group, storage_options, lambda f: _plain(f, storage_options))
        else:
            yield from _tar_members(group, storage_options, compressed=key[0] == "targz")


def read_bytes(item: ImageFile, storage_options: dict | None = None) -> bytes:
    """The encoded bytes of one item (for previews); raises ReadError."""
    (_, payload), = iter_payloads([item], storage_options)
    release()  # a preview keeps no Parquet row group open in the window's process
    if isinstance(payload, ReadError):
        raise payload
    if isinstance(payload, str):
        try:
            with open(payload, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise ReadError(f"cannot read the file: {exc.strerror or exc}") from None
    return payload


def image_payload(result, path: str) -> Payload:
    """What ``decode`` needs to show the image with id ``path`` of a finished scan again: its
    local path, or its bytes read from the container or URL (raises ReadError)."""
    item = _item_of(result.items, path)
    if item is None:  # a failed file, or a result made without items: a file under the root
        return os.path.join(result.root, *path.split("/"))
    if item.locator is None and not storage.is_url(item.abspath):
        return item.abspath
    return read_bytes(item, result.storage_options)


def _item_of(items, path: str) -> ImageFile | None:
    """The item with id ``path``: a search of the path column (no index of a million entries)."""
    if isinstance(items, FileList):
        try:
            return items[items.index_of(path)]
        except ValueError:
            return None
    return next((f for f in items if f.path == path), None)


def _plain(f: ImageFile, storage_options: dict | None) -> Payload | ReadError:
    if not storage.is_url(f.abspath):
        return f.abspath  # decode opens local files itself: no extra copy, same speed as before
    try:
        with storage.open_binary(f.abspath, storage_options) as fh:
            return fh.read()
    except OSError as exc:
        return ReadError(f"cannot read {f.abspath}: {exc}")


def _tar_members(group: list[ImageFile], storage_options: dict | None, compressed: bool):
    """Members by offset: a seek each in a plain tar; in a gzip-compressed shard the stream is
    decompressed forward to each offset (items come in shard order, so never backwards)."""
    import gzip
    import zlib

    try:
        fh = storage.open_binary(group[0].abspath, storage_options)
    except OSError as exc:
        reason = ReadError(f"cannot open the tar shard: {getattr(exc, 'strerror', None) or exc}")
        for f in group:
            yield f, reason
        return
    with fh:
        stream = gzip.GzipFile(fileobj=fh, mode="rb") if compressed else fh
        for k, f in enumerate(group):
            loc: TarMember = f.locator  # type: ignore[assignment]
            try:
                stream.seek(loc.offset)
                data = stream.read(loc.size)
            except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
                if not compressed:
                    yield f, ReadError(f"cannot read the tar member: {exc}")
                    continue
                reason = ReadError(f"the compressed shard cannot be read past this point: {exc}")
                yield from ((g, reason) for g in group[k:])  # a gzip stream cannot resume after damage
                return
            if len(data) < loc.size:
                yield f, ReadError(f"truncated tar member: {len(data):,} of {loc.size:,} bytes in the shard")
            else:
                yield f, data
