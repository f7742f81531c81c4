"""The worker pool: a per-file time limit, cancels that do not wait, lost chunks recovered."""
from __future__ import annotations

import signal
import time

import pytest

from hostile import slow_progressive_jpeg
from imagefactory import make_good_images
from inspector.core import dispatch, fastdecode, pool
from inspector.core.scan import _ChunkResult, _scan_chunk, scan
from inspector.core.sources import complete, open_source


def test_a_file_past_the_time_limit_is_a_listed_failure_and_its_worker_replaced(tmp_path):
    make_good_images(tmp_path, "train", 6, modes=("RGB",))
    slow = [slow_progressive_jpeg(tmp_path / "train" / f"slow{i}.jpg") for i in range(2)]
    seen: set = set()

    def watch(_p) -> None:
        seen.update(w.process for w in (pool.current_pool() or pool.LocalPool(0))._workers)

    result = scan(str(tmp_path), workers=2, decode_timeout=1, on_progress=watch)
    failed = {f.path: f.reason for f in result.failures}
    assert set(failed) == {f"train/{p.name}" for p in slow}
    assert all("time limit" in reason for reason in failed.values())
    assert result.split_stats["train"].images == 6 and result.split_stats["train"].failed == 2
    killed = [p for p in seen if p.exitcode == -signal.SIGKILL]
    assert len(killed) == 2  # the two stuck workers; replacements finished the other files


def test_cancel_kills_the_decode_in_flight_instead_of_waiting(tmp_path):
    make_good_images(tmp_path, "train", 2, modes=("RGB",))
    slow_progressive_jpeg(tmp_path / "train" / "slow.jpg")
    busy: list = []

    def decoding_the_slow_file() -> bool:
        p = pool.current_pool() or pool.LocalPool(0)
        busy[:] = [w.process for w in p._workers if w.running_item()[0] is not None]
        return bool(busy)

    # No time limit: only the cancel can end this decode early.
    assert scan(str(tmp_path), workers=1, decode_timeout=None, should_cancel=decoding_the_slow_file) is None
    assert busy and all(p.exitcode == -signal.SIGKILL for p in busy)
    # A fresh worker takes over; 3 s: the good files decode in milliseconds, yet a fresh worker's
    # first file waits for its imports, which on a busy machine took over the 0.5 s once used here.
    again = scan(str(tmp_path), workers=1, decode_timeout=3)
    assert [f.path for f in again.failures] == ["train/slow.jpg"]


class _Lossy:
    """An executor that runs chunks in this process and loses the ones it is told to."""

    capacity = 3

    def __init__(self, lose) -> None:
        self.lose, self.ended, self.next, self.cancelled = lose, [], 0, False
        self.lost_before: set = set()

    def submit(self, fn, items, *args):
        ticket, self.next = self.next, self.next + 1
        key = tuple(items)
        lost = None if key in self.lost_before else self.lose(items)  # each chunk lost once at most
        self.lost_before.add(key)
        self.ended.append((ticket, lost if lost else fn(items, *args)))
        return ticket

    def wait(self, timeout):
        ended, self.ended = self.ended[::-1], []  # out of order on purpose
        return ended

    def cancel(self):
        self.cancelled = True


def _measure(items):
    return [i for i, _ in items]


def _failed(items, reason):
    return [(i, reason) for i, _ in items]


@pytest.mark.parametrize("lost, failures", [
    (lambda items: pool.ChunkLost(5, "too slow") if any(i == 5 for i, _ in items) else None,
     [(5, "too slow")]),                                                  # culprit known
    (lambda items: pool.ChunkLost(None, "stopped", innocent=True)
     if items[0][0] == 4 and len(items) == 4 else None, []),              # never ran: as it was
    (lambda items: pool.ChunkLost(None, "crashed") if any(i == 6 for i, _ in items) else None,
     [(6, "crashed")]),                                                   # unknown: one at a time
])
def test_lost_chunks_are_recovered_and_merged_in_order(lost, failures):
    items = [(i, f"file{i}") for i in range(12)]
    chunks = iter([items[k:k + 4] for k in range(0, 12, 4)])
    pieces = [p for p in dispatch.run_chunks(_Lossy(lost), _measure, (), chunks, _failed, 0.0) if p]
    got = [x for result, _ in pieces for x in result]
    assert [x for x in got if isinstance(x, tuple)] == failures
    assert sorted(x for x in got if not isinstance(x, tuple)) == [i for i in range(12) if (i, "too slow") not in failures
                                                                  and (i, "crashed") not in failures]
    firsts = [piece_items[0][0] for _, piece_items in pieces]
    assert firsts == sorted(firsts)  # chunk order, whatever order they ended in


def test_closing_the_run_cancels_work_in_flight():
    class Stuck(_Lossy):
        def wait(self, timeout):
            return []  # nothing ever ends: the run only beats

    stuck = Stuck(lambda items: None)
    run = dispatch.run_chunks(stuck, _measure, (), iter([[(0, "a")], [(1, "b")]]), _failed, 0.0)
    assert next(run) is None and not stuck.cancelled
    run.close()
    assert stuck.cancelled


