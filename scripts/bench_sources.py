"""Scan throughput of the same images as loose files, as Hugging Face Parquet and as WebDataset
tar shards, measured in the same run (interleaved, best of each kept), printed as ratios.

    python scripts/bench_sources.py ROOT [--repeats 3] [--workers N] [--scratch DIR]

ROOT is a folder dataset; its images are written once to DIR as ``data/{split}-00000-of-00001.parquet``
(row groups of 100 images, as the datasets library writes image datasets) and as
``{split}-NNNNNN.tar`` shards of 1,000 samples.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inspector.core.scan import default_workers, scan, worker_pool  # noqa: E402
from inspector.core.sources import complete, open_source  # noqa: E402

ROW_GROUP = 100
SHARD_SIZE = 1000


def write_parquet(layout, out: str) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = sorted({f.label for f in layout.files if f.label is not None})
    features = {"image": {"_type": "Image"}, "label": {"_type": "ClassLabel", "names": names}}
    meta = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    for split in layout.splits:
        files = layout.files_in(split)
        images = [{"bytes": open(f.abspath, "rb").read(), "path": os.path.basename(f.abspath)} for f in files]
        labels = [names.index(f.label) if f.label in names else -1 for f in files]
        table = pa.table({"image": pa.array(images, image_type), "label": pa.array(labels, pa.int64())})
        target = os.path.join(out, "data", f"{split}-00000-of-00001.parquet")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        pq.write_table(table.replace_schema_metadata(meta), target, row_group_size=ROW_GROUP)
    return out


def write_shards(layout, out: str) -> str:
    os.makedirs(out, exist_ok=True)
    for split in layout.splits:
        files = layout.files_in(split)
        for start in range(0, len(files), SHARD_SIZE):
            with tarfile.open(os.path.join(out, f"{split}-{start // SHARD_SIZE:06d}.tar"), "w") as tf:
                for k, f in enumerate(files[start:start + SHARD_SIZE]):
                    key = f"{start + k:08d}"
                    ext = os.path.splitext(f.abspath)[1].lower()
                    tf.add(f.abspath, arcname=key + ext)
                    if f.label is not None:
                        data = f.label.encode()
                        info = tarfile.TarInfo(key + ".cls")
                        info.size = len(data)
                        tf.addfile(info, io.BytesIO(data))
    return out


def timed_scan(source: str, workers: int) -> tuple[float, float, int]:
    """(images per second by wall clock, worker CPU ms per image, images) of one full scan."""
    layout = complete(open_source(source))
    list(worker_pool(workers).map(time.sleep, [0.2] * workers))  # every worker started
    t0 = time.perf_counter()
    result = scan(layout, workers=workers)
    elapsed = time.perf_counter() - t0
    n = len(result.images) + len(result.failures)
    return n / elapsed, 1000 * result.extra["worker_cpu_seconds"] / n, n


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
               "parquet": write_parquet(layout, os.path.join(scratch, "parquet")),
               "tar": write_shards(layout, os.path.join(scratch, "shards"))}
    print(f"{len(layout.files)} images of {args.root}; {workers} worker processes; "
          f"{args.repeats} interleaved runs, best kept")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeats):
        line = []
        for kind, source in sources.items():
            rate, cpu, n = timed_scan(source, workers)
            assert n == len(layout.files), (kind, n)
            old = best.get(kind, (0.0, float("inf")))
            best[kind] = (max(old[0], rate), min(old[1], cpu))
            line.append(f"{kind} {rate:7.1f} img/s {cpu:.3f} cpu-ms/img")
        print("  " + "   ".join(line))
    files_rate, files_cpu = best["files"]
    for kind in ("parquet", "tar"):
        rate, cpu = best[kind]
        print(f"Ratio {kind} / loose files: {rate / files_rate:.3f} by wall clock, "
              f"{files_cpu / cpu:.3f} by worker CPU time")


if __name__ == "__main__":
    main()
