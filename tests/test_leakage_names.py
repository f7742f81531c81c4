"""File-name collisions found from the path column's buffer equal those of the definition (every
path's name, NFC, grouped per split; names in sorted order, files in table order), on random
families of names: accented names in both normal forms, a sign whose NFC form is ASCII, paths
without a folder, names shared by several splits with equal or different content."""
from __future__ import annotations

import dataclasses
import unicodedata
from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from inspector.core.leakage.names import _grouped, name_collisions
from inspector.core.strings import StringColumn
from inspector.core.table_from_images import table_from_images

SPLITS = ["train", "val", "test", "extra"]


def _reference(table, max_tries: int = 8):
    """The definition, one path at a time (the implementation before names were cut from buffers)."""
    by_name = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(table.paths):
        by_name[unicodedata.normalize("NFC", p.rsplit("/", 1)[-1])][int(table.split[i])].append(i)
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    collided = defaultdict(list)
    for name in sorted(by_name):
        per_split = by_name[name]
        if len(per_split) < 2:
            continue
        codes = sorted(per_split)
        for x, cx in enumerate(codes):
            for cy in codes[x + 1:]:
                pair = next(((i, j) for i in per_split[cx][:max_tries] for j in per_split[cy][:max_tries]
                             if (ch[i] != ch[j]).any()), None)
                if pair is not None:
                    collided[(cx, cy)].append((name, *pair))
    return [_grouped(table, collided[key]) for key in sorted(collided)]


@pytest.fixture(scope="module")
def base():
    n = 240
    return table_from_images([(f"train/a/{i}.png", "train", None, Image.new("L", (8, 8), i % 256)) for i in range(n)],
                             split_names=SPLITS)


_STEMS = ["img_001", "img_002", "caf\u00e9", "cafe\u0301", "\u212aelvin", "Kelvin", "a\udcff", "\u00fcber",
          "zeta", "Zeta", "x", "b\u00e9b\u00e9"]


def _random_table(base, rng: np.random.Generator, column: bool):
    n = len(base.paths)
    paths, split = [], rng.integers(0, len(SPLITS), n)
    for i in range(n):
        name = _STEMS[rng.integers(len(_STEMS))] + (".png" if rng.random() < 0.8 else "")
        depth = rng.integers(0, 3)
        folder = "/".join(["d\u00e9j\u00e0", "b", "c/"][:depth]) + ("/" if depth and rng.random() < 0.5 else "")
        paths.append(f"{SPLITS[split[i]]}/{folder}{name}" if rng.random() < 0.9 else name)
    content = rng.integers(0, 3, (n, 2)).astype(np.uint64)   # few contents: equal ones are common
    return dataclasses.replace(base, paths=StringColumn.from_strings(paths) if column else paths,
                               split=split.astype(np.int16), content_hash=content)


@pytest.mark.parametrize("seed", range(6))
def test_name_collisions_equal_the_definition_on_random_names(base, seed):
    rng = np.random.default_rng(seed)
    for column in (True, False):
        table = _random_table(base, rng, column)
        for tries in (1, 8):
            got = name_collisions(table, tries)
            want = _reference(table, tries)
            assert got, "the family must collide"
            assert [(f.splits, f.rows, f.paths, f.message) for f in got] == \
                [(f.splits, f.rows, f.paths, f.message) for f in want]


def test_a_name_in_one_split_only_or_of_equal_content_is_no_collision(base):
    n = len(base.paths)
    paths = [f"train/{i}.png" for i in range(n - 2)] + ["val/0.png", "test/1.png"]
    content = np.arange(2 * n, dtype=np.uint64).reshape(n, 2)
    content[n - 2] = content[0]   # val/0.png is train/0.png's copy: an exact duplicate, not a collision
    split = np.r_[np.zeros(n - 2), 1, 2].astype(np.int16)
    table = dataclasses.replace(base, paths=paths, split=split, content_hash=content)
    found = name_collisions(table)
    assert [(f.splits, f.paths) for f in found] == [(("train", "test"), ("train/1.png", "test/1.png"))]


@pytest.mark.parametrize("seed", range(3))
def test_names_through_the_dictionary_equal_the_definition_too(base, seed, monkeypatch):
    """Names too long to pad (here: any) and names holding a NUL byte, which padding would merge
    with the same name without it, go through a dictionary."""
    from inspector.core.leakage import names
    rng = np.random.default_rng(100 + seed)
    table = _random_table(base, rng, True)
    want = _reference(table)
    monkeypatch.setattr(names, "_FIXED_BYTES", 0)
    assert [(f.rows, f.message) for f in name_collisions(table)] == [(f.rows, f.message) for f in want]
    monkeypatch.undo()
    paths = list(table.paths)
    paths[:4] = ["train/a\x00", "val/a", "test/a\x00", "extra/a"]
    nul = dataclasses.replace(table, paths=paths, split=np.r_[[0, 1, 2, 3], table.split[4:]].astype(np.int16))
    assert [(f.rows, f.message) for f in name_collisions(nul)] == [(f.rows, f.message) for f in _reference(nul)]
