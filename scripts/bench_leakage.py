"""Leakage benchmark: recall and false pairs on real photos, and the speed of the duplicate search.

    .venv/bin/python scripts/bench_leakage.py --corpus ROOT [--manifest FILE] [--sizes 100000,1000000]
                                              [--scan] [--keep DIR] [--skip-speed]
    .venv/bin/python scripts/bench_leakage.py --skip-corpus [--sizes ...]     # the speed part alone
    .venv/bin/python scripts/bench_leakage.py --families --corpus ROOT [--manifest FILE] [--mnist DIR]
                                              [--sources DIR] [--seeds 101,202] [--misses]  # bench_families.py

1. Real photos. The corpus (ROOT/{train,val,test}/<class>/*, clean: no cross-split duplicates) is
   copied to a temporary folder and near copies are planted: 70 val/test images, each copied
   into train as a JPEG q60 re-encode, a half-size resize, a 3% border crop, a +10% brightness
   copy, a mirror, a lossless PNG re-save and an exact file copy (490 copies). Hard negatives are
   added: the four non-overlapping quadrants of 40 train photos spread over the splits (the
   photos themselves removed), 40 synthetic look-alike skies (smooth gradients, faint noise, a
   soft cloud), and flat images (uniform, linear gradients). The corpus itself holds many
   non-overlapping crops of the same 49 photographs in different splits. Every image is read with
   Pillow, measured with `table_from_images` (the scan's hashing code) and searched with
   `find_leakage`; with --scan the folder is also scanned by `inspector.core.scan` and searched.
   Printed: recall per transform, false pairs (any exact/near/mirror finding that is not a
   planted copy of the same source), with the threshold used.
2. Speed: the multi-index search on random 64-bit hashes (N_VIEWS views per image: crop views a
   few bits from the whole-image hash, mirror views independent) with planted near pairs, for
   N vs N images across two splits, at the same threshold. Prints timings and how many planted
   pairs were found (pairs within 3 bits are guaranteed; farther ones need one equal chunk).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_families  # noqa: E402
import leakage_families  # noqa: E402

from inspector.core import leakage  # noqa: E402
from inspector.core.leakage import shared_passes  # noqa: E402
from inspector.core.hashing import N_VIEWS, perceptual_signature  # noqa: E402
from inspector.core.table_from_images import table_from_images  # noqa: E402

TRANSFORMS = ("jpeg60", "half", "crop3", "bright10", "mirror", "png", "exact")
EXPECTED_KIND = {"mirror": "mirror", "png": "exact", "exact": "exact"}   # others: near


def _crop(im: Image.Image, f: float) -> Image.Image:
    w, h = im.size
    dx, dy = round(w * f), round(h * f)
    return im.crop((dx, dy, w - dx, h - dy))


def plant(src: Path, dst_dir: Path, kind: str) -> Path:
    """Write one planted copy of `src` into dst_dir; returns its path."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    stem = f"planted_{kind}_{src.stem}"
    if kind == "exact":
        out = dst_dir / f"{stem}{src.suffix}"
        shutil.copyfile(src, out)
        return out
    im = Image.open(src)
    im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "RGBA", "LA") else im
    im = im.convert("RGB") if im.mode not in ("RGB", "L") else im
    if kind == "jpeg60":
        out = dst_dir / f"{stem}.jpg"
        im.save(out, "JPEG", quality=60)
        return out
    if kind == "half":
        im = im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.BICUBIC)
    elif kind == "crop3":
        im = _crop(im, 0.03)
    elif kind == "bright10":
        im = ImageEnhance.Brightness(im).enhance(1.10)
    elif kind == "mirror":
        im = ImageOps.mirror(im)
    out = dst_dir / f"{stem}.png"
    im.save(out, "PNG")
    return out


