"""Held-out leakage benchmark (issue 10): copies made by edits written apart from the edit-family
benchmark (scripts/heldout_edits.py), planted across the splits of the real photos, plus hard
negatives, scanned with the real CLI and scored against the manifest.

For each seed it builds SEED_DIR/data (train/val/test with class folders, ImageFolder-like):
- the corpus's photos (hard links), less those used for the negatives;
- --per-family copies of distinct photos for each of the 19 families of heldout_edits.FAMILIES
  and --pairs copies with two families combined, each in another split than its original
  (--conflicts of them also under another class: label conflicts);
- hard negatives that must give no finding: pairs of non-overlapping neighbouring crops of one
  photo, in different splits ("neighbour"); two crops of one photo at opposite corners that
  overlap by at most ~25% of either ("distinct"); look-alike synthetic skies, walls and sunsets
  (gradients, soft structure, noise; "sky", "wall", "sunset"; half of them twins: the same
  gradient with other clouds and noise); many tiny look-alikes: 32x32 tiles of a few photos and
  tiny synthetic gradients ("tiny"); with --mnist DIR, --mnist-count digits ("mnist"). Half the
  photo negatives come from the smoothest photos.
Then it runs `python main.py scan DATA --json OUT --no-cache --quiet` and prints recall per family,
label conflicts found, mirrors reported as mirrors, false pairs per negative category
(scoring: scripts/heldout_score.py), and per family how often a found copy's message names its
edit and which messages name an edit that was not made (scripts/edit_words.py). With --notes FILE it appends the figures and a diagnosis of
every miss: the pair's hash distance and whether the confirmation alone accepts it (measured on a
table of the two files through inspector.core.leakage), so it says which stage lost it.

With --phash a naive baseline is scored on the same files: a plain 64-bit pHash (imagehash's) with
every pair within 10 bits taken as a copy.

Usage: python scripts/bench_heldout.py [--corpus /work/data/real2k] [--seeds 1,2] [--work DIR]
       [--per-family 8] [--pairs 24] [--notes FILE] [--keep] [--phash] [--mnist DIR]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import edit_words  # noqa: E402
import heldout_edits as edits  # noqa: E402
from heldout_score import score  # noqa: E402

SPLITS = ("train", "val", "test")


def _rel(split: str, cls: str, name: str) -> str:
    return f"{split}/{cls}/{name}"


def _other_split(rng: np.random.Generator, split: str) -> str:
    others = [s for s in SPLITS if s != split]
    return others[int(rng.integers(len(others)))]


def _sub_box(prov: dict | None, size: tuple[int, int], box: tuple[float, float, float, float]) -> dict | None:
    """Provenance of a crop (box in the item's pixels) of an item of this size and provenance."""
    if prov is None:
        return None
    x0, y0, x1, y1 = prov["box"]
    sx, sy = (x1 - x0) / size[0], (y1 - y0) / size[1]
    return {"source": prov["source"], "box": [x0 + box[0] * sx, y0 + box[1] * sy, x0 + box[2] * sx, y0 + box[3] * sy]}


# ---- synthetic look-alikes ------------------------------------------------------------------

def _soft_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random structure in [-1, 1]: a coarse random grid upsampled bicubically."""
    g = rng.uniform(0, 255, (cells, max(2, round(cells * w / h)))).astype(np.uint8)
    up = np.asarray(Image.fromarray(g).resize((w, h), Image.Resampling.BICUBIC), np.float64)
    return up / 127.5 - 1.0


def synthetic(kind: str, rng: np.random.Generator, w: int, h: int,
              scene: np.random.Generator | None = None) -> Image.Image:
    """A look-alike sky, wall or sunset: a gradient between two random colours of that palette,
    soft structure (clouds, plaster, haze) and sensor noise. The gradient, its light and the
    horizon come from `scene` (default: rng), so two images drawn with equal scene generators are
    twins: the same sky with other clouds and noise, still two different pictures."""
    sc = scene or rng
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    if kind == "sky":
        top = np.array([sc.uniform(40, 110), sc.uniform(90, 160), sc.uniform(170, 250)])
        bottom = np.array([sc.uniform(150, 230), sc.uniform(180, 235), sc.uniform(220, 255)])
        base = top + (bottom - top) * y ** sc.uniform(0.6, 1.6)
        structure = rng.uniform(3, 18) * _soft_noise(rng, h, w, int(rng.integers(3, 9)))[..., None]
    elif kind == "wall":
        c = sc.uniform(120, 230, 3)
        c = c.mean() + (c - c.mean()) * sc.uniform(0.1, 0.5)
        light = 1 + sc.uniform(-0.15, 0.15) * (x - 0.5) + sc.uniform(-0.15, 0.15) * (y - 0.5)
        base = c * light
        structure = rng.uniform(2, 8) * _soft_noise(rng, h, w, int(rng.integers(6, 20)))[..., None]
    else:   # sunset: warm horizon band, darker top, dark ground below a wavy horizon
        top = np.array([sc.uniform(40, 110), sc.uniform(20, 70), sc.uniform(70, 140)])
        mid = np.array([sc.uniform(220, 255), sc.uniform(110, 180), sc.uniform(30, 90)])
        base = top + (mid - top) * y ** sc.uniform(0.7, 1.5)
        structure = rng.uniform(3, 12) * _soft_noise(rng, h, w, int(rng.integers(3, 7)))[..., None]
        horizon = sc.uniform(0.65, 0.9) + 0.04 * _soft_noise(sc, 1, w, 4)[0]
        ground = (np.linspace(0, 1, h)[:, None] > horizon[None, :])[..., None]
        base = np.where(ground, base * rng.uniform(0.1, 0.3), base)
    a = base + structure + rng.normal(0, rng.uniform(0.8, 3.0), (h, w, 3))
    return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))


# ---- the dataset ----------------------------------------------------------------------------

def build(corpus: Path, out: Path, seed: int, per_family: int, pairs: int, conflicts: int,
          mnist: Path | None = None, mnist_count: int = 0) -> dict:
    """Write the dataset under out/data and return its manifest (also written to out/manifest.json).
    With `mnist`, `mnist_count` random digits of it are added to random splits ("mnist" negatives)."""
    rng = np.random.default_rng(seed)
    corpus_manifest = json.loads((corpus.parent / f"{corpus.name}.manifest.json").read_text())
    items = [it for it in corpus_manifest["items"] if (corpus / it["path"]).exists()]
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    provenance: dict[str, dict | None] = {}
    negative: dict[str, str] = {}
    classes = sorted({it["class"] for it in items})

    order = rng.permutation(len(items))
    big = [items[i] for i in order if min(items[i]["size"]) >= 280]
    # half the photo negatives from the smoothest photos (fewest file bytes per pixel: skies,
    # walls, soft backgrounds), where neighbouring crops look most alike
    smooth = sorted(big, key=lambda it: it["bytes"] / (it["size"][0] * it["size"][1]))[:len(big) // 5]
    smooth = [smooth[int(i)] for i in rng.permutation(len(smooth))]
    mixed, seen = [], set()
    for a, b in zip(smooth, big):
        for it in (a, b):
            if it["path"] not in seen:
                seen.add(it["path"])
                mixed.append(it)
    big = mixed
    n_nb, n_ds, n_tiles = 14, 14, 8
    reserved = big[:n_nb + n_ds + n_tiles]
    reserved_paths = {it["path"] for it in reserved}
    base = [items[i] for i in order if items[i]["path"] not in reserved_paths]

    def put(rel: str, im: Image.Image | None = None, spec: tuple[str, int] | None = None,
            src: Path | None = None) -> str:
        p = data / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if src is not None:
            try:
                os.link(src, p)
            except OSError:
                shutil.copy2(src, p)
            return rel
        p = edits.save(im, p, spec)
        return p.relative_to(data).as_posix()

    for it in base:
        put(it["path"], src=corpus / it["path"])
        provenance[it["path"]] = {"source": it["source"], "box": it["box"]}

    names = iter(rng.permutation(10 ** 6))

    def fresh(split: str, cls: str, ext: str) -> str:
        return _rel(split, cls, f"img_{next(names):06d}{ext}")

    def open_rgb(it: dict) -> Image.Image:
        with Image.open(corpus / it["path"]) as im:
            return im.convert("RGB")

    # hard negatives from real photos
    for it in reserved[:n_nb]:                       # neighbouring crops, side by side
        im = open_rgb(it)
        w, h = im.size
        across = w >= h
        cut = round((w if across else h) * rng.uniform(0.42, 0.58))
        boxes = [(0, 0, cut, h), (cut, 0, w, h)] if across else [(0, 0, w, cut), (0, cut, w, h)]
        s1 = SPLITS[int(rng.integers(3))]
        for box, split in zip(boxes, (s1, _other_split(rng, s1))):
            rel = put(fresh(split, it["class"], ".jpg"), im.crop(box), ("JPEG", int(rng.integers(80, 95))))
            provenance[rel] = _sub_box(provenance.get(it["path"]) or {"source": it["source"], "box": it["box"]},
                                       im.size, box)
            negative[rel] = "neighbour"
    for it in reserved[n_nb:n_nb + n_ds]:            # distinct crops at opposite corners
        im = open_rgb(it)
        w, h = im.size
        f = rng.uniform(0.6, 0.68)
        cw, ch = round(w * f), round(h * f)
        corner = int(rng.integers(2))
        boxes = [(0, 0, cw, ch), (w - cw, h - ch, w, h)] if corner else [(w - cw, 0, w, ch), (0, h - ch, cw, h)]
        s1 = SPLITS[int(rng.integers(3))]
        for k, (box, split) in enumerate(zip(boxes, (s1, _other_split(rng, s1)))):
            crop = im.crop(box)
            if k == 1 and rng.random() < 0.5:
                crop = crop.resize((round(cw * 1.2), round(ch * 1.2)), Image.Resampling.BICUBIC)
            rel = put(fresh(split, it["class"], ".jpg"), crop, ("JPEG", int(rng.integers(80, 95))))
            provenance[rel] = _sub_box({"source": it["source"], "box": it["box"]}, im.size, box)
            negative[rel] = "distinct"
    for it in reserved[n_nb + n_ds:]:                # tiny tiles of one photo
        im = open_rgb(it).resize((128, 128), Image.Resampling.BOX)
        for ty in range(4):
            for tx in range(4):
                box = (tx * 32, ty * 32, tx * 32 + 32, ty * 32 + 32)
                rel = put(fresh(SPLITS[int(rng.integers(3))], it["class"], ".png"), im.crop(box), ("PNG", 0))
                provenance[rel] = _sub_box({"source": it["source"], "box": it["box"]}, (128, 128), box)
                negative[rel] = "tiny"
    # synthetic look-alikes
    for kind, n in (("sky", 20), ("wall", 20), ("sunset", 20), ("tiny", 60)):
        for k in range(n):
            tiny = kind == "tiny"
            if k % 2 == 0:      # every other one is the twin of the one before: same scene, size
                scene_seed = int(rng.integers(2 ** 31))
                w = int(rng.integers(24, 41)) if tiny else int(rng.integers(240, 480))
                h = w if tiny else int(w * rng.uniform(0.6, 1.2))
            im = synthetic(["sky", "wall", "sunset"][(k // 2) % 3] if tiny else kind, rng, w, h,
                           np.random.default_rng(scene_seed))
            spec = ("PNG", 0) if tiny or rng.random() < 0.3 else ("JPEG", int(rng.integers(80, 96)))
            rel = put(fresh(SPLITS[int(rng.integers(3))], "landscape", ".x"), im, spec)
            provenance[rel] = {"source": f"synthetic:{kind}:{k}", "box": [0, 0, w, h]}
            negative[rel] = kind

    if mnist is not None and mnist_count:            # a crowd of tiny look-alikes
        digits = sorted(mnist.glob("*/*/*.png"))
        for i in rng.choice(len(digits), min(mnist_count, len(digits)), replace=False):
            src = digits[int(i)]
            rel = put(fresh(SPLITS[int(rng.integers(3))], f"digit_{src.parent.name}", ".png"), src=src)
            provenance[rel] = {"source": f"mnist:{src.name}", "box": [0, 0, 28, 28]}
            negative[rel] = "mnist"

    # planted copies
    plan = [(f,) for f in edits.FAMILIES for _ in range(per_family)]
    plan += [edits.combine_pair(rng) for _ in range(pairs)]
    candidates = [it for it in base if it["mode"] == "RGB"]
    originals = [candidates[int(i)] for i in rng.choice(len(candidates), len(plan), replace=False)]
    conflict_at = set(rng.choice(len(plan), min(conflicts, len(plan)), replace=False).tolist())
    copies = []
    for k, (names_, it) in enumerate(zip(plan, originals)):
        im = open_rgb(it)
        out_im, params = edits.apply(names_, im, rng)
        spec = next((tuple(p["save"]) for p in reversed(params.values()) if "save" in p), None)
        if spec is None:
            spec = ("JPEG", int(rng.integers(85, 96))) if it["format"] == "JPEG" else ("PNG", 0)
        split = _other_split(rng, it["split"])
        cls = it["class"]
        if k in conflict_at:
            cls = [c for c in classes if c != cls][int(rng.integers(len(classes) - 1))]
        rel = put(fresh(split, cls, ".x"), out_im, spec)
        provenance[rel] = {"source": it["source"], "box": it["box"]}
        copies.append({"family": "+".join(names_) if len(names_) > 1 else names_[0],
                       "families": list(names_), "params": params, "save": list(spec),
                       "original": it["path"], "copy": rel, "label_conflict": k in conflict_at,
                       "mirror": "mirror" in names_})
    manifest = {"seed": seed, "corpus": str(corpus), "copies": copies, "provenance": provenance,
                "negative": negative, "images": len(provenance)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=0))
    return manifest


# ---- running and reporting ------------------------------------------------------------------

def run_cli(data: Path, export: Path) -> dict:
    """The real CLI on the dataset, as a user runs it; wall and CPU seconds of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(data), "--json", str(export),
                    "--no-cache", "--quiet"], check=True, cwd=str(REPO))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": time.perf_counter() - t0,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def diagnose(data: Path, missed: list[dict]) -> list[dict]:
    """For each missed copy: hash distance of the pair's views and the confirmation's verdict on the
    pair alone (a table of just the two files), to tell which stage lost it."""
    if not missed:
        return []
    from inspector.core.leakage import NEAR_THRESHOLD, confirm_pairs, table_from_images, view_distance

    out = []
    for c in missed:
        ims = []
        for rel in (c["original"], c["copy"]):
            with Image.open(data / rel) as im:
                im.load()
                ims.append((rel, rel.split("/")[0], rel.split("/")[1], im.copy()))
        table = table_from_images(ims, list(SPLITS))
        d = int(view_distance(table.phash, np.array([0]), np.array([1]))[0])
        ok, mir, sc = confirm_pairs(table, np.array([0]), np.array([1]))
        alone = bool(ok[0])
        if d > NEAR_THRESHOLD:
            stage = f"candidates: hash distance {d} > {NEAR_THRESHOLD}"
        elif alone:
            stage = f"candidates/crowding: distance {d}, the confirmation alone accepts it"
        else:
            stage = f"confirmation: distance {d}, rejected alone"
        out.append({"family": c["family"], "copy": c["copy"], "original": c["original"], "params": c["params"],
                    "save": c["save"], "distance": d, "confirmed_alone": alone, "stage": stage,
                    "corr": round(float(sc.corr[0]), 4), "fine": round(float(sc.fine[0]), 4)})
    return out


