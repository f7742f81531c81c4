"""One BLAS thread for the scan's and the leakage phase's matrix products.

Their products are small (a thumbnail's DCT, batches of 16x16 windows), where OpenBLAS's own
threads gain nothing; on a busy machine they spin waiting for each other instead. Confirming
70,000 MNIST digits' candidate pairs took 16.3 CPU s with numpy's default two threads against
2.2 s with one, at load 13 on two cores. The limit is a context (threadpoolctl), so training code
that imports the core keeps its own BLAS threads outside our calls.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - a declared dependency; without it BLAS keeps its threads
    threadpool_limits = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread inside the block, restored after it."""
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def limit_blas_for_good() -> None:
    """For our own worker processes: one BLAS thread for the rest of the process."""
    if threadpool_limits is not None:
        threadpool_limits(limits=1, user_api="blas")
