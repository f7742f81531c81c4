"""File-name collisions: the same file name in two splits with different content.

Worth knowing when files are matched by name (to labels or masks), but sequential names
(img_0001.jpg in every split) collide by the hundred, so they are reported as one finding per
pair of splits with the count and a few examples, never one finding per name.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict

import numpy as np

from ..table import ImageTable
from .findings import Finding, describe, pair_finding

EXAMPLES = 3  # names quoted in a grouped finding's message


def name_collisions(table: ImageTable, max_tries: int = 8) -> list[Finding]:
    """One info finding per pair of splits that share file names with different content.

    Its rows and paths are the first colliding pair (names in sorted order, files in table order),
    so the pair view shows an example; the message gives the count and the first names."""
    by_name: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(table.paths):
        # One name however it is spelled: macOS writes the decomposed (NFD) form of an accented
        # name that Linux and Windows usually keep composed (NFC).
        by_name[unicodedata.normalize("NFC", p.rsplit("/", 1)[-1])][int(table.split[i])].append(i)
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    # (split code x, split code y) -> [(name, row in x, row in y)], names in sorted order
    collided: dict[tuple[int, int], list[tuple[str, int, int]]] = defaultdict(list)
    for name in sorted(by_name):
        per_split = by_name[name]
        if len(per_split) < 2:
            continue
        codes = sorted(per_split)
        for x, cx in enumerate(codes):
            for cy in codes[x + 1:]:
                pair = next(((i, j) for i in per_split[cx][:max_tries] for j in per_split[cy][:max_tries]
                             if (ch[i] != ch[j]).any()), None)
                if pair is not None:      # else same content: an exact duplicate, reported as such
                    collided[(cx, cy)].append((name, *pair))
    return [_grouped(table, collided[key]) for key in sorted(collided)]


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
