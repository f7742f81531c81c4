"""inspector.core.layout: splits, classes, image-by-content, symlinks, odd names (DESIGN section 2)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagefactory import make_bad_inputs, write_image
from inspector.core.layout import LayoutError, discover


def img(path: Path, seed: int = 0) -> Path:
    return write_image(path, "RGB", size=(8, 6), seed=seed)


def paths(layout) -> list[str]:
    return [f.path for f in layout.files]


def reasons(entries) -> dict[str, str]:
    return {e.path: e.reason for e in entries}


@pytest.mark.parametrize("names, expected", [
    (("train", "val", "test"), ["train", "val", "test"]),
    (("Train", "Valid", "TESTING"), ["train", "val", "test"]),
    (("TRAINING", "VALIDATION"), ["train", "val"]),
    (("train", "dev"), ["train", "val"]),
    (("test", "train"), ["train", "test"]),  # canonical order, not disk order
])
def test_split_aliases_any_case(tmp_path: Path, names: tuple[str, ...], expected: list[str]) -> None:
    for name in names:
        img(tmp_path / name / "a.png")
    layout = discover(str(tmp_path))
    assert layout.kind == "splits"
    assert layout.splits == expected
    assert {f.split for f in layout.files} == set(expected)
    folder = dict(zip([n.lower() for n in names], names))  # paths keep the on-disk spelling
    assert all(f.path.split("/")[0] in folder.values() for f in layout.files)


def test_class_folders_and_flat_splits(tmp_path: Path) -> None:
    img(tmp_path / "train" / "cat" / "1.png")
    img(tmp_path / "train" / "cat" / "2.png")
    img(tmp_path / "train" / "dog" / "sub" / "deep.png")  # class = first folder below the split
    img(tmp_path / "val" / "v1.png")                      # flat split: no class
    layout = discover(str(tmp_path))
    labels = {f.path: f.label for f in layout.files}
    assert labels == {"train/cat/1.png": "cat", "train/cat/2.png": "cat",
                      "train/dog/sub/deep.png": "dog", "val/v1.png": None}
    assert layout.classes == {"train": {"cat": 2, "dog": 1}, "val": {}}
    assert [f.path for f in layout.files_in("val")] == ["val/v1.png"]


def test_yolo_layout(tmp_path: Path) -> None:
    img(tmp_path / "images" / "train" / "a.jpg")
    img(tmp_path / "images" / "val" / "b.jpg")
    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (tmp_path / "data.yaml").write_text("names: [x]\n")
    layout = discover(str(tmp_path))
    assert layout.kind == "yolo"
    assert layout.splits == ["train", "val"]
    assert paths(layout) == ["images/train/a.jpg", "images/val/b.jpg"]
    assert all(f.label is None for f in layout.files)
    # labels/ and data.yaml are not scanned, but listed: nothing silently dropped.
    assert set(reasons(layout.skipped)) == {"labels", "data.yaml"}


def test_root_without_splits_is_single_split_all(tmp_path: Path) -> None:
    img(tmp_path / "cats" / "a.png")
    img(tmp_path / "b.png")
    (tmp_path / "images").mkdir()  # an images/ folder without split folders is not YOLO
    layout = discover(str(tmp_path))
    assert layout.kind == "flat"
    assert layout.splits == ["all"]
    assert {f.path: f.label for f in layout.files} == {"b.png": None, "cats/a.png": "cats"}


def test_entries_beside_split_folders_are_listed(tmp_path: Path) -> None:
    img(tmp_path / "train" / "a.png")
    img(tmp_path / "stray.png")
    (tmp_path / "README.txt").write_text("hello")
    (tmp_path / "extras").mkdir()
    layout = discover(str(tmp_path))
    assert paths(layout) == ["train/a.png"]
    skipped = {s.path: s for s in layout.skipped}
    assert set(skipped) == {"README.txt", "extras", "stray.png"}
    assert all(s.split is None and s.reason for s in skipped.values())


def test_skipped_files_have_reasons_and_images_found_by_content(tmp_path: Path) -> None:
    d = tmp_path / "train"
    img(d / "ok.PNG")                                    # extension, any case
    png = img(d / "tmp.png", seed=1).read_bytes()
    (d / "tmp.png").unlink()
    (d / "no_extension").write_bytes(png)                # a PNG without extension: accepted by content
    (d / "data.bin").write_bytes(png)                    # odd extension, PNG content: accepted
    (d / "notes.txt").write_text("not an image")
    (d / "labels.csv").write_text("a,b\n")
    (d / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    layout = discover(str(tmp_path))
    assert paths(layout) == ["train/data.bin", "train/no_extension", "train/ok.PNG"]
    r = reasons(layout.skipped)
    assert set(r) == {"train/notes.txt", "train/labels.csv", "train/.DS_Store"}
    assert ".txt" in r["train/notes.txt"] and ".csv" in r["train/labels.csv"]
    assert "hidden" in r["train/.DS_Store"]
    assert all(s.split == "train" for s in layout.skipped)


def test_symlinks_inside_root_followed(tmp_path: Path) -> None:
    img(tmp_path / "train" / "cat" / "a.png")
    img(tmp_path / "shared" / "b.png", seed=2)
    os.symlink("a.png", tmp_path / "train" / "cat" / "a_link.png")           # file link
    os.symlink(tmp_path / "shared", tmp_path / "train" / "dog")               # folder link, absolute
    layout = discover(str(tmp_path))
    assert paths(layout) == ["train/cat/a.png", "train/cat/a_link.png", "train/dog/b.png"]
    assert {f.path: f.label for f in layout.files}["train/dog/b.png"] == "dog"
    assert layout.broken == []


def test_symlink_folder_loop_detected(tmp_path: Path) -> None:
    img(tmp_path / "train" / "cat" / "a.png")
    os.symlink("..", tmp_path / "train" / "cat" / "up")  # train/cat/up -> train: a directory cycle
    layout = discover(str(tmp_path))  # must terminate
    assert paths(layout) == ["train/cat/a.png"]
    assert "train/cat/up" in reasons(layout.skipped)


def test_bad_inputs(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    cases = make_bad_inputs(root, "train")
    layout = discover(str(root))
    files = {f.path: f for f in layout.files}
    skipped, broken = reasons(layout.skipped), reasons(layout.broken)

    # Outside-root link: skipped with a reason, its target never listed.
    assert "outside" in skipped[cases["symlink_outside"]]
    assert cases["symlink_outside"] not in files
    # Broken link and loop: in `broken`, told apart.
    assert "broken" in broken[cases["broken_symlink"]]
    assert "loop" in broken[cases["symlink_loop"]] and "loop" in broken[cases["symlink_loop_b"]]
    # Image by content; .txt skipped.
    assert cases["no_extension_png"] in files
    assert cases["jpeg_with_png_ext"] in files
    assert ".txt" in skipped[cases["text_file"]]
    # A folder named like an image: noted, and its content scanned.
    assert "folder" in skipped[cases["dir_named_like_image"]]
    assert cases["dir_named_like_image_content"] in files
    # Files that decode badly are still candidates: decode.py reports them, layout must not drop them.
    for case in ("zero_byte", "truncated_jpeg", "truncated_png", "html_as_jpg", "text_as_png",
                 "decompression_bomb", "no_permission", "animated_gif", "cmyk_jpeg", "one_bit_png",
                 "palette_transparency_png", "la_png", "i16_png", "float_tiff", "exif_rotated_jpeg"):
        assert cases[case] in files, case
    # Every entry written is accounted for exactly once.
    written = set(cases.values()) - {cases["dir_named_like_image"]}
    listed = set(files) | set(broken) | {p for p in skipped if p != cases["dir_named_like_image"]}
    assert written == listed


def test_non_utf8_name(tmp_path: Path) -> None:
    cases = make_bad_inputs(tmp_path / "ds", "train")
    if "non_utf8_name" not in cases:
        pytest.skip("file system refuses non-UTF-8 names")
    layout = discover(str(tmp_path / "ds"))
    (f,) = [f for f in layout.files if f.name_note]
    assert f.path == "train/caf\ufffd.png" == cases["non_utf8_name"]
    f.path.encode("utf-8")  # display path is valid UTF-8
    assert os.fsencode(f.abspath).endswith(b"caf\xe9.png")  # abspath still opens the file
    with open(f.abspath, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_non_utf8_class_folder(tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"train", b"cl\xe9")
    try:
        os.makedirs(folder)
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    img(Path(os.fsdecode(folder)) / "a.png")
    (f,) = discover(str(tmp_path)).files
    assert f.label == "cl\ufffd" and f.path == "train/cl\ufffd/a.png"
    assert f.name_note


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_split_folder_is_broken(tmp_path: Path) -> None:
    img(tmp_path / "train" / "a.png")
    img(tmp_path / "val" / "locked" / "b.png")
    (tmp_path / "val" / "locked").chmod(0)
    try:
        layout = discover(str(tmp_path))
    finally:
        (tmp_path / "val" / "locked").chmod(0o755)
    assert paths(layout) == ["train/a.png"]
    assert "val/locked" in reasons(layout.broken)


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="No such folder"):
        discover(str(tmp_path / "nope"))
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(LayoutError, match="Not a folder"):
        discover(str(tmp_path / "file.png"))


def test_empty_root(tmp_path: Path) -> None:
    layout = discover(str(tmp_path))
    assert layout.splits == ["all"] and layout.files == [] and layout.skipped == []


def test_deterministic_ordering(tmp_path: Path) -> None:
    names = ["b.png", "a.png", "C.png", "10.png", "9.png"]
    for split in ("test", "train", "val"):
        for cls in ("zebra", "ant"):
            for i, n in enumerate(names):
                img(tmp_path / split / cls / n, seed=i)
    first = discover(str(tmp_path))
    again = discover(str(tmp_path))
    assert paths(first) == paths(again)
    assert [f.split for f in first.files] == sorted((f.split for f in first.files),
                                                    key=["train", "val", "test"].index)
    train = [f.path for f in first.files_in("train")]
    assert train == sorted(train)
    assert list(first.classes["train"]) == ["ant", "zebra"]


def test_link_back_to_another_split_does_not_move_its_images(tmp_path):
    from imagefactory import write_image
    from inspector.core.layout import discover

    write_image(tmp_path / "train" / "a.png", "RGB")
    write_image(tmp_path / "_store" / "v0.png", "RGB")
    (tmp_path / "val").symlink_to(tmp_path / "_store")
    (tmp_path / "train" / "loop").symlink_to(tmp_path)
    layout = discover(str(tmp_path))
    assert [(f.split, f.path) for f in layout.files] == [("train", "train/a.png"), ("val", "val/v0.png")]
    assert any(s.path == "train/loop" and "not followed" in s.reason for s in layout.skipped)
