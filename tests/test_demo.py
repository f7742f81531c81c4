"""inspector.core.demo: deterministic, fast, and holds the planted items its MANIFEST lists."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inspector.core import demo
from inspector.core.layout import discover


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    root = tmp_path_factory.mktemp("demo") / "ds"
    t0 = time.perf_counter()
    demo.make_demo_dataset(root)
    return root, time.perf_counter() - t0


def test_same_seed_same_bytes(built: tuple[Path, float], tmp_path: Path) -> None:
    root = built[0]
    assert demo.make_demo_dataset(tmp_path / "again") == tmp_path / "again"
    assert digests(tmp_path / "again") == digests(root)
    other = digests(demo.make_demo_dataset(tmp_path / "seed1", seed=1))
    assert other.keys() == digests(root).keys()
    assert other != digests(root)


def test_layout_and_counts(built: tuple[Path, float]) -> None:
    root, m = built[0], demo.demo_manifest()
    layout = discover(str(root))
    assert layout.kind == "splits" and layout.splits == ["train", "val", "test"]
    for split in layout.splits:
        assert set(layout.classes[split]) == set(m["classes"])
    images = {f.path for f in layout.files} - set(m["broken"])  # broken files are candidates too
    per_split = {s: sum(p.startswith(s + "/") for p in images) for s in layout.splits}
    assert per_split == m["images"]
    assert 100 <= m["images"]["train"] <= 130 and 25 <= m["images"]["val"] <= 35
    assert set(m["broken"]) <= {f.path for f in layout.files}
    assert {s.path for s in layout.skipped} == set(m["skipped"]) == {"README.txt"}


def test_images_decode_with_expected_modes_and_sizes(built: tuple[Path, float]) -> None:
    root, m = built[0], demo.demo_manifest()
    modes: dict[str, list[str]] = {}
    formats: set[str] = set()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if not p.is_file() or rel in m["broken"] or rel in m["skipped"]:
            continue
        with Image.open(p) as im:
            im.load()
            modes.setdefault(im.mode, []).append(rel)
            formats.add(im.format)
            if "copy" not in rel:  # the half-size copy is smaller on purpose
                assert 96 <= min(im.size) and max(im.size) <= 192, rel
    assert formats == {"JPEG", "PNG"}
    assert modes["RGBA"] == m["modes"]["RGBA"] and modes["P"] == m["modes"]["P"]
    assert sorted(modes["L"]) == sorted(m["modes"]["L"]) and len(modes["L"]) >= 3
    assert len(modes["RGB"]) > 0.8 * sum(map(len, modes.values()))


def test_broken_files_are_broken(built: tuple[Path, float]) -> None:
    root, m = built[0], demo.demo_manifest()
    for rel in m["broken"]:
        with pytest.raises(OSError):  # UnidentifiedImageError is an OSError too
            with Image.open(root / rel) as im:
                im.load()
    assert (root / demo.HTML_AS_JPG).read_bytes().lstrip().lower().startswith(b"<!doctype html")


def test_blank_sky_and_dark_frame(built: tuple[Path, float]) -> None:
    root, m = built[0], demo.demo_manifest()
    sky = np.asarray(Image.open(root / m["blank_sky"]).convert("RGB"), np.float64) / 255
    assert sky[..., 2].mean() > sky[..., 0].mean() + 0.2          # blue
    assert sky.reshape(-1, 3).std(axis=0).max() < 0.03            # nearly uniform ...
    assert (sky.min(axis=2) > 0.85).sum() >= 10                   # ... with a small white cloud
    assert (sky.min(axis=2) > 0.85).mean() < 0.02
    dark = np.asarray(Image.open(root / m["dark_frame"]).convert("RGB"), np.float64) / 255
    assert dark.mean() < 0.06 and dark.std() < 0.02
    # The point of the blank sky: dataset std / image std (per-image standardization's gain) is large.
    train = np.concatenate([np.asarray(Image.open(p).convert("RGB"), np.float64).reshape(-1, 3) / 255
                            for p in sorted((root / "train").rglob("*.*"))])
    amplification = train.std(axis=0) / sky.reshape(-1, 3).std(axis=0)
    assert amplification.min() > 8 and amplification.max() > 40

def test_planted_duplicates(built: tuple[Path, float]) -> None:
    root, m = built[0], demo.demo_manifest()
    dups = {d["kind"]: d for d in m["duplicates"]}
    assert set(dups) == {"exact", "jpeg_q60", "half_size", "crop_3pct", "brightness"}
    assert sum(d["label_conflict"] for d in dups.values()) == 1
    for d in dups.values():
        assert d["source"].startswith("train/") and not d["copy"].startswith("train/")
        assert d["label_conflict"] == (d["source"].split("/")[1] != d["copy"].split("/")[1])

    def load(rel: str) -> np.ndarray:
        return np.asarray(Image.open(root / rel).convert("RGB"), np.float64)

    assert (root / dups["exact"]["source"]).read_bytes() == (root / dups["exact"]["copy"]).read_bytes()
    src, q60 = load(dups["jpeg_q60"]["source"]), load(dups["jpeg_q60"]["copy"])
    assert src.shape == q60.shape and 0 < np.abs(src - q60).mean() < 6
    src, half = load(dups["half_size"]["source"]), load(dups["half_size"]["copy"])
    assert half.shape[:2] == (src.shape[0] // 2, src.shape[1] // 2)
    src, crop = load(dups["crop_3pct"]["source"]), load(dups["crop_3pct"]["copy"])
    assert 0.9 * src.shape[0] < crop.shape[0] < src.shape[0] and 0.9 * src.shape[1] < crop.shape[1] < src.shape[1]
    src, bright = load(dups["brightness"]["source"]), load(dups["brightness"]["copy"])
    assert src.shape == bright.shape and 1.05 < bright.mean() / src.mean() < 1.15


def test_manifest_is_a_copy() -> None:
    m = demo.demo_manifest()
    m["duplicates"].clear()
    assert demo.MANIFEST["duplicates"] and demo.demo_manifest()["duplicates"]


def test_default_demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    d = demo.default_demo_dir()
    assert d == tmp_path / "cache" / "dataset-inspector" / f"demo-v{demo.DEMO_VERSION}"
    assert (d / demo.BLANK_SKY).is_file()
    assert [p.name for p in d.parent.iterdir()] == [d.name]  # no temporary folder left behind
    marker = d / demo.BLANK_SKY
    mtime = marker.stat().st_mtime_ns
    assert demo.default_demo_dir() == d and marker.stat().st_mtime_ns == mtime  # reused, not rebuilt
