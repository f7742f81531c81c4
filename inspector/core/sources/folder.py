"""Folders in the layouts of DESIGN section 2 (the walk itself lives in core.layout)."""
from __future__ import annotations

from ..layout import DatasetLayout, discover
from . import storage
from .imagefolder import apply_metadata


def open_folder(path: str, storage_options: dict | None = None) -> DatasetLayout:
    if storage.is_url(path):
        from .url_folder import open_url_folder
        return open_url_folder(path, storage_options)
    layout = discover(path)
    apply_metadata(layout)
    return layout
