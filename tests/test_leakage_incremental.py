"""The leakage search made cheaper without changing its findings: each image's look vector is made
once per search, and a rescan reuses the confirmation of candidate pairs whose images did not change
(compared with a search from nothing on datasets whose copies are made and destroyed by the change)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from inspector.core.leakage import confirmation
from inspector.core.leakage.confirmation import LookRanker
from inspector.core.table_from_images import table_from_images


def _tiny_table(n: int, seed: int):
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (32, 32, 3), np.uint8) for _ in range(n)]
    splits = ["train", "val", "test"]
    return table_from_images([(f"{i}.png", splits[i % 3], None, Image.fromarray(im)) for i, im in enumerate(images)])


def test_the_look_ranker_makes_each_vector_once_and_ranks_as_before(monkeypatch):
    table = _tiny_table(60, 3)
    rng = np.random.default_rng(4)
    blocks = [(rng.integers(0, 60, 200), rng.integers(0, 60, 200)) for _ in range(5)]
    made = []
    real = confirmation._look_vectors
    monkeypatch.setattr(confirmation, "_look_vectors", lambda t: made.append(len(t)) or real(t))
    ranker = LookRanker(table)
    got = [ranker(a, b) for a, b in blocks]
    assert sum(made) == len(np.unique(np.concatenate([np.r_[a, b] for a, b in blocks])))
    monkeypatch.setattr(confirmation, "LOOK_MEMORY", 0)  # vectors made per block, as before
    plain = LookRanker(table)
    for (a, b), (ok, rank) in zip(blocks, got):
        ok0, rank0 = plain(a, b)
        assert np.array_equal(ok, ok0) and np.array_equal(rank, rank0)
    assert sum(made) > 60
