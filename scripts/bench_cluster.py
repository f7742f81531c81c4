"""Cluster benchmark: the scan on a local Dask cluster against the local process pool, on the same
files with the same number of worker processes, in the same run.

    .venv/bin/python scripts/bench_cluster.py ROOT [--workers N] [--repeats R]

Both sides have their workers started before timing (the pool warmed, the cluster connected),
runs are interleaved (pool, cluster, pool, cluster...) and the best of each is kept, so a noisy
neighbour on a shared machine hurts both alike. Prints images per second of each and their ratio
(cluster / pool: 1.0 means the cluster costs nothing over the local pool), and checks that both
exports are identical.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inspector.core.cluster import DaskCluster  # noqa: E402
from inspector.core.export import build_document, default_source  # noqa: E402
from inspector.core.leakage import scan_leakage  # noqa: E402
from inspector.core.pool import local_pool  # noqa: E402
from inspector.core.scan import default_workers, scan  # noqa: E402
from inspector.core.sources import complete, open_source  # noqa: E402


def _export(result) -> dict:
    source = default_source(result)
    return build_document(result, scan_leakage(result, source), source_splits=source, per_image=True)


def _timed(run) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = run()
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--workers", type=int, default=None, help="processes on both sides (default: all cores)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    workers = args.workers or default_workers()
    layout = open_source(args.root)
    complete(layout)
    n = len(layout.files)
    print(f"{n} files under {args.root}; {workers} worker processes on each side; "
          f"{args.repeats} interleaved runs, best kept")
    best = {"pool": 0.0, "cluster": 0.0}
    cpu = {"pool": float("inf"), "cluster": float("inf")}  # worker CPU ms per image: robust to neighbours
    exports = {}
    paired = []  # cluster / pool of back-to-back runs: robust to load that changes between runs
    with DaskCluster.connect(f"local:{workers}", timeout=60) as cluster:
        local_pool(workers).warm()
        scan(layout, cluster=cluster)  # workers import the scan code once, as the pool's have
        for k in range(args.repeats):
            rates = {}
            for side, run in (("pool", lambda: scan(layout, workers=workers)),
                              ("cluster", lambda: scan(layout, cluster=cluster))):
                seconds, result = _timed(run)
                rates[side] = n / seconds
                best[side] = max(best[side], n / seconds)
                cpu[side] = min(cpu[side], 1000 * result.extra["worker_cpu_seconds"] / n)
                exports[side] = result
                print(f"  run {k + 1} {side:7}: {n / seconds:8.1f} images/s, "
                      f"{1000 * result.extra['worker_cpu_seconds'] / n:.3f} worker CPU ms/image")
            paired.append(rates["cluster"] / rates["pool"])
    same = _export(exports["pool"]) == _export(exports["cluster"])
    print(f"Process pool ({workers} processes)             : {best['pool']:8.1f} images/s  {cpu['pool']:.3f} CPU ms/image")
    print(f"Local Dask cluster ({workers} workers x 1 thread): {best['cluster']:8.1f} images/s  {cpu['cluster']:.3f} CPU ms/image")
    print(f"Ratio cluster / process pool: {best['cluster'] / best['pool']:.3f} by wall clock, "
          f"{cpu['pool'] / cpu['cluster']:.3f} by worker CPU time, "
          f"{statistics.median(paired):.3f} median of back-to-back pairs")
    print(f"Exports identical: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