def build_planted(corpus: Path, root: Path, seed: int = 1) -> dict:
    """Copy the corpus to root with planted copies and hard negatives; returns the ground truth."""
    rng = np.random.default_rng(seed)
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    rel = [p.relative_to(corpus).as_posix() for p in files]
    train = [r for r in rel if r.startswith("train/")]
    heldout = [r for r in rel if not r.startswith("train/")]
    sources = sorted(rng.choice(heldout, 70, replace=False).tolist())
    quad_src = set(rng.choice(train, 40, replace=False).tolist())
    truth = {"copies": [], "quadrants": [], "synthetic": []}
    for r in rel:
        if r in quad_src:
            continue
        (root / r).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / r, root / r)
    for r in sources:
        cls = r.split("/")[1]
        for kind in TRANSFORMS:
            out = plant(corpus / r, root / "train" / cls, kind)
            truth["copies"].append({"source": r, "copy": out.relative_to(root).as_posix(), "kind": kind})
    quad_splits = ("train", "val", "test", "train")
    for r in sorted(quad_src):
        im = Image.open(corpus / r)
        im = im.convert("RGB")
        w, h = im.size
        boxes = ((0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2), (0, h // 2, w // 2, h), (w // 2, h // 2, w, h))
        for q, (box, sp) in enumerate(zip(boxes, quad_splits)):
            out = root / sp / "quadrant" / f"q{q}_{Path(r).stem}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            im.crop(box).save(out)
            truth["quadrants"].append(out.relative_to(root).as_posix())
    for i in range(40):
        sp = ("train", "val", "test")[i % 3]
        out = root / sp / "sky" / f"sky{i:02d}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        sky_image(rng).save(out)
        truth["synthetic"].append(out.relative_to(root).as_posix())
    for i, im in enumerate(flat_images()):
        sp = ("train", "val", "test")[i % 3]
        out = root / sp / "flat" / f"flat{i:02d}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        im.save(out)
        truth["synthetic"].append(out.relative_to(root).as_posix())
    return truth


def sky_image(rng: np.random.Generator, h: int = 300, w: int = 400) -> Image.Image:
    """A look-alike sky: vertical colour gradient, faint noise and a soft cloud."""
    top = rng.uniform(60, 200, 3)
    bottom = top + rng.uniform(-40, 60, 3)
    y = np.linspace(0, 1, h)[:, None, None]
    a = top + (bottom - top) * y + np.zeros((h, w, 3))
    a += rng.normal(0, 1.5, (h, w, 3))
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    blob = np.exp(-(((np.arange(w) - cx) / 80.0) ** 2)[None, :] - (((np.arange(h) - cy) / 40.0) ** 2)[:, None])
    a += (blob * rng.uniform(0, 25))[..., None]
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))


def flat_images() -> list[Image.Image]:
    """Uniform greys and colours, and linear gradients in several directions and ranges."""
    out = [Image.new("RGB", (320, 240), (v, v, v)) for v in (0, 1, 128, 129, 255)]
    out += [Image.new("RGB", (300, 300), c) for c in ((30, 90, 200), (31, 90, 200), (200, 120, 40))]
    x = np.linspace(0, 1, 320)[None, :]
    y = np.linspace(0, 1, 240)[:, None]
    for lo, hi in ((0, 255), (0, 128), (128, 255), (40, 60), (100, 110)):
        for g in (x + 0 * y, y + 0 * x, (x + y) / 2):
            out.append(Image.fromarray((lo + (hi - lo) * g).astype(np.uint8)).convert("RGB"))
    return out


def load_table(root: Path):
    items = []
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        r = p.relative_to(root).as_posix()
        split, cls = r.split("/")[:2]
        im = Image.open(p)
        im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "RGBA", "LA", "PA") else im
        im = im.convert("RGB")
        items.append((r, split, cls, im))
    order = {"train": 0, "val": 1, "test": 2}
    items.sort(key=lambda t: (order.get(t[1], 9), t[0]))
    return table_from_images(items, split_names=["train", "val", "test"])


