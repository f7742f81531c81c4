"""The real main window for the window benchmarks (bench_ui_stall.py, bench_ui_scale.py): offscreen
unless a display is set, with throw-away settings (never the user's), shown as run_app shows it."""
from __future__ import annotations

import os
import sys
import tempfile


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
