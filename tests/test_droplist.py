"""The drop list: the fewest files whose removal leaves no cross-split exact/near/mirror pair."""
from __future__ import annotations

import csv
import io
import itertools

import numpy as np
import pytest

from imagefactory import random_image
from inspector.core import droplist
from inspector.core.droplist import COLUMNS, drop_list, drop_list_csv
from inspector.core.leakage import Finding, pair_severity
from inspector.core.table import ImageTable
from inspector.core.leakage import table_from_images


def _table(spec: list[tuple[str, str, int]]) -> ImageTable:
    """(path, split, content id): equal ids are identical images (exact copies)."""
    images = {}
    items = []
    for path, split, cid in spec:
        if cid not in images:
            images[cid] = random_image("RGB", (16, 12), seed=1000 + cid)
        items.append((path, split, None, images[cid].copy()))
    return table_from_images(items)


def _near(table: ImageTable, a: str, b: str, kind: str = "near") -> Finding:
    i, j = table.paths.index(a), table.paths.index(b)
    sa, sb = table.split_of(i), table.split_of(j)
    return Finding(kind, pair_severity(sa, sb), (sa, sb), (a, b), 5.0, f"{kind} {a} {b}", (i, j))


def _paths(rows) -> list[str]:
    return [r.path for r in rows]


def test_exact_pair_drops_the_training_copy_by_default_and_the_heldout_one_on_request():
    t = _table([("train/a.png", "train", 1), ("train/x.png", "train", 2), ("test/b.png", "test", 1)])
    rows = drop_list(t, [])
    assert [(r.path, r.split, r.kind, r.partner) for r in rows] == [("train/a.png", "train", "exact", "test/b.png")]
    assert "test/b.png" in rows[0].reason
    assert _paths(drop_list(t, [], side="heldout")) == ["test/b.png"]


def test_a_group_needs_one_decision_and_keeps_the_protected_side():
    # one test image copied three times into train
    spec = [(f"train/c{k}.png", "train", 1) for k in range(3)] + [("test/t.png", "test", 1)]
    t = _table(spec)
    assert _paths(drop_list(t, [])) == ["train/c0.png", "train/c1.png", "train/c2.png"]
    assert _paths(drop_list(t, [], side="heldout")) == ["test/t.png"]


def test_a_training_image_near_copied_into_val_and_test_is_dropped_once():
    t = _table([("train/a.png", "train", 1), ("val/b.png", "val", 2), ("test/c.png", "test", 3)])
    f = [_near(t, "train/a.png", "val/b.png"), _near(t, "train/a.png", "test/c.png", "mirror")]
    rows = drop_list(t, f)
    assert _paths(rows) == ["train/a.png"] and rows[0].kind == "near" and rows[0].partner == "val/b.png"
    assert _paths(drop_list(t, f, side="heldout")) == ["test/c.png", "val/b.png"]


def test_val_test_pairs_keep_the_test_copy_and_within_split_pairs_are_left_alone():
    t = _table([("train/a.png", "train", 1), ("train/b.png", "train", 1),
                ("val/v.png", "val", 2), ("test/t.png", "test", 3)])
    rows = drop_list(t, [_near(t, "val/v.png", "test/t.png")])
    assert _paths(rows) == ["val/v.png"] and rows[0].partner == "test/t.png"


def test_a_triangle_over_three_splits_keeps_test():
    t = _table([("train/a.png", "train", 1), ("val/b.png", "val", 1), ("test/c.png", "test", 1)])
    assert _paths(drop_list(t, [])) == ["train/a.png", "val/b.png"]


def test_exact_copies_of_a_near_copy_go_with_it():
    """A near finding joins two copy classes: every exact copy of the train side goes too."""
    t = _table([("train/a.png", "train", 1), ("train/a2.png", "train", 1), ("test/c.png", "test", 2)])
    rows = drop_list(t, [_near(t, "train/a.png", "test/c.png")])
    assert _paths(rows) == ["train/a.png", "train/a2.png"]
    assert {r.kind for r in rows} == {"near"}


