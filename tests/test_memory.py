"""Freed memory goes back to the operating system after the scan and the leakage search."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from inspector.core.memory import release_free_memory


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc")
def test_freed_heap_blocks_are_returned():
    # Many medium blocks (under glibc's mmap threshold) live in the heap and stay resident when freed.
    blocks = [np.ones(12_500, np.float64) for _ in range(2_000)]  # 2,000 blocks of 100 KB
    del blocks[::2]  # 100 MB of holes between live blocks: the heap top cannot shrink by itself
    held = _rss_kb()
    assert release_free_memory()
    assert _rss_kb() < held - 60_000  # most of the 100 MB freed went back
    del blocks


def _huge_pages_asked() -> bool:
    """Whether numpy asks for huge pages now (its setter returns the setting it replaces)."""
    from numpy._core.multiarray import _set_madvise_hugepage
    now = _set_madvise_hugepage(True)
    _set_madvise_hugepage(now)
    return now


def test_cli_stops_numpy_asking_for_huge_pages(monkeypatch, tmp_path):
    from numpy._core.multiarray import _set_madvise_hugepage
    from inspector import cli
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = _set_madvise_hugepage(True)
    try:
        assert _huge_pages_asked()
        assert cli.main(["demo", str(tmp_path / "demo")]) == 0
        assert not _huge_pages_asked()
        # a user's own setting stands
        _set_madvise_hugepage(True)
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
        assert cli.main(["demo", str(tmp_path / "demo2")]) == 0
        assert _huge_pages_asked()
    finally:
        _set_madvise_hugepage(before)


def _photo_faults(_items=(), mark=None) -> int:
    """Page faults over 80 decoded photos of changing size and their float grey copies, as a scan
    worker makes them (Pillow keeping 8 freed blocks, as scan_chunk._reused_image_memory has it)."""
    import resource
    from PIL import Image
    Image.core.set_blocks_max(8)

    def photos():
        for size in ((400, 300), (380, 330), (420, 290), (350, 360)):
            Image.new("RGB", size).convert("F")
    photos()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        photos()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


_IN_A_PROCESS = """
import sys
sys.path[:0] = sys.argv[2:]
from inspector.core.memory import keep_freed_memory
from test_memory import _photo_faults
if sys.argv[1] == "keep":
    assert keep_freed_memory()
print(_photo_faults())
"""


def _faults_in_a_process(how: str) -> int:
    import os
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", _IN_A_PROCESS, how, here, os.path.dirname(here)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_worker_keeps_freed_image_memory_for_the_next_image():
    default, kept = _faults_in_a_process("default"), _faults_in_a_process("keep")
    assert default >= 80 and kept < default / 4  # the setting is the whole process's: one each
    from inspector.core.pool import LocalPool
    pool = LocalPool(1, time_limit=None)  # and the scan's worker processes have it
    try:
        ticket = pool.submit(_photo_faults, [])
        done: dict = {}
        while ticket not in done:
            done.update(pool.wait(5.0))
    finally:
        pool.shutdown()
    assert done[ticket] < default / 4
