"""Export JSON (the CLI's schema-1 document, written atomically) and ready-to-paste snippets.

Building the document for a million images takes seconds (per-image records), so the window runs
``write_export`` in a worker; the snippet is a few lines and goes to the clipboard at once.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtGui import QGuiApplication

from ..app.normalization import NormalizationNumbers
from ..core.export import build_document, snippets, write_json_atomic
from ..core.scan import ScanResult

# (key in the export's snippets, menu label)
LIBRARIES: tuple[tuple[str, str], ...] = (
    ("torchvision", "torchvision"),
    ("albumentations", "Albumentations"),
    ("timm", "timm"),
    ("huggingface", "Hugging Face"),
    ("keras", "Keras"),
)


def write_export(result: ScanResult, findings: Sequence, source_splits: Sequence[str], path: str,
                 per_image: bool = False) -> str:
    """Build the schema-1 document (same as ``main.py scan --json``) and write it atomically."""
    doc = build_document(result, findings, source_splits=list(source_splits), per_image=per_image)
    write_json_atomic(doc, path)
    return path


def snippet_text(numbers: NormalizationNumbers, mode: str, library: str) -> str:
    """The library's snippet with the session's numbers (they must be usable)."""
    assert numbers.mean is not None and numbers.std is not None
    return snippets(numbers.mean, numbers.std, mode, numbers.max_value, list(numbers.source))[library]


def copy_snippet(numbers: NormalizationNumbers, mode: str, library: str) -> str:
    """Put the library's snippet on the clipboard; returns the text."""
    text = snippet_text(numbers, mode, library)
    QGuiApplication.clipboard().setText(text)
    return text


def suggested_export_path(result: ScanResult, folder: str | None) -> str:
    name = os.path.basename(os.path.normpath(result.root)) or "dataset"
    return os.path.join(folder or os.path.dirname(os.path.normpath(result.root)), f"{name}-stats.json")
