"""Benchmark of the scan cache, whole process (python main.py scan ... as a user runs it).

Writes N small images (default 100,000; 32x32 and 28x28 PNGs in train/val/test with classes),
dated an hour ago, then measures in the same run:
- --rounds rounds (default 3), each a cold scan without the cache and a cold scan that fills an
  empty one (in turns: which goes first alternates), then a warm reopen of that cache: medians of
  the per-round ratios, cold with / without the cache (CPU, wall, peak memory; want < 1.05) and
  cold / warm (want >= 20);
- in each round, then a rescan after 1% of the files changed: a third rewritten, a third
  deleted, a third added (medians of the rounds' ratios incremental / cold, against the cold scan
  filling the cache and the one without it, by CPU and wall; want <= 0.10);
- the cache's bytes per image on disk;
- the cost of writing the cache, measured directly on a sample: encoding the records plus the
  SQLite transactions, against decoding and measuring the same files (want < 5%).

With --data DIR an existing dataset is used instead of writing one: it is copied as hard links
(DIR itself is never modified: a rewritten file is unlinked first, so it gets a new inode). Each
round scans a fresh hard-linked copy of the dataset (the rescan changes it).

Usage: python scripts/bench_cache.py [--images N | --data DIR] [--work DIR] [--workers W] [--rounds R] [--verify]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPLITS = (("train", 0.7), ("val", 0.15), ("test", 0.15))
CLASSES = 10


def _image(rng: np.random.Generator, k: int) -> Image.Image:
    """A distinct small image: a random gradient, blobs and noise (grey for every third)."""
    side = 28 if k % 3 == 0 else 32
    y, x = np.mgrid[0:side, 0:side] / side
    base = rng.random(3)[:, None, None] * x + rng.random(3)[:, None, None] * y
    for _ in range(3):
        cy, cx, r = rng.random(3)
        base += (((y - cy) ** 2 + (x - cx) ** 2) < (0.05 + 0.2 * r) ** 2) * rng.random(3)[:, None, None]
    arr = np.clip(base / base.max() * 220 + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    if k % 3 == 0:
        return Image.fromarray(arr[0])
    return Image.fromarray(arr.transpose(1, 2, 0))


def make_dataset(root: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    k = 0
    for split, share in SPLITS:
        for i in range(int(round(n * share)) if split != "test" else n - k):
            folder = root / split / f"class_{i % CLASSES}"
            if i < CLASSES:
                folder.mkdir(parents=True, exist_ok=True)
            p = folder / f"{split}_{i:07d}.png"
            _image(rng, k).save(p, compress_level=1)
            paths.append(p)
            k += 1
    return paths


def date_back(paths: list[Path], seconds: float) -> None:
    t = time.time_ns() - int(seconds * 1e9)
    for p in paths:
        os.utime(p, ns=(t, t))


CPU: dict[str, float] = {}  # CPU seconds of each run, its worker processes included
LOAD: dict[str, float] = {}  # the 1-minute load average at the end of each run
PEAK: dict[str, float] = {}  # MB: the largest resident size of the run's process or its workers


def run_scan(root: Path, out: Path, *extra: str) -> float:
    """Wall seconds of one whole scan process (its CPU seconds go to CPU[out.stem]). Bytecode is
    cached (in the work folder) as an installed package's would be, whatever the environment says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(out.parent.parent / "pycache")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "scan", str(root), "--json", str(out),
                             "--quiet", *extra], cwd=str(REPO), env=env)
    _, status, usage = os.wait4(proc.pid, 0)  # this run's own usage (its workers included)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    CPU[out.stem] = usage.ru_utime + usage.ru_stime
    PEAK[out.stem] = usage.ru_maxrss / 1024
    LOAD[out.stem] = os.getloadavg()[0]
    return wall


def median(values: list[float]) -> float:
    return float(np.median(values))


