"""YOLO ``data.yaml`` (Ultralytics style): ``path``, ``train``/``val``/``test`` and ``names``.

Each split entry is a folder of images (walked recursively), a ``.txt`` list of image paths, or a
list of those. Relative entries are resolved against ``path`` (itself relative to the YAML's
folder, which may be a URL: ``s3://bucket/coco/data.yaml``), list-file lines starting with ``./``
against the list's folder. Item ids are relative to the dataset root (``path``), as a folder scan
of that root gives them.

The class of an image (what class balance, label drift and label conflicts use) is read from its
label file, found as Ultralytics finds it (the last ``/images/`` of the image path replaced by
``/labels/``, the extension by ``.txt``): the class with the most boxes in that file, the lower
class id on a tie, named by ``names`` (a list or a ``{id: name}`` mapping). An image without a
label file, or with an empty one, is ``background``. Per split and class, the boxes and the
images holding at least one are counted as well (``layout.objects``, exported as
``dataset.objects``). Malformed label lines are listed as skipped and left out of the counts.
Discovery is lazy: items (and their label files) are read in batches as the scan goes.
"""
from __future__ import annotations

import os
import posixpath
from collections import Counter
from collections.abc import Iterator

from ..layout import DatasetLayout, ImageFile, LayoutError, Skipped, display_name, split_name
from . import storage
from .common import IMAGE_SUFFIXES, in_batches, order_splits

BACKGROUND = "background"  # the class of an image without boxes
BATCH = 1000               # images per discovery batch


def open_yolo(source: str, storage_options: dict | None = None) -> DatasetLayout:
    config = _load(source, storage_options)
    base = str(config.get("path") or ".")
    if storage.is_url(source) and not storage.is_url(base) and base.startswith("/"):
        raise LayoutError(f"{source} gives a local path ({base}) as its dataset root; a data.yaml behind a "
                          "URL needs path relative to the YAML's folder, or a URL")
    root = _resolve(storage.parent(source), base)
    names = _names(config.get("names"), source)
    entries = [(split_name(str(key)) or "all", config[key]) for key in config if split_name(str(key)) and config[key]]
    if not entries:
        raise LayoutError(f"{source} names no split (train, val or test entries)")
    layout = DatasetLayout(root=root, kind="yolo", splits=[], source_kind="yolo", uri=source,
                           storage_options=storage_options)
    for split, _ in entries:
        if split not in layout.splits:
            layout.splits.append(split)
    order_splits(layout)
    layout.objects = {split: {} for split in layout.splits}
    layout.pending = _batches(layout, entries, names)
    return layout


