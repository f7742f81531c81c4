"""What to open when the user names a file instead of a dataset folder (drop, command line)."""
from __future__ import annotations

import os

from ..core.layout import IMAGE_EXTENSIONS, split_name


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
