"""Shared test set-up: Qt runs offscreen, and QSettings never touches the user's settings.

The platform variable must be set before any QApplication exists, so it is set at import time
(pytest imports conftest.py before collecting test modules). The settings sandbox is
session-wide and automatic: every QSettings in every test writes INI files under a temporary
folder. Window tests also get their own settings file through ``qt_settings``.
"""
from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _qsettings_sandbox(tmp_path_factory):
    """Point every QSettings format and scope at a temporary folder for the whole session."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, folder)
    yield folder


@pytest.fixture(scope="session", autouse=True)
def _cache_sandbox(tmp_path_factory):
    """The scan cache's default folder is a temporary one: no test writes under the real home
    (subprocesses inherit the variable)."""
    from inspector.core.cache import CACHE_DIR_ENV

    old = os.environ.get(CACHE_DIR_ENV)
    folder = str(tmp_path_factory.mktemp("scan-cache"))
    os.environ[CACHE_DIR_ENV] = folder
    yield folder
    if old is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = old


@pytest.fixture
def qt_settings(tmp_path):
    """A fresh settings file for one test (a window reads and writes only this)."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> str:
    """The demo dataset, generated once per session (read-only for tests)."""
    from inspector.core.demo import make_demo_dataset

    return str(make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo"))


@pytest.fixture
def make_window(qtbot, qt_settings):
    """Factory for MainWindow. Afterwards every window is shut down (its workers must stop within
    10 s), closed and deleted, so later tests never pay for (or see) earlier windows."""
    import shiboken6

    from inspector.ui.main_window import MainWindow

    windows = []

    def make(*, settings=None, scan_workers: int | None = 1, show: bool = True):
        window = MainWindow(settings=settings if settings is not None else qt_settings,
                            scan_workers=scan_workers)
        if show:
            window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        if not shiboken6.isValid(window):
            continue
        assert window.shutdown(10_000), "a worker thread did not stop within 10 s"
        window.close()
        gone = []
        window.destroyed.connect(lambda *_: gone.append(True))
        window.deleteLater()
        qtbot.waitUntil(lambda: bool(gone), timeout=5000)
    # pyqtgraph's context menus are parentless widgets kept alive by reference cycles.
    gc.collect()


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server on localhost (moto's server mode, as s3fs's own tests use),
    started on a free port for the session and stopped after it. Yields the fsspec storage
    options that reach it and an s3fs filesystem to put test data there."""
    import logging

    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in test output
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    try:
        yield options, fs
    finally:
        server.stop()
