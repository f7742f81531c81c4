"""Find splits, classes and image files under a dataset root (DESIGN section 2).

Recognised layouts:
- ``ROOT/{train,val,test}/[class/]...`` with aliases (valid, validation, dev -> val; testing -> test);
- YOLO: ``ROOT/images/{train,val,test}/...``;
- anything else: one split called ``all``.

Files are walked without following symbolic links that leave ROOT, and directory loops are
detected. Non-image files are kept in ``skipped`` with a reason, never silently dropped.
"""
from __future__ import annotations

import errno
import operator
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from .file_list import FileList

SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}
SPLIT_ORDER = ("train", "val", "test", "all")
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

# Leading bytes of the formats we read; used to accept images whose name has no image extension.
_MAGIC = (
    b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"GIF87a", b"GIF89a",
    b"II*\x00", b"MM\x00*",
)


@dataclass(frozen=True, slots=True)  # slots: a million items without a dict each (~100 bytes saved per item)
class ImageFile:
    """One candidate image: ``path`` is relative to ROOT with ``/`` separators (display-safe UTF-8)."""

    path: str
    abspath: str
    split: str
    label: str | None
    name_note: str | None = None  # set when the on-disk name is not valid UTF-8
    # Identity for the cache: the file's size and mtime, or its container's (tar shard, Parquet file).
    size: int = 0
    mtime_ns: int = 0
    # None for a plain file at ``abspath``; else a small picklable value (see core.sources.locators)
    # telling a worker where the bytes are inside the container at ``abspath``.
    locator: object = None


@dataclass(frozen=True)
class Skipped:
    path: str
    split: str | None
    reason: str


