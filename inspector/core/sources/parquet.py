"""Hugging Face datasets Parquet: a ``.parquet`` file, or a folder of them (DESIGN section 7).

Folders: ``data/{split}-NNNNN-of-NNNNN.parquet`` (the hub layout), ``{split}/*.parquet`` or
``*.parquet`` at the top. The image column is the ``datasets`` Image feature, a struct
``{bytes, path}``; the label column is ``label`` (or an alias), with ClassLabel names read from
the schema's ``huggingface`` metadata. Only the small footer and the label column are read
while listing; a worker reads the image bytes of one row group per chunk. Item ids are
``FILE.parquet#ROW``. A file whose footer is unreadable is listed as broken; a corrupt row group
fails its rows with the reason, the rest is scanned.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

from ..layout import DatasetLayout, ImageFile, LayoutError, Skipped, display_name
from . import storage
from .common import note_split, split_from_name, split_rank
from .locators import ParquetRow
from .manifest import LABEL_COLUMNS


def open_parquet(source: str, storage_options: dict | None = None) -> DatasetLayout:
    if storage.is_dir(source, storage_options):
        root, files = source, _files_in(source, storage_options)
        if not files:
            raise LayoutError(f"No .parquet files in {source} (looked at the top, in data/ and in split folders)")
    else:
        root, files = storage.parent(source), [source]
    layout = DatasetLayout(root=root, kind="splits", splits=[], source_kind="parquet", uri=source,
                           storage_options=storage_options)
    files.sort(key=lambda f: (split_rank(_split_of(f, root)), f))
    layout.pending = _batches(layout, files)
    return layout


def _files_in(folder: str, storage_options: dict | None) -> list[str]:
    found: list[str] = []
    for entry in storage.list_dir(folder, storage_options):
        if entry.is_dir and (entry.name.lower() == "data" or split_from_name(entry.name)):
            found += [e.path for e in storage.list_dir(entry.path, storage_options)
                      if not e.is_dir and e.name.lower().endswith(".parquet")]
            if entry.name.lower() == "data":  # data/{split}/*.parquet
                for sub in storage.list_dir(entry.path, storage_options):
                    if sub.is_dir and split_from_name(sub.name):
                        found += [e.path for e in storage.list_dir(sub.path, storage_options)
                                  if not e.is_dir and e.name.lower().endswith(".parquet")]
        elif not entry.is_dir and entry.name.lower().endswith(".parquet"):
            found.append(entry.path)
    return sorted(found)


def _split_of(path: str, root: str) -> str:
    """From the file name (``train-00000-of-00002``), else from its folder, else ``all``."""
    name_split = split_from_name(storage.basename(path))
    if name_split:
        return name_split
    rel = storage.relative(path, root).split("/")
    for part in reversed(rel[:-1]):
        if split_from_name(part):
            return split_from_name(part) or "all"
    return "all"


def _batches(layout: DatasetLayout, files: list[str]) -> Iterator[list[ImageFile]]:
    import pyarrow.parquet as pq

    for path in files:
        rel, _ = display_name(storage.relative(path, layout.root))
        split = _split_of(path, layout.root)
        try:
            st = storage.stat(path, layout.storage_options)
            with storage.open_binary(path, layout.storage_options) as fh:
                pf = pq.ParquetFile(fh)
                image_col, label_col, names = _columns(pf.schema_arrow)
                note_split(layout, split)
                if image_col is None:
                    layout.broken.append(Skipped(rel, split, "no image column (a struct with a bytes field, "
                                                             "as the datasets Image feature writes)"))
                    continue
                start = 0
                for g in range(pf.metadata.num_row_groups):
                    rows = pf.metadata.row_group(g).num_rows
                    labels = _labels(pf, g, label_col, names, rows)
                    yield [ImageFile(f"{rel}#{start + r}", path, split, labels[r], None, st.size, st.mtime_ns,
                                     ParquetRow(g, r, image_col)) for r in range(rows)]
                    start += rows
        except Exception as exc:  # an unreadable footer or file: list it, scan the other files
            layout.broken.append(Skipped(rel, split, f"cannot read this Parquet file: {exc}"))
    if layout.splits == ["all"]:
        layout.kind = "flat"


def _columns(schema) -> tuple[str | None, str | None, list[str] | None]:
    """(image struct column, label column, ClassLabel names) of a datasets Parquet schema."""
    import pyarrow as pa

    features = {}
    meta = schema.metadata or {}
    if b"huggingface" in meta:
        try:
            features = json.loads(meta[b"huggingface"]).get("info", {}).get("features", {}) or {}
        except (ValueError, AttributeError):
            features = {}
    structs = [f.name for f in schema if pa.types.is_struct(f.type) and f.type.get_field_index("bytes") >= 0]
    declared = [n for n in structs if isinstance(features.get(n), dict) and features[n].get("_type") == "Image"]
    image = (declared or structs or [None])[0]
    label = next((c for c in LABEL_COLUMNS if c in schema.names), None)
    names = None
    if label and isinstance(features.get(label), dict) and features[label].get("_type") == "ClassLabel":
        names = features[label].get("names")
    return image, label, names


def _labels(pf, group: int, column: str | None, names: list[str] | None, rows: int) -> list[str | None]:
    if column is None:
        return [None] * rows
    try:
        values = pf.read_row_group(group, columns=[column]).column(0).to_pylist()
    except Exception:  # a corrupt row group: its rows fail in the worker, with the reason
        return [None] * rows
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, int) and v < 0):  # -1: ClassLabel's "no label"
            out.append(None)
        elif names is not None and isinstance(v, int) and v < len(names):
            out.append(str(names[v]))
        else:
            out.append(str(v))
    return out + [None] * (rows - len(out))
