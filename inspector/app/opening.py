"""What to open when the user names a file instead of a dataset folder (drop, command line)."""
from __future__ import annotations

import os

from ..core.layout import IMAGE_EXTENSIONS, split_name

# Files that are datasets themselves: manifests, Parquet, tar shards, YOLO data.yaml.
SOURCE_FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet", ".tar", ".tar.gz", ".tgz", ".yaml", ".yml")


def is_source_file(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(SOURCE_FILE_SUFFIXES)


SOURCE_KIND_NAMES = {"folder": "Folder", "manifest": "Manifest", "parquet": "Parquet",
                     "webdataset": "WebDataset shards", "yolo": "YOLO data.yaml"}


def source_text(kind: str, uri: str) -> str:
    """How the window names an opened dataset: its kind, then where it is."""
    return f"{SOURCE_KIND_NAMES.get(kind, kind)}: {uri}"


def openable(path: str) -> bool:
    """A folder, or a file that is a dataset source (what the window can open)."""
    return os.path.isdir(path) or is_source_file(path)


def dataset_folder_of(path: str) -> str:
    """The dataset an image file belongs to: the folder above its split folder (``root`` for
    ``root/train/cat/x.png``, and for YOLO's ``root/images/train/x.jpg``), or the file's own
    folder when no ancestor is a split. Folders and other files are returned unchanged."""
    if not (os.path.isfile(path) and os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS):
        return path
    folder = os.path.dirname(os.path.abspath(path))
    here = folder
    while True:
        parent = os.path.dirname(here)
        if parent == here:
            return folder
        if split_name(os.path.basename(here)):
            return os.path.dirname(parent) if os.path.basename(parent).lower() == "images" else parent
        here = parent
