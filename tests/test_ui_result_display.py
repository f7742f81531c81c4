"""Putting a finished scan on screen: the per-image work it needs is done off the GUI thread."""
from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from inspector.core import normalize
from inspector.ui.image_model import AMP


def test_per_image_amplification_is_worked_out_off_the_gui_thread_once(qtbot, make_window, demo_root,
                                                                      monkeypatch):
    calls: list[int] = []
    real = normalize.max_amplification

    def counted(image_std, dataset_std):
        if np.ndim(image_std) == 2:  # every image at once (not one image's channels)
            calls.append(threading.get_ident())
        return real(image_std, dataset_std)

    monkeypatch.setattr(normalize, "max_amplification", counted)
    window = make_window()
    with qtbot.waitSignal(window.scanFinished, timeout=30_000) as blocker:
        window.open_folder(demo_root)
    result = blocker.args[0]
    gui = threading.get_ident()
    # The image list's column and the normalization summary share one pass, made by the scan job.
    assert len(calls) == 2 and gui not in calls  # the column, and the summary's own
    model = window.image_list.model
    expected = real(result.images.std, np.asarray(window.session.dataset_std))
    model.sort(AMP, Qt.SortOrder.DescendingOrder)
    assert model.source_row(0) == int(np.argmax(expected))
    summary = window.normalization.context.amplification
    assert summary.most_amplified_index == int(np.argmax(expected))
    # Another source is worked out when chosen (on the GUI thread: a user's choice, not a display).
    window.set_source_splits(["train", "val"])
    assert len(calls) > 2
