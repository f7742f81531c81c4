"""The window in its terminal: Ctrl+C and a plain kill close it cleanly, mid-scan."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hostile import slow_progressive_jpeg
from imagefactory import make_good_images
from test_cli_signals import _stat, children, wait_until

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_closes_the_window_during_a_stuck_decode(tmp_path, sig):
    root = tmp_path / "ds"
    make_good_images(root, "train", 3, modes=("RGB",))
    slow_progressive_jpeg(root / "train" / "slow.jpg")  # longer than any wait below
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), str(root)], cwd=str(REPO), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: any("spawn_main" in c for c in children(proc.pid).values()), 60)
        kids = children(proc.pid)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err, err
    assert wait_until(lambda: not any(_stat(pid) for pid in kids)), kids
