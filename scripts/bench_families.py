"""Leakage benchmark on edit families (run through scripts/bench_leakage.py --families).

For each seed: copies of randomly chosen val/test photos of the corpus are planted into train with
every edit family of leakage_families.py (random parameters) and with random pairs of edits; hard
negatives are added (neighbouring crops of the same source photo, other shots of the scene,
look-alike skies, walls and sunsets, a CIFAR-sized crowd of tiny crops) and, as a table of its own,
MNIST digits. Printed: recall per family (and the kind reported), how often a found copy's message
names its edit and which messages name an edit not made (edit_words.py), false pairs per negative category,
the candidate search's recall against brute force on 20,000 images, and the cost against another
revision of the code measured in the same run (scan time per image, search time, record bytes).
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import edit_words  # noqa: E402
import leakage_families as lf  # noqa: E402

from inspector.core import leakage  # noqa: E402
from inspector.core.hashing import FIRST_REGION_VIEW  # noqa: E402
from inspector.core.leakage import checks  # noqa: E402
from inspector.core.leakage.candidates import NO_HASH  # noqa: E402
from inspector.core.leakage.progress import drain  # noqa: E402
from inspector.core.table_from_images import table_from_images  # noqa: E402

SPLITS = ["train", "val", "test"]
OVERLAP_IOU = 0.5   # crops of one photo overlapping more than this (or one 80% inside the other,
                    # 60% of its area or more) are copies of one picture, not negatives


def load_corpus(root: Path, manifest: Path) -> tuple[list, dict, dict]:
    """Corpus items (path, split, class, RGB image), per path its (source id, box), source records."""
    m = json.loads(manifest.read_text())
    boxes = {it["path"]: (it["source"], tuple(it["box"])) for it in m["items"]}
    sources = {s["id"]: s for s in m["sources"]}
    items = []
    for it in m["items"]:
        im = Image.open(root / it["path"])
        im = im.convert("RGB")
        items.append((it["path"], it["split"], it["class"], im))
    return items, boxes, sources


def _split(rng) -> str:
    return SPLITS[int(rng.integers(0, 3))]


def build(items, boxes, sources, sources_dir: Path | None, seed: int, per_family: int):
    """The benchmark's items and ground truth for one seed."""
    rng = np.random.default_rng(seed)
    held = [it for it in items if it[1] != "train"]
    out = list(items)
    ident = {p: p for p, *_ in items}             # identity: the original picture a file shows
    box_of = dict(boxes)                          # path -> (source id, box in source pixels)
    category = {}                                 # negative path -> category
    truth = []
    fams = list(lf.FAMILIES) + ["pair"]
    for fam in fams:
        for k in rng.choice(len(held), per_family, replace=False):
            src, _, cls, im = held[int(k)]
            if fam == "pair":
                names = lf.pair_of(rng)
                copy, desc = lf.apply_pair(im, names, rng)
                expect = "mirror" if "mirror" in names else "near"
            else:
                copy, desc = lf.FAMILIES[fam](im, rng)
                expect = lf.EXPECTED_KIND.get(fam, "near")
            if copy.size == im.size and copy.convert("RGB").tobytes() == im.tobytes():
                expect = "exact"      # the edit changed nothing (a square picture padded to a square)
            path = f"train/{cls}/copy_{fam}_{k}_{Path(src).stem}.png"
            out.append((path, "train", cls, copy))
            ident[path] = src
            truth.append({"family": fam, "families": list(names) if fam == "pair" else [fam], "copy": path,
                          "source": src, "desc": desc, "expect": expect})
    # negatives from the source photos: a crop right next to a val/test crop, another shot; clear
    # of every corpus crop of the photo, not only of the one it was made from
    crops_of: dict[str, list] = defaultdict(list)
    for sid, box in boxes.values():
        crops_of[sid].append(box)
    for kind, make_box, n in (("neighbour crop", lf.neighbour_box, 40), ("other shot", lf.other_shot_box, 40)):
        made = 0
        for k in rng.permutation(len(held)):
            if made >= n:
                break
            src, split, cls, im = held[int(k)]
            sid, box = boxes[src]
            photo = lf.load_source(sources_dir, sources[sid])
            if photo is None:
                continue
            nb = make_box(box, photo.size, rng)
            if nb is None or not lf.distinct_from(nb, crops_of[sid]):
                continue
            crop = photo.crop(nb).resize(im.size, Image.LANCZOS)
            crop = lf._encode(crop, "JPEG", quality=90)
            path = f"train/{cls}/neg_{kind.replace(' ', '_')}_{k}.jpg"
            out.append((path, "train", cls, crop))
            ident[path], box_of[path], category[path] = path, (sid, nb), kind
            made += 1
    for kind, fn in (("look-alike sky", lf.sky), ("look-alike wall", lf.wall), ("look-alike sunset", lf.sunset)):
        for i in range(30):
            sp = _split(rng)
            path = f"{sp}/synthetic/{kind.split()[-1]}_{i:02d}.png"
            out.append((path, sp, "synthetic", fn(rng)))
            ident[path], category[path] = path, kind
    # distinct smooth pictures under the same caption band or watermark: synthetic look-alikes, and
    # the smoothest corpus photos (each then also a true copy of its own photo); drawn from their
    # own generator so that the rest of the seed's items stay as they were
    trng = np.random.default_rng([seed, 1])
    smooth = sorted(range(len(items)), key=lambda k: _detail(items[k][3]))[:80]
    for i in range(40):
        if i < 20:
            fn = (lf.sky, lf.wall, lf.sunset)[i % 3]
            pics, who = [fn(trng), fn(trng)], [None, None]
        else:
            x, y = trng.choice(len(smooth), 2, replace=False)
            (px, _, _, xi), (py, _, _, yi) = items[smooth[int(x)]], items[smooth[int(y)]]
            pics, who = [xi, yi.resize(xi.size, Image.LANCZOS)], [px, py]
        for j, (im, src) in enumerate(zip(lf.same_text(pics, trng), who)):
            sp = "train" if j == 0 else SPLITS[1 + int(trng.integers(0, 2))]
            path = f"{sp}/captioned/{i:02d}_{j}.jpg"
            out.append((path, sp, "captioned", im))
            ident[path], category[path] = src or path, "captioned look-alikes"
    # a CIFAR-sized crowd: the four non-overlapping quadrants of corpus crops at 32 x 32 (a
    # quadrant with the same pixels as one already made, e.g. a blown-out white, is a true copy)
    seen_pixels: set[bytes] = set()
    for k in rng.choice(len(items), 400, replace=False):
        src, _, cls, im = items[int(k)]
        sid, (x0, y0, x1, y1) = boxes[src]
        w, h = im.size
        for q, (a, b) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
            sp = _split(rng)
            tiny = im.crop((a * w // 2, b * h // 2, (a + 1) * w // 2, (b + 1) * h // 2)).resize((32, 32), Image.BOX)
            if tiny.tobytes() in seen_pixels:
                continue
            seen_pixels.add(tiny.tobytes())
            path = f"{sp}/tiny/{Path(src).stem}_q{q}.png"
            out.append((path, sp, "tiny", tiny))
            sx, sy = (x1 - x0) / 2, (y1 - y0) / 2
            ident[path], category[path] = path, "CIFAR-sized crowd"
            box_of[path] = (sid, (round(x0 + a * sx), round(y0 + b * sy), round(x0 + (a + 1) * sx), round(y0 + (b + 1) * sy)))
    order = {s: i for i, s in enumerate(SPLITS)}
    out.sort(key=lambda t: (order[t[1]], t[0]))
    return out, ident, box_of, category, truth


def _detail(im: Image.Image) -> float:
    """How much fine detail a picture has: the std of a Laplacian of its 64x64 grey version."""
    a = np.asarray(im.convert("L").resize((64, 64), Image.BOX), np.float64)
    return float((4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:]).std())


def _exact_groups(pairs) -> dict[str, str]:
    """Path -> a name for its group of identical files. The scan reports a group of three or more
    identical files as each file against the group's first, so two later members (a lossless
    re-save beside a greyscale copy of a grey picture) are one group without a pair of their own."""
    parent: dict[str, str] = {}

    def root(p: str) -> str:
        while parent.setdefault(p, p) != p:
            p = parent[p]
        return p

    for a, b in pairs:
        parent[root(a)] = root(b)
    return {p: root(p) for p in parent}


def evaluate(findings, ident, box_of, category, truth) -> tuple[dict, dict, list]:
    """Per family: (found, right kind, total); per negative category: false pairs; the false pairs."""
    dup = [f for f in findings if f.kind in ("exact", "near", "mirror")]
    pairs = {frozenset(f.paths): f.kind for f in dup}
    messages = {frozenset(f.paths): f.message for f in dup}
    group = _exact_groups(f.paths for f in dup if f.kind == "exact")
    per_family: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for t in truth:
        row = per_family[t["family"]]
        row[2] += 1
        kind = pairs.get(frozenset((t["copy"], t["source"])))
        if kind is None and t["copy"] in group and group[t["copy"]] == group.get(t["source"]):
            kind = "exact"   # both in one group of identical files, each reported against its first
        if kind is not None:
            t["message"] = messages.get(frozenset((t["copy"], t["source"])), "")
            row[0] += 1
            row[1] += kind == t["expect"]
        t["found"] = kind
    false_by: Counter = Counter()
    false = []
    for f in dup:
        a, b = f.paths
        if ident.get(a, a) == ident.get(b, b):
            continue
        if f.kind == "exact":   # the same decoded pixels (two blown-out white crops): a true copy
            false_by["same pixels"] += 1
            continue
        ba, bb = box_of.get(ident.get(a, a)), box_of.get(ident.get(b, b))
        if ba and bb and ba[0] == bb[0] and lf.overlapping(ba[1], bb[1], OVERLAP_IOU):
            continue
        cat = category.get(a) or category.get(b)
        if cat is None:
            cat = "corpus: crops of one photo" if ba and bb and ba[0] == bb[0] else "corpus: distinct photos"
        false_by[cat + (" (within a split)" if f.splits[0] == f.splits[1] else "")] += 1
        false.append(f)
    return dict(per_family), dict(false_by), false


def candidate_recall_per_family(table, truth) -> tuple[Counter, int]:
    """Per family, the planted copies whose pair reaches the confirmation (the candidate stage's
    output: after the hash search and each image's best-looking few), or that are exact copies;
    and the number of pairs reaching the confirmation."""
    _, rep = checks._exact_findings(table, True)
    a, b, _ = drain(checks._near_candidates(table, rep, leakage.NEAR_THRESHOLD, True, True))
    pairs = set(zip(a.tolist(), b.tolist()))
    row = {p: i for i, p in enumerate(table.paths)}
    ch = np.asarray(table.content_hash)
    reached: Counter = Counter()
    for t in truth:
        i, j = sorted((row[t["copy"]], row[t["source"]]))
        reached[t["family"]] += (i, j) in pairs or bool((ch[i] == ch[j]).all())
    return reached, len(a)


def mnist_items(root: Path, n: int, rng) -> list:
    files = sorted(p for p in root.rglob("*.png"))
    pick = sorted(rng.choice(len(files), min(n, len(files)), replace=False))
    items = []
    for k in pick:
        p = files[int(k)]
        rel = p.relative_to(root).as_posix()
        split = rel.split("/")[0]
        items.append((rel, split if split in SPLITS else "train", None, Image.open(p).convert("L")))
    return items


def brute_force(phash: np.ndarray, threshold: int, block: int = 512) -> set:
    """All pairs (i < j) within `threshold` of pair hash distance (blocked numpy, O(N^2))."""
    n = len(phash)
    r = FIRST_REGION_VIEW
    v0, whole_views, regions = phash[:, 0], phash[:, :r], phash[:, r:]
    out = set()
    for lo in range(0, n, block):
        q = v0[lo:lo + block]
        d1 = np.bitwise_count(q[:, None, None] ^ whole_views[None, :, :]).min(axis=2)   # q's view 0 vs the views
        d2 = np.bitwise_count(whole_views[lo:lo + block][:, None, :] ^ v0[None, :, None]).min(axis=2)
        d = np.minimum(d1, d2)
        for v in range(regions.shape[1]):                                       # same region of both
            dr = np.bitwise_count(regions[lo:lo + block, v][:, None] ^ regions[None, :, v])
            blank = (regions[lo:lo + block, v][:, None] == 0) | (regions[None, :, v] == 0)   # search_hashes
            d = np.minimum(d, np.where(blank, 64, dr))
        i, j = np.nonzero(d <= threshold)
        i = i + lo
        keep = i < j
        out.update(zip(i[keep].tolist(), j[keep].tolist()))
    return out


def candidate_recall(phash: np.ndarray, groups: np.ndarray) -> None:
    t = time.perf_counter()
    a, b, d = leakage.near_candidates(phash, leakage.NEAR_THRESHOLD, groups=groups)
    t_search = time.perf_counter() - t
    got = set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))
    t = time.perf_counter()
    ref = brute_force(phash, leakage.NEAR_THRESHOLD)
    t_brute = time.perf_counter() - t
    h = np.asarray(phash, np.uint64)
    ref_d = {}
    for i, j in ref:
        ref_d[(i, j)] = int(leakage.view_distance(h, np.array([i]), np.array([j]))[0])
    radius = getattr(leakage, "SEARCH_RADIUS", leakage.GUARANTEED_RADIUS)
    inside = [p for p, dd in ref_d.items() if dd <= radius]
    print(f"\ncandidate recall on {len(phash):,} images against brute force ({t_brute:.1f} s; the search {t_search:.2f} s):")
    found = sum(p in got for p in inside)
    print(f"  candidate recall: pairs within the search radius ({radius} bits) that reach confirmation: "
          f"{found}/{len(inside)} = {found / max(len(inside), 1):.1%}")
    print(f"  pairs within {leakage.NEAR_THRESHOLD} bits (beyond the radius a pair needs one equal 16-bit "
          f"chunk, at most {leakage.HASH_NEIGHBOURS} per image, chunk and block): {sum(p in got for p in ref_d)}/{len(ref_d)}")


