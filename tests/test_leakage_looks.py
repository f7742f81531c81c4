"""The 16x16 look vectors equal their definition: each thumbnail box-averaged 2x2 (float64
reference), mean removed, scaled to unit length; flat thumbnails give the zero vector."""
from __future__ import annotations

import numpy as np

from inspector.core.hashing import THUMB_SIZE
from inspector.core.leakage import looks


def test_look_vectors_equal_the_definition():
    rng = np.random.default_rng(7)
    thumbs = rng.integers(0, 256, (500, THUMB_SIZE, THUMB_SIZE)).astype(np.uint8)
    thumbs[:3] = 255                                          # flat: no direction, zero vector
    thumbs[3:6] = np.arange(THUMB_SIZE, dtype=np.uint8) * 8   # a ramp
    thumbs[6:9] = np.where(np.arange(THUMB_SIZE) % 2, 255, 0).astype(np.uint8)  # columns that cancel in a box
    got = looks._look_vectors(thumbs)
    f = THUMB_SIZE // 16
    box = thumbs.astype(np.float64).reshape(len(thumbs), 16, f, 16, f).mean(axis=(2, 4)).reshape(len(thumbs), -1)
    box -= box.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(box, axis=1, keepdims=True)
    want = np.where(norm > 1e-6, box / np.maximum(norm, 1e-6), 0.0)
    assert got.dtype == np.float32 and got.shape == (len(thumbs), 256)
    np.testing.assert_allclose(got, want, atol=2e-6)
    assert not got[:3].any() and not got[6:9].any()
