"""Reading items' encoded bytes: the one way workers (and previews) get at an item's data.

``iter_payloads`` walks a chunk of items and opens each container once for the consecutive items
that live in it (one tar shard, one Parquet row group), so a chunk of tar members costs one open
and one seek per member, and a chunk of Parquet rows one row-group read.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import groupby

from ..layout import ImageFile
from . import storage
from .locators import ParquetRow, TarMember, container_key

Payload = str | bytes  # a local path that ``decode`` opens itself, or the encoded bytes


class ReadError(Exception):
    """The item's bytes cannot be read; ``str(exc)`` is the reason listed as its failure."""


def iter_payloads(items: Iterable[ImageFile], storage_options: dict | None = None
                  ) -> Iterator[tuple[ImageFile, Payload | ReadError]]:
    """Each item with its payload (path or bytes), or the ReadError saying why there is none."""
    for key, group in groupby(items, key=lambda f: container_key(f.locator, f.abspath)):
        group = list(group)
        if key is None:
            for f in group:
                yield f, _plain(f, storage_options)
        elif key[0] == "tar":
            yield from _tar_members(group, storage_options)
        else:
            yield from _parquet_rows(group, storage_options)


def read_bytes(item: ImageFile, storage_options: dict | None = None) -> bytes:
    """The encoded bytes of one item (for previews); raises ReadError."""
    (_, payload), = iter_payloads([item], storage_options)
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
    index = result.extra.get("_item_index")
    if index is None:  # built once per result, on first use (the window's previews)
        index = result.extra["_item_index"] = {f.path: f for f in result.items}
    item = index.get(path)
    if item is None:  # a failed file, or a result made without items: a file under the root
        return os.path.join(result.root, *path.split("/"))
    if item.locator is None and not storage.is_url(item.abspath):
        return item.abspath
    return read_bytes(item, result.storage_options)


def _plain(f: ImageFile, storage_options: dict | None) -> Payload | ReadError:
    if not storage.is_url(f.abspath):
        return f.abspath  # decode opens local files itself: no extra copy, same speed as before
    try:
        with storage.open_binary(f.abspath, storage_options) as fh:
            return fh.read()
    except OSError as exc:
        return ReadError(f"cannot read {f.abspath}: {exc}")


def _tar_members(group: list[ImageFile], storage_options: dict | None):
    try:
        fh = storage.open_binary(group[0].abspath, storage_options)
    except OSError as exc:
        reason = ReadError(f"cannot open the tar shard: {getattr(exc, 'strerror', None) or exc}")
        for f in group:
            yield f, reason
        return
    with fh:
        for f in group:
            loc: TarMember = f.locator  # type: ignore[assignment]
            try:
                fh.seek(loc.offset)
                data = fh.read(loc.size)
            except OSError as exc:
                yield f, ReadError(f"cannot read the tar member: {exc}")
                continue
            if len(data) < loc.size:
                yield f, ReadError(f"truncated tar member: {len(data):,} of {loc.size:,} bytes in the shard")
            else:
                yield f, data


def _parquet_rows(group: list[ImageFile], storage_options: dict | None):
    import pyarrow.parquet as pq

    first: ParquetRow = group[0].locator  # type: ignore[assignment]
    try:
        with storage.open_binary(group[0].abspath, storage_options) as fh:
            table = pq.ParquetFile(fh).read_row_group(first.row_group, columns=[first.column])
        cells = table.column(0).combine_chunks()
        data = cells.field("bytes")
        paths = cells.field("path") if cells.type.get_field_index("path") >= 0 else None
    except Exception as exc:  # pyarrow raises OSError, ArrowInvalid, ArrowException... keep the reason
        reason = ReadError(f"Parquet row group {first.row_group} cannot be read: {exc}")
        for f in group:
            yield f, reason
        return
    for f in group:
        row = f.locator.row  # type: ignore[union-attr]
        if row >= len(cells):
            yield f, ReadError(f"Parquet row group {first.row_group} has only {len(cells)} rows")
            continue
        value = data[row].as_py()
        if value:
            yield f, value
            continue
        # The datasets Image feature may hold only a path (images not embedded): read that file.
        path = paths[row].as_py() if paths is not None else None
        if not path:
            yield f, ReadError("this row holds no image bytes and no path")
            continue
        target = path if storage.is_url(path) or os.path.isabs(path) else storage.join(storage.parent(f.abspath), path)
        yield f, _plain(ImageFile(f.path, target, f.split, f.label), storage_options)
