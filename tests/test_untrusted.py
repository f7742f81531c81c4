"""Untrusted datasets: no external programs run, links cannot hide leakage."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagefactory import write_image

REPO = Path(__file__).resolve().parents[1]

# A minimal EPS: Pillow's EPS plugin accepts it and, to load its pixels, runs Ghostscript.
_EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n"
        b"newpath 0 0 moveto 8 0 lineto 8 8 lineto closepath fill\nshowpage\n%%EOF\n")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell stand-in")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_eps_named_jpg_never_runs_ghostscript(tmp_path, workers):
    bin_dir, marker = tmp_path / "bin", tmp_path / "gs-was-run"
    bin_dir.mkdir()
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\nexit 1\n")
    gs.chmod(0o755)
    root = tmp_path / "ds"
    for i in range(3):
        write_image(root / "train" / f"ok{i}.png", "RGB", seed=i)
    (root / "train" / "photo.jpg").write_bytes(_EPS)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(root), "--json", "-",
                           "--workers", workers], cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), marker.read_text()
    import json
    doc = json.loads(proc.stdout)
    failed = {f["path"]: f["reason"] for f in doc["failures"]}
    assert list(failed) == ["train/photo.jpg"] and "not" in failed["train/photo.jpg"]
    assert doc["splits"]["train"]["images"] == 3


def test_decode_refuses_formats_we_do_not_list(tmp_path):
    from PIL import Image
    from inspector.core.decode import DecodeError, decode

    Image.new("RGB", (4, 4)).save(tmp_path / "x.jpg", "PPM")  # Pillow reads PPM; we do not list it
    with pytest.raises(DecodeError):
        decode(str(tmp_path / "x.jpg"))


def _linked_dataset(root: Path, case: str) -> None:
    """Two images in train/cat, and a second split that reaches them through a folder link."""
    for i in range(2):
        write_image(root / "train" / "cat" / f"c{i}.png", "RGB", seed=10 + i)
    write_image(root / "test" / "dog" / "d0.png", "RGB", seed=20)
    if case == "class_folder_in_two_splits":
        (root / "val").mkdir()
        (root / "val" / "cat").symlink_to(Path("..") / "train" / "cat")
        (root / "test" / "cat").symlink_to(root / "train" / "cat")
    elif case == "val_is_a_link_to_train":
        (root / "val").symlink_to("train")
    elif case == "train_is_an_absolute_link_to_val":
        (root / "train").rename(root / "_val")
        (root / "_val").rename(root / "val")
        (root / "train").symlink_to(root.resolve() / "val")


@pytest.mark.parametrize("case", ["class_folder_in_two_splits", "val_is_a_link_to_train",
                                  "train_is_an_absolute_link_to_val"])
def test_a_linked_folder_counts_in_every_split_and_is_exact_leakage(tmp_path, case):
    from inspector.core.layout import discover
    from inspector.core.leakage import scan_leakage
    from inspector.core.scan import scan

    root = tmp_path / "ds"
    _linked_dataset(root, case)
    layout = discover(str(root))
    linked_splits = {"class_folder_in_two_splits": ["train", "val", "test"]}.get(case, ["train", "val"])
    for split in linked_splits:
        assert [f.path for f in layout.files_in(split) if f.label == "cat"] == \
            [f"{split}/cat/c0.png", f"{split}/cat/c1.png"], split
    assert not [s for s in layout.skipped if "visited already" in s.reason]
    result = scan(layout, workers=1)
    for split in linked_splits:
        assert result.split_stats[split].images >= 2
    exact = {frozenset(f.paths) for f in scan_leakage(result) if f.kind == "exact"}
    for i in range(2):
        for split in linked_splits[1:]:  # each other split's copy is an exact copy of train's
            assert frozenset({f"train/cat/c{i}.png", f"{split}/cat/c{i}.png"}) in exact, exact


def test_links_back_to_the_root_are_still_not_followed(tmp_path):
    from inspector.core.layout import discover

    write_image(tmp_path / "train" / "a.png", "RGB")
    write_image(tmp_path / "val" / "b.png", "RGB", seed=2)
    (tmp_path / "val" / "up").symlink_to("..")
    layout = discover(str(tmp_path))
    assert [f.path for f in layout.files] == ["train/a.png", "val/b.png"]
    assert any(s.path == "val/up" and "not followed" in s.reason for s in layout.skipped)
