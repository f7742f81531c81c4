#!/usr/bin/env python3
"""Regenerate the README screenshots from a real window on the demo dataset.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py [--theme light|dark]

Writes docs/screenshot-main.png (Statistics tab), docs/screenshot-normalization.png (the demo's
blank sky with a tiny cloud, selected in the image list, shown in the Normalization tab) and
docs/screenshot-leakage.png (Leakage tab); with --only validation, docs/screenshot-validation.png
(Balance & Drift tab). Settings go to a temporary folder, never the user's.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "docs"), help="folder for the PNG files")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--size", default="1500x950", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--root", default=None, help="dataset to shoot (default: the demo dataset)")
    parser.add_argument("--only", choices=("main", "normalization", "leakage", "validation"), action="append",
                        help="shoot only these tabs (repeatable)")
    parser.add_argument("--property", default=None, help="the property the validation shot overlays")
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    settings_dir = tempfile.mkdtemp(prefix="screenshots-settings-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication([sys.argv[0]])
    from inspector.core.demo import BLANK_SKY, default_demo_dir
    from inspector.ui.app import configure_application
    from inspector.ui.main_window import TAB_LEAKAGE, TAB_NORMALIZATION, TAB_STATS, TAB_VALIDATION, MainWindow
    from inspector.ui.theme import app_icon

    configure_application(app)
    app.setWindowIcon(app_icon())
    if app.platformName() == "offscreen":
        print("note: offscreen platform; run under xvfb-run for pixel-exact fonts", file=sys.stderr)

    def wait(signal=None, ms: int = 30_000, settle_ms: int = 0) -> list:
        """Run the event loop until ``signal`` fires (or ``ms`` pass), then ``settle_ms`` more."""
        loop = QEventLoop()
        got: list = []
        if signal is not None:
            signal.connect(lambda *a: (got.append(a), loop.quit()))
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        timer.start(ms if signal is not None else settle_ms)
        loop.exec()
        if signal is not None and not got:
            raise SystemExit(f"timed out after {ms} ms waiting for {signal}")
        if settle_ms and signal is not None:
            wait(None, settle_ms=settle_ms)
        return got

    window = MainWindow(settings=QSettings(os.path.join(settings_dir, "shots.ini"), QSettings.Format.IniFormat))
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.set_theme(args.theme)
    window.resize(width, height)
    window.move(20, 20)
    window.show()
    root = args.root or str(default_demo_dir())
    QTimer.singleShot(0, lambda: window.open_folder(root))
    wait(window.scanFinished, ms=120_000, settle_ms=800)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or ("main", "normalization", "leakage"))
    window.messages.hide_message("failures")  # a dismissible note; keeps the shot about the numbers

    def shoot(name: str) -> None:
        path = out / f"screenshot-{name}.png"
        if not window.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        print(path)

    if "main" in wanted:
        window.tabs.setCurrentIndex(TAB_STATS)
        wait(settle_ms=600)
        shoot("main")
    if "normalization" in wanted:
        if args.root is None and not window.image_list.select_path(BLANK_SKY):
            raise SystemExit(f"{BLANK_SKY} is not in the scan")
        window.tabs.setCurrentIndex(TAB_NORMALIZATION)
        if args.root is None:
            view = window.normalization
            if view.current_row is None or view.busy:
                wait(view.imageShown, ms=30_000)
        wait(settle_ms=800)
        shoot("normalization")
    if "leakage" in wanted:
        window.tabs.setCurrentIndex(TAB_LEAKAGE)
        wait(settle_ms=800)
        shoot("leakage")
    if "validation" in wanted:
        window.tabs.setCurrentIndex(TAB_VALIDATION)
        if args.property:
            window.validation.overlay.set_property(args.property)
        wait(settle_ms=800)
        shoot("validation")
    window.close()
    return 0


if __name__ == "__main__":  # the guard keeps the scan's spawned worker processes from re-running this
    sys.exit(main())
