"""The real main window for the window benchmarks (bench_ui_stall.py, bench_ui_scale.py): offscreen
unless a display is set, with throw-away settings (never the user's), shown as run_app shows it."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile


def window_parser(doc: str, root_help: str, settle: float, settle_help: str) -> argparse.ArgumentParser:
    """The arguments both window benchmarks take: the dataset, workers, probe interval, settle time."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help=root_help)
    parser.add_argument("--workers", type=int, default=None, help="scan worker processes (default: all cores)")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="probe timer interval")
    parser.add_argument("--settle", type=float, default=settle, help=settle_help)
    return parser


def open_window(workers: int | None):
    """(QApplication, MainWindow), the window shown at 1500 x 950."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    settings_dir = tempfile.mkdtemp(prefix="bench-ui-settings-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication([sys.argv[0]])
    from inspector.ui.app import configure_application, freeze_startup_objects
    from inspector.ui.main_window import MainWindow

    configure_application(app)
    window = MainWindow(settings=QSettings(os.path.join(settings_dir, "bench.ini"), QSettings.Format.IniFormat),
                        scan_workers=workers)
    window.resize(1500, 950)
    window.show()
    freeze_startup_objects()  # as run_app does
    return app, window


def probe_timer(interval_ms: float, tick):
    """A precise timer calling ``tick`` every ``interval_ms`` in the GUI thread: the gap between two
    calls is how long the event loop could not run. Not started yet."""
    from PySide6.QtCore import QTimer

    probe = QTimer()
    probe.setTimerType(probe.timerType().PreciseTimer)
    probe.setInterval(max(1, int(interval_ms)))
    probe.timeout.connect(tick)
    return probe


def open_and_run(window, loop, probe, root: str, delay_ms: int) -> None:
    """Start the probe, open root in the window after delay_ms, run the event loop until the
    benchmark quits it, stop the probe."""
    from PySide6.QtCore import QTimer

    probe.start()
    QTimer.singleShot(delay_ms, lambda: window.open_folder(root))
    loop.exec()
    probe.stop()


def close_with_result(window, outcome: dict):
    """Close the window; the scan's result, or None (the failure printed) when it failed."""
    window.shutdown()
    window.close()
    if "error" in outcome:
        print(f"scan failed: {outcome['error']}", file=sys.stderr)
        return None
    return outcome["result"]
