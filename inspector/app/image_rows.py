"""Which rows the image list shows, in which order: sort keys and filter masks over the scan's
columns, without Qt and without a Python object per row.

Source rows are the decoded images of the ``ImageTable`` (0..N-1) followed by the files that
failed to decode (N..N+F-1). A sort is one ``np.argsort`` over a key column (paths: pyarrow's
sort of the path buffer), a filter is a boolean mask; both are cached, so a filter change does
not sort again. ``ImageRows.order`` is the whole computation: it touches no widget and the
heavy steps release the GIL, so the window runs it on a worker thread for large lists (one
request at a time per ``ImageRows``).

``sort_key`` is where a column's order is defined (what sorts first, where failed files go).
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.scan import Failure
from ..core.strings import StringColumn
from ..core.table import ImageTable
from ..core.validation import ISSUES, properties
from ..core.validation.issues import flag_matrix, issue_scores

# Column ids, in display order.
SPLIT, CLASS, PATH, SIZE, BYTES, FORMAT, MODE, MEAN, STD, AMP, STATUS = range(11)
# Per-image properties measured by the scan (core.validation.properties), after the others.
BRIGHTNESS, CONTRAST, SHARPNESS, SATURATION = range(11, 15)
PROPERTY_COLUMNS = {BRIGHTNESS: properties.BRIGHTNESS, CONTRAST: properties.CONTRAST,
                    SHARPNESS: properties.SHARPNESS, SATURATION: properties.SATURATION}
N_COLUMNS = 15
STATUS_FILTERS = ("all", "decoded", "failed", "converted")

Sort = tuple[int, bool]  # (column, descending)


@dataclass(frozen=True)
class RowFilter:
    split: str | None = None      # None = every split
    label: str | None = None      # None = every class; "" = images without a class
    status: str = "all"           # one of STATUS_FILTERS
    text: str = ""                # case-insensitive substrings of the path (all must match)
    issue: str | None = None      # None = every image; "any" or one of validation.ISSUES


class ImageRows:
    """Sort keys and masks of one scan's rows, built lazily (first sort or filter that needs one)."""

    def __init__(self, table: ImageTable | None, failures: Sequence[Failure],
                 fail_labels: Sequence[str | None], amp_max: np.ndarray) -> None:
        self.table = table
        self.failures = list(failures)
        self.fail_labels = list(fail_labels)
        self.n = 0 if table is None else len(table)
        self.total = self.n + len(self.failures)
        self.amp_max = amp_max                  # float64 (total,) largest amplification, NaN: none
        self._keys: dict[int, np.ndarray] = {}
        self._codes: dict[str, np.ndarray] = {}
        self._issue_flags: np.ndarray | None = None  # bool (N, issues)
        self._paths_arrow = None                # pyarrow large_string (total,), images then failures
        self._perm: tuple[Sort, np.ndarray] | None = None
        self._mask: tuple[RowFilter, np.ndarray | None] | None = None
        self._lock = threading.Lock()           # one order() at a time, whichever thread asks

    def with_amp(self, amp_max: np.ndarray) -> ImageRows:
        """The same rows under a new amplification column (a new normalization source)."""
        other = ImageRows(self.table, self.failures, self.fail_labels, amp_max)
        with self._lock:
            other._keys = {k: v for k, v in self._keys.items() if k != AMP}
            other._codes, other._issue_flags = dict(self._codes), self._issue_flags
            other._paths_arrow, other._mask = self._paths_arrow, self._mask
            if self._perm is not None and self._perm[0][0] != AMP:
                other._perm = self._perm
        return other

    # ------------------------------------------------------------------ the computation

    def order(self, sort: Sort | None, row_filter: RowFilter) -> np.ndarray | None:
        """int64 visible source rows in display order; None: every row in table order."""
        with self._lock:
            perm = None if sort is None else self._permutation(sort)
            mask = self._filter_mask(row_filter)
        if mask is None:
            return perm
        if perm is None:
            return np.flatnonzero(mask)
        return perm[mask[perm]]

    def _permutation(self, sort: Sort) -> np.ndarray | None:
        if self._perm is not None and self._perm[0] == sort:
            return self._perm[1]
        column, descending = sort
        key = self.sort_key(column)
        if key is None or len(key) != self.total:
            return None
        if descending:
            key = -key  # negating (not reversing) keeps NaN (failed files) last and the sort stable
        perm = np.argsort(key, kind="stable")
        self._perm = (sort, perm)
        return perm

    # ------------------------------------------------------------------ sort keys

    def sort_key(self, column: int) -> np.ndarray | None:
        """The ascending sort key of ``column`` over every source row (None: not sortable)."""
        if column == AMP:
            return self.amp_max
        if column in self._keys:
            return self._keys[column]
        t, nf = self.table, len(self.failures)
        if t is None and column != PATH:
            return None

        def pad(values: np.ndarray, fill: float) -> np.ndarray:
            return np.concatenate([values, np.full(nf, fill, values.dtype)]) if nf else values

        if column == SPLIT:
            key = self.code("split")
        elif column == CLASS:
            key = self.code("label")
        elif column == PATH:
            key = self._path_rank()
        # float keys with NaN for failed files (no value): last in both directions, as the
        # property columns; pixel counts and byte sizes are exact in float64 (below 2**53)
        elif column == SIZE:
            key = pad(t.width.astype(np.float64) * t.height, np.nan)
        elif column == BYTES:
            key = pad(t.nbytes.astype(np.float64), np.nan)
        elif column == FORMAT:  # codes are first-seen order: rank the names so the sort reads A-Z
            key = pad(_rank(t.format_names)[t.format].astype(np.float64) if self.n else np.zeros(0), np.nan)
        elif column == MODE:
            key = pad(_rank(t.mode_names)[t.mode].astype(np.float64) if self.n else np.zeros(0), np.nan)
        elif column == MEAN:
            key = pad(t.mean.mean(axis=1), np.nan)
        elif column == STD:
            key = pad(t.std.mean(axis=1), np.nan)
        elif column == STATUS:  # ok < converted < failed
            key = pad((t.flags != 0).astype(np.int64), 2)
        elif column in PROPERTY_COLUMNS:
            key = pad(self.property(column), np.nan)
        else:
            return None
        self._keys[column] = key
        return key

    def property(self, column: int) -> np.ndarray:
        """A property column of the table (NaN when the table was built without them)."""
        t = self.table
        if t is None or t.properties is None:
            return np.full(self.n, np.nan)
        return t.properties[:, PROPERTY_COLUMNS[column]]

    def code(self, name: str) -> np.ndarray:
        """Split or class code per source row (failed files included; -1 = none)."""
        if name not in self._codes:
            t = self.table
            names = [] if t is None else (t.split_names if name == "split" else t.label_names)
            lookup = {v: k for k, v in enumerate(names)}
            own = (np.zeros(0, np.int32) if t is None
                   else (t.split if name == "split" else t.label).astype(np.int32))
            values = ([f.split for f in self.failures] if name == "split" else self.fail_labels)
            extra = np.array([lookup.get(v or "", -1) for v in values], np.int32)
            self._codes[name] = np.concatenate([own, extra]) if len(extra) else own
        return self._codes[name]

    def _paths(self):
        """Every source row's path as one pyarrow array over the table's own path buffer."""
        if self._paths_arrow is None:
            paths = self.table.paths if self.table is not None else StringColumn()
            if self.failures:
                paths = paths.concat(f.path for f in self.failures)
            self._paths_arrow = paths.to_arrow()
        return self._paths_arrow

    def _path_rank(self) -> np.ndarray:
        """Rank of every source row's path (UTF-8 byte order, which is code-point order)."""
        import pyarrow.compute as pc

        order = pc.sort_indices(self._paths()).to_numpy()
        rank = np.empty(self.total, np.int64)
        rank[order] = np.arange(self.total)
        return rank

    # ------------------------------------------------------------------ filters

    def _filter_mask(self, f: RowFilter) -> np.ndarray | None:
        """Boolean mask over source rows, or None when everything passes."""
        if self._mask is not None and self._mask[0] == f:
            return self._mask[1]
        mask: np.ndarray | None = None

        def both(m: np.ndarray) -> None:
            nonlocal mask
            mask = m if mask is None else mask & m

        t = self.table
        if f.split is not None:
            code = t.split_names.index(f.split) if t is not None and f.split in t.split_names else -2
            both(self.code("split") == code)
        if f.label is not None:
            code = t.label_names.index(f.label) if t is not None and f.label in t.label_names else -1
            both(self.code("label") == code)
        if f.status != "all":
            failed = np.arange(self.total) >= self.n
            if f.status == "failed":
                both(failed)
            elif f.status == "decoded":
                both(~failed)
            elif f.status == "converted":
                flags = t.flags != 0 if t is not None else np.zeros(0, bool)
                both(np.concatenate([flags, np.zeros(len(self.failures), bool)]))
        if f.issue is not None:
            both(self._issue_mask(f.issue))
        for term in f.text.lower().split():
            both(self._contains(term))
        self._mask = (f, mask)
        return mask

    def _issue_mask(self, issue: str) -> np.ndarray:
        """Source rows flagged with `issue` ("any": with any issue); failed files never are."""
        t = self.table
        flags = np.zeros((0, len(ISSUES)), bool)
        if t is not None:
            if self._issue_flags is None:  # the core's scores and thresholds, once per table
                self._issue_flags = flag_matrix(issue_scores(t, "RGB" if t.mean.shape[1] == 3 else "L"))
            flags = self._issue_flags
        rows = flags.any(axis=1) if issue == "any" else flags[:, ISSUES.index(issue)]
        return np.concatenate([rows, np.zeros(len(self.failures), bool)])

    def _contains(self, term: str) -> np.ndarray:
        """bool (total,): the path contains ``term``, ignoring case (pyarrow, in C++)."""
        import pyarrow.compute as pc

        hits = pc.match_substring(self._paths(), term, ignore_case=True)
        if hits.null_count:
            hits = pc.fill_null(hits, False)
        bits = np.frombuffer(hits.buffers()[1], np.uint8)  # the result's validity-free bitmap
        return np.unpackbits(bits, bitorder="little", count=hits.offset + self.total)[hits.offset:].view(bool)


def _rank(names: Sequence[str]) -> np.ndarray:
    """rank[code] = position of names[code] in alphabetical order."""
    order = sorted(range(len(names)), key=lambda k: names[k].lower())
    rank = np.empty(len(names), np.int64)
    rank[order] = np.arange(len(names))
    return rank
