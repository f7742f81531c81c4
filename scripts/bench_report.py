"""HTML report size and writing time for 20,000 images with about 500 cross-split findings.

The dataset: real photos (hard links to PHOTOS, default /work/data/real2k) plus planted copies of
training photos in val/test (exact, JPEG q60, half size: each a finding that names two files, so the
report embeds both thumbnails), filled up to 20,000 images with distinct procedural ones. The scan
runs once; then the report is built and written, and its size and time are printed with the scan's
time, both measured in this run.

    python scripts/bench_report.py [--photos DIR] [--dest DIR] [--images 20000] [--copies 500]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core.export import build_document  # noqa: E402
from inspector.core.layout import discover  # noqa: E402
from inspector.core.leakage import scan_leakage  # noqa: E402
from inspector.core.report import scan_report, write_report  # noqa: E402
from inspector.core.scan import scan  # noqa: E402

LIMIT_MB, LIMIT_S = 10.0, 5.0


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def build_dataset(photos: Path, dest: Path, images: int, copies: int, seed: int = 0) -> int:
    """Write the benchmark dataset; returns the number of image files."""
    rng = np.random.default_rng(seed)
    files = sorted(p for p in photos.rglob("*") if p.is_file())
    for p in files:
        _link(p, dest / p.relative_to(photos))
    train = [p for p in files if p.relative_to(photos).parts[0] == "train"]
    picks = rng.choice(len(train), size=min(copies, len(train)), replace=False)
    for k, i in enumerate(picks):
        src = train[int(i)]
        rel = src.relative_to(photos)
        split = "val" if k % 2 else "test"
        dst = dest / split / rel.parts[1] / f"copy_{k:04d}_{rel.name}"
        variant = k % 3
        if variant == 0:
            _link(src, dst)
        else:
            with Image.open(src) as im:
                im = im.convert("RGB")
                if variant == 2:
                    im = im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.Resampling.LANCZOS)
                im.save(dst.with_suffix(".jpg"), "JPEG", quality=60)
    count = len(files) + len(picks)
    filler = max(0, images - count)
    for k in range(filler):   # distinct noise: no two alike, so they add images, not findings
        split = ("train", "train", "train", "val", "test")[k % 5]
        a = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        path = dest / split / "filler" / f"noise_{k:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(path, compress_level=1)
    return count + filler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", default="/work/data/real2k")
    ap.add_argument("--dest", default=None, help="dataset folder (default: a temporary one, removed after)")
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--copies", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = None if args.dest else tempfile.mkdtemp(prefix="bench-report-")
    dest = Path(args.dest or tmp)
    try:
        if not dest.exists() or not any(dest.iterdir()):
            n = build_dataset(Path(args.photos), dest, args.images, args.copies)
            print(f"dataset: {n:,} images in {dest}")
        t0 = time.perf_counter()
        layout = discover(str(dest))
        result = scan(layout, workers=args.workers)
        findings = scan_leakage(result, ["train"])
        doc = build_document(result, findings, source_splits=["train"])
        t_scan = time.perf_counter() - t0
        pairs = sum(1 for f in doc["leakage"] if len(f["paths"]) == 2)
        out = dest.parent / (dest.name + "-report.html")
        t1, c1 = time.perf_counter(), time.process_time()
        html = scan_report(doc, result, layout, ["train"])
        write_report(html, str(out))
        t_report, c_report = time.perf_counter() - t1, time.process_time() - c1
        size_mb = out.stat().st_size / 1e6
        print(f"images {len(result.images):,}; findings {len(doc['leakage']):,} ({pairs:,} naming two files)")
        print(f"report: {size_mb:.2f} MB (limit {LIMIT_MB:g}), written in {t_report:.2f} s (limit {LIMIT_S:g}); "
              f"CPU {c_report:.2f} s (all threads); scan + leakage {t_scan:.1f} s; "
              f"report / scan wall time {t_report / t_scan:.3f}; load average {os.getloadavg()[0]:.1f}")
        out.unlink()
        return 0 if size_mb < LIMIT_MB and t_report < LIMIT_S else 1
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
