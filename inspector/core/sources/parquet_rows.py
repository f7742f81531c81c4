"""Reading the image bytes of some rows of one Parquet row group (the workers' side of ``parquet``).

Only the image struct's ``bytes`` field (and its ``path``, for rows that hold no bytes) is read,
in small record batches streamed page by page, up to the last row the chunk needs: a chunk of
the first rows of a 100 MB row group reads a few megabytes, never the whole group, and memory
stays at one batch. Rows before the first needed one are still decoded by pyarrow (Parquet without
a page index cannot skip to a row), so each thread keeps its last row group open where it
stopped: the next chunk of that group continues from there, and a worker reads a row group at
most once however many of its chunks it gets (``lazy.iter_chunks`` also cuts a group into a few
pieces only). Each image's bytes are sliced straight out of the batch's binary buffer (one copy
into the ``bytes`` the decoder reads, no Python object per cell otherwise).
"""
from __future__ import annotations

import os
import threading
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


class _Stream:
    """One row group being read forward. A worker keeps the last one open between chunks: the
    chunks of a row group come to a worker in row order, so its next chunk there continues
    where the last one stopped instead of decoding the group from its start again."""

    def __init__(self, key: tuple, fh, batches, rows: int) -> None:
        self.key, self.fh, self.batches, self.rows = key, fh, batches, rows
        self.start = self.end = 0  # rows [start, end) are in ``batch``, the last one read
        self.batch = None
        self._cells: _Cells | None = None

    def cells(self) -> _Cells:
        if self._cells is None:  # built only for batches holding a wanted row
            self._cells = _Cells(self.batch)
        return self._cells

    def advance(self) -> bool:
        batch = next(self.batches, None)
        if batch is None:
            return False
        self.batch, self._cells = batch, None
        self.start, self.end = self.end, self.end + batch.num_rows
        return True


_LOCAL = threading.local()  # per thread: the open _Stream (previews in threads never share one)


def release() -> None:
    """Close the row group kept open by this thread (the window calls it after a preview)."""
    stream = getattr(_LOCAL, "stream", None)
    _LOCAL.stream = None
    if stream is not None:
        stream.fh.close()


def read_rows(group: list[ImageFile], storage_options: dict | None,
              plain_read: Callable[[ImageFile], Payload | ReadError]
              ) -> Iterator[tuple[ImageFile, Payload | ReadError]]:
    """(item, bytes) for items of one row group, in their order, or a ReadError for rows that
    cannot be read. ``plain_read(item)`` reads a row's file when the row holds only a path."""
    first: ParquetRow = group[0].locator  # type: ignore[assignment]
    where = f"Parquet row group {first.row_group}"
    pending = list(group)
    try:
        while pending:
            f = pending[0]
            row = f.locator.row  # type: ignore[union-attr]
            stream = _stream_for(f, storage_options)
            while row >= stream.end and stream.advance():
                pass
            if row >= stream.end:
                yield from ((g, ReadError(f"{where} has only {stream.end} rows")) for g in pending)
                return
            payload = _payload(f, stream.cells(), row - stream.start, plain_read)
            pending.pop(0)  # only now: an error above fails this row with the rest
            yield f, payload
            if row == stream.rows - 1:  # the group's last row: nothing more to continue
                release()
    except Exception as exc:  # pyarrow raises OSError, ArrowInvalid, ArrowException... keep the reason
        release()
        reason = ReadError(f"{where} cannot be read: {getattr(exc, 'strerror', None) or exc}")
        yield from ((g, reason) for g in pending)


def _stream_for(item: ImageFile, storage_options: dict | None) -> _Stream:
    """The open stream of this item's row group when it has not gone past the item, else a new one."""
    loc: ParquetRow = item.locator  # type: ignore[assignment]
    key = (item.abspath, item.size, item.mtime_ns, loc.row_group, loc.column)
    stream = getattr(_LOCAL, "stream", None)
    if stream is not None and stream.key == key and stream.start <= loc.row:
        return stream
    release()
    fh = storage.open_binary(item.abspath, storage_options)
    try:
        pf = _parquet_file(fh, item)
        batches = _batches(pf, loc)
        stream = _Stream(key, fh, batches, pf.metadata.row_group(loc.row_group).num_rows)
    except BaseException:
        fh.close()
        raise
    _LOCAL.stream = stream
    return stream


def _parquet_file(fh, item: ImageFile):
    import pyarrow.parquet as pq

    key = (item.abspath, item.size, item.mtime_ns)
    meta = _FOOTERS.get(key)
    pf = pq.ParquetFile(fh, metadata=meta, pre_buffer=False, buffer_size=BUFFER_BYTES)
    if meta is None:
        _FOOTERS[key] = pf.metadata
        while len(_FOOTERS) > _FOOTERS_KEPT:
            _FOOTERS.popitem(last=False)
    return pf


def _batches(pf, loc: ParquetRow):
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
