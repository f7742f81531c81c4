"""Folders in the layouts of DESIGN section 2 (the walk itself lives in core.layout)."""
from __future__ import annotations

from ..layout import DatasetLayout, LayoutError, discover
from . import storage
from .imagefolder import apply_metadata


def open_folder(path: str, storage_options: dict | None = None) -> DatasetLayout:
    if storage.is_url(path):
        raise LayoutError(f"Folders behind a URL are not read yet: {path}; "
                          "give a manifest, Parquet files or tar shards at that URL")
    layout = discover(path)
    apply_metadata(layout)
    return layout
