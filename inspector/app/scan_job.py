"""The window's scan job without Qt: list the files, scan them, then search for leakage.

``run_scan_job`` is what the window's scan worker thread runs; it reports through plain
callbacks (the worker turns them into queued Qt signals) and stops when ``should_cancel`` says so.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core.cache.memo import cached_findings
from ..core.export import default_source
from ..core.formatting import clock
from ..core.layout import DatasetLayout, LayoutError
from ..core.leakage import (Finding, LeakageProgress, iter_scan_leakage, sort_findings,
                            stats_source_findings)
from ..core.scan import ScanProgress, ScanResult, scan
from ..core.sources import open_source, prefetch
from . import amplification
from .cluster_link import ClusterError, ClusterLink
from .normalization import normalization_numbers

# Fewer progress records than the core produces would hide nothing; more would only cost the GUI.
MIN_PROGRESS_INTERVAL = 0.08  # seconds between forwarded progress records without live statistics
BACKGROUND_NICE = 10
LEAKAGE_PHASE = "Checking for duplicates and leakage between splits…"
LEAKAGE_PROGRESS_INTERVAL = 0.25  # seconds between status updates during the leakage search


class UserFacingError(Exception):
    """An error whose message is meant for the user as is (no traceback): a bad folder, say."""


@dataclass
class ScanCallbacks:
    """Where the job reports; each is called in the job's thread."""

    layout: Callable[[DatasetLayout], None]
    progress: Callable[[ScanProgress], None]
    scanned: Callable[[ScanResult], None]        # the statistics are final
    phase: Callable[[str], None]                 # the leakage search starts
    finished: Callable[[ScanResult, list | None], None]
    leakage_failed: Callable[[str], None]        # then ``finished`` gets findings=None


def run_scan_job(root: str, *, workers: int | None, source_splits: Sequence[str] | None,
                 should_cancel: Callable[[], bool], report: ScanCallbacks,
                 cluster_link: ClusterLink | None = None, cache_dir: str | None = None) -> None:
    """Open ROOT (a folder or any other dataset source), scan it (on ``cluster_link``'s Dask
    cluster when it has an address; reusing the records stored under ``cache_dir`` when given),
    then search for leakage. Raises ``UserFacingError`` for a
    source that cannot be scanned or a cluster that cannot be reached; a failed leakage search
    keeps the statistics (``leakage_failed``)."""
    lower_thread_priority()
    try:
        layout = open_source(root)
        prefetch(layout, 1)  # a manifest is read as the scan goes: enough to know it lists images
    except LayoutError as exc:
        raise UserFacingError(str(exc)) from None
    if not layout.files:
        raise UserFacingError(no_images_message(layout))
    report.layout(layout)
    try:
        cluster = cluster_link.connect() if cluster_link is not None else None
    except ClusterError as exc:
        raise UserFacingError(str(exc)) from None
    if should_cancel():
        return
    result = scan(layout, workers=workers, on_progress=_throttled(report.progress),
                  should_cancel=should_cancel, cluster=cluster, cache_dir=cache_dir)  # cancel: at the next progress record
    if result is None or should_cancel():
        return
    _prepare_display(result, source_splits)
    report.scanned(result)
    report.phase(LEAKAGE_PHASE)
    findings: list | None
    try:
        findings = run_leakage(result, source_splits, should_cancel, report.phase, cache_dir=cache_dir)
        if findings is None:      # cancelled during the leakage search
            return
    except Exception as exc:  # keep the statistics: a failed leakage search must not lose the scan
        traceback.print_exc(file=sys.stderr)
        report.leakage_failed(f"{type(exc).__name__}: {exc}")
        findings = None
    if not should_cancel():
        report.finished(result, findings)


def _prepare_display(result: ScanResult, source_splits: Sequence[str] | None) -> None:
    """Work out here, not on the window's GUI thread, the per-image amplification the image list
    and the normalization summary show for the source the window will use (at a million images
    about 0.2 s of CPU that putting the result on screen would otherwise freeze for)."""
    source = [s for s in (source_splits or []) if s in result.splits] or default_source(result)
    amplification.prepare(result.images, normalization_numbers(result, source).std)