COST_CODE = r"""
import json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from inspector.core.scan import scan
from inspector.core import leakage
if __name__ == "__main__":
    t = time.perf_counter(); r = scan(sys.argv[2], workers=1); t_scan = time.perf_counter() - t
    tracemalloc.start(); t = time.perf_counter(); f = leakage.scan_leakage(r); t_find = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    t = r.images
    rec = sum(getattr(t, k).nbytes for k in ("phash", "thumb")) + sum(
        getattr(t, k).nbytes for k in vars(t) if k.startswith("sig_"))
    import numpy as np
    from inspector.core.hashing import N_VIEWS
    n = int(sys.argv[3])
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**63, size=(2 * n, N_VIEWS), dtype=np.int64).astype(np.uint64) * np.uint64(2)
    g = np.repeat(np.array([0, 1], np.int16), n)
    import inspect
    kw = {}
    if "probes" in inspect.signature(leakage.near_candidates).parameters:   # the probes, as a photo has them
        sys.path.insert(0, sys.argv[4])
        from bench_leakage import synthetic_probes
        kw["probes"] = synthetic_probes(h, rng)
    t0 = time.perf_counter(); leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=g, cross_only=True, **kw)
    t_search = time.perf_counter() - t0
    print(json.dumps({"n": len(t), "scan": t_scan, "find": t_find, "peak": peak, "record": rec / len(t),
                      "dups": sum(x.kind in ("near", "mirror") for x in f), "search": t_search, "search_n": n}))
"""


