"""Dataset sources (DESIGN section 7): every kind gives the folder scan's statistics and findings."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from inspector import cli
from inspector.core import sources
from inspector.core.decode import decode
from sourcefactory import as_manifest, image_rows, make_image_set

SCHEMA = json.loads((Path(__file__).parent / "export-v1.schema.json").read_text())


@pytest.fixture(scope="module")
def image_set(tmp_path_factory) -> Path:
    return make_image_set(tmp_path_factory.mktemp("set") / "folder")


@pytest.fixture(scope="module")
def folder_doc(image_set, tmp_path_factory) -> dict:
    return export(str(image_set), tmp_path_factory.mktemp("folder-doc"))


def export(source: str, out_dir: Path, *extra: str) -> dict:
    out = out_dir / "out.json"
    assert cli.main(["scan", source, "--json", str(out), "--quiet", "--workers", "2", *extra]) == 0
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return doc


def findings(doc: dict, leave_out: tuple[str, ...] = ()) -> list[tuple]:
    """Findings without their paths: ids differ between kinds (path, SHARD/MEMBER, FILE#ROW)."""
    return sorted((f["kind"], f["severity"], tuple(f["splits"]), f["distance"]) for f in doc["leakage"]
                  if f["kind"] not in leave_out)


def assert_same_scan(doc: dict, reference: dict, *, classes: bool = True, leave_out: tuple[str, ...] = ()) -> None:
    """Same statistics and findings; ``classes=False`` for sources without image labels (YOLO),
    ``leave_out`` for finding kinds a source cannot have (no file names in Parquet row ids)."""
    assert doc["dataset"]["splits"] == reference["dataset"]["splits"]
    for name, split in reference["splits"].items():
        mine = dict(doc["splits"][name])
        ref = dict(split)
        if not classes:
            mine.pop("classes"), ref.pop("classes")
        assert mine == ref, name
    assert doc["normalization"]["mean"] == reference["normalization"]["mean"]
    assert doc["normalization"]["std"] == reference["normalization"]["std"]
    if classes:
        assert doc["dataset"]["classes"] == reference["dataset"]["classes"]
    assert findings(doc, leave_out) == findings(reference, leave_out)
    assert doc["failures"] == [] and reference["failures"] == []


def test_folder_export_names_its_source(folder_doc, image_set):
    assert folder_doc["dataset"]["source"] == {"kind": "folder", "uri": str(image_set)}
    kinds = {f["kind"] for f in folder_doc["leakage"]}
    assert {"exact", "label_conflict"} <= kinds  # the image set has findings to compare


@pytest.mark.parametrize("form", ["csv", "tsv", "jsonl"])
def test_manifest_gives_the_folder_statistics(form, image_set, folder_doc, tmp_path):
    out = tmp_path / f"list.{form}"
    as_manifest(image_set, out, delimiter="\t" if form == "tsv" else ",", jsonl=form == "jsonl")
    doc = export(str(out), tmp_path)
    assert doc["dataset"]["source"] == {"kind": "manifest", "uri": str(out)}
    assert_same_scan(doc, folder_doc)


def test_manifest_paths_relative_to_the_manifest(image_set, tmp_path):
    out = image_set.parent / "lists" / "all.csv"
    out.parent.mkdir(exist_ok=True)
    out.write_text("image,split,label\n../folder/train/cat/img_0000_RGB.png,training,cat\n"
                   f"{image_set / 'test' / 'dog' / 'img_0001_L.png'},TEST,dog\n")
    layout = sources.complete(sources.open_source(str(out)))
    assert [(f.path, f.split, f.label) for f in layout.files] == [
        ("../folder/train/cat/img_0000_RGB.png", "train", "cat"),
        ("../folder/test/dog/img_0001_L.png", "test", "dog")]
    assert layout.files[0].size == (image_set / "train" / "cat" / "img_0000_RGB.png").stat().st_size


def test_headerless_manifest_reads_path_split_label(image_set, tmp_path):
    out = image_set / "plain.csv"
    out.write_text("train/cat/img_0000_RGB.png,train,cat\ntest/dog/img_0001_L.png,test,dog\n")
    layout = sources.complete(sources.open_source(str(out)))
    assert [(f.path, f.split, f.label) for f in layout.files] == [
        ("train/cat/img_0000_RGB.png", "train", "cat"), ("test/dog/img_0001_L.png", "test", "dog")]


def test_manifest_bad_rows_are_listed_and_the_rest_scanned(image_set, tmp_path):
    out = image_set / "bad.csv"
    out.write_text(
        "path,split,label\n"
        "train/cat/img_0000_RGB.png,train,cat\n"      # 2 fine
        "train/cat/img_0001_L.png,train\n"            # 3 malformed: a field missing
        "train/cat/gone.png,train,cat\n"              # 4 missing file
        "train/cat/img_0002_RGBA.png,holdout,cat\n"   # 5 unknown split value
        "train/cat/img_0000_RGB.png,train,cat\n"      # 6 duplicated id (same split)
        "train/cat/img_0000_RGB.png,test,cat\n"       # 7 same file in another split: a finding
        ",train,cat\n")                               # 8 no path
    doc = export(str(out), tmp_path)
    reasons = {f["path"]: f["reason"] for f in doc["failures"]}
    assert "malformed row" in reasons["bad.csv:3"]
    assert "no such file" in reasons["train/cat/gone.png"]
    assert "unknown split value 'holdout'" in reasons["bad.csv:5"]
    assert "listed again" in reasons["bad.csv:6"] and "first at line 2" in reasons["bad.csv:6"]
    assert "empty" in reasons["bad.csv:8"]
    assert len(reasons) == 5
    assert doc["splits"]["train"]["images"] == 1 and doc["splits"]["train"]["failed"] == 1
    assert doc["splits"]["test"]["images"] == 1
    exact = [f for f in doc["leakage"] if f["kind"] == "exact"]
    assert len(exact) == 1 and exact[0]["splits"] == ["train", "test"] and exact[0]["severity"] == "error"
    assert exact[0]["paths"] == ["train/cat/img_0000_RGB.png", "train/cat/img_0000_RGB.png"]


def test_jsonl_malformed_line_is_listed(image_set, tmp_path):
    out = image_set / "bad.jsonl"
    out.write_text('{"path": "train/cat/img_0000_RGB.png", "split": "train"}\n{"path": oops}\n[1, 2]\n')
    doc = export(str(out), tmp_path)
    reasons = {f["path"]: f["reason"] for f in doc["failures"]}
    assert "invalid JSON" in reasons["bad.jsonl:2"] and "not an object" in reasons["bad.jsonl:3"]
    assert doc["splits"]["train"]["images"] == 1


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("name,size\nx.png,3\n", "names no path column"),
])
def test_unusable_manifest_is_a_usage_error(text, message, tmp_path, capsys):
    out = tmp_path / "m.csv"
    out.write_text(text)
    assert cli.main(["scan", str(out), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_not_a_source_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert cli.main(["scan", str(tmp_path / "notes.txt"), "--quiet"]) == 2
    assert "Not a dataset source" in capsys.readouterr().err


def test_manifest_is_discovered_lazily(image_set, tmp_path, monkeypatch):
    """A long manifest starts scanning before it is read through: the first chunk comes after a
    few batches of rows, and the rest is read as the scan consumes chunks."""
    monkeypatch.setattr(sources.manifest, "BATCH", 50)
    monkeypatch.setattr(sources.lazy, "LOOKAHEAD", 200)
    source = image_set / "train" / "cat" / "img_0000_RGB.png"
    many = tmp_path / "many"
    many.mkdir()
    out = tmp_path / "long.csv"
    with open(out, "w") as fh:
        fh.write("path,split\n")
        for i in range(2000):
            os.link(source, many / f"{i}.png")
            fh.write(f"many/{i}.png,train\n")
    layout = sources.open_source(str(out))
    assert layout.files == [] and sources.discovering(layout)
    chunks = sources.iter_chunks(layout, 64)
    first = next(chunks)
    assert [f.path for _, f in first][:2] == ["many/0.png", "many/1.png"]
    assert 200 <= len(layout.files) <= 250 and sources.discovering(layout)
    assert sum(len(c) for c in chunks) + len(first) == 2000
    assert not sources.discovering(layout) and len(layout.files) == 2000


def test_scan_of_a_lazy_manifest_equals_the_listed_one(image_set, tmp_path, monkeypatch):
    from inspector.core import scan as scan_module

    out = as_manifest(image_set, image_set / "all.csv")
    eager = scan_module.scan(sources.complete(sources.open_source(str(out))), workers=1)
    monkeypatch.setattr(sources.manifest, "BATCH", 5)
    monkeypatch.setattr(sources.lazy, "LOOKAHEAD", 8)
    monkeypatch.setattr(scan_module, "PREFETCH_PER_WORKER", 1)
    monkeypatch.setattr(scan_module, "PROGRESS_INTERVAL", 0.0)
    gen = scan_module.iter_scan(sources.open_source(str(out)), workers=1, chunk_size=4)
    records = []
    try:
        while True:
            records.append(next(gen))
    except StopIteration as stop:
        lazy = stop.value
    assert records[0].discovering and records[0].total < len(eager.images)
    assert not records[-1].discovering and records[-1].total == len(eager.images)
    assert records[-1].per_split == {s: (n, n) for s, n in
                                     ((s, int((eager.images.split == k).sum())) for k, s in enumerate(eager.splits))}
    assert lazy.splits == eager.splits and lazy.images.paths == eager.images.paths
    for name in eager.splits:
        a, b = lazy.split_stats[name], eager.split_stats[name]
        assert (a.images, a.failed, a.pixels) == (b.images, b.failed, b.pixels)
        assert (a.histogram == b.histogram).all()


def test_imagefolder_metadata_gives_the_labels(image_set, tmp_path):
    """Hugging Face imagefolder: metadata.csv (in a split folder) and metadata.jsonl (at the root)
    name images by file_name relative to themselves and give their label."""
    import shutil

    root = tmp_path / "hf"
    shutil.copytree(image_set, root)
    (root / "train" / "metadata.csv").write_text("file_name,label\ncat/img_0000_RGB.png,tabby\n")
    (root / "metadata.jsonl").write_text('{"file_name": "test/dog/img_0001_L.png", "label": "beagle"}\n')
    layout = sources.open_source(str(root))
    labels = {f.path: f.label for f in layout.files}
    assert labels["train/cat/img_0000_RGB.png"] == "tabby" and labels["test/dog/img_0001_L.png"] == "beagle"
    assert labels["train/cat/img_0001_L.png"] == "cat"  # not listed: the folder's class
    reasons = {s.path: s.reason for s in layout.skipped}
    assert "labels of 1 images read" in reasons["train/metadata.csv"]
    assert "labels of 1 images read" in reasons["metadata.jsonl"]


def test_a_stray_archive_beside_image_splits_is_still_a_folder(image_set, tmp_path):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(image_set, root)
    (root / "backup.tar").write_bytes(b"")
    assert sources.detect_kind(str(root)) == "folder"
    assert sources.detect_kind(str(image_set)) == "folder"


def test_decode_accepts_bytes(image_set):
    path = image_set / "train" / "cat" / "img_0000_RGB.png"
    from_path, from_bytes = decode(str(path)), decode(path.read_bytes(), path.name)
    assert from_bytes.nbytes == from_path.nbytes == path.stat().st_size
    assert from_bytes.image.tobytes() == from_path.image.tobytes()
    assert (from_bytes.format, from_bytes.flags) == (from_path.format, from_path.flags)
