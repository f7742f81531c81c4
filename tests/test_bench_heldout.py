"""The held-out leakage benchmark's scoring (scripts/heldout_score.py) on a tiny made-up case, and
its edits' contract (scripts/heldout_edits.py): every family yields an image and its params."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import heldout_edits  # noqa: E402
from heldout_score import overlap, score  # noqa: E402


def _f(kind, p, q, message="m"):
    return {"kind": kind, "severity": "error", "splits": ["train", "test"], "paths": [p, q],
            "distance": 2, "message": message}


def _manifest():
    copies = [
        {"family": "blur", "families": ["blur"], "original": "train/a/o1.jpg", "copy": "test/a/c1.jpg",
         "label_conflict": False, "mirror": False},
        {"family": "mirror", "families": ["mirror"], "original": "train/a/o2.jpg", "copy": "val/a/c2.jpg",
         "label_conflict": False, "mirror": True},
        {"family": "mirror", "families": ["mirror"], "original": "train/a/o3.jpg", "copy": "val/a/c3.jpg",
         "label_conflict": False, "mirror": True},
        {"family": "blur+gamma", "families": ["blur", "gamma"], "original": "val/a/o4.jpg",
         "copy": "train/b/c4.jpg", "label_conflict": True, "mirror": False},
        {"family": "blur", "families": ["blur"], "original": "train/a/o5.jpg", "copy": "test/a/c5.jpg",
         "label_conflict": False, "mirror": False},
    ]
    prov = {"train/a/o1.jpg": {"source": "s1", "box": [0, 0, 100, 100]},
            "train/a/z1.jpg": {"source": "s1", "box": [10, 10, 90, 90]},       # inside o1's box
            "test/n/left.jpg": {"source": "s2", "box": [0, 0, 50, 100]},
            "val/n/right.jpg": {"source": "s2", "box": [50, 0, 100, 100]},     # its neighbour
            "val/s/sky1.png": {"source": "synthetic:sky:0", "box": [0, 0, 10, 10]},
            "test/s/sky2.png": {"source": "synthetic:sky:1", "box": [0, 0, 10, 10]}}
    negative = {"test/n/left.jpg": "neighbour", "val/n/right.jpg": "neighbour",
                "val/s/sky1.png": "sky", "test/s/sky2.png": "sky"}
    return {"copies": copies, "provenance": prov, "negative": negative}


def test_score_counts_hits_mirrors_conflicts_and_false_pairs():
    findings = [
        _f("near", "test/a/c1.jpg", "train/a/o1.jpg"),           # found, paths in either order
        _f("near", "train/a/o1.jpg", "test/a/c1.jpg"),           # the same pair twice counts once
        _f("mirror", "train/a/o2.jpg", "val/a/c2.jpg"),          # found, as a mirror
        _f("near", "train/a/o3.jpg", "val/a/c3.jpg"),            # found, not as a mirror
        _f("near", "val/a/o4.jpg", "train/b/c4.jpg"),            # found ...
        _f("label_conflict", "val/a/o4.jpg", "train/b/c4.jpg"),  # ... and its label conflict
        # c5 missed
        _f("near", "train/a/o1.jpg", "train/a/z1.jpg"),          # same pixels of one photo: related
        _f("near", "test/n/left.jpg", "val/n/right.jpg"),        # neighbours: false
        _f("near", "val/s/sky1.png", "test/s/sky2.png"),         # two skies: false
        _f("exact", "val/n/right.jpg", "val/s/sky1.png"),        # the same pixels: related
        _f("label_conflict", "val/s/sky1.png", "test/a/c5.jpg"),  # sky and a copy: charged to sky
        {"kind": "property_drift", "severity": "info", "splits": ["val", "train"], "paths": [],
         "distance": None, "message": "drift"},                 # not a pair finding
        {"kind": "near", "severity": "info", "splits": ["train"], "paths": ["train/a/o1.jpg"],
         "distance": None, "message": "one path"},              # not a pair
    ]
    s = score(_manifest(), findings)
    assert s.total == 5 and s.hits == 4
    assert s.family_total == {"blur": 2, "mirror": 2, "blur+gamma": 1}
    assert s.family_found == {"blur": 1, "mirror": 2, "blur+gamma": 1}
    assert (s.mirror_as_mirror, s.mirror_total) == (1, 2)
    assert (s.conflicts_found, s.conflicts_copy_found, s.conflicts_total) == (1, 1, 1)
    assert [c["copy"] for c in s.missed] == ["test/a/c5.jpg"]
    assert s.related == 2
    assert s.false_pairs == {"neighbour": 1, "sky": 2}
    assert s.negatives == {"neighbour": 2, "sky": 2}
    assert s.false_examples["neighbour"][0]["paths"] == ["test/n/left.jpg", "val/n/right.jpg"]


def test_label_conflict_on_a_same_class_copy_is_false_and_unknown_pairs_are_other():
    findings = [_f("label_conflict", "train/a/o1.jpg", "test/a/c1.jpg"),
                _f("near", "train/x/p.jpg", "test/y/q.jpg")]
    s = score(_manifest(), findings)
    assert s.hits == 0 and s.conflicts_found == 0
    assert s.false_pairs == {"other": 2}


def test_overlap_is_intersection_over_the_smaller_box():
    a = {"source": "s", "box": [0, 0, 100, 100]}
    assert overlap(a, {"source": "s", "box": [50, 0, 150, 100]}) == 0.5
    assert overlap(a, {"source": "s", "box": [10, 10, 20, 20]}) == 1.0
    assert overlap(a, {"source": "t", "box": [0, 0, 100, 100]}) == 0.0
    assert overlap(a, {"source": "s", "box": [100, 0, 200, 100]}) == 0.0
    assert overlap(a, None) == 0.0


def test_every_edit_family_gives_an_image_and_params_and_pairs_are_ordered():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:60, 0:80]
    im = Image.fromarray(np.stack([x * 3, y * 4, (x + y) * 2], -1).astype(np.uint8))
    for name in heldout_edits.FAMILIES:
        out, params = heldout_edits.apply((name,), im, rng)
        assert isinstance(out, Image.Image) and min(out.size) >= 16, name
        assert set(params) == {name}
    for _ in range(50):
        a, b = heldout_edits.combine_pair(rng)
        assert a != b and heldout_edits.STAGE[a] <= heldout_edits.STAGE[b]
        assert not ({a, b} <= heldout_edits.ENCODINGS) and not ({a, b} <= heldout_edits.TURNS)


def test_phash_baseline_pairs_a_resized_copy_and_not_a_different_picture(tmp_path):
    import bench_heldout

    rng = np.random.default_rng(3)
    a = Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).resize((96, 96), Image.Resampling.BICUBIC)
    b = Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).resize((96, 96), Image.Resampling.BICUBIC)
    for rel, im in (("train/c/a.png", a), ("test/c/a2.png", a.resize((70, 70))), ("val/c/b.png", b)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        im.save(tmp_path / rel)
    found = bench_heldout.phash_findings(tmp_path)
    assert [sorted(f["paths"]) for f in found] == [["test/c/a2.png", "train/c/a.png"]]


def test_edit_words_names_the_edit_and_flags_claims_of_edits_not_made():
    import edit_words
    msg = ("Near duplicate: test/a/c.jpg (test) is a near copy of train/a/o.jpg (train); greyscale, "
           "cropped 8% (perceptual-hash distance 3 of 64 bits, threshold 10; thumbnail correlation "
           "0.990, fine detail 0.80).")
    assert edit_words.names_edit("greyscale", msg) is True
    assert edit_words.names_edit("crop_off_centre", msg) is True
    assert edit_words.names_edit("crop_shift", msg) is True          # the families benchmark's name
    assert edit_words.names_edit("gamma", msg) is False
    assert edit_words.names_edit("png", msg) is None                 # nothing the table can tell
    assert edit_words.wrong_claims(["greyscale", "crop_off_centre"], msg) == []
    assert edit_words.wrong_claims(["greyscale"], msg) == ["cropped"]
    assert edit_words.wrong_claims(["sharpen"], msg) == ["greyscale", "cropped"]
    # the scores' "thumbnail correlation" and "fine detail" are no claims; facts (size, format) neither
    plain = ("Near duplicate: b (test) is a near copy of a (train); resized to 10x10 from 20x20, WEBP "
             "instead of JPEG (perceptual-hash distance 3 of 64 bits, threshold 10; thumbnail "
             "correlation 0.990, fine detail 0.80).")
    assert edit_words.wrong_claims(["resize"], plain) == []
    assert edit_words.names_edit("contrast", plain) is False
    # one claim for either file's edit: blurred, or the other sharpened
    soft = plain.replace("; resized", "; less fine detail (blurred or smoothed, or the other sharpened), resized")
    assert edit_words.wrong_claims(["sharpen"], soft) == [] and edit_words.wrong_claims(["blur"], soft) == []
    assert edit_words.names_edit("blur", soft) and edit_words.names_edit("sharpen", soft)
    assert edit_words.wrong_claims(["jpeg"], soft) == ["fine detail"]
    named, wrong, examples = edit_words.tally([(["greyscale"], msg), (["sharpen"], msg), (["resize"], plain)])
    assert named["greyscale"] == [1, 1] and named["sharpen"] == [0, 1] and named["resize"] == [1, 1]
    assert wrong == {"greyscale": 1, "sharpen": 1} and len(examples) == 2
    lines = edit_words.summary([(["greyscale", "crop_off_centre"], msg), (["sharpen"], msg)])
    assert "naming an edit not made: 1 of 2" in lines[1] and lines[2].startswith("    WRONG sharpen")