def listed(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def change_one_percent(paths: list[Path], seed: int = 1) -> int:
    rng = np.random.default_rng(seed)
    n = max(3, len(paths) // 100)
    picked = rng.choice(len(paths), size=n, replace=False)
    third = n // 3
    for j in picked[:third]:  # rewritten with new pixels (a new file: a hard-linked copy stays intact)
        paths[j].unlink()
        _image(rng, int(j)).save(paths[j], compress_level=1)
    for j in picked[third:2 * third]:
        paths[j].unlink()
    for j in picked[2 * third:]:  # added next to an existing file
        _image(rng, int(j)).save(paths[j].with_name("added_" + paths[j].name), compress_level=1)
    return n


def write_cost(paths: list[Path], sample: int = 3000) -> tuple[float, float, float, float]:
    """(decode+measure s, record encoding s, SQLite writes s, storing the merged result s) for the
    same sample of files."""
    from inspector.core.cache import encode_chunk, encode_keys
    from inspector.core.cache.store import RecordStore
    from inspector.core.layout import ImageFile
    from inspector.core.scan import _scan_chunk

    files = [ImageFile(p.name, str(p), "train", None) for p in paths[:sample] if p.exists()]
    chunks, t_scan = [], 0.0
    for start in range(0, len(files), 64):
        items = list(enumerate(files[start:start + 64], start))
        t0 = time.perf_counter()
        chunks.append((_scan_chunk(items), items))
        t_scan += time.perf_counter() - t0
    hists_again = []  # the encoding is timed alone on the same rows (its histograms recomputed)
    from inspector.core.scan import measure_file
    for chunk, items in chunks:
        hists_again.append([measure_file(i, f).hist for i, f in items])
    t0 = time.perf_counter()
    for (chunk, _), hists in zip(chunks, hists_again):
        encode_chunk(chunk, hists)
    t_encode = time.perf_counter() - t0
    folder = tempfile.mkdtemp()
    try:
        store = RecordStore(os.path.join(folder, "bench.sqlite"), "bench", "bench")
        t0 = time.perf_counter()
        for chunk, items in chunks:
            rows = [(f.abspath.encode(), 1, 2, 3, e) for e, (_, f) in enumerate(items)]
            store.put_batch(chunk.records, encode_keys(rows), rows)
        t_write = time.perf_counter() - t0
        t_whole = _whole_result_cost(store, files, chunks)
        store.close()
    finally:
        shutil.rmtree(folder)
    return t_scan - t_encode, t_encode, t_write, t_whole


def _whole_result_cost(store, files: list, chunks: list) -> float:
    """Seconds to encode and store the merged result of the sample (what a scan keeps at its end
    for the next reopen of an unchanged listing, cache/snapshot.py)."""
    from inspector.core.cache.snapshot import encode_snapshot
    from inspector.core.layout import DatasetLayout
    from inspector.core.scan import _Collector

    collector = _Collector(DatasetLayout(root="/", kind="flat", splits=["train"], files=files))
    for chunk, items in chunks:
        collector.merge(chunk, [f.split for _, f in items])
    t0 = time.perf_counter()
    n = len(files)
    store.snapshot_put("bench", encode_snapshot(collector, n, time.time_ns(), np.zeros(n, np.int64), np.zeros(n, np.int64),
                                                {0: bytes(8)}))  # every item in batch 0, its blob's checksum
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--data", default=None, help="use this dataset (hard-linked copy) instead of writing one")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--no-plain", action="store_true",
                    help="skip the cold scan without the cache (the write cost is still measured on a sample)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of cold without / with the cache and a warm reopen")
    ap.add_argument("--verify", action="store_true",
                    help="also scan the changed dataset without the cache and compare the exports")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-cache-"))
    work.mkdir(parents=True, exist_ok=True)
    source, root, cache, outs = work / "source", work / "data", work / "cache", work / "out"
    for d in (source, root, cache, outs):
        shutil.rmtree(d, ignore_errors=True)
    outs.mkdir()
    workers = ["--workers", str(args.workers)] if args.workers else []
    t0 = time.perf_counter()
    if args.data:
        subprocess.run(["cp", "-al", str(Path(args.data).resolve()), str(source)], check=True)
        print(f"{len(listed(source))} images of {args.data} linked under {source}")
    else:
        date_back(make_dataset(source, args.images), 3600)  # a dataset that has been lying there
        print(f"{len(listed(source))} images written in {time.perf_counter() - t0:.0f} s under {source}")

    rounds = []  # per round: {run: (wall, CPU, peak MB, load)}
    for k in range(args.rounds):
        for d in (root, cache):
            shutil.rmtree(d, ignore_errors=True)
        subprocess.run(["cp", "-al", str(source), str(root)], check=True)
        paths = listed(root)
        runs = {}
        order = ["plain", "cold"] if k % 2 == 0 else ["cold", "plain"]
        for name in order:
            if name == "plain" and args.no_plain:
                continue
            extra = ("--no-cache",) if name == "plain" else ("--cache-dir", str(cache))
            wall = run_scan(root, outs / f"{name}.json", *extra, *workers)
            runs[name] = (wall, CPU[name], PEAK[name], LOAD[name])
        wall = run_scan(root, outs / "warm.json", "--cache-dir", str(cache), *workers)
        runs["warm"] = (wall, CPU["warm"], PEAK["warm"], LOAD["warm"])
        size_cold = sum(p.stat().st_size for p in cache.iterdir())
        changed = change_one_percent(paths)
        wall = run_scan(root, outs / "inc.json", "--cache-dir", str(cache), *workers)
        runs["inc"] = (wall, CPU["inc"], PEAK["inc"], LOAD["inc"])
        rounds.append(runs)
        print(f"round {k + 1}: " + ", ".join(f"{name} {w:.2f} s / {c:.2f} CPU s / {m:.0f} MB peak at load {ld:.1f}"
                                            for name, (w, c, m, ld) in runs.items()), flush=True)
    t_cold, CPU["cold"] = median([r["cold"][0] for r in rounds]), median([r["cold"][1] for r in rounds])
    t_warm, CPU["warm"] = median([r["warm"][0] for r in rounds]), median([r["warm"][1] for r in rounds])
    t_plain = math.nan if args.no_plain else median([r["plain"][0] for r in rounds])
    CPU["plain"] = math.nan if args.no_plain else median([r["plain"][1] for r in rounds])
    t_inc, CPU["inc"] = median([r["inc"][0] for r in rounds]), median([r["inc"][1] for r in rounds])
    warm = json.loads((outs / "warm.json").read_text())
    inc = json.loads((outs / "inc.json").read_text())
    size = sum(p.stat().st_size for p in cache.iterdir())
    decode_s, encode_s, write_s, whole_s = write_cost([p for p in paths if p.exists()])

    cpu = {"plain": math.nan, **CPU}
    print(f"medians of {len(rounds)} rounds: cold scan without cache {t_plain:.1f} s ({cpu['plain']:.1f} CPU s), "
          f"cold scan filling the cache {t_cold:.1f} s ({cpu['cold']:.1f} CPU s)")
    if not args.no_plain:
        def ratio(i: int) -> float:
            return median([r["cold"][i] / r["plain"][i] for r in rounds])
        print(f"cold with / without the cache (median of the rounds' ratios): {ratio(1):.3f} CPU, "
              f"{ratio(0):.3f} wall, {ratio(2):.3f} peak memory")
    print(f"warm reopen {t_warm:.2f} s ({cpu['warm']:.2f} CPU s; cache: {warm['dataset']['cache']}): "
          f"cold / warm = {median([r['cold'][0] / r['warm'][0] for r in rounds]):.1f}x wall, "
          f"{median([r['cold'][1] / r['warm'][1] for r in rounds]):.1f}x CPU (medians of the rounds' ratios)")
    print("load average (1 min) at the end of each run: " + ", ".join(f"{k} {v:.1f}" for k, v in LOAD.items()))
    for bottom, what in (("cold", "the cold scan filling the cache"), ("plain", "the cold scan without it")):
        if bottom in rounds[0]:
            each = ", ".join(f"{r['inc'][1] / r[bottom][1]:.3f}" for r in rounds)
            print(f"after {changed} files changed, median {t_inc:.2f} s ({cpu['inc']:.2f} CPU s; cache: "
                  f"{inc['dataset']['cache']}): incremental / {what} = "
                  f"{median([r['inc'][0] / r[bottom][0] for r in rounds]):.3f} wall, "
                  f"{median([r['inc'][1] / r[bottom][1] for r in rounds]):.3f} CPU (medians of the rounds' "
                  f"ratios; per round CPU {each})")
    print(f"cache on disk: {size_cold / 1e6:.1f} MB = {size_cold / len(paths):.0f} bytes per image after the "
          f"cold scan, {size / len(paths):.0f} after the rescan")
    print(f"writing the cache, measured on a sample: encoding {encode_s / decode_s:.2%} + SQLite "
          f"{write_s / decode_s:.2%} + the merged result {whole_s / decode_s:.2%} of decoding the same files")
    if args.verify:
        run_scan(root, outs / "fresh.json", "--no-cache", *workers)
        fresh = json.loads((outs / "fresh.json").read_text())
        for doc in (fresh, inc):
            doc["dataset"].pop("cache")
        print("incremental export equals a fresh scan's:", fresh == inc)
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
