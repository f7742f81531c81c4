"""Every modal dialog of the window, one function each, so tests can monkeypatch them (no real exec())."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from .. import __version__


def choose_folder(parent: QWidget | None, start_dir: str = "") -> str | None:
    """Ask for a dataset folder; None when cancelled."""
    path = QFileDialog.getExistingDirectory(
        parent, "Open dataset folder (train/val/test, YOLO images/…, or a folder of images)", start_dir,
        QFileDialog.Option.ShowDirsOnly)
    return path or None


SOURCE_FILE_FILTER = ("Dataset files (*.csv *.tsv *.jsonl *.parquet *.tar *.tar.gz *.tgz *.yaml *.yml);;"
                      "Manifests (*.csv *.tsv *.jsonl);;Parquet (*.parquet);;WebDataset shards (*.tar *.tar.gz *.tgz);;"
                      "YOLO data.yaml (*.yaml *.yml);;All files (*)")


def choose_source_file(parent: QWidget | None, start_dir: str = "") -> str | None:
    """Ask for a dataset file (manifest, Parquet, tar shard, YOLO data.yaml); None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open a dataset file", start_dir, SOURCE_FILE_FILTER)
    return path or None


def choose_export_path(parent: QWidget | None, suggested: str) -> str | None:
    """Ask where to write the JSON export; None when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, "Export statistics as JSON", suggested,
                                          "JSON files (*.json);;All files (*)")
    if not path:
        return None
    return path if path.lower().endswith(".json") else path + ".json"


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(
        parent, "About Dataset Inspector",
        f"<h3>Dataset Inspector {__version__}</h3>"
        "<p>Exact per-split image statistics, what normalization does to your images, and leakage "
        "checks between train, val and test.</p>"
        "<p>Statistics are computed over every pixel (pixel-weighted, population std) after "
        "<code>convert(\"RGB\")</code> or <code>convert(\"L\")</code>, exactly what a training loader "
        "sees. Values are on the 0–1 scale unless a label says 0–255.</p>")
