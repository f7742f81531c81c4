"""Scale benchmark: time and peak memory per image of the scan, the leakage search and the export,
measured separately, for growing numbers of tiny distinct images, so that any growth faster than
linear shows.

    .venv/bin/python scripts/bench_scale.py [--sizes 10000,100000,1000000] [--data DIR] [--workers N]
    .venv/bin/python scripts/bench_scale.py --root FOLDER      # one existing dataset instead

For each size N the data set is built once under DIR (32x32 RGB PNGs, all distinct, split
90/5/5 into train/val/test; reused by later runs) and measured in a fresh process: after the
imports, the process's resident-set high-water mark (VmHWM) is reset before each phase
(`/proc/self/clear_refs`), so each phase's peak is its own. Memory per image excludes the
interpreter and libraries loaded before the scan (the "base" column). Worker processes hold one
chunk at a time and are not included. The export includes the per-image records (--per-image).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIDE = 32
SPLITS = (("train", 0.90), ("val", 0.05), ("test", 0.05))


# ----------------------------------------------------------------------------- data

def _image(index: int) -> Image.Image:
    """A smooth random picture (a 4x4 random grid, bicubic to 32x32) with its index written into
    the first row, so every image is distinct by content and no two look alike."""
    rng = np.random.default_rng(index)
    small = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), "RGB")
    a = np.array(small.resize((SIDE, SIDE), Image.BICUBIC))
    a[0, :4] = np.frombuffer(int(index).to_bytes(12, "little"), np.uint8).reshape(4, 3)
    return Image.fromarray(a, "RGB")


def _write_range(args: tuple[str, int, int, int]) -> int:
    root, start, stop, n = args
    bounds = np.cumsum([int(round(f * n)) for _, f in SPLITS])
    for i in range(start, stop):
        split = SPLITS[int(np.searchsorted(bounds, i, side="right"))][0] if i < bounds[-1] else "test"
        folder = Path(root) / split / f"{i // 10000:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        _image(i).save(folder / f"{i:08d}.png", compress_level=1)
    return stop - start


def build(root: Path, n: int, workers: int) -> Path:
    done = root / ".complete"
    if done.exists() and done.read_text() == str(n):
        return root
    root.mkdir(parents=True, exist_ok=True)
    step = 5000
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write_range, [(str(root), s, min(s + step, n), n) for s in range(0, n, step)]))
    done.write_text(str(n))
    print(f"built {n:,} images in {root} in {time.perf_counter() - t0:.0f} s", flush=True)
    return root


# ----------------------------------------------------------------------------- one measured run

def _hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:  # "5" resets VmHWM to the current RSS (Linux)
        fh.write("5")


def measure(root: str, workers: int | None) -> dict:
    from inspector.core.export import build_document, default_source, write_json_atomic
    from inspector.core.layout import discover
    from inspector.core.leakage import scan_leakage
    from inspector.core.scan import scan

    base = _rss_mb()
    out: dict = {"base_mb": base}

    def phase(name: str, fn):
        _reset_peak()
        t0 = time.perf_counter()
        value = fn()
        out[f"{name}_s"] = time.perf_counter() - t0
        out[f"{name}_peak_mb"] = _hwm_mb()
        return value

    layout = phase("discover", lambda: discover(root))
    result = phase("scan", lambda: scan(layout, workers=workers))
    source = default_source(result)
    findings = phase("search", lambda: scan_leakage(result, source))
    with tempfile.TemporaryDirectory() as tmp:
        phase("export", lambda: write_json_atomic(
            build_document(result, findings, source_splits=source, per_image=True),
            os.path.join(tmp, "stats.json")))
    out["images"] = len(result.images)
    out["findings"] = len(findings)
    return out


# ----------------------------------------------------------------------------- report

PHASES = ("discover", "scan", "search", "export")


def _row(n: int, m: dict) -> str:
    cells = [f"{n:>10,}"]
    for p in PHASES:
        per_image_kb = 1024 * max(m[f"{p}_peak_mb"] - m["base_mb"], 0.0) / n
        cells.append(f"{1e6 * m[f'{p}_s'] / n:7.1f} us {per_image_kb:6.2f} KB")
    top = max(m[f"{p}_peak_mb"] for p in PHASES)
    cells.append(f"{top:7.0f} MB  {m['findings']:>4}")
    return " | ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "inspector-scale"))
    ap.add_argument("--root", help="measure this existing dataset instead of built ones")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the fresh measuring process
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.workers)))
        return
    roots = ([(None, Path(args.root))] if args.root else
             [(int(s), Path(args.data) / f"n{int(s)}") for s in args.sizes.split(",")])
    print(f"{'images':>10} | " + " | ".join(f"{p + ' (time, peak/img)':^21}" for p in PHASES)
          + " | peak parent  findings", flush=True)
    first = None
    for n, root in roots:
        if n is not None:
            build(root, n, args.workers or os.cpu_count() or 1)
        cmd = [sys.executable, __file__, "--measure", str(root)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        m = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        n = m["images"]
        print(_row(n, m) + f"   (base {m['base_mb']:.0f} MB)", flush=True)
        if first is None:
            first = (n, m)
        else:
            n0, m0 = first
            ratios = []
            for p in ("scan", "search", "export"):
                t = (m[f"{p}_s"] / n) / max(m0[f"{p}_s"] / n0, 1e-12)
                mem0 = max(m0[f"{p}_peak_mb"] - m0["base_mb"], 1e-6) / n0
                mem = max(m[f"{p}_peak_mb"] - m["base_mb"], 0.0) / n
                ratios.append(f"{p}: time/img x{t:.2f}, peak/img x{mem / mem0:.2f}")
            print(f"{'':>10}   vs {n0:,}: " + "; ".join(ratios), flush=True)


if __name__ == "__main__":
    main()
