"""Scan throughput of the same images as loose files, as Hugging Face Parquet and as WebDataset
tar shards (plain and gzip-compressed), measured in the same run (interleaved), printed as ratios.

    python scripts/bench_sources.py ROOT [--repeats 3] [--workers N] [--scratch DIR]

ROOT is a folder dataset; its images are written once to DIR by the ecosystem's own writers:
``datasets`` writes ``parquet/data/{split}-00000-of-00001.parquet`` with its default row groups
(about 100 MB each) and ``parquet100/`` with row groups of 100 images (as the Hugging Face hub's
converted files have); ``webdataset`` writes ``{split}-NNNNNN.tar`` and ``.tar.gz`` shards of
1,000 samples. Each run scans every copy once, in turn; the ratios are of the best of the runs
(by wall clock and by worker CPU time per image), and every run's own ratios are printed too.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inspector.core.pool import local_pool  # noqa: E402
from inspector.core.scan import default_workers, scan  # noqa: E402
from inspector.core.sources import complete, iter_chunks, iter_payloads, open_source  # noqa: E402

SHARD_SIZE = 1000


def write_parquet(layout, out: str, row_group: int | None) -> str:
    import datasets

    names = sorted({f.label for f in layout.files if f.label is not None})
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=names)})
    for split in layout.splits:
        files = layout.files_in(split)
        ds = datasets.Dataset.from_dict(
            {"image": [{"bytes": open(f.abspath, "rb").read(), "path": os.path.basename(f.abspath)} for f in files],
             "label": [names.index(f.label) if f.label in names else -1 for f in files]}, features=features)
        target = os.path.join(out, "data", f"{split}-00000-of-00001.parquet")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        ds.to_parquet(target, **({"batch_size": row_group} if row_group else {}))
    return out


def write_shards(layout, out: str, suffix: str) -> str:
    import webdataset as wds

    os.makedirs(out, exist_ok=True)
    for split in layout.splits:
        with wds.ShardWriter(os.path.join(out, f"{split}-%06d{suffix}"), maxcount=SHARD_SIZE, verbose=0) as sink:
            for k, f in enumerate(layout.files_in(split)):
                sample = {"__key__": f"{k:08d}", os.path.splitext(f.abspath)[1].lower().lstrip("."):
                          open(f.abspath, "rb").read()}
                if f.label is not None:
                    sample["cls"] = f.label
                sink.write(sample)
    return out


def timed_scan(source: str, workers: int) -> tuple[float, float, int]:
    """(images per second by wall clock, worker CPU ms per image, images) of one full scan."""
    layout = complete(open_source(source))
    local_pool(workers).warm()  # every worker started before timing
    t0 = time.perf_counter()
    result = scan(layout, workers=workers)
    elapsed = time.perf_counter() - t0
    n = len(result.images) + len(result.failures)
    return n / elapsed, 1000 * result.extra["worker_cpu_seconds"] / n, n


def read_cost(source: str, chunk: int) -> float:
    """CPU ms per image to get every item's payload (no decoding) in this process, chunk by chunk
    as a scan cuts them: the reading a kind adds to decoding, less noisy than whole scans."""
    layout = complete(open_source(source))
    chunks = list(iter_chunks(layout, chunk))
    t0 = time.process_time()
    for c in chunks:
        for _, payload in iter_payloads(f for _, f in c):
            if isinstance(payload, str):  # a loose file: the decoder would read it
                with open(payload, "rb") as fh:
                    fh.read()
    return 1000 * (time.process_time() - t0) / len(layout.files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scratch", default=None, help="where to write the Parquet and tar copies")
    args = ap.parse_args()
    workers = args.workers or default_workers()
    scratch = tempfile.mkdtemp(prefix="bench-sources-", dir=args.scratch)
    layout = complete(open_source(args.root))
    sources = {"files": args.root,
               "parquet": write_parquet(layout, os.path.join(scratch, "parquet"), None),
               "parquet100": write_parquet(layout, os.path.join(scratch, "parquet100"), 100),
               "tar": write_shards(layout, os.path.join(scratch, "shards"), ".tar"),
               "tar.gz": write_shards(layout, os.path.join(scratch, "shards-gz"), ".tar.gz")}
    print(f"{len(layout.files)} images of {args.root}; {workers} worker processes; "
          f"{args.repeats} interleaved runs")
    runs: list[dict[str, tuple[float, float]]] = []
    for _ in range(args.repeats):
        run = {}
        for kind, source in sources.items():
            rate, cpu, n = timed_scan(source, workers)
            assert n == len(layout.files), (kind, n)
            run[kind] = (rate, cpu)
        runs.append(run)
        print("  " + "   ".join(f"{k} {r:6.1f} img/s {c:.3f} cpu-ms/img" for k, (r, c) in run.items()))
        print("    this run's ratios to loose files (wall, cpu): " + ", ".join(
            f"{k} {r / run['files'][0]:.3f} {run['files'][1] / c:.3f}" for k, (r, c) in run.items() if k != "files"))
    chunk = min(64, -(-len(layout.files) // (workers * 16)))  # as the scan picks it
    reading = {k: min(read_cost(src, chunk) for _ in range(3)) for k, src in sources.items()}
    decode = min(r["files"][1] for r in runs)
    print("Reading alone (CPU ms per image, best of 3; share of the loose files' whole per-image cost): "
          + ", ".join(f"{k} {ms:.3f} ({ms / decode:.1%})" for k, ms in reading.items()))
    best = {k: (max(r[k][0] for r in runs), min(r[k][1] for r in runs)) for k in sources}
    files_rate, files_cpu = best["files"]
    for kind in sources:
        if kind == "files":
            continue
        rate, cpu = best[kind]
        wall_runs = [r[kind][0] / r["files"][0] for r in runs]
        cpu_runs = [r["files"][1] / r[kind][1] for r in runs]
        print(f"Ratio {kind} / loose files: {rate / files_rate:.3f} by wall clock, {files_cpu / cpu:.3f} by worker "
              f"CPU time (best of each; per-run medians {statistics.median(wall_runs):.3f} and "
              f"{statistics.median(cpu_runs):.3f})")


if __name__ == "__main__":
    main()
