"""YOLO ``data.yaml`` (Ultralytics style): ``path``, ``train``/``val``/``test`` and ``names``.

Each split entry is a folder of images (walked recursively), a ``.txt`` list of image paths, or a
list of those. Relative entries are resolved against ``path`` (itself relative to the YAML's
folder), list-file lines starting with ``./`` against the list's folder. Detection images carry
many objects, so items have no single class (``names`` are the box classes, not image labels).
Item ids are relative to the dataset root (``path``), as a folder scan of that root gives them.
"""
from __future__ import annotations

import os

from ..layout import DatasetLayout, ImageFile, LayoutError, Skipped, display_name, split_name
from . import storage
from .common import IMAGE_SUFFIXES, order_splits


def open_yolo(source: str, storage_options: dict | None = None) -> DatasetLayout:
    if storage.is_url(source):
        raise LayoutError(f"YOLO data.yaml behind a URL is not read: {source}")
    config = _load(source)
    folder = os.path.dirname(source)
    root = os.path.normpath(os.path.join(folder, str(config.get("path") or ".")))
    layout = DatasetLayout(root=root, kind="yolo", splits=[], source_kind="yolo", uri=source)
    entries = [(key, config[key]) for key in config if split_name(str(key)) and config[key]]
    if not entries:
        raise LayoutError(f"{source} names no split (train, val or test entries)")
    seen: set[tuple[str, str]] = set()
    for key, value in entries:
        split = split_name(str(key)) or "all"
        if split not in layout.splits:
            layout.splits.append(split)
        for entry in value if isinstance(value, list) else [value]:
            _add_entry(layout, split, os.path.normpath(os.path.join(root, str(entry))), seen)
    order_splits(layout)
    return layout


def _load(source: str) -> dict:
    import yaml

    try:
        with open(source, encoding="utf-8") as fh:
            config = yaml.safe_load(fh)
    except OSError as exc:
        raise LayoutError(f"Cannot read {source}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise LayoutError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise LayoutError(f"{source} is not a YOLO data.yaml (expected a mapping with train/val/names)")
    return config


def _add_entry(layout: DatasetLayout, split: str, path: str, seen: set[tuple[str, str]]) -> None:
    rel = display_name(storage.relative(path, layout.root))[0]
    if os.path.isdir(path):
        paths = sorted(os.path.join(d, n) for d, _, names in os.walk(path, followlinks=False) for n in names)
        for p in paths:
            if p.lower().endswith(IMAGE_SUFFIXES):
                _add_file(layout, split, p, seen, f"in {rel}")
            elif not os.path.basename(p).startswith("."):
                layout.skipped.append(Skipped(display_name(storage.relative(p, layout.root))[0], split,
                                              f"not an image file ({os.path.splitext(p)[1] or 'no extension'})"))
    elif path.lower().endswith(".txt") and os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [line.strip() for line in fh if line.strip()]
        base = os.path.dirname(path)
        for line in lines:
            target = os.path.join(base, line[2:]) if line.startswith("./") else os.path.join(layout.root, line)
            _add_file(layout, split, os.path.normpath(target), seen, f"listed in {rel}")
    elif os.path.isfile(path):
        _add_file(layout, split, path, seen, "named in the YAML")
    else:
        layout.broken.append(Skipped(rel, split, "named in the YOLO data.yaml but does not exist"))


def _add_file(layout: DatasetLayout, split: str, path: str, seen: set[tuple[str, str]], where: str) -> None:
    rel, repaired = display_name(storage.relative(path, layout.root))
    if (path, split) in seen:
        return
    seen.add((path, split))
    try:
        st = os.stat(path)
    except OSError as exc:
        layout.broken.append(Skipped(rel, split, f"{where} but cannot be read: {exc.strerror or exc}"))
        return
    note = "file name is not valid UTF-8; shown with replacement characters" if repaired else None
    layout.files.append(ImageFile(rel, path, split, None, note, st.st_size, st.st_mtime_ns))