def test_findings_without_rows_are_matched_by_path():
    t = _table([("train/a.png", "train", 1), ("test/c.png", "test", 2)])
    f = Finding("near", "error", ("train", "test"), ("train/a.png", "test/c.png"), 3.0, "near", ())
    assert _paths(drop_list(t, [f])) == ["train/a.png"]


def _lex_cost(table, dropped: set[str], side: str) -> tuple[int, int, int]:
    rank = {"train": 0, "val": 1, "test": 3}
    cost = [0, 0, 0]
    for i, p in enumerate(table.paths):
        if p in dropped:
            sp = table.split_of(i)
            cost[0] += (sp != "train") if side == "train" else (sp == "train")
            cost[1] += 1
            cost[2] += rank[sp]
    return tuple(cost)


def _cross_pairs(table, findings) -> list[tuple[str, str]]:
    """Every cross-split copy pair: exact copies, and the finding pairs widened to the exact copies
    of either side (an exact copy of a near copy is a near copy too; the scan reports one per split)."""
    ch = [tuple(table.content_hash[i]) for i in range(len(table))]
    copy = {p: ch[i] for i, p in enumerate(table.paths)}
    joined = {(copy[f.paths[0]], copy[f.paths[1]]) for f in findings}
    split = dict(zip(table.paths, (table.split_of(i) for i in range(len(table)))))
    return [(a, b) for a, b in itertools.combinations(table.paths, 2) if split[a] != split[b]
            and (copy[a] == copy[b] or (copy[a], copy[b]) in joined or (copy[b], copy[a]) in joined)]


@pytest.mark.parametrize("side", droplist.SIDES)
def test_random_groups_match_a_brute_force_optimum(side):
    """Random families of small copy graphs: the drop list removes every cross-split pair at the
    least cost (protected files, then all files, then the split tie-break) that any subset reaches."""
    rng = np.random.default_rng(7)
    for trial in range(25):
        n = int(rng.integers(3, 9))
        splits = [("train", "val", "test")[int(k)] for k in rng.integers(0, 3, n)]
        ids = [int(k) for k in rng.integers(0, max(2, n - 2), n)]
        spec = [(f"{s}/f{k}.png", s, cid) for k, (s, cid) in enumerate(zip(splits, ids))]
        t = _table(spec)
        findings = [_near(t, spec[a][0], spec[b][0], "near" if rng.random() < .7 else "mirror")
                    for a, b in itertools.combinations(range(n), 2)
                    if splits[a] != splits[b] and rng.random() < 0.3]
        rows = drop_list(t, findings, side=side)
        got = set(_paths(rows))
        pairs = _cross_pairs(t, findings)
        assert all(a in got or b in got for a, b in pairs), (trial, pairs, got)
        best = min(_lex_cost(t, set(sub), side)
                   for k in range(n + 1) for sub in itertools.combinations(t.paths, k)
                   if all(a in sub or b in sub for a, b in pairs))
        assert _lex_cost(t, got, side) == best, (trial, spec, pairs, got)
        for r in rows:  # every dropped file names a kept partner in another split
            assert r.partner not in got and r.split != r.partner.split("/")[0]


def test_large_groups_use_the_greedy_rule_and_stay_valid():
    """30 val images, each a near copy of one training image: one file goes, not 30."""
    spec = [("train/hub.png", "train", 0)] + [(f"val/v{k:02d}.png", "val", k + 1) for k in range(30)]
    t = _table(spec)
    findings = [_near(t, "train/hub.png", p) for p, _, _ in spec[1:]]
    assert len(findings) + 1 > droplist.EXACT_LIMIT
    assert _paths(drop_list(t, findings)) == ["train/hub.png"]
    heldout = drop_list(t, findings, side="heldout")
    assert len(heldout) == 30 and all(r.partner == "train/hub.png" for r in heldout)


def test_csv_has_the_agreed_columns_and_quotes_commas():
    t = _table([("train/a, b.png", "train", 1), ("test/c.png", "test", 1)])
    text = drop_list_csv(drop_list(t, []))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS == ("path", "split", "kind", "partner", "reason")
    assert rows[1][:4] == ["train/a, b.png", "train", "exact", "test/c.png"]


def test_unknown_side_is_refused():
    with pytest.raises(ValueError):
        drop_list(_table([("train/a.png", "train", 1)]), [], side="val")
