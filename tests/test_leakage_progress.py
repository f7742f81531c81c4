"""The leakage phase as a generator: progress a few times a second, cancel by stopping, the same
findings as the simple call; and the CLI's progress line for it."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inspector import cli
from inspector.core import leakage
from inspector.core.leakage import confirmation
from inspector.core.table_from_images import table_from_images


def _crowd(n: int = 240, seed: int = 3) -> list:
    """Tiny look-alike blobs over three splits (a crowd of candidates), plus planted copies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:28, 0:28]
    items = []
    for i in range(n):
        cy, cx, r = rng.uniform(10, 18), rng.uniform(10, 18), rng.uniform(4, 8)
        a = 255.0 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r)) + rng.normal(0, 12, (28, 28))
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        split = ("train", "val", "test")[i % 3]
        items.append((f"{split}/d/{i:04d}.png", split, "d", im))
    return items


def _means(table) -> dict:
    return {s: table.mean[table.rows_in(s)].mean(axis=0).tolist() for s in table.split_names}


def test_generator_reports_each_stage_in_order_and_returns_the_same_findings():
    table = table_from_images(_crowd())
    steps = leakage.iter_find_leakage(table, _means(table))
    seen = []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as stop:
            findings = stop.value
            break
    assert findings == leakage.find_leakage(table, _means(table))
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    stages = list(dict.fromkeys(p.stage for p in seen))
    assert stages == ["exact duplicates", "candidate search", "confirmation", "names and drift"]
    assert seen[-1].eta == 0.0 and all(p.elapsed >= 0 for p in seen)


def test_confirmation_reports_between_blocks_and_stops_when_cancelled(monkeypatch):
    """One progress report per block of confirmed pairs: a consumer that stops iterating (Cancel)
    stops the work at the next block."""
    monkeypatch.setattr(confirmation, "CONFIRM_BLOCK", 4)
    table = table_from_images(_crowd())
    a, b, _ = leakage.near_candidates(table.phash, leakage.NEAR_THRESHOLD, groups=np.asarray(table.split))
    assert len(a) > 40
    events = []
    real = confirmation.row_scores
    monkeypatch.setattr(confirmation, "row_scores", lambda *args, **kw: events.append("block") or real(*args, **kw))
    steps = confirmation.iter_confirm_pairs(table, a, b)
    reports = []
    while events.count("block") < 3:
        reports.append(next(steps))
        events.append("report")
    steps.close()
    assert reports == sorted(reports) and reports[-1] < 1.0
    assert "block, block" not in ", ".join(events)    # a report after every block of pairs
    assert events.count("block") == 3                  # and none after the stop
    full = list(confirmation.iter_confirm_pairs(table, a, b))
    assert events.count("block") > 3 + 5 and len(full) > len(reports) and full[-1] == pytest.approx(1.0)


def test_candidate_search_reports_per_block():
    table = table_from_images(_crowd())
    phash = table.phash
    steps = leakage.candidates.iter_mih_join(phash[:, 0], phash, leakage.NEAR_THRESHOLD, block=64)
    reports = []
    while True:
        try:
            reports.append(next(steps))
        except StopIteration as stop:
            q, m, d = stop.value
            break
    assert len(reports) > leakage.N_CHUNKS and reports == sorted(reports) and reports[-1] == 1.0
    ref = leakage.mih_join(phash[:, 0], phash, leakage.NEAR_THRESHOLD)
    assert set(zip(q.tolist(), m.tolist())) == set(zip(ref[0].tolist(), ref[1].tolist()))


class _Result:
    """What iter_scan_leakage reads of a ScanResult."""

    def __init__(self, table):
        self.images = table
        self.split_stats = {}
        self.classes = {}


def test_cli_prints_a_progress_line_for_the_leakage_check():
    import io

    from inspector.cli_progress import ProgressPrinter

    table = table_from_images(_crowd(60))
    live = io.StringIO()
    findings = cli._check_leakage(_Result(table), ["train"], ProgressPrinter(live, live=True))
    err = live.getvalue()
    assert "leakage check: candidate search" in err and "leakage check: confirmation" in err
    assert "(100%) ETA 0:00" in err and err.endswith("\n")
    assert findings == leakage.scan_leakage(_Result(table), ["train"])
    log = io.StringIO()   # not a terminal: the first line and the last one (100%) at least
    assert cli._check_leakage(_Result(table), ["train"], ProgressPrinter(log, live=False)) == findings
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("leakage check: exact duplicates (0%)") and "(100%)" in lines[-1]
    assert cli._check_leakage(_Result(table), ["train"], None) == findings


