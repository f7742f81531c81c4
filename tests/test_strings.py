"""StringColumn: many paths in one bytes buffer, read like a sequence of str."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from inspector.core.strings import StringColumn

WORDS = ["train/cat/a.png", "", "val/dög/ü.jpg", "train/cat/a.png.bak", "a.png", "test/😀/x.webp",
         "bad\udcff-name.png"]


def test_reads_like_the_list_it_was_made_from():
    col = StringColumn.from_strings(WORDS)
    assert len(col) == len(WORDS) and list(col) == WORDS and col == WORDS and col == tuple(WORDS)
    assert [col[i] for i in range(len(WORDS))] == WORDS and col[-1] == WORDS[-1]
    assert col[np.int64(2)] == WORDS[2]
    with pytest.raises(IndexError):
        col[len(WORDS)]
    assert col[1:4] == WORDS[1:4] and col[::-2] == WORDS[::-2]
    assert col != WORDS[:-1] and col != [*WORDS[:-1], "other"]
    assert StringColumn() == [] and len(StringColumn()) == 0


def test_index_finds_whole_strings_only():
    col = StringColumn.from_strings(WORDS)
    for i, w in enumerate(WORDS):
        assert col.index(w) == WORDS.index(w), w
    # "a.png" occurs inside "train/cat/a.png" first: only the whole string counts.
    assert col.index("a.png") == 4 and "cat/a.png" not in col and "a.png" in col
    with pytest.raises(ValueError):
        col.index("train/cat/a.png", 1)
    with pytest.raises(ValueError):
        col.index("missing")


def test_take_concat_pickle_and_arrow_share_the_order():
    col = StringColumn.from_strings(WORDS)
    rows = [5, 0, 0, 2, 1]
    assert col.take(rows) == [WORDS[r] for r in rows] and col.take([]) == []
    assert col.concat(["more", ""]) == [*WORDS, "more", ""]
    assert pickle.loads(pickle.dumps(col)) == col
    arrow = StringColumn.from_strings(WORDS[:-1]).to_arrow()  # arrow wants valid UTF-8
    assert arrow.to_pylist() == WORDS[:-1]
    assert col.nbytes == len(b"".join(w.encode("utf-8", "surrogatepass") for w in WORDS)) + 8 * (len(WORDS) + 1)
    with pytest.raises(ValueError):
        StringColumn(b"abc", np.array([0, 2]))


def test_argsort_is_code_point_order_without_pyarrow(monkeypatch):
    import sys

    rng = np.random.default_rng(5)
    alphabet = ["a", "b", "A", "ä", "/", "-", "😀", "z", "0"]
    words = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(2000)]
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # importing it would fail
    col = StringColumn.from_strings(words)
    assert [words[i] for i in col.argsort()] == sorted(words)
    order = col.argsort()
    assert all(order[k] < order[k + 1] for k in range(len(words) - 1) if words[order[k]] == words[order[k + 1]])  # stable
    monkeypatch.setattr("inspector.core.strings._FIXED_BYTES", 10)  # the fallback for very long strings
    assert [words[i] for i in col.argsort()] == sorted(words)


def test_taking_every_string_in_order_is_a_copy_of_the_column():
    values = ["a", "", "ünï/cödé.png", "b" * 300, "\udcff.png"]
    col = StringColumn.from_strings(values)
    for rows in (np.arange(5), np.array([0, 1, 2, 4, 3]), np.array([1, 2, 3, 4, 0]), np.arange(4)):
        taken = col.take(rows)
        assert list(taken) == [values[r] for r in rows.tolist()]
    whole = col.take(np.arange(5))
    assert whole._data == col._data and not np.shares_memory(whole._offsets, col._offsets)  # bytes are immutable