def test_a_second_scan_while_the_first_holds_the_pool_gets_its_own(tmp_path):
    make_good_images(tmp_path, "train", 6, modes=("RGB",))
    inner = []

    def nested(_p) -> None:
        if not inner:  # the window opening a new folder while the last scan winds down
            inner.append(scan(str(tmp_path), workers=1))

    outer = scan(str(tmp_path), workers=1, on_progress=nested)
    assert inner[0].images.paths == outer.images.paths
    assert (inner[0].images.content_hash == outer.images.content_hash).all()


def test_a_few_files_are_spread_over_every_worker_not_decoded_in_process(tmp_path):
    """However few the files (20 photos of 81 MP), each is a chunk of its own sent to the worker
    processes: two workers decode them, none is decoded in the caller's process."""
    make_good_images(tmp_path, "train", 4, modes=("RGB",))
    executor = pool.LocalPool(2)
    try:
        result = scan(str(tmp_path), workers=2, executor=executor)
        assert result.workers == 2 and result.split_stats["train"].images == 4
        assert len(executor.pids) == 2   # both processes were started and given a chunk
    finally:
        executor.shutdown()


STALL = 2.5  # seconds the chunk works on after its last file: longer than the time limit below


def _scan_then_stall(items, storage_options, keep_records, mark):
    """A chunk whose work after its last file (what the batched hashes and properties are) takes
    longer than the per-file time limit."""
    result = _scan_chunk(items, storage_options, keep_records, mark=mark)
    time.sleep(STALL)
    return result


def test_work_after_the_last_file_is_not_charged_to_it_as_a_decode_timeout(tmp_path):
    make_good_images(tmp_path, "train", 3, modes=("RGB",))
    items = list(enumerate(complete(open_source(str(tmp_path))).files))
    executor = pool.LocalPool(1, time_limit=1.0)
    try:
        ticket = executor.submit(_scan_then_stall, items, None, False)
        ended: list = []
        deadline = time.monotonic() + 120  # bounds a hung worker only
        while not ended and time.monotonic() < deadline:
            ended = [outcome for t, outcome in executor.wait(1.0) if t == ticket]
        assert ended, "the chunk never ended"
        outcome = ended[0]
        assert isinstance(outcome, _ChunkResult), outcome  # not ChunkLost(last file, "time limit")
        assert sorted(outcome.index.tolist()) == [0, 1, 2] and not outcome.failures
    finally:
        executor.shutdown()


def test_the_chunk_marks_no_item_once_its_files_are_measured(tmp_path):
    make_good_images(tmp_path, "train", 3, modes=("RGB",))
    items = list(enumerate(complete(open_source(str(tmp_path))).files))
    marks: list[int] = []
    _scan_chunk(items, None, False, mark=marks.append)
    assert marks == [0, 1, 2, pool.NO_ITEM]


def test_the_decoders_first_use_check_is_not_charged_to_the_first_file(tmp_path):
    make_good_images(tmp_path, "train", 2, modes=("RGB",))
    items = list(enumerate(complete(open_source(str(tmp_path))).files))
    checked_at_mark: list[bool] = []
    fastdecode.available.cache_clear()   # as in a fresh worker
    _scan_chunk(items, None, False, mark=lambda i: checked_at_mark.append(fastdecode.available.cache_info().currsize == 1))
    assert checked_at_mark[0]   # done before the first file's time limit starts (0.05-0.2 s)


FORKED = """
import json, sys
from inspector import cli
from inspector.core import pool
root, out = sys.argv[1:3]
assert cli.main(["scan", root, "--json", out, "--quiet", "--workers", "2", "--no-cache"]) == 0
print(json.dumps(sorted(type(w.process).__name__ for w in pool.current_pool()._workers)))
"""


def test_the_cli_forks_its_workers_before_listing_and_they_decode_as_spawned_ones(tmp_path):
    """A CLI process (no other thread, no Qt) forks its two workers before it lists the folder:
    they start with its imports instead of a new interpreter's; the export is the one of a scan
    whose workers were spawned (this process, which may hold Qt)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    make_good_images(tmp_path / "ds", "train", 12, modes=("RGB", "L"))
    make_good_images(tmp_path / "ds", "val", 6, modes=("RGB",))
    proc = subprocess.run([sys.executable, "-c", FORKED, str(tmp_path / "ds"), str(tmp_path / "forked.json")],
                          cwd=str(Path(__file__).resolve().parents[1]), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["ForkProcess", "ForkProcess"]
    executor = pool.LocalPool(2)
    try:
        spawned = scan(str(tmp_path / "ds"), workers=2, executor=executor)
        assert {type(w.process).__name__ for w in executor._workers} == {"SpawnProcess"}
    finally:
        executor.shutdown()
    forked = json.loads((tmp_path / "forked.json").read_text())
    assert forked["splits"] == json.loads(_export(spawned))["splits"]


def _export(result) -> str:
    from inspector.core.export import build_document, default_source
    return __import__("json").dumps(build_document(result, [], source_splits=default_source(result)))


def test_workers_are_not_forked_beside_another_thread():
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not pool.forking_is_safe()
        assert pool.prestart_workers(1) == 0
    finally:
        release.set()
        other.join()
