"""One BLAS thread for the scan's and the leakage phase's matrix products.

Their products are small (a thumbnail's DCT, batches of 16x16 windows), where OpenBLAS's own
threads gain nothing; on a busy machine they spin waiting for each other instead. Confirming
70,000 MNIST digits' candidate pairs took 16.3 CPU s with numpy's default two threads against
2.2 s with one, at load 13 on two cores. The limit is a context (threadpoolctl), so training code
that imports the core keeps its own BLAS threads outside our calls.

The program's own process (the command line and the window) goes further: it asks OpenBLAS for
one thread before numpy is first imported (``one_blas_thread_from_start``), so OpenBLAS starts
no thread at all. A thread it starts spins for about 0.1 s of CPU before it first sleeps (its
``blas_thread_server`` waits for work that way), once in the process at numpy's import and once
in every process forked from it (the scan's workers, the prefetch children of cache/prefetch.py):
0.4-0.5 CPU s of a reopen or a 1% rescan of 100,000 tiny PNGs, most of it while the listing and
the prefetch children need both cores (perf: ``blas_thread_server`` 6% of a rescan's samples).
threadpoolctl is imported only when a limit is set (not by a reopen that runs no BLAS at all).
"""
from __future__ import annotations

import os
import sys
from typing import Any

OPENBLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"


def one_blas_thread_from_start() -> bool:
    """In a process that has not imported numpy yet (the program's start): OpenBLAS on one thread
    for the whole process and the processes it starts, unless the user set a number already.
    Does nothing once numpy is imported (code that imports the core keeps its threads); True when
    the setting is in place for numpy's import."""
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault(OPENBLAS_THREADS_ENV, "1")
    return True


def one_blas_thread() -> Any:
    """BLAS limited to one thread from now on; as a context, given back when the block ends."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def limit_blas_for_good() -> None:
    """For our own worker processes: one BLAS thread for the rest of the process."""
    one_blas_thread()
