"""Datasets behind fsspec URLs (DESIGN sections 7 and 9): --storage-option, and what to install."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from inspector import cli
from inspector.core import sources
from inspector.core import storage_options as so
from sourcefactory import as_manifest, as_parquet, as_shards, make_image_set

SCHEMA = json.loads((Path(__file__).parent / "export-v1.schema.json").read_text())


def test_storage_options_are_typed_and_nested():
    options = so.parse_storage_options([
        "endpoint_url=http://127.0.0.1:9000", "anon=false", "use_ssl=True", "default_block_size=1048576",
        "client_kwargs.region_name=eu-west-1", "client_kwargs.verify=none", 'config_kwargs={"retries": 3}',
        "key=0123abc",
    ])
    assert options == {
        "endpoint_url": "http://127.0.0.1:9000", "anon": False, "use_ssl": True,
        "default_block_size": 1048576, "client_kwargs": {"region_name": "eu-west-1", "verify": None},
        "config_kwargs": {"retries": 3}, "key": "0123abc",
    }


@pytest.mark.parametrize("pair, words", [
    ("endpoint_url", "expected KEY=VALUE"),
    ("=x", "expected KEY=VALUE"),
    ("config_kwargs={retries", "not valid"),
    ("anon=true", None),
])
def test_malformed_storage_option_is_a_usage_error(pair, words, tmp_path, capsys):
    args = ["scan", str(tmp_path / "missing"), "--storage-option", pair, "--quiet"]
    assert cli.main(args) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert (words or "No such file") in err


def test_without_fsspec_a_url_says_what_to_install(monkeypatch, capsys):
    real = so.importlib.util.find_spec
    monkeypatch.setattr(so.importlib.util, "find_spec", lambda name: None if name == "fsspec" else real(name))
    assert cli.main(["scan", "s3://bucket/data", "--quiet"]) == cli.EXIT_USAGE
    assert "pip install 'dataset-inspector[cluster]'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- sources on S3

def write_extras(root: Path) -> None:
    """Entries the walk must list as skipped, and an image it must find by its content."""
    (root / "README.md").write_text("about this dataset")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    (root / "train" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    shutil.copy(root / "val" / "dog" / "img_0000_RGB.png", root / "val" / "dog" / "no_extension")


@pytest.fixture(scope="module")
def image_set(tmp_path_factory) -> Path:
    root = make_image_set(tmp_path_factory.mktemp("remote") / "folder")
    write_extras(root)
    as_manifest(root, root.parent / "list.csv")  # paths relative to the manifest: folder/train/...
    as_parquet(root, root.parent / "hub")       # data/{split}-00000-of-00001.parquet, by datasets
    as_shards(root, root.parent / "shards")     # {split}-NNNNNN.tar, by webdataset
    return root


@pytest.fixture(scope="module")
def bucket(s3_server, image_set) -> dict:
    """The image set as a folder, a manifest, Parquet and tar shards, uploaded to s3://remote-tests/."""
    options, fs = s3_server
    fs.mkdir("remote-tests")
    for name in ("folder", "hub", "shards"):
        fs.put(str(image_set.parent / name) + "/", f"remote-tests/{name}/", recursive=True)
    fs.put(str(image_set.parent / "list.csv"), "remote-tests/list.csv")
    return options


def option_args(options: dict) -> list[str]:
    return [a for k, v in options.items() for a in ("--storage-option", f"{k}={v}")]


def export(source: str, out_dir: Path, *extra: str) -> dict:
    out = out_dir / "out.json"
    # no cache: a second scan of the same files (through another URL) would report cached counts
    assert cli.main(["scan", source, "--json", str(out), "--per-image", "--quiet", "--no-cache", *extra]) == 0
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return doc


def without_location(doc: dict) -> dict:
    """The export minus where the dataset lives (its root and URI); everything else must match."""
    doc = json.loads(json.dumps(doc))
    del doc["dataset"]["root"], doc["dataset"]["source"]["uri"]
    return doc


def listing(layout) -> tuple:
    return (layout.kind, layout.splits, [(f.path, f.split, f.label, f.size) for f in layout.files],
            layout.skipped, layout.broken)


def test_folder_on_s3_is_walked_like_the_local_folder(bucket, image_set):
    remote = sources.open_source("s3://remote-tests/folder/", bucket)
    assert listing(remote) == listing(sources.open_source(str(image_set)))
    skipped = {s.path: s.reason for s in remote.skipped}
    assert "outside the split folders" in skipped["README.md"]
    assert "not an image" in skipped["train/cat/notes.txt"] and "hidden" in skipped["train/.DS_Store"]
    assert "val/dog/no_extension" in {f.path for f in remote.files}
    assert all(f.abspath.startswith("s3://remote-tests/folder/") for f in remote.files)


@pytest.mark.parametrize("remote, local", [("s3://remote-tests/folder", "folder"),
                                           ("s3://remote-tests/list.csv", "list.csv"),
                                           ("s3://remote-tests/hub", "hub"),
                                           ("s3://remote-tests/shards", "shards"),
                                           ("s3://remote-tests/shards/val-000000.tar", "shards/val-000000.tar")])
def test_source_on_s3_gives_the_local_export(remote, local, bucket, image_set, tmp_path):
    doc = export(remote, tmp_path, *option_args(bucket))
    assert doc["dataset"]["source"]["uri"] == remote
    reference = export(str(image_set.parent / local), tmp_path)
    assert doc["dataset"]["images"] >= 9 and doc["leakage"]
    assert without_location(doc) == without_location(reference)


def test_file_url_folder_gives_the_local_export(image_set, tmp_path):
    url = image_set.as_uri()
    doc = export(url, tmp_path)
    assert doc["dataset"]["source"] == {"kind": "folder", "uri": url}
    assert without_location(doc) == without_location(export(str(image_set), tmp_path))


def test_missing_bucket_is_a_usage_error(bucket, capsys):
    code = cli.main(["scan", "s3://no-such-bucket/data/", "--quiet", *option_args(bucket)])
    assert code == cli.EXIT_USAGE
    assert "s3://no-such-bucket/data" in capsys.readouterr().err
