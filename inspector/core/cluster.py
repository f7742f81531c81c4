"""The scan's chunks on a Dask distributed cluster (DESIGN section 9).

``--dask tcp://host:8786`` connects to a running scheduler; ``--dask local:N`` starts a local
cluster of N single-threaded worker processes. The chunks are the same as the local process
pool's: a task carries item descriptions (paths or fsspec locators, never pixels), the worker
reads and measures the items itself, and only the chunk's records come back, merged in chunk
order by the same collector as local chunks, so the result equals the local scan's.

Faults: Dask reruns the tasks of a worker that dies (its finished results are recomputed from
the task, which is cheap to resend). A chunk that keeps killing workers (a decoder crash on
one file) is rerun one item per task, so only the culprit becomes a listed failure, as in the
local pool. Closing the scan generator cancels every task not merged yet.

dask[distributed] is an optional extra: importing this module works without it, and
``ClusterError`` says what to install when the cluster is asked for.
"""
from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field

CONNECT_TIMEOUT = 5.0       # seconds to reach a scheduler and see a worker: a usage error after
POLL_INTERVAL = 0.25        # seconds between progress records while chunks are in flight
IN_FLIGHT_PER_THREAD = 3    # chunks submitted ahead per worker thread: bounded memory, no idle workers
INSTALL_HINT = "pip install 'dataset-inspector[cluster]'"
LOCAL_PREFIX = "local:"
# On one machine a worker that dies is almost always a decoder crash, not a lost machine: rerun
# a task once, then split it per item (Dask's default of 3 costs many worker restarts per file).
LOCAL_ALLOWED_FAILURES = 1
# One task per worker thread at a time (Dask's default sends 1.1x, i.e. two to a one-thread
# worker): a worker that dies then takes only the task that killed it, so an innocent chunk is
# never counted against its allowed failures and crash isolation blames only the culprit.
LOCAL_SATURATION = 1.0
LOCAL_LOST_WORKER_TIMEOUT = "1 day"


class ClusterError(Exception):
    """The cluster cannot be used (missing packages, bad address, unreachable scheduler)."""


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(f"--dask needs the optional cluster packages (dask[distributed]); "
                           f"install them with {INSTALL_HINT}") from exc
    return distributed


@dataclass(frozen=True)
class ClusterSpec:
    """Where the scan runs: a scheduler address, or a local cluster of ``local_workers`` processes."""

    address: str | None = None
    local_workers: int | None = None

    @classmethod
    def parse(cls, text: str) -> "ClusterSpec":
        text = text.strip()
        if text.lower().startswith(LOCAL_PREFIX):
            count = text[len(LOCAL_PREFIX):]
            if not count.isdigit() or int(count) < 1:
                raise ClusterError(f"--dask {text}: local:N needs a worker count of 1 or more, e.g. local:4")
            return cls(local_workers=int(count))
        if not text:
            raise ClusterError("--dask needs a scheduler address (tcp://host:8786) or local:N")
        return cls(address=text if "://" in text else f"tcp://{text}")

    def describe(self) -> str:
        return f"a local cluster of {self.local_workers} worker(s)" if self.local_workers else str(self.address)


# ----------------------------------------------------------------------------- worker side

def _worker_ready() -> str:
    """Run on every worker before the scan: it must import this package (same version)."""
    from .. import __version__
    from . import scan  # noqa: F401  (the chunk code and its dependencies import)
    return __version__


def _maybe_die_once(items) -> None:
    """Fault injection for the lost-worker test: the first worker to run a chunk holding the
    named item kills its own process (SIGKILL, like the OOM killer), once per marker file."""
    spec = os.environ.get("INSPECTOR_TEST_KILL_WORKER_ONCE")  # "MARKER_PATH|ITEM_SUBSTRING"
    if not spec:
        return
    marker, needle = spec.split("|", 1)
    if any(needle in f.path for _, f in items):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def run_chunk_on_worker(items, storage_options: dict | None = None, keep_records: bool = True):
    """One task: read and measure a chunk of items on a Dask worker (storage_options reach the
    worker's fsspec the same as the parent's); returns (worker address, results). The cache's
    encoded records are made only when ``keep_records`` (a scan with a cache)."""
    from distributed import get_worker

    from .scan import _scan_chunk
    _maybe_die_once(items)
    return get_worker().address, _scan_chunk(items, storage_options, keep_records)


# ----------------------------------------------------------------------------- client side

@dataclass
class _Slot:
    """One chunk of the scan and, once its tasks are back, its result parts."""

    parts: list = field(default_factory=list)   # [(items, worker, _ChunkResult)]
    waiting: int = 0                            # tasks of this chunk still out