def test_window_job_reports_leakage_progress_as_text_and_stops_on_cancel(monkeypatch):
    """The window's scan job (Qt-free): the phase text carries the stage and percentage, and a
    cancel request stops the search at its next block, with no findings."""
    from inspector.app import scan_job

    monkeypatch.setattr(scan_job, "LEAKAGE_PROGRESS_INTERVAL", 0.0)
    monkeypatch.setattr(confirmation, "CONFIRM_BLOCK", 4)
    table = table_from_images(_crowd())
    result = _Result(table)
    result.splits = table.split_names
    texts = []
    findings = scan_job.run_leakage(result, ["train"], lambda: False, texts.append)
    assert findings == leakage.scan_leakage(result, ["train"])
    assert texts[0].startswith(scan_job.LEAKAGE_PHASE) and "exact duplicates, 0%" in texts[0]
    assert any("confirmation" in t for t in texts) and "100%" in texts[-1]
    asked = []
    stopped = scan_job.run_leakage(result, ["train"], lambda: asked.append(1) or len(asked) > 6, texts.append)
    assert stopped is None and len(asked) == 7


def test_phase_shares_follow_the_estimated_work_and_never_go_back():
    from inspector.core.leakage.progress import STAGES, PhaseClock

    clock = PhaseClock({"exact duplicates": 1, "candidate search": 6, "confirmation": 2, "names and drift": 1})
    assert clock.at("exact duplicates", 1.0).fraction == pytest.approx(0.1)
    assert clock.at("candidate search", 0.5).fraction == pytest.approx(0.4)
    assert clock.at("candidate search", 1.0).fraction == pytest.approx(0.7)
    clock.plan("confirmation", 8)          # more pairs than expected: the rest is shared anew
    assert clock.at("confirmation", 0.5).fraction == pytest.approx(0.7 + 0.3 * 8 / 9 / 2)
    fractions = [clock.at("confirmation", f).fraction for f in (0.6, 0.2, 1.0)]
    assert fractions == sorted(fractions)  # a stage reporting less than before does not go back
    assert clock.at("names and drift", 1.0).fraction == 1.0 and list(STAGES)[-1] == "names and drift"


def test_confirmation_progress_follows_the_work_not_the_passes(monkeypatch):
    """Tiny images go through the centred alignments only: the passes they skip take no share of
    the progress, so it moves steadily to the end instead of jumping over empty passes."""
    monkeypatch.setattr(confirmation, "CONFIRM_BLOCK", 4)
    table = table_from_images(_crowd())
    a, b, _ = leakage.near_candidates(table.phash, leakage.NEAR_THRESHOLD, groups=np.asarray(table.split))
    reports = list(confirmation.iter_confirm_pairs(table, a, b, per_image=None))
    assert reports == sorted(reports) and reports[-1] == 1.0
    steps = np.diff(reports)
    assert len(reports) > 20 and steps.max() < 0.1, steps.max()


def test_cancel_during_the_ranking_of_a_crowd_stops_within_one_block(monkeypatch):
    """One block of the candidate search can bring far more pairs than are ranked at a time (a
    crowd of look-alikes): the ranking reports after each of its blocks, so Cancel does not wait
    for the whole search block."""
    from inspector.core.leakage import checks

    monkeypatch.setattr(checks, "LOOK_BLOCK", 16)
    table = table_from_images(_crowd())
    calls = []
    real = checks.LookRanker.__call__
    monkeypatch.setattr(checks.LookRanker, "__call__", lambda self, a, b: calls.append(len(a)) or real(self, a, b))
    steps = leakage.iter_find_leakage(table, _means(table))
    while not calls:
        next(steps)
    steps.close()
    assert calls == [16]
    leakage.find_leakage(table, _means(table))
    assert len(calls) > 10         # the whole search ranks many blocks
