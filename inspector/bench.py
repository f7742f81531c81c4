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
from .core.scan import default_workers, iter_scan, worker_pool


def _load_only(paths: list[str]) -> int:
    """Pillow decoding alone: open and ``load()`` each file."""
    n = 0
    for p in paths:
        try:
            with Image.open(p) as im:
                im.load()
            n += 1
        except Exception:
            pass
    return n


def _pil_loader(paths: list[str]) -> int:
    """torchvision's default loader: ``Image.open(f).convert("RGB")`` (decode + one conversion)."""
    n = 0
    for p in paths:
        try:
            with open(p, "rb") as fh:
                Image.open(fh).convert("RGB")
            n += 1
        except Exception:
            pass
    return n


def _warm(pool: ProcessPoolExecutor, workers: int) -> None:
    list(pool.map(time.sleep, [0.3] * workers))  # every worker process started before timing


def decode_throughput(paths: list[str], workers: int, fn=_load_only, chunk: int = 32) -> float:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        _warm(pool, workers)
        t0 = time.perf_counter()
        list(pool.map(fn, [paths[i:i + chunk] for i in range(0, len(paths), chunk)]))
        return len(paths) / (time.perf_counter() - t0)


def scan_throughput(layout, workers: int) -> tuple[float, float]:
    """Images per second of the full scan (workers already started, as for the decode runs)."""
    _warm(worker_pool(workers), workers)
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
    dec, loader, ours = [], [], []
    for _ in range(repeats):
        dec.append(decode_throughput(paths, workers, _load_only))
        loader.append(decode_throughput(paths, workers, _pil_loader))
        ours.append(scan_throughput(layout, workers)[0])
        print(f"  Image.load() {dec[-1]:7.1f} img/s   open().convert('RGB') {loader[-1]:7.1f} img/s"
              f"   full scan {ours[-1]:7.1f} img/s")
    ratio, ratio_loader = max(ours) / max(dec), max(ours) / max(loader)
    own, children = _peak_rss_mb()
    print(f"Pillow decoding alone (Image.load())       : {max(dec):8.1f} images/s")
    print(f"torchvision's loader (open().convert(RGB)) : {max(loader):8.1f} images/s")
    print(f"Dataset Inspector full scan                : {max(ours):8.1f} images/s "
          "(decode, exact histograms, content + perceptual hashes, thumbnails)")
    print(f"Ratio scan / Pillow decoding alone         : {ratio:.3f}")
    print(f"Ratio scan / torchvision loader            : {ratio_loader:.3f}")
    print(f"Peak memory (RSS): parent {own:.0f} MB, largest worker {children:.0f} MB")
    return {"decode": max(dec), "loader": max(loader), "scan": max(ours), "ratio": ratio,
            "ratio_loader": ratio_loader, "rss_parent_mb": own, "rss_worker_mb": children}
