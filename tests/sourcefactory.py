"""Write one image set as every kind of dataset source, with the ecosystem's own writers.

``make_image_set`` writes a folder dataset (train/val/test with classes, and cross-split copies
so the leakage check has findings); the ``as_*`` functions write the same images as a manifest,
Hugging Face Parquet (``datasets``), WebDataset shards (``webdataset``) and a YOLO data.yaml.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from imagefactory import make_good_images

SPLITS = ("train", "val", "test")


def make_image_set(root: Path) -> Path:
    """A small folder dataset: 3 splits x 2 classes of mixed modes, plus exact copies across splits."""
    for k, split in enumerate(SPLITS):
        for j, label in enumerate(("cat", "dog")):
            n = 10 if split == "train" else 4
            make_good_images(root, split, n, modes=("RGB", "L", "RGBA", "P"), seed=10 * k + j + 1, label=label)
    # Leakage: a train image copied into test (exact), and one into val under another class.
    shutil.copy(root / "train" / "cat" / "img_0000_RGB.png", root / "test" / "cat" / "copy_of_train.png")
    shutil.copy(root / "train" / "dog" / "img_0001_L.png", root / "val" / "cat" / "relabelled.png")
    return root


def image_rows(root: Path) -> list[tuple[Path, str, str]]:
    """(file, split, label) for every image of a folder dataset made by ``make_image_set``."""
    return [(p, split, p.parent.name) for split in SPLITS
            for p in sorted((root / split).rglob("*.png"))]


def as_manifest(root: Path, out: Path, *, delimiter: str = ",", jsonl: bool = False) -> Path:
    rows = image_rows(root)
    if jsonl:
        out.write_text("".join(json.dumps({"file": str(p.relative_to(out.parent)) if p.is_relative_to(out.parent)
                                           else str(p), "split": s, "label": lab}) + "\n"
                               for p, s, lab in rows))
        return out
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(["filename", "Split", "class"])
        for p, s, lab in rows:
            w.writerow([p.relative_to(out.parent) if p.is_relative_to(out.parent) else p, s, lab])
    return out


def as_parquet(root: Path, out: Path, *, layout: str = "data") -> Path:
    """The Hugging Face layout ``data/{split}-00000-of-00001.parquet``, written by ``datasets``."""
    import datasets

    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["cat", "dog"])})
    rows = image_rows(root)
    for split in SPLITS:
        # Embedded bytes, as on the hub (push_to_hub embeds them); the file name kept as path.
        mine = [({"bytes": p.read_bytes(), "path": p.name}, lab) for p, s, lab in rows if s == split]
        ds = datasets.Dataset.from_dict({"image": [p for p, _ in mine], "label": [lab for _, lab in mine]},
                                        features=features)
        target = out / "data" / f"{split}-00000-of-00001.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(target))
    return out


def as_shards(root: Path, out: Path, per_shard: int = 9, suffix: str = ".tar") -> Path:
    """``{split}-NNNNNN.tar`` shards written by ``webdataset.ShardWriter``, label in ``.cls``
    (``suffix=".tar.gz"``: gzip-compressed shards, as its writer makes them for such names)."""
    import webdataset as wds

    out.mkdir(parents=True, exist_ok=True)
    rows = image_rows(root)
    for split in SPLITS:
        pattern = str(out / f"{split}-%06d{suffix}")
        with wds.ShardWriter(pattern, maxcount=per_shard, verbose=0) as sink:
            for i, (p, s, lab) in enumerate(r for r in rows if r[1] == split):
                sink.write({"__key__": f"{lab}/{p.stem}", "png": p.read_bytes(), "cls": lab})
    return out


def as_yolo(root: Path, out: Path, *, boxes: bool = False, names_as_list: bool = False) -> Path:
    """A YOLO dataset: images/{split}/ folders and a data.yaml naming them and the classes.

    ``boxes=True`` also writes label files labels/{split}/.../NAME.txt (see ``planted_boxes``)."""
    for k, (p, s, lab) in enumerate(image_rows(root)):
        dest = out / "images" / s / lab / p.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest)
        ids = planted_boxes(k, lab)
        if boxes and ids is not None:
            label = out / "labels" / s / lab / (p.stem + ".txt")
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("".join(f"{c} 0.5 0.5 0.2 0.{3 + j}\n" for j, c in enumerate(ids)))
    names = "names: [cat, dog]\n" if names_as_list else "names:\n  0: cat\n  1: dog\n"
    (out / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\ntest: images/test\n" + names)
    return out / "data.yaml"


def planted_boxes(k: int, label: str) -> list[int] | None:
    """The box class ids written for the k-th image of folder class ``label`` (0 cat, 1 dog):
    no label file, an empty one, mostly its own class, a one-all tie, or one box of its class."""
    own, other = (0, 1) if label == "cat" else (1, 0)
    return [None, [], [own, own, other], [1, 0], [own]][k % 5]
