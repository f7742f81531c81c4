"""YOLO data.yaml: the class of a detection image, per-class box counts, names in both forms, a
data.yaml behind a URL, and malformed label lines (listed, left out of the counts)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from inspector.core import sources
from inspector.core.sources.yolo import label_path
from sourcefactory import as_yolo, image_rows, make_image_set, planted_boxes
from test_remote import option_args, without_location
from test_sources import export

NAMES = {0: "cat", 1: "dog"}


@pytest.fixture(scope="module")
def image_set(tmp_path_factory) -> Path:
    return make_image_set(tmp_path_factory.mktemp("yolo-set") / "folder")


@pytest.fixture(scope="module")
def detection(image_set, tmp_path_factory) -> Path:
    return as_yolo(image_set, tmp_path_factory.mktemp("yolo") / "ds", boxes=True)


def expected(image_set: Path) -> tuple[dict, dict]:
    """Per split: image classes by the documented rule, and per-class image and box counts,
    worked out from the planted boxes."""
    classes: dict = {}
    objects: dict = {}
    for k, (_, split, label) in enumerate(image_rows(image_set)):
        ids = planted_boxes(k, label) or []
        counts = Counter(ids)
        top = max(counts.values(), default=0)
        image_class = NAMES[min(c for c in counts if counts[c] == top)] if ids else "background"
        classes.setdefault(split, Counter())[image_class] += 1
        per = objects.setdefault(split, {})
        for c, n in counts.items():
            entry = per.setdefault(NAMES[c], {"images": 0, "boxes": 0})
            entry["images"] += 1
            entry["boxes"] += n
    return ({s: dict(sorted(c.items())) for s, c in classes.items()},
            {s: dict(sorted(per.items())) for s, per in objects.items()})


def test_an_image_class_is_its_most_frequent_box_class(detection, image_set, tmp_path):
    doc = export(str(detection), tmp_path)
    classes, objects = expected(image_set)
    assert set(classes["train"]) == {"background", "cat", "dog"}
    assert doc["dataset"]["classes"] == classes
    assert doc["dataset"]["objects"] == objects
    for split in ("train", "val", "test"):
        assert doc["splits"][split]["classes"] == classes[split]
    balance = doc["balance"]["train"]["counts"]  # class balance and label drift read these classes
    assert balance == classes["train"]


def test_names_as_a_list_name_the_same_classes(image_set, tmp_path):
    listed = as_yolo(image_set, tmp_path / "listed", boxes=True, names_as_list=True)
    layout = sources.complete(sources.open_source(str(listed)))
    assert layout.classes == expected(image_set)[0]
    assert layout.objects == expected(image_set)[1]


def test_label_file_rule_and_background(detection, image_set):
    image = detection.parent / "images" / "train" / "cat" / "x.png"
    assert label_path(str(image)) == str(detection.parent / "labels" / "train" / "cat" / "x.txt")
    assert label_path("/data/images/a/images/b.jpg") == "/data/images/a/labels/b.txt"
    assert label_path("/data/flat/b.jpg") == "/data/flat/b.txt"  # no images/ folder: beside it
    layout = sources.complete(sources.open_source(str(detection)))
    by_path = {f.path: f.label for f in layout.files}
    rows = [(f"images/{s}/{lab}/{p.name}", lab) for p, s, lab in image_rows(image_set)]
    no_file, empty, mostly_own, tie, one_own = (rows[k::5] for k in range(5))
    assert not (detection.parent / "labels" / no_file[0][0][len("images/"):]).with_suffix(".txt").exists()
    assert all(by_path[p] == "background" for p, _ in no_file + empty)
    assert all(by_path[p] == lab for p, lab in mostly_own + one_own)
    assert all(by_path[p] == "cat" for p, _ in tie)  # one cat, one dog: the lower class id


def test_malformed_label_lines_are_listed_and_left_out(image_set, tmp_path):
    yaml_path = as_yolo(image_set, tmp_path / "ds", boxes=True)
    label = next((tmp_path / "ds" / "labels" / "train" / "dog").glob("*.txt"))
    good = label.read_text()
    label.write_text(good + "1 0.5 0.5\nx 0.1 0.1 0.1 0.1\n7 0.5 0.5 0.1 0.1\n0.5 0.5 0.5 0.1 0.1\n")
    layout = sources.complete(sources.open_source(str(yaml_path)))
    assert layout.objects == expected(image_set)[1]
    rel = label.relative_to(tmp_path / "ds").as_posix()
    reasons = {s.path: s.reason for s in layout.skipped if s.path.startswith(rel)}
    assert set(reasons) == {f"{rel}:{n}" for n in range(len(good.splitlines()) + 1, len(good.splitlines()) + 5)}
    assert any("3 numbers" in r for r in reasons.values())
    assert any("not numbers" in r for r in reasons.values())
    assert any("class id 7 is not in names" in r for r in reasons.values())
    assert any("not a whole number" in r for r in reasons.values())


def test_unusable_names_are_a_usage_error(tmp_path):
    (tmp_path / "data.yaml").write_text("train: images\nnames: cat\n")
    with pytest.raises(sources.LayoutError, match="names must be"):
        sources.open_source(str(tmp_path / "data.yaml"))


def test_data_yaml_on_s3_gives_the_local_export(s3_server, detection, tmp_path):
    options, fs = s3_server
    fs.mkdir("yolo-tests")
    fs.put(str(detection.parent) + "/", "yolo-tests/coco/", recursive=True)
    # The YAML one folder above its images, reaching them through path: .. relative to it
    fs.pipe("yolo-tests/coco/config/data.yaml", b"path: ..\ntrain: images/train\nval: images/val\n"
                                               b"test: images/test\nnames: {0: cat, 1: dog}\n")
    url = "s3://yolo-tests/coco/config/data.yaml"
    doc = export(url, tmp_path, "--no-cache", *option_args(options))
    assert doc["dataset"]["source"] == {"kind": "yolo", "uri": url}
    assert doc["dataset"]["root"] == "s3://yolo-tests/coco"
    local = export(str(detection), tmp_path, "--no-cache")
    assert without_location(doc) == without_location(local)
    assert doc["dataset"]["objects"]["train"]


def test_remote_yaml_with_a_local_root_is_a_usage_error(s3_server):
    options, fs = s3_server
    fs.mkdir("yolo-local-root")
    fs.pipe("yolo-local-root/data.yaml", b"path: /datasets/coco\ntrain: images/train\n")
    with pytest.raises(sources.LayoutError, match="local path"):
        sources.open_source("s3://yolo-local-root/data.yaml", options)
