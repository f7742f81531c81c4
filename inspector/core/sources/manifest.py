"""Manifests: a CSV/TSV/JSONL file listing image files with their split and label (DESIGN section 7).

CSV/TSV need a header naming a path column (``path``, ``file``, ``filename``, ``file_name``,
``image``...) and usually ``split``, optionally ``label`` (or ``class``...). Paths are relative to
the manifest's folder unless absolute. Rows are read lazily in batches, so a million-row manifest
starts scanning at once. Bad rows are listed with their line and the reason; the rest is scanned:
- a malformed row (wrong field count, invalid JSON, no path) and an unknown split value: failures
  with the path ``MANIFEST:LINE``;
- a missing file: a failure of its split;
- the same file listed twice in one split: scanned once, the repeat listed; listed in two splits:
  scanned in both, so the leakage check reports the pair as an ``exact`` finding.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator

from ..layout import DatasetLayout, ImageFile, LayoutError, Skipped, display_name, split_name
from . import storage
from .common import IMAGE_SUFFIXES, KNOWN_SPLITS, in_batches, note_split

PATH_COLUMNS = ("path", "file", "filename", "file_name", "image", "image_path", "filepath", "file_path")
SPLIT_COLUMNS = ("split", "subset", "set", "partition")
LABEL_COLUMNS = ("label", "class", "class_name", "category", "target", "labels")
MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl")
BATCH = 1000  # rows per discovery batch

Record = dict[str, str] | str  # a row's cells by lower-cased column name, or why the row is bad


def open_manifest(path: str, storage_options: dict | None = None) -> DatasetLayout:
    path = storage.absolute(path)
    name = storage.basename(path)
    fh = _open_text(path, storage_options)
    records = read_records(fh, path)
    first = next(records, None)
    columns = _columns(first, name)
    root = storage.parent(path)
    layout = DatasetLayout(root=root, kind="splits" if columns["split"] else "flat", splits=[],
                           source_kind="manifest", uri=path, storage_options=storage_options)
    if not columns["split"]:
        layout.splits.append("all")
    layout.pending = _batches(layout, _chain(first, records), columns, name)
    return layout


def _open_text(path: str, storage_options: dict | None) -> io.TextIOBase:
    try:
        raw = storage.open_binary(path, storage_options)
    except OSError as exc:
        raise LayoutError(f"Cannot open the manifest {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def _chain(first, rest):
    yield first
    yield from rest


def read_records(fh: io.TextIOBase, path: str) -> Iterator[tuple[int, Record]]:
    """(line number, record) for every row of a CSV/TSV/JSONL file.

    CSV/TSV first yield the header as a record ``{"__header__": names joined by NUL}``; a file
    whose first row already names an image file has no header and gets ``path, split, label``."""
    if path.lower().endswith(".jsonl"):
        yield from _jsonl(fh)
    else:
        yield from _csv(fh, "\t" if path.lower().endswith(".tsv") else ",")


def _jsonl(fh) -> Iterator[tuple[int, Record]]:
    for line_no, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, f"malformed row: invalid JSON ({exc.msg} at column {exc.colno})"
            continue
        if not isinstance(obj, dict):
            yield line_no, f"malformed row: a JSON {type(obj).__name__}, not an object"
            continue
        yield line_no, {str(k).strip().lower(): "" if v is None else str(v) for k, v in obj.items()}


def _csv(fh, delimiter: str) -> Iterator[tuple[int, Record]]:
    reader = csv.reader(fh, delimiter=delimiter)
    header: list[str] | None = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, f"malformed row: {exc}"
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        if header is None:
            if row[0].strip().lower().endswith(IMAGE_SUFFIXES):  # no header: path, split, label
                header = ["path", "split", "label"][:len(row)]
                yield reader.line_num, {"__header__": "\0".join(header)}
            else:
                header = [cell.strip().lower() for cell in row]
                yield reader.line_num, {"__header__": "\0".join(header)}
                continue
        if len(row) != len(header):
            yield reader.line_num, f"malformed row: {len(row)} fields where the header has {len(header)}"
            continue
        yield reader.line_num, dict(zip(header, row))


def _columns(first: tuple[int, Record] | None, name: str) -> dict[str, str | None]:
    """The path/split/label column names, from the CSV header or the first JSONL record."""
    if first is None:
        raise LayoutError(f"The manifest {name} is empty")
    line, record = first
    if isinstance(record, str):
        raise LayoutError(f"The manifest {name} cannot be read: line {line}: {record}")
    keys = record["__header__"].split("\0") if "__header__" in record else list(record)
    found = {role: next((c for c in aliases if c in keys), None)
             for role, aliases in (("path", PATH_COLUMNS), ("split", SPLIT_COLUMNS), ("label", LABEL_COLUMNS))}
    if found["path"] is None:
        raise LayoutError(
            f"The manifest {name} names no path column (columns: {', '.join(keys) or 'none'}); "
            f"expected one of {', '.join(PATH_COLUMNS)}, with split and optionally label columns")
    return found


def _batches(layout: DatasetLayout, rows: Iterator[tuple[int, Record]], columns: dict[str, str | None],
             name: str) -> Iterator[list[ImageFile]]:
    first_seen: dict[tuple[str, str], int] = {}  # (file, split) -> line, to spot repeated rows
    yield from in_batches((_item(layout, line, record, columns, name, first_seen) for line, record in rows
                           if not (isinstance(record, dict) and "__header__" in record)), BATCH)

def _item(layout: DatasetLayout, line: int, record: Record, columns: dict[str, str | None], name: str,
          first_seen: dict[tuple[str, str], int]) -> ImageFile | None:
    where = f"{name}:{line}"
    if isinstance(record, str):
        layout.broken.append(Skipped(where, None, record))
        return None
    value = record.get(columns["path"] or "", "").strip()
    if not value:
        layout.broken.append(Skipped(where, None, f"malformed row: the {columns['path']} column is empty"))
        return None
    split = "all"
    if columns["split"]:
        raw = record.get(columns["split"], "").strip()
        split = split_name(raw) or ""
        if not split:
            layout.broken.append(Skipped(where, None, f"unknown split value {raw!r} for {value} "
                                                      f"(expected {KNOWN_SPLITS}); row not scanned"))
            return None
    note_split(layout, split)
    abspath = _resolve(layout.root, value)
    rel, repaired = display_name(storage.relative(abspath, layout.root))
    earlier = first_seen.setdefault((abspath, split), line)
    if earlier != line:
        layout.broken.append(Skipped(where, None, f"{rel} is listed again in split {split} "
                                                  f"(first at line {earlier}); scanned once"))
        return None
    try:
        st = storage.stat(abspath, layout.storage_options)
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else (getattr(exc, "strerror", None) or str(exc))
        layout.broken.append(Skipped(rel, split, f"listed in {name} (line {line}) but cannot be read: {reason}"))
        return None
    if st.is_dir:
        layout.broken.append(Skipped(rel, split, f"listed in {name} (line {line}) but it is a folder"))
        return None
    label = (record.get(columns["label"] or "", "") or "").strip() or None
    note = "file name is not valid UTF-8; shown with replacement characters" if repaired else None
    return ImageFile(rel, abspath, split, label, note, st.size, st.mtime_ns)


def _resolve(root: str, value: str) -> str:
    if storage.is_url(value):
        return value
    if storage.is_url(root):
        return storage.join(root, value.lstrip("/"))
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(root, value))
