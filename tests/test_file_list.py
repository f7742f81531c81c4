"""FileList: the discovered items as columns, read like a list of ImageFile."""
from __future__ import annotations

import gc
import pickle

import numpy as np
import pytest

from imagefactory import write_image
from inspector.core.file_list import FileList
from inspector.core.layout import DatasetLayout, ImageFile, discover
from inspector.core.sources.locators import TarMember

ITEMS = [
    ImageFile("train/cat/1.png", "/data/ds/train/cat/1.png", "train", "cat", None, 10, 111),
    ImageFile("val/2.png", "/data/ds/val/2.png", "val", None, "file name is not valid UTF-8", 20, 222),
    ImageFile("shard-0/img1.jpg", "/data/shards/train-0.tar", "train", "dog", None, 5000, 333,
              TarMember(512, 100)),
    ImageFile("elsewhere.png", "/other/place/x.png", "test", "cat", None, 0, 0),
    ImageFile("train/cat/ü😀.png", "/data/ds/train/cat/ü😀.png", "train", "cat"),
]


def test_every_field_reads_back_as_it_was_appended():
    files = FileList(ITEMS)
    assert len(files) == len(ITEMS) and list(files) == ITEMS and files == ITEMS
    assert files[-1] == ITEMS[-1] and files[1:3] == ITEMS[1:3]
    assert [files.abspath(i) for i in range(len(ITEMS))] == [f.abspath for f in ITEMS]
    assert files.locator(2) == TarMember(512, 100) and files.locator(0) is None
    assert files.split_counts() == {"train": 3, "val": 1, "test": 1} and files.split_counts(3) == {"train": 1, "test": 1}
    assert files.class_counts() == {"train": {"cat": 2, "dog": 1}, "test": {"cat": 1}}
    assert files.index_of("elsewhere.png") == 3
    with pytest.raises(ValueError):
        files.index_of("missing.png")
    taken = files.take([4, 2, 0])
    assert list(taken) == [ITEMS[4], ITEMS[2], ITEMS[0]] and taken.paths == [ITEMS[k].path for k in (4, 2, 0)]
    assert pickle.loads(pickle.dumps(files)) == ITEMS
    files.append(ITEMS[0])
    assert files.index_of("train/cat/1.png") == 0 and len(files.paths) == 6


def test_a_folder_of_files_shares_one_base_and_few_bytes_per_item():
    files = FileList(ImageFile(f"train/c{k % 7}/{k:06d}.png", f"/data/ds/train/c{k % 7}/{k:06d}.png", "train",
                               f"c{k % 7}", None, k, k) for k in range(5000))
    assert len(files._bases) == 1
    path_bytes = sum(len(f"train/c{k % 7}/{k:06d}.png") for k in range(5000))
    assert files.nbytes <= path_bytes + 5000 * 42  # offsets, codes, size, mtime: no str per item


def test_sort_by_split_and_path_matches_sorting_the_objects():
    rng = np.random.default_rng(3)
    names = ["b", "a", "ä", "A", "z/y", "a/b", "a-b", "😀", "ab"]
    items = [ImageFile(f"{rng.choice(names)}/{rng.integers(100)}.png", f"/r/{k}.png", str(rng.choice(["test", "train", "val"])),
                       None, None, k, k) for k in range(300)]
    rank = {"train": 0, "val": 1, "test": 2}.get
    files = FileList(items)
    files.sort_by_split_and_path(rank)
    assert list(files) == sorted(items, key=lambda f: (rank(f.split), f.path))
    files.sort(key=lambda f: f.size, reverse=True)
    assert [f.size for f in files] == list(range(299, -1, -1))


def test_discovery_keeps_no_object_per_file(tmp_path):
    for split in ("train", "val"):
        for k in range(30):
            write_image(tmp_path / split / f"c{k % 3}" / f"{k}.png", "RGB", size=(8, 8), seed=k)
    gc.collect()
    layout = discover(str(tmp_path))
    gc.collect()
    assert isinstance(layout.files, FileList) and len(layout.files) == 60
    made = [o for o in gc.get_objects() if isinstance(o, ImageFile) and o.abspath.startswith(str(tmp_path))]
    assert not made  # an ImageFile is only made when one is asked for
    assert layout.classes == {"train": {"c0": 10, "c1": 10, "c2": 10}, "val": {"c0": 10, "c1": 10, "c2": 10}}
    assert [f.path for f in layout.files] == sorted(f.path for f in layout.files)
    # Whoever assigns a plain list gets columns too.
    layout.files = list(layout.files)[:5]
    assert isinstance(layout.files, FileList) and len(layout.files) == 5
    assert isinstance(DatasetLayout("/r", "flat", ["all"], files=ITEMS).files, FileList)