def _load(source: str, storage_options: dict | None) -> dict:
    import yaml

    try:
        with storage.open_binary(source, storage_options) as fh:
            config = yaml.safe_load(fh.read().decode("utf-8", errors="replace"))
    except OSError as exc:
        raise LayoutError(f"Cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    except yaml.YAMLError as exc:
        raise LayoutError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise LayoutError(f"{source} is not a YOLO data.yaml (expected a mapping with train/val/names)")
    return config


def _names(value: object, source: str) -> dict[int, str]:
    """``names`` as {class id: name}: a list (``[cat, dog]``) or a mapping (``{0: cat, 1: dog}``)."""
    if value is None:
        return {}
    try:
        if isinstance(value, list):
            return {k: str(v) for k, v in enumerate(value)}
        if isinstance(value, dict):
            return {int(k): str(v) for k, v in value.items()}
    except (TypeError, ValueError):
        pass
    raise LayoutError(f"{source}: names must be a list of class names or a mapping of class id to name")


def _resolve(base: str, path: str) -> str:
    """``path`` against folder ``base`` (a local folder or a URL), with ``..`` resolved."""
    if storage.is_url(path):
        return _normalize(path)
    if storage.is_url(base):
        return _normalize(storage.join(base, path.lstrip("/") if path.startswith("/") else path))
    return os.path.normpath(os.path.join(base, path))


def _normalize(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{posixpath.normpath(rest)}"


def _batches(layout: DatasetLayout, entries: list[tuple[str, object]], names: dict[int, str]
             ) -> Iterator[list[ImageFile]]:
    seen: set[tuple[str, str]] = set()
    items = (_item(layout, split, path, where, names, seen)
             for split, value in entries
             for entry in (value if isinstance(value, list) else [value])
             for path, where in _entry_images(layout, split, _resolve(layout.root, str(entry))))
    yield from in_batches(items, BATCH)
    layout.objects = {s: dict(sorted(per.items())) for s, per in (layout.objects or {}).items()}


def _entry_images(layout: DatasetLayout, split: str, path: str) -> Iterator[tuple[str, str]]:
    """(image path, how it was named) for one split entry: a folder, a list file or an image."""
    options = layout.storage_options
    rel = _rel(layout, path)
    try:
        entry = storage.stat(path, options)
    except OSError:
        layout.broken.append(Skipped(rel, split, "named in the YOLO data.yaml but does not exist"))
        return
    if entry.is_dir:
        for p in _walk(path, options):
            if p.lower().endswith(IMAGE_SUFFIXES):
                yield p, f"in {rel}"
            # .txt: label files kept beside their images (the layout without an images/ folder)
            elif not storage.basename(p).startswith(".") and not p.lower().endswith(".txt"):
                layout.skipped.append(Skipped(_rel(layout, p), split,
                                              f"not an image file ({os.path.splitext(p)[1] or 'no extension'})"))
    elif path.lower().endswith(".txt"):
        try:
            with storage.open_binary(path, options) as fh:
                lines = [line.strip() for line in fh.read().decode("utf-8", errors="replace").splitlines()]
        except OSError as exc:
            layout.broken.append(Skipped(rel, split, f"cannot read this list file: {exc}"))
            return
        base = storage.parent(path)
        for line in (x for x in lines if x):
            yield (_resolve(base, line[2:]) if line.startswith("./") else _resolve(layout.root, line)), f"listed in {rel}"
    else:
        yield path, "named in the YAML"


def _walk(folder: str, options: dict | None) -> list[str]:
    """Every file under ``folder``, sorted (symbolic links to folders not followed)."""
    if not storage.is_url(folder):
        return sorted(os.path.join(d, n) for d, _, names in os.walk(folder, followlinks=False) for n in names)
    out: list[str] = []
    for e in storage.list_dir(folder, options):
        out += _walk(e.path, options) if e.is_dir else [e.path]
    return sorted(out)


def _rel(layout: DatasetLayout, path: str) -> str:
    return display_name(storage.relative(path, layout.root))[0]


def _item(layout: DatasetLayout, split: str, path: str, where: str, names: dict[int, str],
          seen: set[tuple[str, str]]) -> ImageFile | None:
    rel, repaired = display_name(storage.relative(path, layout.root))
    if (path, split) in seen:
        return None
    seen.add((path, split))
    try:
        st = storage.stat(path, layout.storage_options)
    except OSError as exc:
        layout.broken.append(Skipped(rel, split, f"{where} but cannot be read: {getattr(exc, 'strerror', None) or exc}"))
        return None
    boxes = _boxes(layout, split, label_path(path), names)
    counts = layout.objects.setdefault(split, {})  # type: ignore[union-attr]
    for name, n in boxes.items():
        c = counts.setdefault(name, {"images": 0, "boxes": 0})
        c["images"] += 1
        c["boxes"] += n
    note = "file name is not valid UTF-8; shown with replacement characters" if repaired else None
    return ImageFile(rel, path, split, image_class(boxes), note, st.size, st.mtime_ns)


def label_path(image: str) -> str:
    """Ultralytics' rule: the last ``/images/`` becomes ``/labels/``, the extension ``.txt``."""
    head, sep, tail = image.rpartition("/images/")
    if not sep and os.sep != "/":
        head, sep, tail = image.rpartition(f"{os.sep}images{os.sep}")
    swapped = f"{head}{sep.replace('images', 'labels')}{tail}" if sep else image
    return os.path.splitext(swapped)[0] + ".txt"


def image_class(boxes: dict[str, int]) -> str:
    """The class with the most boxes (``boxes`` is in class-id order, so a tie keeps the lower id)."""
    return max(boxes, key=lambda name: boxes[name]) if boxes else BACKGROUND


def _boxes(layout: DatasetLayout, split: str, path: str, names: dict[int, str]) -> dict[str, int]:
    """Boxes per class name in one label file, in class-id order; {} without a label file."""
    try:
        with storage.open_binary(path, layout.storage_options) as fh:
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        layout.skipped.append(Skipped(_rel(layout, path), split, f"label file cannot be read ({exc}); "
                                                                 f"its image counts as {BACKGROUND}"))
        return {}
    ids: Counter[int] = Counter()
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        problem = _line_problem(fields, names)
        if problem:
            layout.skipped.append(Skipped(f"{_rel(layout, path)}:{line_no}", split, f"label line left out: {problem}"))
            continue
        ids[int(float(fields[0]))] += 1
    return {names.get(k, str(k)): ids[k] for k in sorted(ids)}


def _line_problem(fields: list[str], names: dict[int, str]) -> str | None:
    """Why a label line is not ``class x y w h ...`` (a box, polygon or keypoints), or None."""
    try:
        values = [float(v) for v in fields]
    except ValueError:
        return "not numbers"
    if len(values) < 5:  # more is fine: polygons and keypoints follow the class the same way
        return f"{len(values)} numbers (expected class x y w h)"
    if not values[0].is_integer() or values[0] < 0:
        return f"class id {fields[0]} is not a whole number"
    if names and int(values[0]) not in names:
        return f"class id {int(values[0])} is not in names (0 to {max(names)})"
    return None
