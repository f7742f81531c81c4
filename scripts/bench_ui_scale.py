#!/usr/bin/env python3
"""The window at scale: peak memory and the longest event-loop stall per user action.

    python scripts/bench_ui_scale.py ROOT [--settle 0.4] [--interval-ms 10] [--skip-sorts]

Opens ROOT in the real window (offscreen unless a display is set), as a user would: scanning it,
or reading it back from the cache when it was scanned before (the same cache folder as the CLI:
$INSPECTOR_CACHE_DIR or the default). Once the result is on screen it plays a fixed script of
actions on the Images tab: sort by every column both ways, filter by split, class, status, image
issue and path text, select rows (click-like selection, arrow keys, page down), show an image in
the normalization tab and, when the dataset has leakage findings, open a pair.

A QTimer fires every --interval-ms in the GUI thread and records the gap since its previous tick;
a gap much longer than the interval is time the event loop could not run (a frozen window). Each
gap is attributed to the action (or phase of opening) during which it ends; an action lasts until
the image list has applied it (sorting and filtering a large list runs off the GUI thread) plus
--settle seconds. Budget: 100 ms. Also printed: the GUI thread's CPU time per action (wall time on
a loaded machine mostly measures the other processes), the window process's peak RSS after
opening and at the end, and the machine's load average.

Exit status 0 when every action stays within budget, 1 otherwise, 2 when the scan failed.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BUDGET_MS = 100.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def current_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def actions(window) -> list[tuple[str, Callable[[], None]]]:
    """The scripted session: (label, action) pairs, run one after another."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from inspector.ui.image_model import HEADERS
    from inspector.ui.main_window import TAB_IMAGES, TAB_LEAKAGE, TAB_NORMALIZATION, TAB_STATS, TAB_VALIDATION

    lst = window.image_list
    model, view = lst.model, lst.view
    result = window.result
    steps: list[tuple[str, Callable[[], None]]] = [("tab Images", lambda: window.tabs.setCurrentIndex(TAB_IMAGES))]
    for col, title in HEADERS.items():
        for order, arrow in ((Qt.SortOrder.AscendingOrder, "asc"), (Qt.SortOrder.DescendingOrder, "desc")):
            steps.append((f"sort {title} {arrow}",
                          lambda col=col, order=order: view.sortByColumn(col, order)))
    splits = list(result.splits)
    labels = list(result.images.label_names)
    probe_path = result.images.paths[len(result.images) // 2]
    stem = probe_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    steps += [(f"filter split {s}", lambda s=s: lst.set_filter(split=s)) for s in splits[1:3] or splits]
    if labels:
        steps.append((f"filter class {labels[len(labels) // 2]}",
                      lambda: lst.set_filter(label=labels[len(labels) // 2])))
    steps += [
        ("filter status converted", lambda: lst.set_filter(status="converted")),
        ("filter issue any", lambda: lst.set_filter(issue="any")),
        ("filter issue dark", lambda: lst.set_filter(issue="dark")),
        (f"filter text '{stem[-3:]}'", lambda: lst.set_filter(text=stem[-3:])),
        (f"filter text '{stem}'", lambda: lst.set_filter(text=stem)),
        ("type in search box", lambda: QTest.keyClicks(lst.search, stem[:4])),
        ("clear filters", lambda: lst.set_filter()),
        ("select first row", lambda: lst.select_view_row(0)),
        ("select middle row", lambda: lst.select_view_row(model.rowCount() // 2)),
        ("select last row", lambda: lst.select_view_row(model.rowCount() - 1)),
        ("arrow down x10", lambda: [QTest.keyClick(view, Qt.Key.Key_Down) for _ in range(10)]),
        ("page down x3", lambda: [QTest.keyClick(view, Qt.Key.Key_PageDown) for _ in range(3)]),
        ("select by path", lambda: lst.select_path(probe_path)),
        ("sort Path asc, selected", lambda: view.sortByColumn(2, Qt.SortOrder.AscendingOrder)),
        ("show in normalization", lambda: window._show_in_normalization(len(result.images) // 3)),
        ("tab Statistics", lambda: window.tabs.setCurrentIndex(TAB_STATS)),
        ("tab Validation", lambda: window.tabs.setCurrentIndex(TAB_VALIDATION)),
        ("tab Normalization", lambda: window.tabs.setCurrentIndex(TAB_NORMALIZATION)),
        ("tab Leakage", lambda: window.tabs.setCurrentIndex(TAB_LEAKAGE)),
    ]
    if window.findings:
        steps.append(("open a leakage pair", lambda: window.leakage.table.selectRow(0)))
    steps.append(("tab Images again", lambda: window.tabs.setCurrentIndex(TAB_IMAGES)))
    return steps


def tiled(result, copies: int):
    """``copies`` copies of a scan's result as one result, as if a dataset of copies x N images had
    just been scanned: every per-image column repeated, copy j's paths renamed ``name~j.ext`` (the
    first copy keeps the real files, so its rows preview; the others' files do not exist and show
    the read error), the split statistics' counts and histograms multiplied (they stay exact)."""
    import dataclasses

    import numpy as np

    from inspector.core.table import ImageTable
    try:
        from inspector.core.strings import StringColumn
        as_paths = StringColumn.from_strings
    except ImportError:  # the code before paths were a column (comparison runs)
        as_paths = list

    t = result.images
    rows = np.tile(np.arange(len(t)), copies)

    def renamed(path: str, j: int) -> str:
        head, dot, ext = path.rpartition(".")
        return path if j == 0 else (f"{head}~{j}.{ext}" if dot else f"{path}~{j}")

    columns = {f.name: getattr(t, f.name) for f in dataclasses.fields(t)}
    for name, value in columns.items():
        if isinstance(value, np.ndarray):
            columns[name] = value[rows]
    columns["paths"] = as_paths(renamed(p, j) for j in range(copies) for p in t.paths)
    table = ImageTable(**columns)
    stats = {name: dataclasses.replace(
        st, images=st.images * copies, failed=st.failed * copies, pixels=st.pixels * copies,
        histogram=st.histogram * copies, modes={k: v * copies for k, v in st.modes.items()},
        formats={k: v * copies for k, v in st.formats.items()}, flags={k: v * copies for k, v in st.flags.items()})
        for name, st in result.split_stats.items()}
    failures = [dataclasses.replace(f, path=renamed(f.path, j)) for j in range(copies) for f in result.failures]
    classes = {s: {c: n * copies for c, n in per.items()} for s, per in result.classes.items()}
    return dataclasses.replace(result, images=table, split_stats=stats, failures=failures, classes=classes,
                               fingerprint=f"{result.fingerprint}x{copies}")


def main() -> int:
    from bench_window import window_parser

    parser = window_parser(__doc__, "dataset folder (scanned, or read back from the cache)", 0.4,
                           "seconds measured after each action has been applied")
    parser.add_argument("--skip-sorts", action="store_true", help="leave out the 30 sort actions")
    parser.add_argument("--skip-leakage", action="store_true",
                        help="no leakage search (no findings shown, none stored): for a dataset known to have "
                             "no copies, whose search would take longer than the measurement (its memory is "
                             "bench_scale.py's)")
    parser.add_argument("--tile", type=int, default=1, metavar="K",
                        help="scan ROOT first in this process (its cache as usual), then let the window open "
                             "K copies of that result as one dataset (see tiled()); with --skip-leakage")
    args = parser.parse_args()
    if args.tile > 1:
        from inspector.app import scan_job
        from inspector.core.cache import default_cache_dir
        from inspector.core.scan import scan

        t0 = time.perf_counter()
        base = scan(args.root, workers=args.workers, cache_dir=default_cache_dir())
        big = tiled(base, args.tile)
        del base
        print(f"tiled        {len(big.images):,} images: {args.tile} copies of {args.root} "
              f"(scanned in {time.perf_counter() - t0:.0f} s)")
        scan_job.scan = lambda *_a, **_k: big  # what the window's scan job gets back
        args.skip_leakage = True
    if args.skip_leakage:
        from inspector.app import scan_job
        scan_job.run_leakage = lambda *_a, **_k: []
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from bench_window import close_with_result, open_and_run, open_window, probe_timer

    app, window = open_window(args.workers)
    rss_start = peak_rss_mb()

    label = ["idle"]
    worst: dict[str, float] = {}      # longest gap between two ticks (wall ms)
    worst_cpu: dict[str, float] = {}  # most GUI-thread CPU between two ticks (ms): our own work
    cpu: dict[str, float] = {}
    order: list[str] = []
    clock = QElapsedTimer()
    clock.start()
    last = [None]
    last_cpu = [0.0]

    def tick() -> None:
        now, now_cpu = clock.nsecsElapsed() / 1e6, time.thread_time() * 1000
        if last[0] is not None and label[0] != "idle":
            worst[label[0]] = max(worst.get(label[0], 0.0), now - last[0])
            worst_cpu[label[0]] = max(worst_cpu.get(label[0], 0.0), now_cpu - last_cpu[0])
        last[0], last_cpu[0] = now, now_cpu

    def enter(name: str) -> None:
        label[0] = name
        if name not in order:
            order.append(name)
        cpu.setdefault(name, 0.0)
        cpu[name] -= time.thread_time()  # GUI thread CPU from here ...

    def leave(name: str) -> None:
        cpu[name] += time.thread_time()  # ... to here

    probe = probe_timer(args.interval_ms, tick)

    loop = QEventLoop()
    outcome: dict[str, object] = {}

    def switch(name: str) -> None:
        leave(label[0])
        enter(name)

    window.scanStarted.connect(lambda _root: switch("open: scan or cache read"))
    window.scanPhase.connect(lambda _text: label[0] != "open: leakage search" and switch("open: leakage search"))
    window.statisticsShown.connect(lambda _r: outcome.setdefault("shown", time.perf_counter()))

    def finished(result) -> None:
        outcome["result"] = result
        switch("open: result on screen")
        QTimer.singleShot(int(args.settle * 1000), play)

    def failed(message: str) -> None:
        outcome["error"] = message
        loop.quit()

    window.scanFinished.connect(finished)
    window.scanFailed.connect(failed)

    script: list[tuple[str, Callable[[], None]]] = []
    rss_opened = [0.0]

    def play() -> None:
        if not script:
            rss_opened[0] = peak_rss_mb()
            script.extend(a for a in actions(window) if not (args.skip_sorts and a[0].startswith("sort ")))
            script.append(("done", loop.quit))
        name, action = script.pop(0)
        switch(name)
        action()
        wait_applied()

    def wait_applied() -> None:
        busy = getattr(window.image_list.model, "busy", None)
        if callable(busy) and busy():
            QTimer.singleShot(5, wait_applied)
        else:
            QTimer.singleShot(int(args.settle * 1000), play)

    enter("idle")
    t_start = time.perf_counter()
    open_and_run(window, loop, probe, args.root, 500)
    leave(label[0])
    result = close_with_result(window, outcome)
    if result is None:
        return 2
    files = len(result.images) + len(result.failures)
    load = os.getloadavg()
    print(f"dataset      {result.root}: {files:,} files, {result.extra['cache']['used']:,} from the cache, "
          f"wall {time.perf_counter() - t_start:.0f} s, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if args.skip_leakage:
        print("leakage      search skipped (--skip-leakage): no findings shown")
    print(f"probe        QTimer every {args.interval_ms:g} ms in the GUI thread; platform "
          f"{QApplication.platformName()}; budget {BUDGET_MS:.0f} ms; settle {args.settle:g} s")
    print(f"{'action':34} {'max stall ms':>12} {'CPU/gap ms':>10} {'GUI CPU ms':>10}")
    over = []
    for name in order:
        if name in ("idle", "done"):
            continue
        stall = worst.get(name, float("nan"))
        print(f"{name[:34]:34} {stall:12.1f} {worst_cpu.get(name, float('nan')):10.1f} "
              f"{1000 * cpu.get(name, 0.0):10.1f}"
              + ("  over budget" if stall > BUDGET_MS else ""))
        if stall > BUDGET_MS and not name.startswith("open: scan"):
            over.append(name)
    acting = {k: v for k, v in worst.items() if not k.startswith("open") and k not in ("idle", "done")}
    top = max(acting, key=acting.get) if acting else "-"
    print(f"RSS          window process peak {rss_start:,.0f} MB before opening, {rss_opened[0]:,.0f} MB with "
          f"the result on screen, {peak_rss_mb():,.0f} MB at the end (now {current_rss_mb():,.0f} MB)")
    busy = {k: v for k, v in worst_cpu.items() if not k.startswith("open") and k not in ("idle", "done")}
    top_cpu = max(busy, key=busy.get) if busy else "-"
    shown = max((v for k, v in worst.items() if k.startswith("open:") and k != "open: scan or cache read"),
                default=0.0)
    print(f"RESULT       longest stall while acting: {acting.get(top, 0.0):.1f} ms wall ({top}), "
          f"{busy.get(top_cpu, 0.0):.1f} ms of GUI-thread CPU between two ticks ({top_cpu}); "
          f"putting the result on screen: {shown:.1f} ms; peak RSS {peak_rss_mb() / 1024:.2f} GB")
    return 0 if not over else 1


if __name__ == "__main__":  # the guard keeps the scan's spawned worker processes from re-running this
    sys.exit(main())
