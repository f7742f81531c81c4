"""The discovered items of a dataset as columns: a million files without an object per file.

``FileList`` reads like a list of ``ImageFile`` (index, iterate, append, extend, sort) but keeps
each field in a compact column: the relative paths in one UTF-8 buffer with offsets, the split
and class as small integer codes into their name lists, size and modification time as int64,
and the absolute path as a code into a short list of bases. An ``ImageFile`` is made only when
one is asked for (a chunk handed to a worker, a preview), then dropped again.

The absolute path of a plain file is its base followed by its relative path (``ROOT/`` + ``train/
cat/1.png``): one base for a whole folder. A container's member (tar shard, Parquet row) has the
container as its absolute path: one base per container. Anything else (a manifest naming files
elsewhere) keeps its absolute path as a base of its own. Name notes and locators are rare or
small and stay in a dictionary by position.
"""
from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .strings import StringColumn

if TYPE_CHECKING:
    from .layout import ImageFile

_ERRORS = "surrogatepass"
_IMAGE_FILE: list = []  # core.layout.ImageFile, looked up once (layout imports this module)


def _image_file():
    if not _IMAGE_FILE:
        from .layout import ImageFile
        _IMAGE_FILE.append(ImageFile)
    return _IMAGE_FILE[0]


class FileList:
    """An append-only sequence of ``ImageFile`` stored as columns (see the module docstring)."""

    def __init__(self, items: Iterable[ImageFile] = ()) -> None:
        self._data = bytearray()              # relative paths, UTF-8, end to end
        self._offsets = array("q", [0])       # int64 (n + 1)
        self._split = array("h")              # int16 code into split_names
        self._label = array("i")              # int32 code into label_names, -1 = no class
        self._base = array("i")               # int32: >= 0 base + path; < 0 base ~code alone
        self._size = array("q")
        self._mtime = array("q")
        self.split_names: list[str] = []
        self.label_names: list[str] = []
        self._bases: list[str] = []
        self._codes: dict[tuple[int, str], int] = {}  # (kind, name) -> code: 0 split, 1 label, 2 base
        self._notes: dict[int, str] = {}
        self._locators: dict[int, object] = {}
        self._paths_cache: StringColumn | None = None  # for index_of, rebuilt after appends
        self.extend(items)

    # ------------------------------------------------------------------ building

    def _code(self, kind: int, names: list[str], value: str) -> int:
        code = self._codes.get((kind, value))
        if code is None:
            code = self._codes[(kind, value)] = len(names)
            names.append(value)
        return code

    def append(self, f: ImageFile) -> None:
        i = len(self._split)
        encoded = f.path.encode("utf-8", _ERRORS)
        self._data += encoded
        self._offsets.append(len(self._data))
        self._split.append(self._code(0, self.split_names, f.split))
        self._label.append(-1 if f.label is None else self._code(1, self.label_names, f.label))
        abspath, path = f.abspath, f.path
        if abspath.endswith(path) and len(abspath) > len(path) and abspath[-len(path) - 1] in "/\\":
            self._base.append(self._code(2, self._bases, abspath[:-len(path)]))
        else:
            self._base.append(~self._code(2, self._bases, abspath))
        self._size.append(f.size)
        self._mtime.append(f.mtime_ns)
        if f.name_note is not None:
            self._notes[i] = f.name_note
        if f.locator is not None:
            self._locators[i] = f.locator

    def extend_folder(self, folder: str, prefix: str, names: list[str], split: str, label: str | None,
                      sizes: list[int], mtimes: list[int]) -> None:
        """Append plain files of one folder, split and class at once: item k has the path
        ``prefix + names[k]`` and the absolute path ``folder + names[k]`` (``folder`` ends with a
        separator), as ``append`` of their ``ImageFile`` would store them."""
        cut = len(folder) - len(prefix)
        if not (folder.endswith(prefix) and cut > 0 and folder[cut - 1] in "/\\"):
            for name, size, mtime in zip(names, sizes, mtimes):
                self.append(_image_file()(prefix + name, folder + name, split, label, None, size, mtime))
            return
        n = len(names)
        encoded = [(prefix + name).encode("utf-8", _ERRORS) for name in names]
        lengths = np.fromiter(map(len, encoded), np.int64, n)
        self._offsets.extend((np.cumsum(lengths) + len(self._data)).tolist())
        self._data += b"".join(encoded)
        self._split.extend(array("h", [self._code(0, self.split_names, split)]) * n)
        self._label.extend(array("i", [-1 if label is None else self._code(1, self.label_names, label)]) * n)
        self._base.extend(array("i", [self._code(2, self._bases, folder[:cut])]) * n)
        self._size.extend(sizes)
        self._mtime.extend(mtimes)

    def extend(self, items: Iterable[ImageFile]) -> None:
        if isinstance(items, FileList):
            items = list(items)  # may be this very list
        for f in items:
            self.append(f)

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._split)

    def __bool__(self) -> bool:
        return len(self._split) > 0

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._item(k) for k in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("FileList index out of range")
        return self._item(i)

    def __iter__(self) -> Iterator[ImageFile]:
        for k in range(len(self)):
            yield self._item(k)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (FileList, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FileList({len(self):,} items)"

    def path(self, i: int) -> str:
        return self._data[self._offsets[i]:self._offsets[i + 1]].decode("utf-8", _ERRORS)

    def abspath(self, i: int) -> str:
        b = self._base[i]
        return self._bases[b] + self.path(i) if b >= 0 else self._bases[~b]

    def index_of(self, path: str) -> int:
        """Position of the item with this relative path (ValueError when there is none)."""
        cached = self._paths_cache
        if cached is None or len(cached) != len(self):
            cached = self._paths_cache = self.paths
        return cached.index(path)

    def locator(self, i: int) -> object:
        return self._locators.get(i)

    def path_buffers(self) -> tuple[bytearray, array, array, list[str]]:
        """For work over the whole listing without an ``ImageFile`` per item (not copies: do not
        modify them): the relative paths' UTF-8 bytes end to end, their (n + 1) offsets, each
        item's base code (>= 0: its absolute path is bases[code] + its path; < 0: bases[~code]
        alone) and the bases."""
        return self._data, self._offsets, self._base, self._bases

    def locators(self) -> dict[int, object]:
        """The locator of each item that has one (a container's member), by index (not a copy)."""
        return self._locators

    def split_of(self, i: int) -> str:
        return self.split_names[self._split[i]]

    def _item(self, i: int) -> ImageFile:
        k = self._label[i]
        return _image_file()(self.path(i), self.abspath(i), self.split_names[self._split[i]],
                         None if k < 0 else self.label_names[k], self._notes.get(i),
                         self._size[i], self._mtime[i], self._locators.get(i))

    # ------------------------------------------------------------------ columns

    @property
    def paths(self) -> StringColumn:
        """Every relative path, as one column (a copy of the buffer)."""
        return StringColumn(bytes(self._data), np.frombuffer(self._offsets, np.int64).copy())

    def split_codes(self) -> np.ndarray:
        """int16 (n,) code into ``split_names``."""
        return np.frombuffer(self._split, np.int16).copy() if len(self) else np.zeros(0, np.int16)

    def label_codes(self) -> np.ndarray:
        """int32 (n,) code into ``label_names``, -1 for no class."""
        return np.frombuffer(self._label, np.int32).copy() if len(self) else np.zeros(0, np.int32)

    def identities(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """int64 sizes and modification times (ns) of the items start..stop-1 (copies)."""
        return np.array(self._size[start:stop], np.int64), np.array(self._mtime[start:stop], np.int64)

    def splits_of(self, rows: np.ndarray) -> list[str]:
        """The split of each item at ``rows``."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return []
        codes = np.frombuffer(self._split, np.int16)[rows].tolist()
        names = self.split_names
        return [names[c] for c in codes]

    def split_counts(self, start: int = 0) -> dict[str, int]:
        """split -> number of items from position ``start`` on (splits that occur)."""
        if len(self) <= start:
            return {}
        counts = np.bincount(np.frombuffer(self._split, np.int16)[start:], minlength=len(self.split_names))
        return {self.split_names[k]: int(c) for k, c in enumerate(counts.tolist()) if c}

    def class_counts(self) -> dict[str, dict[str, int]]:
        """split -> class -> number of items (splits and classes that occur, unsorted)."""
        if not len(self) or not self.label_names:
            return {}
        split, label = self.split_codes().astype(np.int64), self.label_codes().astype(np.int64)
        has = label >= 0
        pairs = np.bincount(split[has] * len(self.label_names) + label[has],
                            minlength=len(self.split_names) * len(self.label_names))
        out: dict[str, dict[str, int]] = {}
        for code in np.flatnonzero(pairs):
            s, c = divmod(int(code), len(self.label_names))
            out.setdefault(self.split_names[s], {})[self.label_names[c]] = int(pairs[code])
        return out

    def digest(self, h: Any) -> None:
        """Feed every column and name list to the hash ``h`` (xxhash's ``update``): equal for
        equal listings, different whenever any item's path, split, class, size, modification
        time, note or locator differs. A few milliseconds for 100,000 items."""
        h.update(repr([len(self), self.split_names, self.label_names, self._bases, sorted(self._notes.items()),
                       sorted((i, repr(v)) for i, v in self._locators.items())]).encode("utf-8", _ERRORS))
        for column in (self._offsets, self._split, self._label, self._base, self._size, self._mtime):
            h.update(memoryview(column).cast("B"))
        h.update(self._data)

    @property
    def nbytes(self) -> int:
        """Memory held by the columns (not the few name lists and dictionaries)."""
        return len(self._data) + sum(a.itemsize * len(a) for a in
                                     (self._offsets, self._split, self._label, self._base, self._size, self._mtime))

    def take(self, rows: Iterable[int] | np.ndarray) -> FileList:
        """The items at ``rows``, in that order, as a new list (column by column)."""
        rows = np.asarray(rows, np.int64)
        out = FileList()
        out.split_names, out.label_names, out._bases = list(self.split_names), list(self.label_names), list(self._bases)
        out._codes = dict(self._codes)
        out._paths_cache = None
        if not len(rows):
            return out
        paths = self.paths.take(rows)
        out._data = bytearray(paths._data)
        out._offsets = array("q", paths._offsets.tobytes())
        for name in ("_split", "_label", "_base", "_size", "_mtime"):
            column = getattr(self, name)
            values = np.frombuffer(column, np.dtype(column.typecode))[rows]
            setattr(out, name, array(column.typecode, values.tobytes()))
        position = {int(r): k for k, r in enumerate(rows.tolist())} if (self._notes or self._locators) else {}
        out._notes = {position[r]: v for r, v in self._notes.items() if r in position}
        out._locators = {position[r]: v for r, v in self._locators.items() if r in position}
        return out

    def sort(self, key: Callable[[ImageFile], Any] | None = None, reverse: bool = False) -> None:
        """Sort in place (as ``list.sort``); see ``sort_by_split_and_path`` for the common order."""
        items = sorted(self, key=key, reverse=reverse) if key is not None else sorted(self, reverse=reverse)
        self._replace(FileList(items))

    def sort_by_split_and_path(self, split_rank: Callable[[str], Any]) -> None:
        """Sort by ``split_rank(split)``, then path (code-point order, as ``str`` compares), columnar."""
        if len(self) < 2:
            return
        ranks = sorted(range(len(self.split_names)), key=lambda k: split_rank(self.split_names[k]))
        split_order = np.empty(len(ranks), np.int64)
        split_order[ranks] = np.arange(len(ranks))
        path_order = self.paths.argsort()
        path_rank = np.empty(len(self), np.int64)
        path_rank[path_order] = np.arange(len(self))
        rows = np.lexsort((path_rank, split_order[self.split_codes()]))
        self._replace(self.take(rows))

    def _replace(self, other: FileList) -> None:
        for name in ("_data", "_offsets", "_split", "_label", "_base", "_size", "_mtime", "split_names",
                     "label_names", "_bases", "_codes", "_notes", "_locators", "_paths_cache"):
            setattr(self, name, getattr(other, name))

    def __reduce__(self):
        return (FileList, (list(self),))
