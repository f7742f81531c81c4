"""Entry point of the window: ``run_app(argv)`` (``python main.py [ROOT]``)."""
from __future__ import annotations

import gc
import os
import signal
import socket
import sys
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QWidget

ORGANIZATION = "dataset-inspector"
APPLICATION = "Dataset Inspector"


GIL_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005


def configure_application(app: QCoreApplication) -> None:
    """Names QSettings uses to find the settings file (tests point QSettings elsewhere first), and
    a shorter GIL switch interval: every Qt call releases the GIL, and getting it back from a busy
    worker thread costs up to one interval, so a redraw of a few hundred calls would otherwise wait
    on the scan thread for tens of milliseconds."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    app.setOrganizationName(ORGANIZATION)
    app.setOrganizationDomain("dataset-inspector.invalid")
    app.setApplicationName(APPLICATION)
    from .. import __version__
    app.setApplicationVersion(__version__)


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, Qt wrappers, pyqtgraph items) out of the
    garbage collector's reach. A full collection otherwise walks all of them, holding the GIL for
    tens of milliseconds, whichever thread triggers it: the window would freeze that long."""
    gc.collect()
    gc.freeze()


def display_problem() -> str | None:
    """Why the window cannot open here (no display on Linux), before Qt aborts the process with
    a platform-plugin message; None when it can."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "For a headless run use: main.py scan SOURCE --json OUT.json (see main.py --help)")


def close_on_terminal_signals(window: QWidget) -> None:
    """Ctrl+C in the terminal (SIGINT) and a plain ``kill`` (SIGTERM) close the window as its
    close button does, so the scan and its worker processes stop cleanly. Python runs signal
    handlers only when it has control, and Qt's event loop is C++: the signal's wake-up byte is
    watched by a socket notifier, whose slot hands control to Python at once."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)
    notifier.activated.connect(lambda *_: reader.recv(64))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    window._signal_sockets = (reader, writer)  # type: ignore[attr-defined]  # Qt does not own them


def run_app(argv: Sequence[str]) -> int:
    """Open the main window on ``argv[0]`` (a dataset folder) or, without one, on the demo dataset."""
    args = [a for a in argv if a]
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "dataset-inspector"])
    configure_application(app)
    from .main_window import MainWindow
    from .theme import app_icon

    app.setWindowIcon(app_icon())
    window = MainWindow()
    window.show()
    close_on_terminal_signals(window)
    freeze_startup_objects()
    # Start after the window is on screen, so the first paint is never delayed by the scan set-up.
    if args:
        QTimer.singleShot(0, lambda: window.open_folder(args[0]))
    else:
        QTimer.singleShot(0, window.open_demo)
    return app.exec()
