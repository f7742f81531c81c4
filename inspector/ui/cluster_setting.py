"""The window's Dask cluster setting: File > Dask Cluster… asks for a scheduler address
(``tcp://host:8786``, ``local:N``, or nothing for this machine's processes). The address is
remembered (QSettings ``scan/daskAddress``) and used from the next scan on; the connection is
made by the scan's worker thread, never the GUI thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QLineEdit

from ..app.cluster_link import ClusterError

if TYPE_CHECKING:
    from .main_window import MainWindow

SETTING = "scan/daskAddress"
PROMPT = ("Run scans on a Dask scheduler: tcp://host:8786, or local:N for a local cluster of N\n"
          "worker processes. Leave empty to scan with this machine's processes.\n"
          "The workers must see the dataset at the same path (or read it from a URL).")


def ask(w: MainWindow) -> None:
    text, ok = QInputDialog.getText(w, "Dask Cluster", PROMPT, QLineEdit.EchoMode.Normal,
                                    w.scan.cluster.address)
    if ok:
        apply(w, text)


def apply(w: MainWindow, text: str) -> bool:
    """Use and remember TEXT as the scheduler address; False (with a message) when it is not one."""
    try:
        address = w.scan.cluster.set_address(text)
    except ClusterError as exc:
        w.statusBar().showMessage(f"Not a Dask scheduler address: {exc}", 10_000)
        return False
    w.settings.setValue(SETTING, address)
    later = " Rescan (F5) to use it now." if w.root is not None else ""
    w.statusBar().showMessage(f"Scans run on {w.scan.cluster.describe()}.{later}", 10_000)
    return True


def restore(w: MainWindow) -> None:
    try:
        w.scan.cluster.set_address(str(w.settings.value(SETTING, "") or ""))
    except ClusterError:  # a stored value this version cannot read: back to the local pool
        w.settings.remove(SETTING)