def evaluate(table, findings, truth, manifest: dict | None, label: str) -> dict:
    """Recall per transform and false pairs among duplicate findings."""
    dup = [f for f in findings if f.kind in ("exact", "near", "mirror")]
    # Large duplicate groups are reported against one file of the group, so a copy counts as found
    # when it is connected to its source through duplicate findings.
    parent: dict[str, str] = {}

    def root(p: str) -> str:
        while parent.get(p, p) != p:
            parent[p] = parent.get(parent[p], parent[p])
            p = parent[p]
        return p

    for f in dup:
        ra, rb = root(f.paths[0]), root(f.paths[1])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    kinds_of: dict[str, set] = defaultdict(set)
    for f in dup:
        for p in f.paths:
            kinds_of[p].add(f.kind)
    copy_of = {c["copy"]: c["source"] for c in truth["copies"]}
    found = Counter()
    right_kind = Counter()
    missed = []
    direct = Counter()
    pair_set = {frozenset(f.paths) for f in dup}
    for c in truth["copies"]:
        if frozenset((c["copy"], c["source"])) in pair_set:
            direct[c["kind"]] += 1
        if c["copy"] in kinds_of and root(c["copy"]) == root(c["source"]):
            found[c["kind"]] += 1
            if EXPECTED_KIND.get(c["kind"], "near") in kinds_of[c["copy"]]:
                right_kind[c["kind"]] += 1
        else:
            missed.append(c)
    per_kind = Counter(c["kind"] for c in truth["copies"])
    boxes = {it["path"]: (it["source"], it["box"]) for it in (manifest or {}).get("items", [])}
    boxes.update(quadrant_boxes(truth.get("quadrants", []), boxes))

    def family(p: str) -> str:
        return copy_of.get(p, p)

    false_pairs, overlap_pairs = [], []
    for f in dup:
        a, b = f.paths
        if family(a) == family(b):
            continue
        ba, bb = boxes.get(a), boxes.get(b)
        if ba and bb and ba[0] == bb[0] and leakage_families.iou(ba[1], bb[1]) > 0:
            overlap_pairs.append(f)
        else:
            false_pairs.append(f)
    total = sum(per_kind.values())
    n_found = sum(found.values())
    print(f"\n[{label}] {len(table)} images, near threshold {leakage.NEAR_THRESHOLD} bits "
          f"(candidates need one equal 16-bit chunk; all pairs within {leakage.GUARANTEED_RADIUS} bits guaranteed), "
          f"confirmation corr >= {leakage.CONFIRM_CORR}, fine >= {leakage.CONFIRM_FINE}, "
          f"texture >= {leakage.CONFIRM_TEXTURE}")
    for k in TRANSFORMS:
        print(f"  {k:9s} found {found[k]:3d}/{per_kind[k]}  right kind {right_kind[k]:3d}  "
              f"(a finding naming exactly the copy and its source: {direct[k]:3d})")
    print(f"  recall: {n_found}/{total} = {n_found / max(total, 1):.1%}  "
          f"(near-type copies only: {sum(found[k] for k in TRANSFORMS if k not in ('png', 'exact'))}/"
          f"{sum(per_kind[k] for k in TRANSFORMS if k not in ('png', 'exact'))})")
    cross_false = [f for f in false_pairs if f.splits[0] != f.splits[1]]
    print(f"  false pairs between distinct images: {len(false_pairs)} "
          f"({len(cross_false)} across splits); within-split pairs of overlapping crops "
          f"(same photo, IoU > 0, not counted as false): {len(overlap_pairs)}")
    for f in false_pairs[:20]:
        print(f"    FALSE {f.kind} {f.severity}: {f.message}")
    for c in missed[:40]:
        print(f"    missed {c['kind']}: {c['copy']} <- {c['source']}")
    return {"recall": n_found / max(total, 1), "false": len(false_pairs), "cross_false": len(cross_false)}


def quadrant_boxes(quadrants: list[str], boxes: dict) -> dict:
    """(source, box) of each quadrant file ("SPLIT/quadrant/q{k}_{stem}.png"), from the box of the
    corpus crop it was cut from: a quadrant can show what another crop of the same photo shows."""
    by_stem = {Path(p).stem: v for p, v in boxes.items()}
    out = {}
    for q in quadrants:
        k, stem = Path(q).stem.split("_", 1)
        if stem not in by_stem:
            continue
        source, (x0, y0, x1, y1) = by_stem[stem]
        a, b = ((0, 0), (1, 0), (0, 1), (1, 1))[int(k[1:])]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        out[q] = (source, ((x0, mx)[a], (y0, my)[b], (mx, x1)[a], (my, y1)[b]))
    return out


