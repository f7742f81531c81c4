"""How the leakage phase reports progress and how fast Cancel stops it.

    .venv/bin/python scripts/bench_leakage_progress.py ROOT [--cancels 5] [--workers 2]

ROOT is scanned once; then the leakage phase (`iter_scan_leakage`) runs to its end while every
progress report is timed, and it is run again and cancelled at random moments the way the window
does it (`app.scan_job.run_leakage` with a cancel request). Printed: the stage's CPU seconds, the
largest CPU and wall gaps between two reports (what a Cancel can wait at most), how far the
reported fraction strays from the share of the CPU time spent (0 for a perfectly even line), and
per cancel the wall time from the request to the return. Wall figures depend on the machine's
load, so `uptime`'s load average is printed with them.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.app import scan_job  # noqa: E402
from inspector.core.leakage import iter_scan_leakage  # noqa: E402
from inspector.core.scan import scan  # noqa: E402


def timed_reports(result) -> tuple[list[tuple[float, float, str, float]], float, float]:
    """(cpu, wall, stage, fraction) per report, and the phase's total cpu and wall seconds."""
    c0, w0 = time.process_time(), time.perf_counter()
    steps = iter_scan_leakage(result)
    log = []
    while True:
        try:
            p = next(steps)
        except StopIteration:
            return log, time.process_time() - c0, time.perf_counter() - w0
        log.append((time.process_time() - c0, time.perf_counter() - w0, p.stage, p.fraction))


def cancel_latency(result, after: float) -> float:
    """Wall seconds from a cancel request made `after` seconds into the phase to its return."""
    asked: list[float] = []
    timer = threading.Timer(after, lambda: asked.append(time.perf_counter()))
    timer.start()
    scan_job.run_leakage(result, None, lambda: bool(asked))
    done = time.perf_counter()
    timer.cancel()
    return done - asked[0] if asked else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cancels", type=int, default=5)
    args = ap.parse_args(argv)
    result = scan(args.root, workers=args.workers)
    log, cpu, wall = timed_reports(result)
    stages: dict[str, float] = {}
    for (c, _, s, _), (c2, *_rest) in zip(log, log[1:] + [(cpu, wall, "", 1.0)]):
        stages[s] = stages.get(s, 0.0) + c2 - c
    cpu_gaps = np.diff([0.0] + [r[0] for r in log] + [cpu])
    wall_gaps = np.diff([0.0] + [r[1] for r in log] + [wall])
    stray = max(abs(f - c / cpu) for c, _, _, f in log) if cpu > 0 else 0.0
    print(f"{len(result.images)} images: leakage phase {cpu:.1f} s CPU, {wall:.1f} s wall, "
          f"{len(log)} reports (load average {os.getloadavg()[0]:.1f})")
    print("  CPU per stage: " + ", ".join(f"{s} {v:.2f} s" for s, v in stages.items()))
    print(f"  largest gap between reports: {cpu_gaps.max():.2f} s CPU, {wall_gaps.max():.2f} s wall; "
          f"reported fraction strays from the CPU share by at most {stray:.2f}")
    rng = np.random.default_rng(0)
    waits = [cancel_latency(result, float(rng.uniform(0.05, 0.95)) * wall) for _ in range(args.cancels)]
    print(f"  Cancel at random moments: returned after {', '.join(f'{w:.2f}' for w in waits)} s "
          f"(load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
