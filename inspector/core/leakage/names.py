"""File-name collisions: the same file name in two splits with different content.

Worth knowing when files are matched by name (to labels or masks), but sequential names
(img_0001.jpg in every split) collide by the hundred, so they are reported as one finding per
pair of splits with the count and a few examples, never one finding per name.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict

import numpy as np

from ..strings import StringColumn
from ..table import ImageTable
from .findings import Finding, describe, pair_finding

EXAMPLES = 3  # names quoted in a grouped finding's message


def name_collisions(table: ImageTable, max_tries: int = 8) -> list[Finding]:
    """One info finding per pair of splits that share file names with different content.

    Its rows and paths are the first colliding pair (names in sorted order, files in table order),
    so the pair view shows an example; the message gives the count and the first names."""
    names, code = _file_names(table.paths)
    split = np.asarray(table.split, np.int64)
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    # rows by name, then split, then table order (lexsort is stable); a name met in one split only
    # collides with nothing, so only the few in two splits or more are looked at one by one
    order = np.lexsort((split, code))
    c, s = code[order], split[order]
    head = np.r_[True, (c[1:] != c[:-1]) | (s[1:] != s[:-1])] if len(order) else np.zeros(0, bool)
    runs = np.flatnonzero(head)                       # one run per (name, split)
    run_name = c[runs]
    shared = np.flatnonzero(np.r_[run_name[1:] == run_name[:-1], False])  # run followed by its name's next split
    bounds = np.r_[runs, len(order)]
    # (split code x, split code y) -> [(name, row in x, row in y)], names in sorted order
    collided: dict[tuple[int, int], list[tuple[str, int, int]]] = defaultdict(list)
    first_runs = shared[np.r_[True, run_name[shared[1:]] != run_name[shared[:-1]]]] if len(shared) else shared
    for r0 in first_runs.tolist():                    # codes are in the names' sorted order
        per_split: dict[int, list[int]] = {}
        r = r0
        while r < len(runs) and run_name[r] == run_name[r0]:
            per_split[int(s[runs[r]])] = order[bounds[r]:bounds[r + 1]].tolist()
            r += 1
        codes = sorted(per_split)
        name = names[int(run_name[r0])].decode("utf-8", "surrogatepass")
        for x, cx in enumerate(codes):
            for cy in codes[x + 1:]:
                pair = next(((i, j) for i in per_split[cx][:max_tries] for j in per_split[cy][:max_tries]
                             if (ch[i] != ch[j]).any()), None)
                if pair is not None:      # else same content: an exact duplicate, reported as such
                    collided[(cx, cy)].append((name, *pair))
    return [_grouped(table, collided[key]) for key in sorted(collided)]


_FIXED_BYTES = 64 << 20   # names padded to the longest and sorted as one array up to this size


def _file_names(paths) -> tuple[list[bytes], np.ndarray]:
    """The distinct file names (the part after the last "/", NFC: macOS writes the decomposed (NFD)
    form of an accented name that Linux and Windows usually keep composed) as UTF-8, sorted (UTF-8
    bytes sort in code point order, as the names' str would), and per path the code of its name.
    Names are cut from the column's buffer and sorted as one padded bytes array; only a
    non-ASCII one is made a str (to be normalized)."""
    column = StringColumn.from_strings(paths)
    raw, offsets = column.buffers
    data = np.frombuffer(raw, np.uint8)
    slash = np.flatnonzero(data == ord("/"))
    starts, ends = offsets[:-1], offsets[1:]
    last = np.searchsorted(slash, ends) - 1          # the last "/" before each path's end
    cut = np.where(last >= 0, slash[np.maximum(last, 0)] + 1, 0) if len(slash) else np.zeros(len(ends), np.int64)
    cut = np.maximum(cut, starts)                    # a "/" of an earlier path is not this one's
    wide = np.flatnonzero(_holds(np.flatnonzero(data >= 0x80), cut, ends))
    normal = {int(i): unicodedata.normalize("NFC", raw[cut[i]:ends[i]].decode("utf-8", "surrogatepass"))
              .encode("utf-8", "surrogatepass") for i in wide.tolist()}
    lengths = ends - cut
    lengths[wide] = [len(b) for b in normal.values()]
    width = max(int(lengths.max(initial=0)), 1)
    if len(ends) * width > _FIXED_BYTES or _holds(np.flatnonzero(data == 0), cut, ends).any():
        return _names_one_by_one(raw, cut, ends, normal)   # a padding NUL would merge such names
    at = cut[:, None] + np.arange(width)
    inside = np.arange(width) < lengths[:, None]
    padded = np.where(inside, data[np.minimum(at, max(len(data) - 1, 0))] if len(data) else 0, 0).astype(np.uint8)
    for i, name in normal.items():
        padded[i, :len(name)] = np.frombuffer(name, np.uint8)
    distinct, code = np.unique(padded.view(f"S{width}").reshape(-1), return_inverse=True)
    return distinct.tolist(), code.reshape(-1).astype(np.int64)


def _holds(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per range starts..ends-1, whether one of the sorted `positions` is in it."""
    return np.searchsorted(positions, ends) > np.searchsorted(positions, starts)


def _names_one_by_one(raw: bytes, cut: np.ndarray, ends: np.ndarray, normal: dict[int, bytes]
                      ) -> tuple[list[bytes], np.ndarray]:
    """_file_names through a dictionary (names with NUL bytes, or too long to pad)."""
    pieces = [raw[a:b] for a, b in zip(cut.tolist(), ends.tolist())]
    for i, name in normal.items():
        pieces[i] = name
    known: dict[bytes, int] = {}
    code = np.fromiter((known.setdefault(b, len(known)) for b in pieces), np.int64, len(pieces))
    names = sorted(known)
    rank = np.empty(len(names), np.int64)
    rank[[known[b] for b in names]] = np.arange(len(names))
    return names, rank[code]


def _grouped(table: ImageTable, names: list[tuple[str, int, int]]) -> Finding:
    name, i, j = names[0]
    why = "worth knowing if files are matched by name, e.g. to labels or masks"
    if len(names) == 1:
        msg = (f"Name collision: {describe(table, i)} and {describe(table, j)} share the file "
               f"name '{name}' but have different content ({why}).")
    else:
        si, sj = table.split_of(i), table.split_of(j)
        quoted = ", ".join(f"'{n}'" for n, _, _ in names[:EXAMPLES])
        more = f" and {len(names) - EXAMPLES} more" if len(names) > EXAMPLES else ""
        msg = (f"Name collision: {len(names)} file names appear in both {si} and {sj} with different "
               f"content ({quoted}{more}; e.g. {table.paths[i]} and {table.paths[j]}); {why}.")
    return pair_finding(table, "name_collision", i, j, None, msg, severity="info")