class DaskCluster:
    """A client connection (and the local cluster it started, if any) used by one or more scans."""

    def __init__(self, client, spec: ClusterSpec, local_cluster=None) -> None:
        self.client = client
        self.spec = spec
        self._local = local_cluster

    @classmethod
    def connect(cls, spec: ClusterSpec | str, timeout: float | None = None) -> "DaskCluster":
        """Connect (or start a local cluster) and check the workers can run the scan, or raise
        ``ClusterError`` before any work is sent."""
        spec = ClusterSpec.parse(spec) if isinstance(spec, str) else spec
        distributed = _distributed()
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        local = None
        try:
            if spec.local_workers:
                import dask
                # A local cluster retires a worker that is missing this long, for good; a worker
                # restarting after a decoder crash on a busy machine can take longer than the 15 s
                # default. Read when a worker goes, so it is set for the process, not this block.
                dask.config.set({"distributed.deploy.lost-worker-timeout": LOCAL_LOST_WORKER_TIMEOUT})
                with dask.config.set({"distributed.scheduler.worker-saturation": LOCAL_SATURATION}):
                    # On 127.0.0.1 only; no dashboard, and its HTTP endpoint on a free port.
                    local = distributed.LocalCluster(
                        n_workers=spec.local_workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                        scheduler_kwargs={"allowed_failures": LOCAL_ALLOWED_FAILURES,
                                          "dashboard": False, "dashboard_address": "127.0.0.1:0"})
                client = distributed.Client(local, timeout=timeout)
            else:
                client = distributed.Client(spec.address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            if local is not None:
                local.close()
            raise ClusterError(f"cannot reach the Dask scheduler at {spec.describe()}: {exc}") from exc
        cluster = cls(client, spec, local)
        try:
            cluster._check_workers(timeout)
        except ClusterError:
            cluster.close()
            raise
        return cluster

    def _check_workers(self, timeout: float) -> None:
        from .. import __version__
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as exc:
            raise ClusterError(f"the Dask scheduler at {self.spec.describe()} has no workers "
                               f"(waited {timeout:g} s)") from exc
        try:
            versions = self.client.run(_worker_ready)
        except Exception as exc:  # the workers cannot unpickle or import our code
            raise ClusterError(f"the Dask workers cannot run the scan ({type(exc).__name__}: {exc}); "
                               f"install dataset-inspector on every worker: {INSTALL_HINT}") from exc
        other = sorted({v for v in versions.values() if v != __version__})
        if other:
            raise ClusterError(f"the Dask workers run dataset-inspector {', '.join(other)}, "
                               f"this program is {__version__}: install the same version everywhere")

    def threads(self) -> int:
        """Worker threads in the cluster now (workers may join or leave during a scan)."""
        return max(1, sum(self.client.nthreads().values()))

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def close(self) -> None:
        self.client.close()
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> "DaskCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------- the scan's loop

    def run_chunks(self, chunks: Iterable[list], storage_options: dict | None, collector,
                   progress: Callable, keep_records: bool = True) -> Generator:
        """Submit chunks, merge their results in chunk order into ``collector``, yield progress.

        ``progress(current)`` is the scan's throttled progress factory (None between records).
        Closing this generator cancels every task not merged yet.
        """
        distributed = _distributed()
        chunk_iter = iter(chunks)
        slots: dict[int, _Slot] = {}
        owner: dict = {}          # future -> (chunk number, items)
        submitted = merged = 0
        window = IN_FLIGHT_PER_THREAD * self.threads()
        current = None

        def submit(n: int, items: list) -> None:
            fut = self.client.submit(run_chunk_on_worker, items, storage_options, keep_records, pure=False)
            owner[fut] = (n, items)
            slots[n].waiting += 1

        def refill() -> None:
            nonlocal submitted
            while submitted - merged < window:
                items = next(chunk_iter, None)
                if items is None:
                    return
                slots[submitted] = _Slot()
                submit(submitted, items)
                submitted += 1

        try:
            refill()
            while owner:
                try:
                    done = distributed.wait(list(owner), timeout=POLL_INTERVAL,
                                            return_when="FIRST_COMPLETED").done
                except TimeoutError:  # nothing back yet: a progress record keeps cancel responsive
                    done = set()
                for fut in done:
                    if fut.status not in ("finished", "error"):
                        continue  # its result died with a worker and is being recomputed
                    n, items = owner.pop(fut)
                    slots[n].waiting -= 1
                    parts, reruns = _settle(fut, items)
                    slots[n].parts += parts
                    for item in reruns:
                        submit(n, [item])
                while merged in slots and slots[merged].waiting == 0:  # in order: deterministic merge
                    for items, worker, chunk in sorted(slots.pop(merged).parts, key=lambda p: p[0][0][0]):
                        collector.add(chunk, items)
                        if worker:
                            collector.done_by_worker[worker] = collector.done_by_worker.get(worker, 0) + len(items)
                        current = items[-1][1].path
                    merged += 1
                    refill()
                p = progress(current)
                if p:
                    yield p
        finally:
            if owner:  # cancelled or failed: nothing of this scan stays queued on the cluster
                self.client.cancel(list(owner))


def _settle(fut, items: list) -> tuple[list, list]:
    """A finished task's result parts, and the items to rerun one per task.

    A task whose workers kept dying (Dask gives up after its allowed failures) is split into
    one task per item, so a file that crashes the decoder fails alone, as in the local pool.
    """
    from distributed import KilledWorker

    from .scan import _crash_result
    try:
        worker, chunk = fut.result()  # waits again if a dying worker took the result with it
        return [(items, worker, chunk)], []
    except KilledWorker:
        pass  # any other exception is a bug in the chunk code (per-file errors are failures): raised
    if len(items) == 1:
        return [(items, "", _crash_result(items))], []
    return [], items
