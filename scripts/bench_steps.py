"""Where the scan worker's time goes: CPU ms per image for each step, beside Pillow decoding alone.

    python scripts/bench_steps.py ROOT [--files 640] [--repeats 2] [--kind JPEG/RGB]

Runs the real chunk function (``scan_chunk._scan_chunk``) in this process (with the workers' heap
setting, memory.keep_freed_memory, which Pillow's decoding alone then has too) on chunks of 64 files, with
timers wrapped around the steps it calls, and before each chunk decodes the same files with
Pillow alone (``Image.open().load()``), so both sides see the same load and the same file cache.
Prints each step's CPU time per image and the ratio decoding-alone / scan, which is what
``python main.py bench ROOT`` measures with worker processes. ``--kind FORMAT/MODE`` (as Pillow
opens the file: JPEG/RGB, JPEG/L, PNG/RGB, PNG/L, PNG/P, PNG/RGBA) measures files of one kind only.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image  # noqa: E402

from inspector.core import hashing, scan, scan_chunk  # noqa: E402
from inspector.core.decode import READ_FORMATS  # noqa: E402
from inspector.core.sources import complete, open_source  # noqa: E402
from inspector.core.validation import properties  # noqa: E402

# (module, function, label): the per-image steps, then the chunk's batched ones
STEPS = [
    (scan_chunk, "decode", "decode (open, load, conversion to RGB or L)"),
    (scan_chunk, "image_histogram", "exact histogram"),
    (hashing, "grey_grid", "float grey grid 64x64"),
    (scan_chunk, "pixel_view", "export of the pixel memory (no copy)"),
    (hashing, "content_hash", "content hash"),
    (properties, "sample", "property samples (patches, lattice)"),
    (scan_chunk, "_chunk_moments", "chunk: per-image moments"),
    (scan_chunk, "_accumulate", "chunk: split sums"),
    (hashing, "hashes_from_grids", "chunk: 8 view hashes"),
    (hashing, "thumbnails_from_grids", "chunk: thumbnails"),
    (properties, "measure_all", "chunk: properties"),
]


def _timed(fn: Callable, key: str, spent: Counter) -> Callable:
    def wrapper(*args, **kwargs):
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key] += time.process_time() - t0
    return wrapper


def _kind(path: str) -> str:
    try:
        with Image.open(path, formats=READ_FORMATS) as im:
            return f"{im.format}/{im.mode}"
    except Exception:
        return "unreadable"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--files", type=int, default=640, help="files measured (spread over the dataset)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--kind", help="only files Pillow opens as FORMAT/MODE, e.g. JPEG/RGB")
    args = ap.parse_args()
    from inspector.core import memory
    if hasattr(memory, "keep_freed_memory"):  # as the scan's worker processes have it (pool.py)
        memory.keep_freed_memory()
    files = complete(open_source(args.root)).files
    if args.kind:
        files = [f for f in files if _kind(f.abspath) == args.kind]
    step = max(1, len(files) // args.files)
    items = list(enumerate(files[::step][:args.files]))
    spent: Counter = Counter()
    for module, name, label in STEPS:
        if hasattr(module, name):  # an older revision may lack a step (its time is in the rest)
            setattr(module, name, _timed(getattr(module, name), label, spent))
    alone = whole = 0.0
    for _ in range(args.repeats):
        for lo in range(0, len(items), scan.CHUNK_FILES):
            chunk = items[lo:lo + scan.CHUNK_FILES]
            t0 = time.process_time()
            for _, f in chunk:
                try:
                    with Image.open(f.abspath, formats=READ_FORMATS) as im:
                        im.load()
                except Exception:
                    pass
            t1 = time.process_time()
            scan_chunk._scan_chunk(chunk, None, False)
            alone, whole = alone + t1 - t0, whole + time.process_time() - t1
    n = args.repeats * len(items)
    print(f"{len(items)} files x {args.repeats}, CPU ms per image (one process, chunks of {scan.CHUNK_FILES})")
    print(f"  {'Pillow decoding alone':46s} {1000 * alone / n:7.3f}")
    for _, _, label in STEPS:
        print(f"  {label:46s} {1000 * spent[label] / n:7.3f}")
    rest = whole - sum(spent.values())
    print(f"  {'the rest (reading, rows, chunk assembly)':46s} {1000 * rest / n:7.3f}")
    print(f"  {'whole chunk':46s} {1000 * whole / n:7.3f}")
    print(f"ratio decoding alone / scan: {alone / whole:.3f}")


if __name__ == "__main__":
    main()
