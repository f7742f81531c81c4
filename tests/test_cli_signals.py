"""Hard stops of the headless scan: SIGTERM like Ctrl+C, and no process outlives the scan."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hostile import slow_progressive_jpeg
from imagefactory import make_good_images

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a live process, None once it is gone (a zombie is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text[text.rindex(")") + 2:].split()[:2]
    return None if state in "ZX" else (int(ppid), state)


def children(pid: int) -> dict[int, str]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) and st[0] == pid:
            try:
                out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                pass
    return out


def wait_until(condition, limit: float = 30.0) -> bool:
    """Poll ``condition`` (a hang guard, not a speed measure)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def start_stuck_scan(tmp_path: Path) -> tuple[subprocess.Popen, dict[int, str], Path]:
    """A CLI scan held by a slow decode (no time limit), once its worker processes run."""
    root = tmp_path / "ds"
    make_good_images(root, "train", 3, modes=("RGB",))
    slow_progressive_jpeg(root / "train" / "slow.jpg")
    out = tmp_path / "out.json"
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "scan", str(root), "--json", str(out),
                             "--workers", "2", "--decode-timeout", "0"], cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_until(lambda: len(workers(proc.pid)) == 2), "no worker started"
    return proc, children(proc.pid), out


def workers(pid: int) -> dict[int, str]:
    """The scan's worker processes: forked by the CLI (they keep its command line) or spawned."""
    return {k: c for k, c in children(pid).items() if "spawn_main" in c or "main.py scan" in c}


def test_sigterm_ends_the_scan_like_ctrl_c_with_exit_143(tmp_path):
    proc, kids, out = start_stuck_scan(tmp_path)
    proc.terminate()
    _, err = proc.communicate(timeout=60)  # blocks for good if a worker kept our pipes open
    assert proc.returncode == 143, err
    assert b"terminated" in err and b"Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
    assert wait_until(lambda: not any(_stat(pid) for pid in kids)), kids


DROPPING_CALLER = """
import os, signal, sys, time
import inspector.core.scan as scan_module
from inspector.cli import main

def prefetch_reopen_dropping_the_signal(*args):
    # like a Cython module's import or a fork's at-fork hook: the signal's exception is dropped
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    except KeyboardInterrupt:
        pass

scan_module.prefetch_reopen = prefetch_reopen_dropping_the_signal
sys.exit(main(sys.argv[1:]))
"""


def test_a_sigterm_whose_exception_was_dropped_still_stops_the_scan(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 3, modes=("RGB",))
    slow_progressive_jpeg(root / "train" / "slow.jpg")  # without the stop, decoded for ~40 s
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-c", DROPPING_CALLER, "scan", str(root), "--json", str(out),
                           "--workers", "2", "--decode-timeout", "0", "--no-cache"],
                          cwd=str(REPO), capture_output=True, timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert b"terminated" in proc.stderr and b"Traceback" not in proc.stderr
    assert not out.exists()


def test_workers_and_the_resource_tracker_die_with_a_killed_parent(tmp_path):
    proc, kids, _ = start_stuck_scan(tmp_path)
    assert len(workers(proc.pid)) == 2  # and a resource tracker when a worker was spawned
    proc.kill()
    proc.communicate(timeout=60)
    assert wait_until(lambda: not any(_stat(pid) for pid in kids)), kids


def test_decode_timeout_flag_lists_the_stopped_file(tmp_path):
    import json

    root = tmp_path / "ds"
    make_good_images(root, "train", 3, modes=("RGB",))
    slow_progressive_jpeg(root / "train" / "slow.jpg")
    run = [sys.executable, str(REPO / "main.py"), "scan", str(root), "--json", "-"]
    proc = subprocess.run(run + ["--decode-timeout", "0.5"], cwd=str(REPO), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["path"], "0.5 s time limit" in f["reason"]) for f in doc["failures"]] == [("train/slow.jpg", True)]
    assert doc["splits"]["train"]["images"] == 3
    bad = subprocess.run(run + ["--decode-timeout", "-1"], cwd=str(REPO), capture_output=True, timeout=120)
    assert bad.returncode == 2 and b"--decode-timeout" in bad.stderr
