"""The leakage benchmark's hard negatives (scripts/bench_families.py): crops made from a source
photo next to, or shifted from, one corpus crop must show a distinct part of the photo, also
against the photo's other corpus crops."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench_families  # noqa: E402
import leakage_families as lf  # noqa: E402


def test_a_box_wholly_inside_another_crop_is_not_distinct():
    crop = (100, 100, 400, 400)
    inside = (150, 150, 350, 350)          # 44% of its area: that crop zoomed in 1.5x
    shifted = (205, 100, 505, 400)         # shifted by 35% of a side: 65% shared
    assert lf.shared_share(inside, crop) == 1.0
    assert not lf.distinct_from(inside, [crop])
    assert lf.distinct_from(shifted, [crop])
    assert lf.distinct_from((400, 100, 700, 400), [crop, (0, 0, 90, 90)])


def test_negatives_are_distinct_from_every_corpus_crop_of_their_photo(tmp_path):
    """A photo with one large corpus crop covering its left half and many small ones: shots shifted
    from a small crop often land inside the large one, and must not be made there."""
    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 256, (240, 480, 3), dtype=np.uint8))
    member = tmp_path / "extracted" / "pkg" / "photo.png"
    member.parent.mkdir(parents=True)
    photo.save(member)
    sources = {"p": {"id": "p", "package": "pkg", "member": "photo.png"}, "q": {"id": "q"}}
    boxes = {"train/c/big.png": ("p", (0, 0, 240, 240))}
    for k in range(60):
        x, y = int(rng.integers(0, 420)), int(rng.integers(0, 180))
        boxes[f"{('val', 'test')[k % 2]}/c/s{k:03d}.png"] = ("p", (x, y, x + 60, y + 60))
    for k in range(400):     # the CIFAR-sized crowd needs 400 crops; their photo is not at hand
        boxes[f"train/c/q{k:03d}.png"] = ("q", (0, 0, 60, 60))
    items = [(p, p.split("/")[0], "c", photo.crop(b)) for p, (_, b) in boxes.items()]
    out, ident, box_of, category, truth = bench_families.build(items, boxes, sources, tmp_path, 5, 1)
    made = [p for p, c in category.items() if c in ("other shot", "neighbour crop")]
    assert sum(category[p] == "other shot" for p in made) >= 5
    crops = [b for s, b in boxes.values() if s == "p"]
    for p in made:
        assert lf.distinct_from(box_of[p][1], crops), (p, box_of[p])


def test_same_text_lays_one_caption_or_watermark_on_distinct_pictures():
    pics = [Image.new("RGB", (160, 120), c) for c in ((40, 90, 160), (200, 180, 120))]
    kinds = set()
    for seed in range(6):
        a, b = (np.asarray(x, np.int16) for x in lf.same_text(pics, np.random.default_rng(seed)))
        changed_a = np.abs(a - np.asarray(pics[0], np.int16)).max(axis=2) > 40
        changed_b = np.abs(b - np.asarray(pics[1], np.int16)).max(axis=2) > 40
        assert changed_a.any() and (changed_a == changed_b).mean() > 0.97   # the same text, same place
        kinds.add(bool(changed_a[-1].all()))       # a caption band covers the whole bottom row
    assert kinds == {True, False}
