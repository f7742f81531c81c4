"""Validation benchmark: image-issue recall and false alarms, drift on a clean corpus and on
altered copies, and what the per-image properties cost the scan.

    .venv/bin/python scripts/bench_validation.py [--corpus /work/data/real2k] [--per-family 40]
                                                 [--seed 0] [--keep DIR] [--workers N]

1. Clean corpus (ROOT/{train,val,test}/<class>/*): the share of images flagged per issue and in
   all; grayscale flags are checked against every pixel of the image (a flag is right when no
   pixel's channels differ by more than 2 levels), so grey photos count as found, not as noise.
   Every label_drift / property_drift finding is printed with its severity.
2. Planted issues: --per-family random val/test photos per issue, altered with random strength
   (dark: pixels x 0.03-0.12; light: 255 - (255 - x) x 0.03-0.12; blurry: Gaussian radius 6-10%
   of the short side; low_information: one colour plus noise of std 0-2 levels; odd_aspect_ratio:
   squashed to 0.10-0.33 of its width; odd_size: 1/8-1/5 of its side; grayscale: the grey
   version), written next to the corpus's train split and scanned. Prints recall per issue, false
   alarms on the clean train images, and which other planted families the issue also flags (a
   photo darkened to 5% is also low in information: such overlaps are listed, not hidden).
3. Drift: a copy with every val image blurred (Gaussian radius 2 px), and one with every test
   image downscaled to half size: the property_drift findings of each.
4. Cost: the scan's throughput in one process with the property measurement and with it
   replaced by a no-op, interleaved runs on the same images, best of five each.
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
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core.decode import decode  # noqa: E402
from inspector.core.layout import discover  # noqa: E402
from inspector.core.scan import scan  # noqa: E402
from inspector.core.validation import ISSUES, THRESHOLDS, image_quality, validate  # noqa: E402
from inspector.core.validation import properties  # noqa: E402

GREY_LEVELS = 2  # a truly grey image: no pixel's channels differ by more than this


def truly_grey(path: str) -> bool:
    im = decode(path).image
    if im.mode != "RGB":
        return True
    a = np.asarray(im, dtype=np.int16)
    return int((a.max(axis=2) - a.min(axis=2)).max()) <= GREY_LEVELS


def _save_like(im: Image.Image, src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix.lower() in (".jpg", ".jpeg"):
        im.convert("RGB" if im.mode not in ("L", "RGB") else im.mode).save(dst, quality=90)
    else:
        im.save(dst)


def plant(kind: str, im: Image.Image, rng: np.random.Generator) -> Image.Image:
    im = im.convert("RGB")
    a = np.asarray(im, dtype=np.float64)
    if kind == "dark":
        return Image.fromarray((a * rng.uniform(0.03, 0.12)).round().astype(np.uint8))
    if kind == "light":
        return Image.fromarray((255 - (255 - a) * rng.uniform(0.03, 0.12)).round().astype(np.uint8))
    if kind == "blurry":
        return im.filter(ImageFilter.GaussianBlur(rng.uniform(0.06, 0.10) * min(im.size)))
    if kind == "low_information":
        flat = np.clip(rng.integers(20, 236, 3) + rng.normal(0, rng.uniform(0, 2), (im.height, im.width, 1)), 0, 255)
        return Image.fromarray(np.broadcast_to(flat, (im.height, im.width, 3)).round().astype(np.uint8))
    if kind == "odd_aspect_ratio":
        return im.resize((im.width, max(8, round(im.width * rng.uniform(0.10, 0.33)))), Image.BILINEAR)
    if kind == "odd_size":
        f = rng.uniform(1 / 8, 1 / 5)
        return im.resize((max(4, round(im.width * f)), max(4, round(im.height * f))), Image.BILINEAR)
    if kind == "grayscale":
        return im.convert("L").convert("RGB")
    raise ValueError(kind)


def held_out_files(corpus: Path) -> list[Path]:
    return sorted(p for split in ("val", "test") for p in (corpus / split).rglob("*") if p.is_file())


def clean_corpus(corpus: Path, workers: int | None) -> None:
    result = scan(str(corpus), workers=workers)
    q = image_quality(result)
    t = result.images
    n = len(t)
    print(f"\n1. clean corpus {corpus}: {n} images")
    grey_flags = np.flatnonzero(q.flags[:, ISSUES.index("grayscale")])
    right = sum(truly_grey(os.path.join(result.root, t.paths[i])) for i in grey_flags)
    others = q.flags[:, [k for k, i in enumerate(ISSUES) if i != "grayscale"]].any(axis=1)
    for k, issue in enumerate(ISSUES):
        c = int(q.flags[:, k].sum())
        print(f"   {issue:17} {c:5d} flagged ({c / n:.2%})  threshold {THRESHOLDS[issue]:.4g}")
    print(f"   any issue but grayscale: {int(others.sum())} of {n} ({others.mean():.2%})")
    print(f"   grayscale flags that are grey in every pixel: {right} of {len(grey_flags)}")
    drift = [f for f in validate(result).findings if f.kind in ("label_drift", "property_drift")]
    worst = max((f.severity for f in drift), key=("info", "warning", "error").index, default="none")
    print(f"   label/property drift findings: {len(drift)}, highest severity {worst}")
    for f in drift:
        print(f"     [{f.severity}] {f.splits[0]} {f.property} {f.statistic} {f.value:.3f}")


def planted_issues(corpus: Path, work: Path, per_family: int, rng: np.random.Generator,
                   workers: int | None) -> None:
    root = work / "planted"
    shutil.copytree(corpus / "train", root / "train")
    pool = held_out_files(corpus)
    for kind in ISSUES:
        folder = root / "val" / kind
        folder.mkdir(parents=True)
        for j, k in enumerate(rng.choice(len(pool), per_family, replace=False)):
            plant(kind, decode(str(pool[int(k)])).image, rng).save(folder / f"{kind}_{j:03d}.png")
    result = scan(str(root), workers=workers)
    q = image_quality(result)
    t = result.images
    planted = np.array([p.split("/")[1] if p.startswith("val/") else "" for p in t.paths])
    clean = planted == ""
    grey = ISSUES.index("grayscale")
    # a grayscale flag on a grey image is right whichever family the image was planted in
    grey_right = np.zeros(len(t), bool)
    for i in np.flatnonzero(q.flags[:, grey]):
        grey_right[i] = truly_grey(os.path.join(result.root, t.paths[i]))
    print(f"\n2. planted issues: {per_family} per issue among {int(clean.sum())} clean train images")
    print(f"   {'issue':17} {'recall':>7} {'false alarms on clean':>22}  planted images of other issues also flagged")
    for k, issue in enumerate(ISSUES):
        mine = planted == issue
        flagged = q.flags[:, k] & ~(grey_right if k == grey else False)
        if k == grey:
            flagged = flagged | (q.flags[:, k] & mine)
        false = int((flagged & clean).sum())
        cross = {other: int((flagged & (planted == other)).sum()) for other in ISSUES if other != issue}
        cross = {o: c for o, c in cross.items() if c}
        print(f"   {issue:17} {(q.flags[:, k] & mine).sum() / mine.sum():7.1%} "
              f"{false:9d} ({false / clean.sum():6.2%})      {cross or '-'}")
    print("   (grayscale flags on images that are grey in every pixel are not counted as false)")


def altered_copy(corpus: Path, dst: Path, split: str, change) -> Path:
    shutil.copytree(corpus, dst)
    for p in sorted((dst / split).rglob("*")):
        if p.is_file():
            with Image.open(p) as im:
                im.load()
                if im.mode not in ("L", "RGB", "RGBA", "LA"):  # palette, 1-bit: filters need real pixels
                    im = im.convert("RGBA" if "transparency" in im.info else "RGB")
                out = change(im)
            _save_like(out, p, p)
    return dst


def drift_copies(corpus: Path, work: Path, workers: int | None) -> None:
    print("\n3. drift on altered copies")
    cases = [("val", "blurred (Gaussian radius 2 px)", lambda im: im.filter(ImageFilter.GaussianBlur(2))),
             ("test", "downscaled to half size",
              lambda im: im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.BILINEAR))]
    for split, what, change in cases:
        root = altered_copy(corpus, work / f"{split}_altered", split, change)
        findings = [f for f in validate(scan(str(root), workers=workers)).findings if f.kind == "property_drift"]
        print(f"   every {split} image {what}:")
        for f in findings:
            print(f"     [{f.severity}] {f.splits[0]} {f.property} {f.statistic} {f.value:.3f} (p {f.p_value:.2g})")
        shutil.rmtree(root)


def property_cost(corpus: Path, n: int = 400, repeats: int = 5) -> None:
    """In one process, interleaved: the scan with the property measurement and with it replaced by
    a no-op, best of `repeats` each (a noisy neighbour on the machine hurts both sides alike)."""
    layout = discover(str(corpus))
    layout.files[:] = layout.files[:n]
    real = properties.measure
    nan = np.full(properties.N_PROPERTIES, np.nan)
    best = {"with properties": float("inf"), "without": float("inf")}
    try:
        for _ in range(repeats):
            for name in best:
                properties.measure = real if name == "with properties" else (lambda *a: nan)
                t0 = time.process_time()
                scan(layout, workers=1, in_process=True)  # this process: the no-op applies
                best[name] = min(best[name], time.process_time() - t0)
    finally:
        properties.measure = real
    ratio = best["without"] / best["with properties"]
    print(f"\n4. scan throughput, one process, {n} images, best of {repeats}: "
          f"{n / best['with properties']:.0f} img/s with the properties, {n / best['without']:.0f} without "
          f"(ratio {ratio:.3f}, {1 - ratio:.1%} slower)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/work/data/real2k")
    ap.add_argument("--per-family", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one)")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    rng = np.random.default_rng(args.seed)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-validation-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        property_cost(corpus)
        clean_corpus(corpus, args.workers)
        planted_issues(corpus, work, args.per_family, rng, args.workers)
        drift_copies(corpus, work, args.workers)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
