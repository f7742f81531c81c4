#!/usr/bin/env python3
"""Measure the longest event-loop stall of the window while it scans a dataset.

    python scripts/bench_ui_stall.py ROOT [--workers N] [--interval-ms 10] [--settle 1.5]

A QTimer fires every --interval-ms in the GUI thread and records the gap since its previous tick;
a gap much longer than the interval is time the event loop could not run (a frozen window).
The window is real (offscreen platform unless a display is set) and shows the Statistics tab, so
live histograms and the split table are redrawn as they would be. Gaps are attributed to the phase
in which they end: the scan itself, the leakage search that follows it, or putting the final
result on screen. Budget: 100 ms. Exit status 0 within budget during the scan, 1 otherwise.

Build a 20,000-image corpus with
    python3 /work/shared/datasets/make_real_corpus.py /work/corpus20k --images 20000
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BUDGET_MS = 100.0


def main() -> int:
    from bench_window import window_parser

    parser = window_parser(__doc__, "dataset folder to scan", 1.5,
                           "seconds to keep measuring after the result is on screen")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="seconds between showing the window and opening the folder (first paint)")
    parser.add_argument("--top", type=int, default=5, help="list the N longest stalls with their time")
    args = parser.parse_args()
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from bench_window import close_with_result, open_and_run, open_window, probe_timer

    app, window = open_window(args.workers)

    phase = ["idle"]
    gaps: dict[str, list[float]] = {"scan": [], "leakage": [], "results": []}
    worst: dict[str, tuple[float, float]] = {}  # phase -> (gap ms, seconds since start)
    every: list[tuple[float, float, str]] = []   # (gap ms, end time s, phase)
    clock = QElapsedTimer()
    clock.start()
    t0 = [0.0]
    last = [None]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if last[0] is not None and phase[0] in gaps:
            gap = now - last[0]
            gaps[phase[0]].append(gap)
            every.append((gap, (now - t0[0]) / 1000, phase[0]))
            if gap > worst.get(phase[0], (0.0, 0.0))[0]:
                worst[phase[0]] = (gap, (now - t0[0]) / 1000)
        last[0] = now

    probe = probe_timer(args.interval_ms, tick)

    loop = QEventLoop()
    outcome: dict[str, object] = {}

    def started(_root: str) -> None:
        phase[0] = "scan"

    def leakage_phase(_text: str) -> None:
        phase[0] = "leakage"

    def finished(result) -> None:
        # This runs right after the window put the result on screen; the gap that contains that work
        # ends at the next tick, which is attributed to "results".
        phase[0] = "results"
        outcome["result"] = result
        outcome["finished_at"] = time.perf_counter()
        QTimer.singleShot(int(args.settle * 1000), loop.quit)

    def failed(message: str) -> None:
        outcome["error"] = message
        loop.quit()

    window.scanStarted.connect(started)
    window.scanPhase.connect(leakage_phase)  # scan done, leakage search running
    window.scanFinished.connect(finished)
    window.scanFailed.connect(failed)
    t_start = time.perf_counter()
    t0[0] = clock.nsecsElapsed() / 1e6
    # Open once the window has been laid out and painted: its very first paint is not the scan's.
    open_and_run(window, loop, probe, args.root, int(args.warmup * 1000))
    result = close_with_result(window, outcome)
    if result is None:
        return 2
    total = time.perf_counter() - t_start
    files = len(result.images) + len(result.failures)
    print(f"dataset      {result.root}: {files:,} files ({len(result.images):,} decoded), "
          f"{result.workers} worker process(es), scan {result.elapsed:.1f} s, wall {total:.1f} s")
    print(f"probe        QTimer every {args.interval_ms:g} ms in the GUI thread; platform "
          f"{QApplication.platformName()}; budget {BUDGET_MS:.0f} ms")
    for name in ("scan", "leakage", "results"):
        g = gaps[name]
        if not g:
            print(f"{name:12} no ticks")
            continue
        arr = sorted(g)
        p99 = arr[min(len(arr) - 1, int(0.99 * len(arr)))]
        gap, at = worst[name]
        over = sum(1 for x in g if x > BUDGET_MS)
        print(f"{name:12} max stall {gap:6.1f} ms (at {at:5.1f} s)  p99 {p99:5.1f} ms  "
              f"ticks {len(g):6,}  over budget {over}")
    if args.top:
        longest = sorted(every, reverse=True)[: args.top]
        print("longest      " + ", ".join(f"{g:.0f} ms at {t:.2f} s ({p})" for g, t, p in longest))
    scan_max = worst.get("scan", (0.0, 0.0))[0]
    overall = max(w[0] for w in worst.values()) if worst else 0.0
    print(f"RESULT       max event-loop stall during the scan: {scan_max:.1f} ms; "
          f"overall (scan + leakage + showing results): {overall:.1f} ms")
    return 0 if scan_max <= BUDGET_MS else 1


if __name__ == "__main__":  # the guard keeps the scan's spawned worker processes from re-running this
    sys.exit(main())
