"""The window's link to a Dask cluster (Qt-free): the scheduler address the user set, and the
connection, opened in the scan thread on first use and kept for the following scans.

An empty address means this machine's process pool. A bad address is refused when it is set; an
unreachable scheduler fails the scan that needs it with a message for the user, before any work.
"""
from __future__ import annotations

import threading

from ..core.cluster import ClusterError, ClusterSpec, DaskCluster


class ClusterLink:
    def __init__(self) -> None:
        self._address = ""
        self._cluster: DaskCluster | None = None
        self._cluster_address = ""
        self._lock = threading.Lock()  # a superseded scan thread may still be connecting

    @property
    def address(self) -> str:
        return self._address

    def set_address(self, text: str) -> str:
        """Use TEXT (``tcp://host:8786``, ``host:8786`` or ``local:N``; empty for this machine)
        for the next scans; raises ``ClusterError`` with the reason when it cannot be one."""
        text = text.strip()
        if text:
            ClusterSpec.parse(text)
        self._address = text
        return text

    def describe(self) -> str:
        return f"the Dask cluster {self._address}" if self._address else "this machine's processes"

    def connect(self) -> DaskCluster | None:
        """The cluster for a scan starting now (None for the local pool). Raises ClusterError."""
        address = self._address
        with self._lock:
            if self._cluster is not None and (self._cluster_address != address or not self._alive()):
                self._close_locked()
            if address and self._cluster is None:
                self._cluster = DaskCluster.connect(address)
                self._cluster_address = address
            return self._cluster

    def _alive(self) -> bool:
        try:
            return self._cluster is not None and self._cluster.client.status == "running"
        except Exception:
            return False

    def close(self) -> None:
        """Disconnect (and stop a local cluster we started); the next scan connects again."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._cluster is not None:
            try:
                self._cluster.close()
            except Exception:  # a cluster that died under us: nothing left to close
                pass
            self._cluster = None


__all__ = ["ClusterError", "ClusterLink"]
