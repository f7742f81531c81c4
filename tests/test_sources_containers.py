"""Parquet, WebDataset and YOLO sources written by the ecosystem's own tools give the folder scan's
statistics and findings; their damaged inputs are listed failures, the rest scanned."""
from __future__ import annotations

import tarfile

import pyarrow.parquet as pq
import pytest

from inspector.core import sources
from inspector.core.scan import scan
from inspector.core.sources.locators import SEQUENTIAL
from inspector.core.sources.webdataset import expand_braces
from sourcefactory import as_parquet, as_shards, as_yolo, make_image_set
from test_sources import assert_same_scan, export


@pytest.fixture(scope="module")
def image_set(tmp_path_factory):
    return make_image_set(tmp_path_factory.mktemp("set") / "folder")


@pytest.fixture(scope="module")
def folder_doc(image_set, tmp_path_factory):
    return export(str(image_set), tmp_path_factory.mktemp("folder-doc"))


@pytest.fixture(scope="module")
def hub(image_set, tmp_path_factory):
    return as_parquet(image_set, tmp_path_factory.mktemp("hub") / "ds")


@pytest.fixture(scope="module")
def shards(image_set, tmp_path_factory):
    return as_shards(image_set, tmp_path_factory.mktemp("wds") / "shards")


def test_parquet_folder_gives_the_folder_statistics(hub, folder_doc, tmp_path):
    doc = export(str(hub), tmp_path)
    assert doc["dataset"]["source"] == {"kind": "parquet", "uri": str(hub)}
    # Classes too (ClassLabel names from the schema); row ids FILE#ROW hold no file name to collide.
    assert_same_scan(doc, folder_doc, leave_out=("name_collision",))
    assert any(f["paths"][0].startswith("data/train-00000-of-00001.parquet#") for f in doc["leakage"])


def test_one_parquet_file_takes_its_split_from_the_name(hub, tmp_path):
    layout = sources.complete(sources.open_source(str(hub / "data" / "val-00000-of-00001.parquet")))
    assert layout.splits == ["val"] and layout.source_kind == "parquet"
    assert layout.files[0].path == "val-00000-of-00001.parquet#0"
    assert {f.label for f in layout.files} == {"cat", "dog"}