def _throttled(forward: Callable[[ScanProgress], None]) -> Callable[[ScanProgress], None]:
    """Live statistics always pass (they come every 0.5 s), plain counts at most every
    MIN_PROGRESS_INTERVAL, and the final record always."""
    last_emit = 0.0

    def on_progress(p: ScanProgress) -> None:
        nonlocal last_emit
        now = time.perf_counter()
        if p.partial is not None or now - last_emit >= MIN_PROGRESS_INTERVAL or p.done >= p.total:
            last_emit = now
            forward(p)

    return on_progress


def lower_thread_priority(increment: int = BACKGROUND_NICE) -> bool:
    """Run this worker thread, and the decoding processes it spawns, below the GUI's priority.

    On Linux the nice value belongs to the calling thread and is inherited by the processes it
    starts, so the GUI thread keeps full priority while the scan saturates every core: on a
    2-core machine the window then stays responsive instead of getting a third of a core.
    Elsewhere (macOS) it lowers the whole process, which costs nothing relative to the GUI.
    """
    if not hasattr(os, "nice") or not sys.platform.startswith("linux"):
        return False
    try:
        os.nice(increment)
        return True
    except OSError:
        return False


def no_images_message(layout: DatasetLayout) -> str:
    """The message for a folder with nothing to scan: what was found instead, and what we expect."""
    where = layout.uri or layout.root
    if layout.source_kind != "folder":
        found = len(layout.skipped) + len(layout.broken)
        examples = "; ".join(f"{s.path}: {s.reason}" for s in (layout.skipped + layout.broken)[:3])
        return (f"No images were found in the {layout.source_kind} {where}"
                + (f" ({found} entr{'y' if found == 1 else 'ies'} not usable: {examples})." if found else "."))
    if not layout.skipped and not layout.broken:
        return (f"The folder {where} is empty: no image files were found. Expected train/, val/ and "
                "test/ folders (or a folder of images).")
    found = len(layout.skipped) + len(layout.broken)
    examples = ", ".join(s.path for s in (layout.skipped + layout.broken)[:3])
    return (f"No image files were found in {where}: {found} other entr{'y' if found == 1 else 'ies'} "
            f"skipped ({examples}{', …' if found > 3 else ''}). Images are .jpg .png .bmp .gif "
            ".tif .webp files in train/, val/ and test/ folders.")


def run_leakage(result: ScanResult, source_splits: Sequence[str] | None,
                should_cancel: Callable[[], bool] = lambda: False,
                phase: Callable[[str], None] | None = None, *,
                cache_dir: str | None = None) -> list[Finding] | None:
    """scan_leakage with the chosen source splits (the default source when none applies); its
    progress goes to ``phase`` as text, and ``should_cancel`` stops it between two blocks of work
    (None is returned then). With ``cache_dir``, the findings stored with the dataset's records
    are reused while nothing they follow from has changed (a cancelled search is not stored)."""
    source = [s for s in (source_splits or []) if s in result.splits] or default_source(result)
    if cache_dir:
        return cached_findings(cache_dir, result, source,
                               lambda: _search_leakage(result, source, should_cancel, phase))
    return _search_leakage(result, source, should_cancel, phase)


def _search_leakage(result: ScanResult, source: list[str], should_cancel: Callable[[], bool],
                    phase: Callable[[str], None] | None) -> list[Finding] | None:
    steps = iter_scan_leakage(result, source)
    last = 0.0
    while True:
        if should_cancel():
            steps.close()
            return None
        try:
            p = next(steps)
        except StopIteration as stop:
            return stop.value
        now = time.perf_counter()
        if phase is not None and now - last >= LEAKAGE_PROGRESS_INTERVAL:
            last = now
            phase(leakage_phase_text(p))


def leakage_phase_text(p: LeakageProgress) -> str:
    """The status line during the leakage search: stage, percentage and time left."""
    return f"{LEAKAGE_PHASE} {p.stage}, {100 * p.fraction:.0f}% (ETA {clock(p.eta)})"


def with_stats_source(findings: Sequence[Finding], source_splits: Sequence[str],
                      dataset_splits: Sequence[str] | None = None) -> list[Finding]:
    """The findings ``find_leakage(..., source_splits=source_splits)`` returns, derived from the
    findings of another source choice: only the stats_source finding depends on the source, so a
    change of source is instant instead of a new duplicate search (tens of seconds on 20k images)."""
    kept = [f for f in findings if f.kind != "stats_source"]
    return list(sort_findings(kept + stats_source_findings(list(source_splits), dataset_splits)))
