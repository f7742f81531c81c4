"""Scan benchmark: our full scan versus Pillow decoding alone, same files, same cores, same run.

Prints throughput of both, their ratio, and peak memory (resident set) of the parent and of the
worker processes. Runs are interleaved (decode, scan, decode, scan, ...) and the best of each is
kept, so a noisy neighbour on a shared machine hurts both sides alike.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor

from PIL import Image

from .core.layout import discover
from .core.scan import default_workers, iter_scan


def _decode_only(paths: list[str]) -> int:
    """What a training loader does per file: open, decode, convert to RGB. Nothing else."""
    n = 0
    for p in paths:
        try:
            with Image.open(p) as im:
                im.convert("RGB" if im.mode not in ("RGB", "L") else im.mode).load()
            n += 1
        except Exception:
            pass
    return n


def decode_throughput(paths: list[str], workers: int, chunk: int = 32) -> float:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        list(pool.map(_decode_only, [paths[:1]] * workers))  # start the workers before timing
        t0 = time.perf_counter()
        list(pool.map(_decode_only, [paths[i:i + chunk] for i in range(0, len(paths), chunk)]))
        return len(paths) / (time.perf_counter() - t0)


def scan_throughput(layout, workers: int) -> tuple[float, float]:
    """Images per second of the full scan, including starting its workers; and the elapsed time."""
    t0 = time.perf_counter()
    gen = iter_scan(layout, workers=workers)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        result = stop.value
    elapsed = time.perf_counter() - t0
    return len(layout.files) / elapsed, result.elapsed


def _peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def run(root: str, repeats: int = 3, workers: int | None = None) -> dict:
    workers = workers or default_workers()
    layout = discover(root)
    paths = [f.abspath for f in layout.files]
    print(f"{len(paths)} files under {root}; {workers} worker processes; best of {repeats} interleaved runs")
    dec, ours = [], []
    for _ in range(repeats):
        dec.append(decode_throughput(paths, workers))
        ours.append(scan_throughput(layout, workers)[0])
        print(f"  decode only {dec[-1]:8.1f} img/s   full scan {ours[-1]:8.1f} img/s")
    ratio = max(ours) / max(dec)
    own, children = _peak_rss_mb()
    print(f"Pillow decode only : {max(dec):8.1f} images/s")
    print(f"Dataset Inspector  : {max(ours):8.1f} images/s (decode + exact histograms + hashes + thumbnails,"
          " worker start-up included)")
    print(f"Ratio scan/decode  : {ratio:.3f}")
    print(f"Peak memory (RSS)  : parent {own:.0f} MB, largest worker {children:.0f} MB")
    return {"decode": max(dec), "scan": max(ours), "ratio": ratio, "rss_parent_mb": own,
            "rss_worker_mb": children}