def cost(code_dirs: dict[str, Path], root: Path, search_n: int) -> None:
    print(f"\ncost on {root} (scan with one worker, then scan_leakage; same run, same files):")
    res = {}
    for name, d in code_dirs.items():
        proc = subprocess.run([sys.executable, "-c", COST_CODE, str(d), str(root), str(search_n),
                               str(Path(__file__).resolve().parent)], capture_output=True,
                              text=True, timeout=3600)
        if proc.returncode:
            print(f"  {name}: failed: {proc.stderr[-400:]}")
            return
        res[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = res[name]
        print(f"  {name:9s}: scan {1e3 * r['scan'] / r['n']:.2f} ms/image, leakage {r['find']:.2f} s "
              f"(peak {r['peak'] / 2**20:.0f} MiB), leakage records {r['record']:.0f} bytes/image; "
              f"{r['search_n']:,} x {r['search_n']:,} search of random hashes {r['search']:.1f} s")
    if len(res) == 2:
        a, b = res["baseline"], res["this"]
        print(f"  ratios this/baseline: scan {b['scan'] / a['scan']:.2f}x, leakage {b['find'] / a['find']:.2f}x, "
              f"scan+leakage {(b['scan'] + b['find']) / (a['scan'] + a['find']):.2f}x, "
              f"record bytes {b['record'] / a['record']:.2f}x, search peak {b['peak'] / max(a['peak'], 1):.2f}x, "
              f"{a['search_n']:,} x {a['search_n']:,} search {b['search'] / a['search']:.2f}x")


def baseline_checkout(rev: str) -> Path:
    """The package at `rev`, unpacked into a temporary folder (git archive)."""
    d = Path(tempfile.mkdtemp(prefix="bench_baseline_"))
    repo = Path(__file__).resolve().parents[1]
    arch = subprocess.run(["git", "-C", str(repo), "archive", rev, "inspector"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(d)], input=arch.stdout, check=True)
    return d


def _all_views(hashes: np.ndarray, width: int) -> np.ndarray:
    """hashes padded with blank views (NO_HASH) up to width columns."""
    if hashes.shape[1] == width:
        return hashes
    out = np.full((len(hashes), width), NO_HASH, dtype=np.uint64)
    out[:, :hashes.shape[1]] = hashes
    return out


def run(corpus: Path, manifest: Path, mnist: Path | None, sources_dir: Path | None, seeds: list[int],
        per_family: int, baseline_rev: str | None, brute_n: int, show_misses: bool,
        cache: str | None = None, search_n: int = 1_000_000) -> None:
    items, boxes, sources = load_corpus(corpus, manifest)
    if sources_dir is not None and not sources_dir.is_dir():
        sources_dir = None
    print(f"corpus {corpus}: {len(items)} photos; source photos for neighbour crops: "
          f"{sources_dir or 'not available (those negatives are skipped)'}")
    last_table = None
    for seed in seeds:
        t = time.perf_counter()
        cached = Path(cache) / f"families_seed{seed}_{per_family}.pkl" if cache else None
        if cached and cached.is_file():
            its, ident, box_of, category, truth = pickle.loads(cached.read_bytes())
        else:
            its, ident, box_of, category, truth = build(items, boxes, sources, sources_dir, seed, per_family)
            if cached:
                cached.write_bytes(pickle.dumps((its, ident, box_of, category, truth)))
        table = table_from_images(its, split_names=SPLITS)
        t_build = time.perf_counter() - t
        means = {s: table.mean[table.rows_in(s)].mean(axis=0).tolist() for s in table.split_names}
        t = time.perf_counter()
        findings = leakage.find_leakage(table, means)
        t_find = time.perf_counter() - t
        fam, false_by, false = evaluate(findings, ident, box_of, category, truth)
        reached, n_confirmed = candidate_recall_per_family(table, truth)
        found = sum(v[0] for v in fam.values())
        total = sum(v[2] for v in fam.values())
        print(f"\nseed {seed}: {len(table)} images ({len(truth)} planted copies, {len(category)} negatives) "
              f"built in {t_build:.0f} s, find_leakage {t_find:.1f} s; {n_confirmed:,} candidate pairs "
              f"reached the confirmation")
        for k, (f, right, n) in fam.items():
            print(f"  {k:13s} found {f:2d}/{n}  right kind {right:2d}  reached confirmation {reached[k]:2d}")
        # (the edits of a pair planted before its truth named them are unknown: left out)
        for line in edit_words.summary((t.get("families", [] if t["family"] == "pair" else [t["family"]]),
                                        t["message"]) for t in truth if t["found"] and t.get("message")):
            print(line)
        print(f"  recall {found}/{total} = {found / max(total, 1):.1%}; candidate recall (planted copies "
              f"that reach the confirmation, or exact) {sum(reached.values())}/{total}")
        cats = ["neighbour crop", "other shot", "look-alike sky", "look-alike wall", "look-alike sunset",
                "captioned look-alikes", "CIFAR-sized crowd", "corpus: crops of one photo", "corpus: distinct photos"]
        same_pixels = false_by.pop("same pixels", 0)
        print("  false pairs: " + ", ".join(f"{c} {false_by.get(c, 0)}" for c in cats)
              + "".join(f", {c} {v}" for c, v in false_by.items() if c not in cats))
        if same_pixels:
            print(f"  exact copies between different sources (the same decoded pixels, e.g. two blown-out "
                  f"crops; true copies, not false pairs): {same_pixels}")
        for f in false[:10]:
            print(f"    FALSE {f.kind}: {f.message}")
        if show_misses:
            row = {p: i for i, p in enumerate(table.paths)}
            h = np.asarray(table.phash, np.uint64)
            for tr in truth:
                if tr["found"] is None:
                    i, j = row[tr["copy"]], row[tr["source"]]
                    dist = int(leakage.view_distance(h, np.array([i]), np.array([j]))[0])
                    print(f"    missed {tr['family']} (hash distance {dist}): {tr['desc']} ({tr['copy']})")
        last_table = table
    if mnist is None:
        print("\nMNIST: skipped (pass --mnist DIR, the digits as PNG, for their false pairs and the "
              "brute-force check on photos plus digits)")
    else:
        rng = np.random.default_rng(seeds[-1])
        mt = table_from_images(mnist_items(mnist, 20000, rng), split_names=SPLITS)
        means = {s: mt.mean[mt.rows_in(s)].mean(axis=0).tolist() for s in mt.split_names if len(mt.rows_in(s))}
        t, c = time.perf_counter(), time.process_time()
        mf = leakage.find_leakage(mt, means)
        t, c = time.perf_counter() - t, time.process_time() - c
        _, rep = checks._exact_findings(mt, True)
        n_pairs = len(drain(checks._near_candidates(mt, rep, leakage.NEAR_THRESHOLD, True, True))[0])
        print(f"\nMNIST: {len(mt)} digits, find_leakage {t:.1f} s ({c:.1f} s CPU), {n_pairs:,} candidate pairs "
              f"reached the confirmation: near/mirror pairs (all false) {sum(f.kind in ('near', 'mirror') for f in mf)}, "
              f"exact copies {sum(f.kind == 'exact' for f in mf)}")
        if last_table is not None and brute_n:
            n_m = max(0, brute_n - len(last_table))
            # search_hashes drops the region views when every image is tiny (MNIST): give those
            # rows blank region views (NO_HASH) so both parts have the same columns
            width = last_table.phash.shape[1]
            ph = np.concatenate([_all_views(leakage.search_hashes(t.phash, t.width, t.height)[:k], width)
                                 for t, k in ((last_table, len(last_table)), (mt, n_m))])
            g = np.concatenate([np.asarray(last_table.split), np.asarray(mt.split[:n_m])])
            candidate_recall(ph, g)
    if baseline_rev:
        base = baseline_checkout(baseline_rev)
        cost({"baseline": base, "this": Path(__file__).resolve().parents[1]}, corpus, search_n)


def main_args(ap) -> None:
    """The family benchmark's options (bench_leakage.py adds --corpus and --manifest, which it shares)."""
    ap.add_argument("--families", action="store_true", help="run the edit-family benchmark (needs --corpus "
                                                            "and the corpus's manifest)")
    ap.add_argument("--mnist", help="MNIST digits as PNG, ROOT/{train,val,test}/... (the digits' false pairs; "
                                    "skipped without it)")
    ap.add_argument("--sources", default=os.environ.get("REAL_CORPUS_SOURCES",
                                                        os.path.expanduser("~/.cache/real-corpus-sources")),
                    help="the corpus builder's cache of source photos, for the neighbouring crops and other "
                         "shots (default: $REAL_CORPUS_SOURCES, else the builder's ~/.cache/real-corpus-sources)")
    ap.add_argument("--seeds", default="101", help="comma-separated seeds (tune on some, report others)")
    ap.add_argument("--per-family", type=int, default=12)
    ap.add_argument("--baseline", default=None, help="git revision to compare the cost against")
    ap.add_argument("--brute", type=int, default=20000, help="images for the brute-force candidate check")
    ap.add_argument("--misses", action="store_true", help="list the missed copies")
    ap.add_argument("--cache", help="keep the planted images of each seed here (faster reruns)")
    ap.add_argument("--search-n", type=int, default=1_000_000, help="N for the N x N search timing")


def run_from_args(args, error) -> None:
    """Run with parsed options; `error(message)` reports a bad or missing one (argparse's error)."""
    if not args.corpus or not Path(args.corpus).is_dir():
        error(f"--families needs --corpus ROOT, the real-photo corpus ROOT/{{train,val,test}}/<class>/* "
              f"({'not a folder: ' + args.corpus if args.corpus else 'none given'})")
    manifest = Path(args.manifest) if args.manifest else Path(args.corpus.rstrip("/") + ".manifest.json")
    if not manifest.is_file():
        error(f"--families needs the corpus's crop manifest (which source photo and box each crop is): "
              f"{manifest} is not a file; pass --manifest FILE")
    if args.mnist and not Path(args.mnist).is_dir():
        error(f"--mnist {args.mnist}: not a folder")
    run(Path(args.corpus), manifest, Path(args.mnist) if args.mnist else None,
        Path(args.sources) if args.sources else None, [int(s) for s in args.seeds.split(",")],
        args.per_family, args.baseline, args.brute, args.misses, args.cache, args.search_n)
