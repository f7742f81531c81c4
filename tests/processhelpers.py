"""Waiting on cluster state and checking that processes are gone (shared by the Dask tests)."""
from __future__ import annotations

import time


def wait_until(condition, timeout: float = 20.0) -> bool:
    """Poll a cluster state (not a timing assertion: the timeout only bounds a hung cluster)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1].startswith("Z")  # a zombie is dead, only not reaped
    except FileNotFoundError:
        return True