def test_parquet_chunks_keep_to_one_row_group(image_set, tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict({"image": [str(p) for p in sorted(image_set.rglob("*.png"))]},
                                    features=datasets.Features({"image": datasets.Image()}))
    out = tmp_path / "train.parquet"
    ds.to_parquet(str(out), batch_size=7)  # row groups of 7 rows; rows hold paths, not bytes
    layout = sources.open_source(str(out))
    chunks = list(sources.iter_chunks(layout, 4))
    assert pq.ParquetFile(out).metadata.num_row_groups > 3
    assert max(len(c) for c in chunks) == 4  # 7 rows: pieces of 4 and 3
    for chunk in chunks:
        assert len({f.locator.row_group for _, f in chunk}) == 1
    assert sorted(i for c in chunks for i, _ in c) == list(range(len(layout.files)))
    result = scan(layout, workers=1)  # path-only rows: the files they name are read
    assert not result.failures and len(result.images) == len(layout.files)


def test_a_large_row_group_is_cut_into_few_pieces(image_set, tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict({"image": [str(p) for p in sorted(image_set.rglob("*.png"))]},
                                    features=datasets.Features({"image": datasets.Image()}))
    out = tmp_path / "train.parquet"
    ds.to_parquet(str(out))  # one row group: a chunk's worker decodes it from its start
    layout = sources.open_source(str(out))
    chunks = list(sources.iter_chunks(layout, 2))
    assert len(layout.files) > 2 * SEQUENTIAL["parquet"] * 2
    assert len(chunks) == SEQUENTIAL["parquet"]
    assert sorted(i for c in chunks for i, _ in c) == list(range(len(layout.files)))


def test_a_chunk_reads_only_the_rows_it_needs(hub, tmp_path, monkeypatch):
    import datasets

    ds = datasets.Dataset.from_parquet(str(hub / "data" / "train-00000-of-00001.parquet"))
    big = datasets.concatenate_datasets([ds] * 500)  # 10,000 rows, 12 MB of embedded bytes, one row group
    out = tmp_path / "train-00000-of-00001.parquet"
    big.to_parquet(str(out))
    assert pq.ParquetFile(out).metadata.num_row_groups == 1
    layout = sources.complete(sources.open_source(str(out)))
    read, opened = [], []

    class Counting:
        def __init__(self, fh):
            self.fh, self.closed = fh, False
            opened.append(self)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def read(self, *args):
            data = self.fh.read(*args)
            read.append(len(data))
            return data

        def close(self):
            self.closed = True
            self.fh.close()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    real_open = sources.storage.open_binary
    monkeypatch.setattr(sources.storage, "open_binary", lambda *a, **k: Counting(real_open(*a, **k)))
    cells = pq.read_table(out, columns=["image"]).column(0)
    group_bytes = pq.ParquetFile(out).metadata.row_group(0).total_byte_size

    def payloads(start, stop):
        got = [p for _, p in sources.iter_payloads(layout.files[start:stop])]
        assert got == [cells[i]["bytes"].as_py() for i in range(start, stop)]

    payloads(0, 8)
    assert sum(read) < group_bytes / 4  # the first rows, not the whole row group
    # The next chunk of the group continues the open stream: no second open, no reread.
    before = sum(read)
    payloads(8, 40)
    assert len(opened) == 1 and sum(read) - before < group_bytes / 4
    payloads(2, 4)  # an earlier row: read again from the start
    assert len(opened) == 2 and opened[0].closed
    payloads(len(cells) - 3, len(cells))  # the group's last row: the stream is closed after it
    assert all(fh.closed for fh in opened)


def test_corrupt_row_group_fails_its_rows_only(hub, tmp_path):
    import datasets

    good = hub / "data" / "train-00000-of-00001.parquet"
    ds = datasets.Dataset.from_parquet(str(good))
    out = tmp_path / "train-00000-of-00001.parquet"
    ds.to_parquet(str(out), batch_size=8)
    meta = pq.ParquetFile(out).metadata
    rg = meta.row_group(1)
    col = rg.column(0)  # image.bytes of row group 1: overwrite its data pages with garbage
    start = col.dictionary_page_offset or col.data_page_offset
    data = bytearray(out.read_bytes())
    data[start:start + col.total_compressed_size] = b"\xff" * col.total_compressed_size
    out.write_bytes(bytes(data))
    doc = export(str(out), tmp_path)
    failed = [f for f in doc["failures"]]
    assert len(failed) == rg.num_rows
    assert all("row group 1 cannot be read" in f["reason"] for f in failed)
    assert doc["splits"]["train"]["images"] == meta.num_rows - rg.num_rows
    assert doc["splits"]["train"]["failed"] == rg.num_rows


def test_shards_give_the_folder_statistics(shards, folder_doc, tmp_path):
    doc = export(str(shards), tmp_path)
    assert doc["dataset"]["source"] == {"kind": "webdataset", "uri": str(shards)}
    assert_same_scan(doc, folder_doc)  # labels from the .cls members
    assert any(p.startswith("train-000000.tar/") for f in doc["leakage"] for p in f["paths"])


def test_brace_pattern_and_single_shard(shards, tmp_path):
    n_train = len(list(shards.glob("train-*.tar")))
    assert n_train >= 2
    pattern = str(shards / f"train-{{000000..{n_train - 1:06d}}}.tar")
    layout = sources.complete(sources.open_source(pattern))
    assert layout.source_kind == "webdataset" and layout.splits == ["train"]
    assert len(layout.files) == 20 and layout.files[0].path.startswith("train-000000.tar/")
    one = sources.complete(sources.open_source(str(shards / "val-000000.tar")))
    assert one.splits == ["val"] and len(one.files) == 9
    assert expand_braces("a-{08..10}.tar") == ["a-08.tar", "a-09.tar", "a-10.tar"]


def test_missing_shard_of_a_pattern_is_listed(shards, tmp_path):
    layout = sources.complete(sources.open_source(str(shards / "train-{000000..000009}.tar")))
    missing = [b for b in layout.broken if "no such shard" in b.reason]
    assert len(missing) == 10 - len(list(shards.glob("train-*.tar")))
    assert len(layout.files) == 20


def test_truncated_tar_member_is_a_failure_and_the_rest_scanned(shards, tmp_path):
    src = shards / "test-000000.tar"
    with tarfile.open(src) as tf:
        members = [m for m in tf.getmembers() if m.name.endswith(".png")]
    cut = members[3].offset_data + members[3].size // 2
    out = tmp_path / "test-000000.tar"
    out.write_bytes(src.read_bytes()[:cut])
    doc = export(str(out), tmp_path)
    reasons = {f["path"]: f["reason"] for f in doc["failures"]}
    assert "truncated tar member" in reasons[f"test-000000.tar/{members[3].name}"]
    assert "cut short" in reasons["test-000000.tar"]
    assert doc["splits"]["test"]["images"] == 3


def test_yolo_yaml_gives_the_folder_statistics(image_set, folder_doc, tmp_path):
    yaml_path = as_yolo(image_set, tmp_path / "yolo")
    doc = export(str(yaml_path), tmp_path)
    assert doc["dataset"]["source"] == {"kind": "yolo", "uri": str(yaml_path)}
    assert_same_scan(doc, folder_doc, classes=False, leave_out=("label_conflict",))  # no image labels
    folder = export(str(tmp_path / "yolo"), tmp_path)  # the same root as a folder: same ids too
    def paths(d):  # the folder scan reads classes off images/{split}/CLASS/: it has label conflicts
        return [f["paths"] for f in d["leakage"] if f["kind"] != "label_conflict"]
    assert paths(doc) == paths(folder) and paths(doc)


def test_yolo_list_files_and_lists(image_set, tmp_path):
    yaml_path = as_yolo(image_set, tmp_path / "yolo")
    root = yaml_path.parent
    train = sorted(p.relative_to(root) for p in (root / "images" / "train").rglob("*.png"))
    (root / "train.txt").write_text("".join(f"./{p}\n" for p in train[:5]) + "images/train/none.png\n")
    yaml_path.write_text("train: train.txt\nval: [images/val, images/test]\nnames: [cat, dog]\n")
    layout = sources.open_source(str(yaml_path))
    assert sources.discovering(layout) and not layout.files  # read as the scan goes
    sources.complete(layout)
    assert layout.splits == ["train", "val"]
    assert [f.path for f in layout.files_in("train")] == [str(p) for p in train[:5]]
    assert len(layout.files_in("val")) == sum(1 for s in ("val", "test") for _ in (root / "images" / s).rglob("*.png"))
    assert [b.path for b in layout.broken] == ["images/train/none.png"]


@pytest.fixture(scope="module")
def gz_shards(image_set, tmp_path_factory):
    return as_shards(image_set, tmp_path_factory.mktemp("wds-gz") / "shards", suffix=".tar.gz")


def test_compressed_shards_give_the_folder_statistics(gz_shards, folder_doc, tmp_path):
    assert sorted(p.name for p in gz_shards.iterdir())[0] == "test-000000.tar.gz"
    doc = export(str(gz_shards), tmp_path)
    assert doc["dataset"]["source"] == {"kind": "webdataset", "uri": str(gz_shards)}
    assert_same_scan(doc, folder_doc)
    one = sources.complete(sources.open_source(str(gz_shards / "val-000000.tar.gz")))
    assert one.splits == ["val"] and len(one.files) == 9 and one.files[0].path.startswith("val-000000.tar.gz/")


def test_a_compressed_shard_is_read_in_few_forward_chunks(gz_shards):
    layout = sources.open_source(str(gz_shards / "train-000000.tar.gz"))
    chunks = list(sources.iter_chunks(layout, 1))
    assert len(chunks) == SEQUENTIAL["targz"]
    assert [i for c in chunks for i, _ in c] == list(range(len(layout.files)))
    with tarfile.open(gz_shards / "train-000000.tar.gz") as tf:
        expected = [tf.extractfile(f.path.split("/", 1)[1]).read() for f in layout.files]
    assert [p for c in chunks for _, p in sources.iter_payloads(f for _, f in c)] == expected


def test_truncated_compressed_shard_keeps_the_members_before_the_cut(gz_shards, tmp_path):
    src = (gz_shards / "train-000001.tar.gz").read_bytes()
    out = tmp_path / "train-000001.tar.gz"
    out.write_bytes(src[:len(src) * 2 // 3])
    doc = export(str(out), tmp_path)
    reasons = {f["path"]: f["reason"] for f in doc["failures"]}
    assert "cut short" in reasons["train-000001.tar.gz"]
    with tarfile.open(gz_shards / "train-000001.tar.gz") as tf:
        images = [m.name for m in tf.getmembers() if m.name.endswith(".png")]
    scanned = doc["splits"]["train"]["images"]
    member_failures = [p for p in reasons if p != "train-000001.tar.gz"]
    assert 0 < scanned < len(images)
    assert all("cannot be read past" in reasons[p] for p in member_failures)
    assert scanned + len(member_failures) <= len(images)


def test_not_a_tar_shard_is_listed(tmp_path):
    (tmp_path / "train-000000.tar.gz").write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    (tmp_path / "train-000001.tar").write_bytes(b"plain text, not a tar" * 40)
    layout = sources.complete(sources.open_source(str(tmp_path)))
    assert layout.source_kind == "webdataset" and not layout.files
    assert {b.path for b in layout.broken} == {"train-000000.tar.gz", "train-000001.tar"}


def test_compressed_shards_on_s3_give_the_local_export(s3_server, gz_shards, tmp_path):
    from test_remote import export as export_remote
    from test_remote import option_args, without_location

    options, fs = s3_server
    fs.mkdir("gz-tests")
    fs.put(str(gz_shards) + "/", "gz-tests/shards/", recursive=True)
    doc = export_remote("s3://gz-tests/shards", tmp_path, *option_args(options))
    assert doc["dataset"]["source"] == {"kind": "webdataset", "uri": "s3://gz-tests/shards"}
    assert without_location(doc) == without_location(export_remote(str(gz_shards), tmp_path))