def signature_cost(root: Path, n: int = 400) -> None:
    files = sorted(p for p in (root / "train").rglob("*.jpg"))[:n]
    ims = [Image.open(p).convert("RGB") for p in files]
    px = np.mean([im.width * im.height for im in ims])
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        for im in ims:
            perceptual_signature(im)
        best = min(best, (time.perf_counter() - t) / len(ims))
    dec = 1e9
    for _ in range(3):
        t = time.perf_counter()
        for p in files:
            Image.open(p).load()
        dec = min(dec, (time.perf_counter() - t) / len(files))
    print(f"\nperceptual_signature: {best * 1e3:.3f} ms/image on {len(ims)} RGB photos of "
          f"{px / 1000:.0f}k pixels; decode alone {dec * 1e3:.3f} ms/image here, so the signature "
          f"costs {best / dec:.0%} of a decode; "
          f"memory {N_VIEWS * 8 + leakage.THUMB_SIZE ** 2} bytes/image")


# ---------------------------------------------------------------------------------------------
# Speed

def synthetic_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, N_VIEWS) hashes: random whole-image hashes with 32 ones, crop views a few bits away,
    mirror views independent random hashes (as for real photos)."""
    h = np.zeros((n, N_VIEWS), np.uint64)
    n_crops = N_VIEWS // 2
    h[:, 0] = _random_balanced(n, rng)
    for v in range(1, n_crops):
        h[:, v] = _flip(h[:, 0], rng.integers(0, 4 * v + 1, n), rng)
    h[:, n_crops] = _random_balanced(n, rng)
    for v in range(n_crops + 1, N_VIEWS):
        h[:, v] = _flip(h[:, n_crops], rng.integers(0, 4 * (v - n_crops) + 1, n), rng)
    return h


def _random_balanced(n: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.argsort(rng.random((n, 64)), axis=1) < 32
    return np.packbits(bits, axis=1, bitorder="little").view("<u8")[:, 0].astype(np.uint64)


def _flip(h: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """h with k[i] random bits flipped in row i."""
    bits = np.argsort(rng.random((len(h), 64)), axis=1) < k[:, None]
    masks = np.packbits(bits, axis=1, bitorder="little").view("<u8")[:, 0].astype(np.uint64)
    return h ^ masks


def synthetic_probes(h: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, len(PROBES)) probe hashes of synthetic hashes, as candidates.probe_hashes makes them from
    thumbnails: view 0 with one bit of the probe's chunk flipped (random distinct bits here: the
    cost does not depend on which)."""
    probes = leakage.PROBES
    out = np.empty((len(h), len(probes)), np.uint64)
    bits = np.argsort(rng.random((len(h), leakage.CHUNK_BITS)), axis=1)
    for k, (c, rank) in enumerate(probes):
        out[:, k] = h[:, 0] ^ (np.uint64(1) << (bits[:, rank] + c * leakage.CHUNK_BITS).astype(np.uint64))
    return out