@dataclass
class DatasetLayout:
    root: str
    kind: str  # "splits", "yolo" or "flat"
    splits: list[str]
    files: FileList = field(default_factory=FileList)  # a list of ImageFile given is stored as one
    skipped: list[Skipped] = field(default_factory=list)
    broken: list[Skipped] = field(default_factory=list)  # entries that cannot be read at all
    source_kind: str = "folder"  # folder, manifest, parquet, webdataset or yolo (export: dataset.source)
    uri: str = ""                # what the user opened (a folder, a file, a pattern or a URL)
    storage_options: dict | None = None  # fsspec options for URL sources, handed to the workers
    # Lazy sources: batches of items not discovered yet (core.sources.lazy drains it as a scan goes).
    pending: Iterator[list[ImageFile]] | None = None
    # Detection sets (YOLO): per split and class, {"images": holding one, "boxes": count}.
    objects: dict[str, dict[str, dict[str, int]]] | None = None

    def __setattr__(self, name: str, value) -> None:
        if name == "files" and not isinstance(value, FileList):
            value = FileList(value)  # columns, whoever builds the list
        object.__setattr__(self, name, value)

    @property
    def classes(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {s: {} for s in self.splits}
        for split, counts in self.files.class_counts().items():
            out.setdefault(split, {}).update(counts)
        return {s: dict(sorted(c.items())) for s, c in out.items()}

    def files_in(self, split: str) -> list[ImageFile]:
        return [f for f in self.files if f.split == split]


class LayoutError(Exception):
    """The root cannot be used at all (missing, not a folder, unreadable)."""


def display_name(name: str) -> tuple[str, bool]:
    """A printable UTF-8 form of a file-system name, and whether it had to be repaired."""
    try:
        name.encode("utf-8")
        return name, False
    except UnicodeEncodeError:  # surrogate-escaped bytes from a non-UTF-8 name
        return os.fsencode(name).decode("utf-8", errors="replace"), True


def split_name(folder: str) -> str | None:
    return SPLIT_ALIASES.get(folder.lower())


def _split_sort_key(name: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name)


def looks_like_image(abspath: str) -> bool:
    """True when the first bytes are those of an image format we read (WEBP: RIFF....WEBP)."""
    try:
        with open(abspath, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(m) for m in _MAGIC)


def _subdirs(path: str) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            return [e for e in it if e.is_dir(follow_symlinks=True)]
    except OSError:
        return []


def discover(root: str) -> DatasetLayout:
    """Walk ROOT and return its splits, classes, image files and skipped entries (sorted, deterministic)."""
    root = os.path.abspath(root)
    if not os.path.exists(root):
        raise LayoutError(f"No such folder: {root}")
    if not os.path.isdir(root):
        raise LayoutError(f"Not a folder: {root}")
    if not os.access(root, os.R_OK | os.X_OK):
        raise LayoutError(f"Folder is not readable: {root}")

    split_dirs: list[tuple[str, str]] = []  # (split, abs dir)
    kind = "flat"
    images_dir = next((e for e in _subdirs(root) if e.name.lower() == "images"), None)
    top = [(split_name(e.name), e.path) for e in _subdirs(root)]
    top = [(s, p) for s, p in top if s]
    if top:
        kind, split_dirs = "splits", top
    elif images_dir is not None:
        yolo = [(split_name(e.name), e.path) for e in _subdirs(images_dir.path)]
        yolo = [(s, p) for s, p in yolo if s]
        if yolo:
            kind, split_dirs = "yolo", yolo
    if not split_dirs:
        split_dirs = [("all", root)]

    layout = DatasetLayout(root=root, kind=kind, splits=[], uri=root)
    if kind != "flat":
        _skip_beside_splits(layout, split_dirs, images_dir.path if kind == "yolo" else None)
    real_root = os.path.realpath(root)
    # A link inside a split that leads back to the root (or to YOLO's images/) would pull every
    # split into this one: not followed. Any other folder, linked into several splits or a split
    # folder that is itself a link to another (val -> train), is walked once per split it appears
    # in, so its images count in each and a copy across splits is found as leakage.
    reserved = {real_root, os.path.realpath(images_dir.path)} if kind == "yolo" else \
        {real_root} if kind == "splits" else set()
    for split, path in sorted(split_dirs, key=lambda sp: (_split_sort_key(sp[0]), sp[1])):
        if split not in layout.splits:
            layout.splits.append(split)
        _walk(layout, real_root, path, split, split_root=path, seen=set(), reserved=reserved)
    layout.files.sort_by_split_and_path(_split_sort_key)
    layout.skipped.sort(key=lambda s: s.path)
    layout.broken.sort(key=lambda s: s.path)
    return layout


def _skip_beside_splits(layout: DatasetLayout, split_dirs: list[tuple[str, str]],
                        yolo_images: str | None) -> None:
    """List (not walk) the entries next to the split folders, so a README or labels/ is not dropped silently."""
    used = {p for _, p in split_dirs} | ({yolo_images} if yolo_images else set())
    for folder in [layout.root] + ([yolo_images] if yolo_images else []):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if path not in used:
                reason = "hidden entry" if name.startswith(".") else "outside the split folders; not scanned"
                layout.skipped.append(Skipped(_rel(layout, path)[0], None, reason))


def _rel(layout: DatasetLayout, abspath: str) -> tuple[str, bool]:
    rel = os.path.relpath(abspath, layout.root).replace(os.sep, "/")
    return display_name(rel)


def _inside(real_root: str, real: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _walk(layout: DatasetLayout, real_root: str, top: str, split: str, split_root: str,
          seen: set[str], reserved: frozenset[str] | set[str] = frozenset()) -> None:
    stack = [top]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in reserved:
            rel, _ = _rel(layout, folder)
            layout.skipped.append(Skipped(rel, split, "link back to the dataset root; not followed"))
            continue
        if real in seen:
            rel, _ = _rel(layout, folder)
            layout.skipped.append(Skipped(rel, split, "folder visited already in this split (symbolic-link loop or second link to it)"))
            continue
        seen.add(real)
        try:
            names = os.listdir(folder)
        except OSError as exc:
            _unreadable(layout, folder, split, exc)
            continue
        # Worked out once per folder, not per file (a million files are listed in seconds):
        # the names relative to the root start with the folder's, and its files share a label.
        place = _Folder(_prefix(folder, layout.root), _label(folder, split_root), split, split_root)
        joined = os.path.join(folder, "")
        usual = bool(names) and _is_utf8(place.prefix) and os.path.join(folder, names[0]) == joined + names[0]
        plain, sizes, mtimes = _plain_images(joined, names) if usual else ([], [], [])
        if len(plain) < len(names):  # in name order: which of two links to a folder is walked, and the lists
            taken = set(plain)
            try:
                with os.scandir(folder) as it:
                    entries = [e for e in it if e.name not in taken]
            except OSError as exc:
                _unreadable(layout, folder, split, exc)
                entries = []
            for entry in sorted(entries, key=_entry_name):
                _visit(layout, real_root, entry, place, stack)
        if plain:  # in the order listed: the whole listing is sorted once at the end
            layout.files.extend_folder(joined, place.prefix, plain, split, place.label, sizes, mtimes)


def _unreadable(layout: DatasetLayout, folder: str, split: str, exc: OSError) -> None:
    """List a folder that cannot be read, with the system's reason."""
    rel, _ = _rel(layout, folder)
    layout.broken.append(Skipped(rel or ".", split, f"folder cannot be read: {exc.strerror or exc}"))


_entry_name = operator.attrgetter("name")
_IMAGE_SUFFIXES = tuple(IMAGE_EXTENSIONS)
_DIR_FD = os.lstat in os.supports_dir_fd
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def _plain_images(folder: str, names: list[str]) -> tuple[list[str], list[int], list[int]]:
    """The names in one folder that ``_visit`` would list as they are, with their sizes and
    modification times: visible regular files, not links (``lstat``), named like an image
    (``name[dot:].lower()`` an image extension, the last dot not the first character), with
    UTF-8 names; the rest ``_visit`` looks at in full. Each check runs over the whole folder in
    one comprehension (a function call per entry was most of listing 100,000 files besides the
    stat calls themselves), on plain names (no ``DirEntry`` per file), and each file is stat-ed
    relative to the open folder (the kernel does not walk the whole path again per file).
    ``folder`` ends with a separator."""
    named = [n for n in names if n[0] != "." and n.lower().endswith(_IMAGE_SUFFIXES)]
    named = [n for n in named if n.isascii() or _is_utf8(n)]
    if not named:
        return [], [], []
    fd = -1
    if _DIR_FD:
        try:
            fd = os.open(folder, os.O_RDONLY | _O_DIRECTORY)
        except OSError:
            fd = -1
    try:
        try:
            stats = [os.lstat(n, dir_fd=fd) for n in named] if fd >= 0 else [os.lstat(folder + n) for n in named]
        except OSError:  # one went away or cannot be stat-ed: _visit says why
            stats = [_lstat_or_none(folder, n, fd) for n in named]
    finally:
        if fd >= 0:
            os.close(fd)
    if not all(map(stat.S_ISREG, [0 if st is None else st.st_mode for st in stats])):  # links, folders...
        kept = [(n, st) for n, st in zip(named, stats) if st is not None and stat.S_ISREG(st.st_mode)]
        named, stats = [n for n, _ in kept], [st for _, st in kept]
    return named, [st.st_size for st in stats], [st.st_mtime_ns for st in stats]


def _lstat_or_none(folder: str, name: str, fd: int) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=fd) if fd >= 0 else os.lstat(folder + name)
    except OSError:
        return None


def _is_utf8(name: str) -> bool:
    return name.isascii() or not display_name(name)[1]


@dataclass(frozen=True, slots=True)
class _Folder:
    prefix: str          # the folder relative to the root, with a trailing "/" ("" for the root)
    label: str | None    # the class of the files directly in it
    split: str
    split_root: str


def _prefix(folder: str, root: str) -> str:
    rel = os.path.relpath(folder, root).replace(os.sep, "/")
    return "" if rel == "." else rel + "/"


def _visit(layout: DatasetLayout, real_root: str, entry: os.DirEntry, place: _Folder,
           stack: list[str]) -> None:
    rel, repaired = display_name(place.prefix + entry.name)
    split = place.split
    if entry.name.startswith("."):
        layout.skipped.append(Skipped(rel, split, "hidden entry"))
        return
    if entry.is_symlink():
        try:
            os.stat(entry.path)  # os.path.exists() is False for loops too; the errno tells them apart
        except OSError as exc:
            reason = ("symbolic link loop" if exc.errno == errno.ELOOP
                      else "broken symbolic link (its target does not exist)" if exc.errno in (errno.ENOENT, errno.ENOTDIR)
                      else f"cannot stat: {exc.strerror or exc}")
            layout.broken.append(Skipped(rel, split, reason))
            return
        target = os.path.realpath(entry.path)
        if not _inside(real_root, target):
            layout.skipped.append(Skipped(rel, split, "symbolic link leads outside the dataset root; not followed"))
            return
    try:
        st = entry.stat()  # follows a link, like os.stat
    except OSError as exc:
        reason = "symbolic link loop" if exc.errno == errno.ELOOP else f"cannot stat: {exc.strerror or exc}"
        layout.broken.append(Skipped(rel, split, reason))
        return
    name = entry.name
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""  # os.path.splitext's extension (no leading dot here)
    if stat.S_ISDIR(st.st_mode):
        stack.append(entry.path)
        if ext in IMAGE_EXTENSIONS:
            layout.skipped.append(Skipped(rel, split, "a folder named like an image file (its contents are scanned)"))
        return
    if not stat.S_ISREG(st.st_mode):
        layout.skipped.append(Skipped(rel, split, "not a regular file"))
        return
    if ext not in IMAGE_EXTENSIONS and not looks_like_image(entry.path):
        layout.skipped.append(Skipped(rel, split, f"not an image file ({ext or 'no extension'})"))
        return
    note = "file name is not valid UTF-8; shown with replacement characters" if repaired else None
    layout.files.append(ImageFile(rel, entry.path, split, place.label, note, st.st_size, st.st_mtime_ns))


def _label(folder: str, split_root: str) -> str | None:
    """The class of the files in FOLDER: the first folder below the split; files directly in
    the split have none."""
    rel = os.path.relpath(folder, split_root)
    if rel == ".":
        return None
    return display_name(rel.split(os.sep)[0])[0]