def phash_findings(data: Path, threshold: int = 10) -> list[dict]:
    """A naive baseline, as issue 10 compared: imagehash's 64-bit pHash (grey 32x32, DCT, the 8x8
    lowest frequencies against their median) of every file, every pair within `threshold` bits
    (any splits) reported as a near copy."""
    from scipy.fft import dct

    paths = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    bits = np.zeros((len(paths), 64), bool)
    for k, rel in enumerate(paths):
        with Image.open(data / rel) as im:
            a = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.LANCZOS), np.float64)
        low = dct(dct(a, axis=0), axis=1)[:8, :8].reshape(-1)
        bits[k] = low > np.median(low)
    packed = np.packbits(bits, axis=1).view(">u8").reshape(-1).astype(np.uint64)
    out = []
    for i in range(len(paths) - 1):
        d = np.bitwise_count(packed[i] ^ packed[i + 1:])
        for j in np.flatnonzero(d <= threshold):
            out.append({"kind": "near", "paths": [paths[i], paths[i + 1 + j]], "message": f"pHash {d[j]}"})
    return out


def report(seed: int, manifest: dict, findings: list[dict], cost: dict, diag: list[dict]) -> list[str]:
    s = score(manifest, findings)
    lines = [f"seed {seed}: {s.hits}/{s.total} copies found ({100 * s.hits / max(1, s.total):.1f}%), "
             f"mirrors reported as mirrors {s.mirror_as_mirror}/{s.mirror_total}, label conflicts "
             f"{s.conflicts_found}/{s.conflicts_total} ({s.conflicts_copy_found} of their copies found); images {manifest['images']}; scan {cost['wall']:.1f} s wall, "
             f"{cost['cpu']:.1f} CPU s, load {os.getloadavg()[0]:.1f}"]
    fams = sorted({c["family"] for c in manifest["copies"] if "+" not in c["family"]})
    per = [f"{f} {s.family_found[f]}/{s.family_total[f]}" for f in fams]
    pt = sum(v for k, v in s.family_total.items() if "+" in k)
    pf = sum(v for k, v in s.family_found.items() if "+" in k)
    lines.append("  per family: " + ", ".join(per) + f", pairs {pf}/{pt}")
    cats = sorted(set(s.negatives) | set(s.false_pairs))
    lines.append("  false pairs: " + ", ".join(f"{c} {s.false_pairs[c]} (of {s.negatives[c]} images)"
                                               if c in s.negatives else f"{c} {s.false_pairs[c]}" for c in cats)
                 + f"; related (same pixels of one photo, not counted) {s.related}")
    for c, ex in s.false_examples.items():
        for e in ex[:5]:
            lines.append(f"  FALSE {c}: {e['paths']} {e['kind']} overlap {e['overlap']}: {e['message'][:160]}")
    lines += edit_words.summary((c["families"], f["message"]) for c, f in s.found)
    for d in diag:
        lines.append(f"  MISS {d['family']}: {d['stage']} (corr {d['corr']}, fine {d['fine']}); "
                     f"{json.dumps(d['params'])} save {d['save']}; {d['original']} -> {d['copy']}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("/work/data/real2k"))
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--work", type=Path, default=None, help="where the datasets go (default: a temporary folder)")
    ap.add_argument("--per-family", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=24)
    ap.add_argument("--conflicts", type=int, default=4)
    ap.add_argument("--notes", type=Path, default=None, help="append the figures and miss diagnoses here")
    ap.add_argument("--keep", action="store_true", help="keep the datasets (with --work)")
    ap.add_argument("--no-diagnose", action="store_true")
    ap.add_argument("--phash", action="store_true", help="also score a plain 64-bit pHash at 10 bits")
    ap.add_argument("--mnist", type=Path, default=None, help="an MNIST folder (split/class/*.png) for a crowd of digits")
    ap.add_argument("--mnist-count", type=int, default=3000)
    args = ap.parse_args()
    import tempfile
    work = args.work or Path(tempfile.mkdtemp(prefix="heldout-"))
    head = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], capture_output=True,
                          text=True).stdout.strip()[:90]
    all_lines = [f"## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC bench_heldout on {head}"]
    print(all_lines[0], flush=True)
    for seed in [int(s) for s in args.seeds.split(",")]:
        out = work / f"seed{seed}"
        out.mkdir(parents=True, exist_ok=True)
        manifest = build(args.corpus, out, seed, args.per_family, args.pairs, args.conflicts,
                         args.mnist, args.mnist_count)
        cost = run_cli(out / "data", out / "export.json")
        findings = json.loads((out / "export.json").read_text())["leakage"]
        missed = score(manifest, findings).missed
        diag = [] if args.no_diagnose else diagnose(out / "data", missed)
        lines = report(seed, manifest, findings, cost, diag)
        if args.phash:
            b = score(manifest, phash_findings(out / "data"))
            lines.append(f"  baseline pHash <= 10 bits: {b.hits}/{b.total} ({100 * b.hits / max(1, b.total):.1f}%), "
                         f"false pairs {sum(b.false_pairs.values())} ({dict(b.false_pairs)}), related {b.related}")
        print("\n".join(lines), flush=True)
        all_lines += lines
        if not args.keep:
            shutil.rmtree(out / "data", ignore_errors=True)
    if args.notes:
        with open(args.notes, "a") as fh:
            fh.write("\n".join(all_lines) + "\n\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