def speed(n: int, threshold: int, seed: int = 0, planted: int = 1000) -> None:
    rng = np.random.default_rng(seed)
    a = synthetic_hashes(n, rng)
    b = synthetic_hashes(n, rng)
    # planted near pairs: b[k] is a[k] with d bits flipped in every view, d = 0..threshold
    k = rng.choice(n, planted, replace=False)
    dist = rng.integers(0, threshold + 1, planted)
    for v in range(N_VIEWS):
        b[k, v] = _flip(a[k, v], dist, rng)
    h = np.concatenate([a, b])
    groups = np.repeat(np.array([0, 1], np.int16), n)
    probes = synthetic_probes(h, rng)
    t, cpu = time.perf_counter(), time.process_time()
    i, j, d = leakage.near_candidates(h, threshold, groups=groups, cross_only=True, probes=probes)
    dt, cpu = time.perf_counter() - t, time.process_time() - cpu
    got = set(zip(i.tolist(), j.tolist()))
    found = np.array([(int(x), int(x) + n) in got for x in k])
    guaranteed = dist <= leakage.GUARANTEED_RADIUS
    print(f"  {n:>9,} x {n:,} images ({N_VIEWS} views each), threshold {threshold}: {dt:6.2f} s ({cpu:.2f} s CPU), "
          f"{len(i):,} pairs within the threshold (with {len(leakage.PROBES)} probes each); planted found {found.sum()}/{planted} "
          f"(within {leakage.GUARANTEED_RADIUS} bits: {found[guaranteed].sum()}/{guaranteed.sum()}, "
          f"4-{threshold} bits: {found[~guaranteed].sum()}/{(~guaranteed).sum()})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", help="folder of clean photos ROOT/{train,val,test}/<class>/* (required "
                                     "unless --skip-corpus or --families)")
    ap.add_argument("--manifest", help="the corpus's crop manifest (default: ROOT.manifest.json beside it, "
                                       "if there): which crops show overlapping parts of one photo")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--scan", action="store_true", help="also run inspector.core.scan on the planted folder")
    ap.add_argument("--keep", help="build the planted folder here and keep it")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-corpus", action="store_true")
    bench_families.main_args(ap)
    args = ap.parse_args(argv)
    if args.families:
        bench_families.run_from_args(args, ap.error)
        return 0
    threshold = leakage.NEAR_THRESHOLD
    if not args.skip_corpus:
        if not args.corpus or not Path(args.corpus).is_dir():
            ap.error(f"the real-photo part needs --corpus ROOT, a folder of photos ROOT/{{train,val,test}}/<class>/* "
                     f"with no cross-split copies ({'not a folder: ' + args.corpus if args.corpus else 'none given'}); "
                     f"or pass --skip-corpus to run the speed part alone")
        manifest_path = Path(args.manifest) if args.manifest else Path(args.corpus.rstrip("/") + ".manifest.json")
        if args.manifest and not manifest_path.is_file():
            ap.error(f"--manifest {args.manifest}: no such file")
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
        tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_leakage_"))
        try:
            if tmp.exists() and any(tmp.iterdir()):
                truth = json.loads((tmp / "truth.json").read_text())
            else:
                tmp.mkdir(parents=True, exist_ok=True)
                truth = build_planted(Path(args.corpus), tmp / "data")
                (tmp / "truth.json").write_text(json.dumps(truth))
            root = tmp / "data"
            signature_cost(root)
            t = time.perf_counter()
            table = load_table(root)
            t_load = time.perf_counter() - t
            means = {s: table.mean[table.rows_in(s)].mean(axis=0).tolist() for s in table.split_names}
            t = time.perf_counter()
            findings = leakage.find_leakage(table, means)
            t_find = time.perf_counter() - t
            print(f"\nread + measured {len(table)} images in {t_load:.1f} s; find_leakage {t_find:.2f} s; "
                  f"findings by severity {leakage.count_by_severity(findings)}, by kind "
                  f"{dict(Counter(f.kind for f in findings))}")
            evaluate(table, findings, truth, manifest, "Pillow + table_from_images")
            if args.scan:
                from inspector.core.scan import scan

                t = time.perf_counter()
                result = scan(str(root))
                t_scan = time.perf_counter() - t
                f2 = leakage.scan_leakage(result)
                print(f"\nscan: {len(result.images)} images in {t_scan:.1f} s")
                evaluate(result.images, f2, truth, manifest, "inspector.core.scan")
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
    if not args.skip_speed:
        print(f"\nduplicate search speed (multi-index hashing, 4 x 16-bit chunks, and probes, vectorised numpy, "
              f"one process, its passes made by {shared_passes.threads()} thread(s); {os.cpu_count()} CPUs on this "
              f"machine; wall time, then CPU time of every thread):")
        for n in [int(s) for s in args.sizes.split(",") if s]:
            speed(n, threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
