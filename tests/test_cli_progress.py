"""The CLI's progress output where stderr is a log file or a pipe (batch jobs, CI)."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from imagefactory import make_good_images
from inspector.cli_progress import ProgressPrinter
from inspector.core.scan import ScanProgress

REPO = Path(__file__).resolve().parents[1]


def _progress(done: int, total: int = 10) -> ScanProgress:
    return ScanProgress(done, total, 0, 1.0, None, {"train": (done, total)}, None)


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_lines_are_timed_and_the_last_is_always_printed():
    out, clock = io.StringIO(), _Clock()
    printer = ProgressPrinter(out, live=False, interval=5.0, clock_fn=clock)
    for done, t in [(0, 0.0), (2, 1.0), (4, 4.9), (6, 5.0), (8, 6.0), (10, 6.5)]:
        clock.t = t
        printer(_progress(done))
    printer.finish()
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["0/10", "6/10", "10/10"]
    assert "\r" not in out.getvalue()


def test_live_line_is_rewritten_and_ended_once():
    out = io.StringIO()
    printer = ProgressPrinter(out, live=True)
    printer(_progress(3))
    printer(_progress(10))
    printer.finish()
    printer.finish()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1


def test_scan_with_stderr_in_a_pipe_prints_progress_lines(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 60, modes=("RGB",), seed=3)
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(root), "--workers", "1",
                           "--progress-every", "0.0001"], cwd=str(REPO), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "ETA" in line]
    assert len(lines) >= 2 and "\r" not in proc.stderr
    scan_lines = [line for line in lines if not line.startswith("leakage check: ")]
    assert scan_lines[0].startswith("0/60 (0%) [train 0/60]") and scan_lines[-1].startswith("60/60 (100%)")
    assert lines[-1] == "leakage check: names and drift (100%) ETA 0:00"   # then the leakage phase


def test_quiet_prints_no_progress_and_bad_interval_is_a_usage_error(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 4, modes=("RGB",), seed=3)
    quiet = subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(root), "--quiet"],
                           cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "ETA" not in quiet.stderr
    bad = subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(root), "--progress-every", "0"],
                         cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--progress-every" in bad.stderr
