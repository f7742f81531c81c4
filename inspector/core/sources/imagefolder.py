"""Hugging Face imagefolder metadata: ``metadata.csv``/``metadata.jsonl`` next to the images.

Its ``file_name`` column names images relative to the metadata file's folder; a label column
(``label``, ``class``...) gives their labels, replacing the class read off the folder names.
The metadata file itself is listed as skipped with that explanation, not as an unknown file.
"""
from __future__ import annotations

import dataclasses
import os

from ..layout import DatasetLayout, Skipped
from .manifest import LABEL_COLUMNS, PATH_COLUMNS, read_records

METADATA_NAMES = ("metadata.csv", "metadata.jsonl")


def apply_metadata(layout: DatasetLayout) -> None:
    """Read every imagefolder metadata file of a discovered folder layout into its labels."""
    labels: dict[str, str] = {}
    for k, entry in enumerate(layout.skipped):
        if os.path.basename(entry.path).lower() not in METADATA_NAMES:
            continue
        path = os.path.join(layout.root, *entry.path.split("/"))
        found, reason = _read(path)
        labels.update(found)
        layout.skipped[k] = Skipped(entry.path, entry.split, reason)
    if labels:
        layout.files = [dataclasses.replace(f, label=labels[os.path.normpath(f.abspath)])
                        if os.path.normpath(f.abspath) in labels else f for f in layout.files]


def _read(path: str) -> tuple[dict[str, str], str]:
    folder = os.path.dirname(path)
    labels: dict[str, str] = {}
    columns: tuple[str | None, str | None] = (None, None)
    bad = 0
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            for _, record in read_records(fh, path):
                if isinstance(record, str):
                    bad += 1
                    continue
                if "__header__" in record or columns == (None, None):
                    keys = record["__header__"].split("\0") if "__header__" in record else list(record)
                    columns = (next((c for c in PATH_COLUMNS if c in keys), None),
                               next((c for c in LABEL_COLUMNS if c in keys), None))
                    if "__header__" in record:
                        continue
                name_col, label_col = columns
                if name_col is None or label_col is None:
                    break
                name, label = record.get(name_col, "").strip(), record.get(label_col, "").strip()
                if name and label:
                    labels[os.path.normpath(os.path.join(folder, name))] = label
    except OSError as exc:
        return {}, f"Hugging Face imagefolder metadata that cannot be read: {exc.strerror or exc}"
    if columns[0] is None or columns[1] is None:
        return {}, "Hugging Face imagefolder metadata without file_name and label columns; labels from folders"
    note = f" ({bad} malformed rows ignored)" if bad else ""
    return labels, f"Hugging Face imagefolder metadata: labels of {len(labels)} images read from it{note}"
