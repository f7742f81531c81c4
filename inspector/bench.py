"""Scan benchmark: our full scan versus Pillow decoding alone, same files, same cores, same run.

Prints throughput of both, their ratio, and peak memory (resident set) of the parent and of the
worker processes. Runs are interleaved (decode, scan, decode, scan, ...) and the best of each is
kept, so a noisy neighbour on a shared machine hurts both sides alike.

The reference is Pillow's own decoding (``Image.open().load()``), what a loader pays per image.
The scan decodes JPEGs and most PNGs with faster libraries (core/fastdecode.py), so part of its
ratio is the faster decoding: the scan's own decoding alone (``core.decode.decode``, the same
files and cores) is measured too, and the ratio against it says what the measurements above
decoding cost.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from statistics import median

from PIL import Image

from .core.decode import READ_FORMATS, DecodeError, decode
from .core.hashing import N_VIEWS
from .core.sources import complete, open_source
from .core.pool import local_pool
from .core.scan import default_workers, scan


def _load_only(paths: list[str]) -> float:
    """Pillow decoding alone: open and ``load()`` each file. Returns the CPU seconds spent."""
    cpu0 = time.process_time()
    for p in paths:
        try:
            with Image.open(p, formats=READ_FORMATS) as im:
                im.load()
        except Exception:
            pass
    return time.process_time() - cpu0


def _pil_loader(paths: list[str]) -> float:
    """torchvision's default loader: ``Image.open(f).convert("RGB")`` (decode + one conversion)."""
    cpu0 = time.process_time()
    for p in paths:
        try:
            with open(p, "rb") as fh:
                Image.open(fh, formats=READ_FORMATS).convert("RGB")
        except Exception:
            pass
    return time.process_time() - cpu0


def _our_decoding(paths: list[str]) -> float:
    """The scan's own decoding alone (core/decode.py: the faster decoders where they apply, Pillow
    for the rest, the canonical RGB or L image). Returns the CPU seconds spent."""
    cpu0 = time.process_time()
    for p in paths:
        try:
            decode(p)
        except DecodeError:
            pass
    return time.process_time() - cpu0


def _warm(pool: ProcessPoolExecutor, workers: int) -> None:
    list(pool.map(time.sleep, [0.3] * workers))  # every worker process started before timing


@dataclass
class Measure:
    images_per_second: float   # wall clock, all workers together
    cpu_ms_per_image: float    # worker CPU time: robust when other programs share the cores


def decode_throughput(paths: list[str], workers: int, fn=_load_only, chunk: int = 32) -> Measure:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        _warm(pool, workers)
        t0 = time.perf_counter()
        cpu = sum(pool.map(fn, [paths[i:i + chunk] for i in range(0, len(paths), chunk)]))
        return Measure(len(paths) / (time.perf_counter() - t0), 1000 * cpu / len(paths))


def scan_throughput(layout, workers: int) -> Measure:
    """The full scan, its workers already started (as for the decode runs)."""
    local_pool(workers).warm()
    t0 = time.perf_counter()
    result = scan(layout, workers=workers)
    elapsed = time.perf_counter() - t0
    n = len(layout.files)
    return Measure(n / elapsed, 1000 * result.extra["worker_cpu_seconds"] / n)


def _peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def run(root: str, repeats: int = 3, workers: int | None = None) -> dict:
    workers = workers or default_workers()
    layout = complete(open_source(root))
    paths = [f.abspath for f in layout.files]
    print(f"{len(paths)} files under {root}; {workers} worker processes; {repeats} interleaved runs, best kept")
    runs: dict[str, list[Measure]] = {"load": [], "loader": [], "ours": [], "scan": []}
    for _ in range(repeats):
        runs["load"].append(decode_throughput(paths, workers, _load_only))
        runs["loader"].append(decode_throughput(paths, workers, _pil_loader))
        runs["ours"].append(decode_throughput(paths, workers, _our_decoding))
        runs["scan"].append(scan_throughput(layout, workers))
        print("  " + "   ".join(f"{k} {m[-1].images_per_second:7.1f} img/s {m[-1].cpu_ms_per_image:.3f} cpu-ms/img"
                                for k, m in runs.items()))
    wall = {k: max(m.images_per_second for m in v) for k, v in runs.items()}
    cpu = {k: min(m.cpu_ms_per_image for m in v) for k, v in runs.items()}
    own, children = _peak_rss_mb()
    print(f"Pillow decoding alone (Image.load())       : {wall['load']:8.1f} images/s  {cpu['load']:.3f} CPU ms/image")
    print(f"torchvision's loader (open().convert(RGB)) : {wall['loader']:8.1f} images/s  {cpu['loader']:.3f} CPU ms/image")
    print(f"the scan's own decoding alone (decode.py)  : {wall['ours']:8.1f} images/s  {cpu['ours']:.3f} CPU ms/image")
    print(f"Dataset Inspector full scan                : {wall['scan']:8.1f} images/s  {cpu['scan']:.3f} CPU ms/image")
    print(f"  (full scan = decode, exact histograms, per-image moments, content hash, {N_VIEWS} perceptual view hashes, thumbnails, per-image properties)")
    out = {
        "ratio_wall": wall["scan"] / wall["load"], "ratio_cpu": cpu["load"] / cpu["scan"],
        "ratio_wall_loader": wall["scan"] / wall["loader"], "ratio_cpu_loader": cpu["loader"] / cpu["scan"],
        "ratio_wall_ours": wall["scan"] / wall["ours"], "ratio_cpu_ours": cpu["ours"] / cpu["scan"],
        "rss_parent_mb": own, "rss_worker_mb": children, **{f"wall_{k}": v for k, v in wall.items()},
    }
    print(f"Ratio scan / Pillow decoding alone : {out['ratio_wall']:.3f} by wall clock, {out['ratio_cpu']:.3f} by worker CPU time")
    print(f"Ratio scan / torchvision loader    : {out['ratio_wall_loader']:.3f} by wall clock, {out['ratio_cpu_loader']:.3f} by worker CPU time")
    print(f"Ratio scan / its own decoding alone: {out['ratio_wall_ours']:.3f} by wall clock, {out['ratio_cpu_ours']:.3f} by worker CPU time"
          " (what the measurements above decoding cost)")
    # The best figures above may come from different rounds; a round's own pair of runs was taken
    # back to back, so the median of the per-round ratios is less sensitive to load that changes.
    out["ratio_wall_paired"] = median([s.images_per_second / d.images_per_second
                                         for s, d in zip(runs["scan"], runs["load"])])
    out["ratio_cpu_paired"] = median([d.cpu_ms_per_image / s.cpu_ms_per_image
                                        for s, d in zip(runs["scan"], runs["load"])])
    print(f"  median of the {repeats} rounds' own ratios : {out['ratio_wall_paired']:.3f} by wall clock, "
          f"{out['ratio_cpu_paired']:.3f} by worker CPU time")
    print(f"Peak memory (RSS): parent {own:.0f} MB, largest finished worker {children:.0f} MB")
    return out
