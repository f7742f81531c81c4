"""Validation benchmark: image-issue recall and false alarms, drift on a clean corpus and on
altered copies, and what the per-image properties cost the scan.

    .venv/bin/python scripts/bench_validation.py [--corpus /work/data/real2k] [--per-family 40]
                                                 [--seed 0] [--keep DIR] [--workers N]

1. Clean corpus (ROOT/{train,val,test}/<class>/*): the share of images flagged per issue and in
   all; grayscale flags are checked against every pixel of the image (a flag is right when no
   pixel's channels differ by more than 2 levels), so grey photos count as found, not as noise.
   Every label_drift / property_drift finding is printed with its severity.
2. Planted issues: --per-family random val/test photos per family, altered with random strength
   (dark: pixels x 0.03-0.12; light: 255 - (255 - x) x 0.03-0.12; low_information: one colour
   plus noise of std 0-2 levels; odd_aspect_ratio: squashed to 0.10-0.33 of its width; odd_size:
   1/8-1/5 of its side; grayscale: the grey version; blurry in six families, sizes relative to
   the short side S: Gaussian sigma 3-10% S, box radius 3-10% S, motion (a line of 10-30% S at a
   random angle), downscale-upscale (to a short side of 12-32 px and back, bilinear), defocus (a
   disc of radius 3-10% S) and heavy JPEG (quality 2-8: blocky, shown but not counted as a blur)),
   written next to the corpus's
   train split and scanned. A blurred photo is then saved as a camera would leave it: sensor-like
   noise of std 0-1.5 levels, and the source's own format (JPEG at quality 70-95 for a JPEG
   source); --plain-blur saves it as a noiseless PNG instead (easier: nothing but the blur).
   Prints recall per family (and on the milder half of its strengths, and for blurs on the photos
   that had detail to lose: a blurred plain sky is still a plain sky), false alarms on the clean
   train images, and which other planted families the issue also flags (a photo darkened to 5%
   is also low in information: listed, not hidden).
3. Drift: copies with every val image blurred (Gaussian radius 2 px) and every test image
   downscaled to half size, through the whole pipeline; then, for the distribution of D, val
   blurred with random radii 0.5-3 px and test downscaled by random factors 0.4-0.75 (the altered
   split scanned alone, D against the clean train split).
4. Cost: the scan's throughput in one process with the property measurement and with it
   replaced by a no-op, interleaved runs on the same 640 images in chunks of 64 files (a large
   scan's chunk size: the properties are computed a chunk at a time), best of five each.
"""
from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core import hashing  # noqa: E402
from inspector.core.decode import decode  # noqa: E402
from inspector.core.layout import discover  # noqa: E402
from inspector.core.scan import CHUNK_FILES, iter_scan, scan  # noqa: E402
from inspector.core.validation import ISSUES, image_quality, validate  # noqa: E402
from inspector.core.validation.issues import effective_thresholds  # noqa: E402
from inspector.core.validation import properties  # noqa: E402
from inspector.core.validation.drift import numeric_column  # noqa: E402
from inspector.core.validation.findings import drift_severity  # noqa: E402
from inspector.core.validation.statistics import ks_2samp  # noqa: E402

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


