"""One BLAS thread for the scan's and the leakage phase's matrix products.

Their products are small (a thumbnail's DCT, batches of 16x16 windows), where OpenBLAS's own
threads gain nothing; on a busy machine they spin waiting for each other instead. Confirming
70,000 MNIST digits' candidate pairs took 16.3 CPU s with numpy's default two threads against
2.2 s with one, at load 13 on two cores. The limit is a context (threadpoolctl), so training code
that imports the core keeps its own BLAS threads outside our calls.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits


def one_blas_thread() -> threadpool_limits:
    """BLAS limited to one thread from now on; as a context, given back when the block ends."""
    return threadpool_limits(limits=1, user_api="blas")


def limit_blas_for_good() -> None:
    """For our own worker processes: one BLAS thread for the rest of the process."""
    one_blas_thread()
