"""Reading the image bytes of some rows of one Parquet row group (the workers' side of ``parquet``).

Only the image struct's ``bytes`` field (and its ``path``, for rows that hold no bytes) is read,
in small record batches streamed page by page, up to the last row the chunk needs: a chunk of
the first rows of a 100 MB row group reads a few megabytes, never the whole group, and memory
stays at one batch. Rows before the first needed one are still decoded by pyarrow (Parquet without
a page index cannot skip to a row), which is why ``lazy.iter_chunks`` cuts a row group into a
few pieces only. Each image's bytes are sliced straight out of the batch's binary buffer (one copy
into the ``bytes`` the decoder reads, no Python object per cell otherwise).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterator

from ..layout import ImageFile
from . import storage
from .common import Payload, ReadError
from .locators import ParquetRow

BATCH_ROWS = 32         # rows per record batch: memory is one batch of images (plus one page)
BUFFER_BYTES = 1 << 20  # stream pages through a 1 MiB buffer instead of loading the column chunk
_FOOTERS: OrderedDict[tuple[str, int, int], object] = OrderedDict()  # per worker: footers parsed
_FOOTERS_KEPT = 16


def read_rows(group: list[ImageFile], storage_options: dict | None,
              plain_read: Callable[[ImageFile], Payload | ReadError]
              ) -> Iterator[tuple[ImageFile, Payload | ReadError]]:
    """(item, bytes) for items of one row group, in their order (ascending rows), or a ReadError
    for rows that cannot be read. ``plain_read(item)`` reads a row's file when the row holds only
    a path."""
    first: ParquetRow = group[0].locator  # type: ignore[assignment]
    where = f"Parquet row group {first.row_group}"
    try:
        fh = storage.open_binary(group[0].abspath, storage_options)
    except OSError as exc:
        reason = ReadError(f"{where} cannot be read: {getattr(exc, 'strerror', None) or exc}")
        yield from ((f, reason) for f in group)
        return
    with fh:
        pending = list(group)
        try:
            batches = _batches(fh, group[0], first)
            start = 0
            while pending:
                batch = next(batches, None)
                if batch is None:
                    break
                end = start + batch.num_rows
                if pending[0].locator.row < end:  # type: ignore[union-attr]
                    cells = _Cells(batch)
                    while pending and pending[0].locator.row < end:  # type: ignore[union-attr]
                        f = pending.pop(0)
                        yield f, _payload(f, cells, f.locator.row - start, plain_read)  # type: ignore[union-attr]
                start = end
        except Exception as exc:  # pyarrow raises OSError, ArrowInvalid, ArrowException... keep the reason
            reason = ReadError(f"{where} cannot be read: {exc}")
            yield from ((f, reason) for f in pending)
            return
        yield from ((f, ReadError(f"{where} has only {start} rows")) for f in pending)


def _batches(fh, item: ImageFile, loc: ParquetRow):
    import pyarrow.parquet as pq

    key = (item.abspath, item.size, item.mtime_ns)
    meta = _FOOTERS.get(key)
    pf = pq.ParquetFile(fh, metadata=meta, pre_buffer=False, buffer_size=BUFFER_BYTES)
    if meta is None:
        _FOOTERS[key] = pf.metadata
        while len(_FOOTERS) > _FOOTERS_KEPT:
            _FOOTERS.popitem(last=False)
    image_type = pf.schema_arrow.field(loc.column).type
    columns = [f"{loc.column}.bytes"] + ([f"{loc.column}.path"] if image_type.get_field_index("path") >= 0 else [])
    # use_threads=False: the scan already runs one worker per core; pyarrow's own threads would
    # only compete with them.
    return pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[loc.row_group], columns=columns, use_threads=False)


class _Cells:
    """The bytes (and paths) of one record batch, read by row without a Python object per row."""

    def __init__(self, batch) -> None:
        import numpy as np
        import pyarrow as pa

        fields = batch.column(0).flatten()  # the struct's fields, its nulls and offset applied
        self.data, self.paths = fields[0], (fields[1] if len(fields) > 1 else None)
        self.nulls = self.data.is_null().to_numpy(zero_copy_only=False) if self.data.null_count else None
        self.offsets = self.buffer = None
        kind = self.data.type
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            _, offsets, data = self.data.buffers()
            width = np.int64 if pa.types.is_large_binary(kind) else np.int32
            first = self.data.offset
            self.offsets = np.frombuffer(offsets, width)[first:first + len(self.data) + 1]
            self.buffer = memoryview(data) if data is not None else memoryview(b"")

    def image(self, i: int) -> bytes | None:
        if self.nulls is not None and self.nulls[i]:
            return None
        if self.offsets is None:  # binary_view and other layouts: the general (slower) path
            return self.data[i].as_py()
        return bytes(self.buffer[self.offsets[i]:self.offsets[i + 1]])

    def path(self, i: int) -> str | None:
        return None if self.paths is None else self.paths[i].as_py()


def _payload(f: ImageFile, cells: _Cells, i: int,
             plain_read: Callable[[ImageFile], Payload | ReadError]) -> Payload | ReadError:
    value = cells.image(i)
    if value:
        return value
    # The datasets Image feature may hold only a path (images not embedded): read that file.
    path = cells.path(i)
    if not path:
        return ReadError("this row holds no image bytes and no path")
    target = path if storage.is_url(path) or os.path.isabs(path) else storage.join(storage.parent(f.abspath), path)
    return plain_read(ImageFile(f.path, target, f.split, f.label))