def motion_blur(im: Image.Image, length: float, angle: float) -> Image.Image:
    """The mean of the image shifted along a line of `length` px at `angle` (edges repeated)."""
    a = np.asarray(im, dtype=np.float64)
    pad = int(math.ceil(length / 2)) + 1
    padded = np.pad(a, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    steps = np.linspace(-length / 2, length / 2, max(2, int(round(length)) + 1))
    out = np.zeros_like(a)
    h, w = a.shape[:2]
    for t in steps:
        dx, dy = int(round(t * math.cos(angle))), int(round(t * math.sin(angle)))
        out += padded[pad + dy:pad + dy + h, pad + dx:pad + dx + w]
    return Image.fromarray((out / len(steps)).round().astype(np.uint8))


def disc_blur(im: Image.Image, radius: float) -> Image.Image:
    """Defocus: the mean over a disc of `radius` px (edges repeated), by FFT convolution."""
    from scipy.signal import fftconvolve  # a test dependency; only this benchmark family needs it

    a = np.asarray(im, dtype=np.float64)
    r = int(math.ceil(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    kernel = (x * x + y * y <= radius * radius).astype(np.float64)
    kernel /= kernel.sum()
    padded = np.pad(a, ((r, r), (r, r), (0, 0)), mode="edge")
    out = np.stack([fftconvolve(padded[..., c], kernel, mode="valid") for c in range(3)], axis=2)
    return Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8))


def jpeg_round_trip(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def as_a_camera_would(im: Image.Image, source: Path, rng: np.random.Generator) -> tuple[Image.Image, str, dict]:
    """(the blurred photo with sensor-like noise of std 0-1.5 levels, its file suffix, how to
    save it): a JPEG source's copy is saved as JPEG at quality 70-95, another source's as PNG."""
    a = np.asarray(im, dtype=np.float64) + rng.normal(0, rng.uniform(0, 1.5), (im.height, im.width, 1))
    noisy = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
    if source.suffix.lower() in (".jpg", ".jpeg"):
        return noisy, ".jpg", {"quality": int(rng.integers(70, 96))}
    return noisy, ".png", {}


# blurry families: (strength range, how to apply a strength s to an image whose short side is S)
BLUR_FAMILIES = {
    "blurry/gaussian": ((0.03, 0.10), lambda im, s, S, rng: im.filter(ImageFilter.GaussianBlur(s * S))),
    "blurry/box": ((0.03, 0.10), lambda im, s, S, rng: im.filter(ImageFilter.BoxBlur(s * S))),
    "blurry/motion": ((0.10, 0.30), lambda im, s, S, rng: motion_blur(im, s * S, rng.uniform(0, math.pi))),
    "blurry/downscale": ((12, 32), lambda im, s, S, rng: im.resize(
        (max(2, round(im.width * s / S)), max(2, round(im.height * s / S))), Image.BILINEAR
    ).resize(im.size, Image.BILINEAR)),
    "blurry/defocus": ((0.03, 0.10), lambda im, s, S, rng: disc_blur(im, s * S)),
    "blurry/jpeg": ((2, 8), lambda im, s, S, rng: jpeg_round_trip(im, round(s))),
}


# Heavy JPEG (quality 2-8) turns a photo into 8 px blocks with hard steps between them: blocky, not
# blurry as a person would say it (cleanvision has no separate issue for it either). It stays in the
# table, to show which issues it triggers, but is left out of the blurry summary.
NOT_A_BLUR = ("blurry/jpeg",)


def plant(kind: str, im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, float]:
    """(the altered image, the strength drawn for it)."""
    im = im.convert("RGB")
    a = np.asarray(im, dtype=np.float64)
    if kind in BLUR_FAMILIES:
        (lo, hi), apply = BLUR_FAMILIES[kind]
        s = rng.uniform(lo, hi)
        return apply(im, s, min(im.size), rng), s
    if kind == "dark":
        f = rng.uniform(0.03, 0.12)
        return Image.fromarray((a * f).round().astype(np.uint8)), f
    if kind == "light":
        f = rng.uniform(0.03, 0.12)
        return Image.fromarray((255 - (255 - a) * f).round().astype(np.uint8)), f
    if kind == "low_information":
        sd = rng.uniform(0, 2)
        flat = np.clip(rng.integers(20, 236, 3) + rng.normal(0, sd, (im.height, im.width, 1)), 0, 255)
        return Image.fromarray(np.broadcast_to(flat, (im.height, im.width, 3)).round().astype(np.uint8)), sd
    if kind == "odd_aspect_ratio":
        f = rng.uniform(0.10, 0.33)
        return im.resize((im.width, max(8, round(im.width * f))), Image.BILINEAR), f
    if kind == "odd_size":
        f = rng.uniform(1 / 8, 1 / 5)
        return im.resize((max(4, round(im.width * f)), max(4, round(im.height * f))), Image.BILINEAR), f
    if kind == "grayscale":
        return im.convert("L").convert("RGB"), 0.0
    raise ValueError(kind)


PLAIN_LEVELS = 1.0  # grid detail under this (grey levels rms): about the clean corpus's plainest 10%


def grid_detail_levels(im: Image.Image) -> float:
    """rms of the one-step differences of the image's 64 px grey grid in its smoother direction:
    under a grey level, a blur has nothing to take away (plain skies, walls, fog)."""
    g = hashing.grey_grid(im).astype(np.float64)
    rows, cols = np.mean(np.diff(g, axis=1) ** 2), np.mean(np.diff(g, axis=0) ** 2)
    return float(np.sqrt(min(rows, cols)))


def held_out_files(corpus: Path) -> list[Path]:
    return sorted(p for split in ("val", "test") for p in (corpus / split).rglob("*") if p.is_file())


def clean_corpus(corpus: Path, workers: int | None):
    result = scan(str(corpus), workers=workers)
    q = image_quality(result)
    t = result.images
    n = len(t)
    print(f"\n1. clean corpus {corpus}: {n} images")
    grey_flags = np.flatnonzero(q.flags[:, ISSUES.index("grayscale")])
    right = sum(truly_grey(os.path.join(result.root, t.paths[i])) for i in grey_flags)
    others = q.flags[:, [k for k, i in enumerate(ISSUES) if i != "grayscale"]].any(axis=1)
    cut = effective_thresholds(q.scores)  # what was applied (low_information adapts to the dataset)
    for k, issue in enumerate(ISSUES):
        c = int(q.flags[:, k].sum())
        print(f"   {issue:17} {c:5d} flagged ({c / n:.2%})  threshold {cut[issue]:.4g}")
    print(f"   any issue but grayscale: {int(others.sum())} of {n} ({others.mean():.2%})")
    print(f"   grayscale flags that are grey in every pixel: {right} of {len(grey_flags)}")
    drift = [f for f in validate(result).findings if f.kind in ("label_drift", "property_drift")]
    worst = max((f.severity for f in drift), key=("info", "warning", "error").index, default="none")
    print(f"   label/property drift findings: {len(drift)}, highest severity {worst}")
    for f in drift:
        print(f"     [{f.severity}] {f.splits[0]} {f.property} {f.statistic} {f.value:.3f}")
    return result


FAMILIES = [k for k in ISSUES if k != "blurry"] + list(BLUR_FAMILIES)


def planted_issues(corpus: Path, work: Path, per_family: int, rng: np.random.Generator,
                   workers: int | None, plain_blur: bool = False) -> None:
    root = work / "planted"
    shutil.copytree(corpus / "train", root / "train")
    pool = held_out_files(corpus)
    strength: dict[str, float] = {}
    plain_source: set[str] = set()  # blurred copies of photos with no detail to lose (skies, walls)
    for family in FAMILIES:
        folder = root / "val" / family.replace("/", "-")
        folder.mkdir(parents=True)
        for j, k in enumerate(rng.choice(len(pool), per_family, replace=False)):
            source = pool[int(k)]
            original = decode(str(source)).image
            im, s = plant(family, original, rng)
            suffix, options = ".png", {}
            if family in BLUR_FAMILIES and not plain_blur:
                im, suffix, options = as_a_camera_would(im, source, rng)
            name = f"{family.replace('/', '-')}_{j:03d}{suffix}"
            im.save(folder / name, **options)
            strength[f"val/{folder.name}/{name}"] = s
            if family in BLUR_FAMILIES and grid_detail_levels(original) < PLAIN_LEVELS:
                plain_source.add(f"val/{folder.name}/{name}")
    result = scan(str(root), workers=workers)
    q = image_quality(result)
    t = result.images
    planted = np.array([p.split("/")[1].replace("-", "/") if p.startswith("val/") else "" for p in t.paths])
    drawn = np.array([strength.get(p, np.nan) for p in t.paths])
    detailed = np.array([p not in plain_source for p in t.paths])
    clean = planted == ""
    grey = ISSUES.index("grayscale")
    # a grayscale flag on a grey image is right whichever family the image was planted in
    grey_right = np.zeros(len(t), bool)
    for i in np.flatnonzero(q.flags[:, grey]):
        grey_right[i] = truly_grey(os.path.join(result.root, t.paths[i]))
    print(f"\n2. planted issues: {per_family} per family among {int(clean.sum())} clean train images")
    print(f"   {'family':17} {'recall':>7} {'milder half':>12} {'with detail':>12} {'false alarms on clean':>22}  "
          "planted images of other families also flagged")
    for family in FAMILIES:
        issue = family.split("/")[0]
        k = ISSUES.index(issue)
        mine = planted == family
        found = q.flags[:, k] & mine
        # the milder half of the drawn strengths: small blurs; for the rest, factors near 1 (or
        # more noise, or a larger downscaled side)
        s = drawn[mine]
        mild_is_low = family in ("blurry/gaussian", "blurry/box", "blurry/motion", "blurry/defocus")
        weak = mine & ((drawn <= np.median(s)) if mild_is_low else (drawn >= np.median(s)))
        flagged = q.flags[:, k] & ~(grey_right if k == grey else False)
        if k == grey:
            flagged = flagged | found
        false = int((flagged & clean).sum())
        cross = {o: int((flagged & (planted == o)).sum()) for o in FAMILIES if o.split("/")[0] != issue}
        cross = {o: c for o, c in cross.items() if c}
        weak_recall = (q.flags[:, k] & weak).sum() / max(weak.sum(), 1)
        rich = mine & detailed
        rich_recall = f"{(q.flags[:, k] & rich).sum() / max(rich.sum(), 1):6.1%} of {rich.sum():2d}" \
            if family in BLUR_FAMILIES else "-"
        print(f"   {family:17} {found.sum() / mine.sum():7.1%} {weak_recall:12.1%} {rich_recall:>12} "
              f"{false:9d} ({false / clean.sum():6.2%})      {cross or '-'}")
    blur = [f for f in BLUR_FAMILIES if f not in NOT_A_BLUR]
    found = sum(int((q.flags[:, ISSUES.index("blurry")] & (planted == f)).sum()) for f in blur)
    total = sum(int((planted == f).sum()) for f in blur)
    rich = sum(int((q.flags[:, ISSUES.index("blurry")] & (planted == f) & detailed).sum()) for f in blur)
    of_rich = sum(int(((planted == f) & detailed).sum()) for f in blur)
    print(f"   blurry over the {len(blur)} blur families: {found} of {total} ({found / max(total, 1):.1%}), "
          f"{rich} of the {of_rich} of photos with detail ({rich / max(of_rich, 1):.1%}); "
          f"{', '.join(NOT_A_BLUR)} is shown but not counted (blocky, not blurry)")
    print(f"   (with detail: the source photo's 64 px grid has one-step differences of {PLAIN_LEVELS} grey "
          "level rms or more; a blurred plain sky is a plain sky)")
    print("   (grayscale flags on images that are grey in every pixel are not counted as false)")


def altered_copy(corpus: Path, dst: Path, split: str, change, whole: bool = True) -> Path:
    """A copy of the corpus (or of `split` alone, whole=False) with `change` applied to every
    image of `split`, each saved in its own format."""
    shutil.copytree(corpus if whole else corpus / split, dst if whole else dst / split)
    for p in sorted((dst / split).rglob("*")):
        if p.is_file():
            with Image.open(p) as im:
                im.load()
                if im.mode not in ("L", "RGB", "RGBA", "LA"):  # palette, 1-bit: filters need real pixels
                    im = im.convert("RGBA" if "transparency" in im.info else "RGB")
                out = change(im)
            _save_like(out, p, p)
    return dst


def _blur(radius: float):
    return lambda im: im.filter(ImageFilter.GaussianBlur(radius))


def _downscale(factor: float):
    return lambda im: im.resize((max(1, round(im.width * factor)), max(1, round(im.height * factor))),
                                Image.BILINEAR)


def drift_copies(corpus: Path, work: Path, clean, rng: np.random.Generator, workers: int | None,
                 copies: int = 8) -> None:
    print("\n3. drift on altered copies")
    cases = [("val", "blurred (Gaussian radius 2 px)", _blur(2)),
             ("test", "downscaled to half size", _downscale(0.5))]
    for split, what, change in cases:
        root = altered_copy(corpus, work / f"{split}_altered", split, change)
        findings = [f for f in validate(scan(str(root), workers=workers)).findings if f.kind == "property_drift"]
        print(f"   every {split} image {what}:")
        for f in findings:
            print(f"     [{f.severity}] {f.splits[0]} {f.property} {f.statistic} {f.value:.3f} (p {f.p_value:.2g})")
        shutil.rmtree(root)
    train = clean.images.rows_in("train")
    randomized = [("val", "sharpness", "Gaussian radius", 0.5, 3.0, _blur),
                  ("test", "area", "downscale factor", 0.4, 0.75, _downscale)]
    for split, prop, what, lo, hi, make in randomized:
        ref = numeric_column(clean.images, prop)[train]
        rows = []
        for _ in range(copies):
            s = float(rng.uniform(lo, hi))
            root = altered_copy(corpus, work / f"{split}_random", split, make(s), whole=False)
            alone = scan(str(root), workers=workers)
            d, p = ks_2samp(numeric_column(alone.images, prop), ref)
            rows.append((s, d, p))
            shutil.rmtree(root)
        ds = np.array([d for _, d, _ in rows])
        print(f"   {split} with a random {what} {lo}-{hi}: {prop} D against clean train "
              + ", ".join(f"{s:.2f} -> {d:.3f} ({drift_severity(d, p) or 'none'})" for s, d, p in sorted(rows))
              + f"; min {ds.min():.3f}, median {np.median(ds):.3f}")


def _scan_once(layout, chunk_size: int) -> None:
    """A whole scan in this process (where the no-op applies), in chunks of `chunk_size` files."""
    gen = iter_scan(layout, workers=1, in_process=True, chunk_size=chunk_size)
    try:
        while True:
            next(gen)
    except StopIteration:
        pass


def property_cost(corpus: Path, n: int = 640, repeats: int = 5, chunk_size: int = CHUNK_FILES) -> float:
    """In one process, interleaved: the scan with the property measurement and with it replaced by
    a no-op, best of `repeats` each by CPU time (a noisy neighbour on the machine hurts both sides
    alike), in chunks of the size a scan of a few thousand files or more uses (the properties are
    computed a chunk at a time). Returns the throughput ratio (without / with)."""
    layout = discover(str(corpus))
    layout.files = layout.files[:n]
    real = properties.sample, properties.measure_all
    # the no-op sample is an empty object: the scan sets its moments once the chunk's are known
    noop = (lambda *a: SimpleNamespace()), (lambda samples: np.full((len(samples), properties.N_PROPERTIES), np.nan))
    best = {"with properties": float("inf"), "without": float("inf")}
    try:
        for _ in range(repeats):
            for name in best:
                properties.sample, properties.measure_all = real if name == "with properties" else noop
                t0 = time.process_time()
                _scan_once(layout, chunk_size)
                best[name] = min(best[name], time.process_time() - t0)
    finally:
        properties.sample, properties.measure_all = real
    ratio = best["without"] / best["with properties"]
    print(f"\n4. scan throughput, one process, {n} images in chunks of {chunk_size}, best of {repeats}: "
          f"{n / best['with properties']:.0f} img/s with the properties, {n / best['without']:.0f} without "
          f"(ratio {ratio:.3f}, {1 - ratio:.1%} slower)")
    return ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/work/data/real2k")
    ap.add_argument("--per-family", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--skip-planted", action="store_true", help="only the clean corpus, drift and cost")
    ap.add_argument("--skip-cost", action="store_true")
    ap.add_argument("--skip-drift", action="store_true")
    ap.add_argument("--plain-blur", action="store_true",
                    help="save blurred photos as noiseless PNGs (no sensor noise, no re-encoding)")
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one)")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    rng = np.random.default_rng(args.seed)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-validation-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_cost:
            property_cost(corpus)
        clean = clean_corpus(corpus, args.workers)
        if not args.skip_planted:
            planted_issues(corpus, work, args.per_family, rng, args.workers, args.plain_blur)
        if not args.skip_drift:
            drift_copies(corpus, work, clean, rng, args.workers)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
