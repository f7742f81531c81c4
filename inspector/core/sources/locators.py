"""Where an item's bytes are inside its container: small picklable values sent to the workers.

An item with ``locator = None`` is a plain file at ``ImageFile.abspath``; otherwise ``abspath`` is
the container (a tar shard, a Parquet file) and the locator says where inside it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TarMember:
    """A member of an uncompressed tar shard: its data starts at ``offset`` and is ``size`` bytes."""

    offset: int
    size: int


@dataclass(frozen=True)
class GzTarMember(TarMember):
    """A member of a gzip-compressed tar shard: ``offset`` is in the decompressed stream, which
    can only be read forward (so its chunks are read sequentially, see ``SEQUENTIAL``)."""


@dataclass(frozen=True)
class ParquetRow:
    """Row ``row`` of row group ``row_group``; the image is the ``bytes`` field of struct ``column``."""

    row_group: int
    row: int
    column: str


# Containers where reading an item means decoding everything before it in the container (a gzip
# stream; a Parquet row group, which has no page index to skip to a row): at most this many chunks
# per container, so the rereading stays a small part of the decoding (see lazy.iter_chunks). A
# worker continues a row group where its previous chunk there stopped, so a group is read at most
# once per worker; a compressed shard is read from its start by each of its (two) chunks.
SEQUENTIAL = {"targz": 2, "parquet": 8}


def container_key(locator: object, abspath: str) -> tuple | None:
    """Items with the same key are read from one opened container (one tar, one row group)."""
    if isinstance(locator, GzTarMember):
        return ("targz", abspath)
    if isinstance(locator, TarMember):
        return ("tar", abspath)
    if isinstance(locator, ParquetRow):
        return ("parquet", abspath, locator.row_group)
    return None
