"""The export's snippets, pasted as they are, reproduce (x/max - mean)/std with the exported numbers.

Each snippet is executed against stand-in library modules that record the arguments it passes,
so the test checks both that the code runs and that its numbers are exact enough (float32).
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from inspector.core.export import SNIPPET_LIBRARIES, snippets

# Awkward values on purpose: many significant digits, a tiny std, a value below 1e-4.
MEAN = [0.48501960784313724, 0.45604938271604937, 0.0000612345678901]
STD = [0.22923456789012345, 0.0123456789012345, 0.26012345678901234]


def _recorder(calls: dict, name: str):
    def record(*args, **kwargs):
        calls[name] = kwargs
        return kwargs
    return record


def _fake_modules(calls: dict) -> dict[str, types.ModuleType]:
    mods = {name: types.ModuleType(name) for name in (
        "torchvision", "torchvision.transforms", "albumentations", "timm", "timm.data",
        "transformers", "keras", "keras.layers")}
    t = mods["torchvision.transforms"]
    t.Compose = _recorder(calls, "Compose")
    t.ToTensor = _recorder(calls, "ToTensor")
    t.Normalize = _recorder(calls, "torchvision")
    mods["torchvision"].transforms = t
    mods["albumentations"].Normalize = _recorder(calls, "albumentations")
    mods["timm"].create_model = lambda *a, **k: object()
    mods["timm.data"].resolve_data_config = lambda *a, **k: {}
    mods["timm.data"].create_transform = _recorder(calls, "timm")
    mods["timm"].data = mods["timm.data"]

    class AutoImageProcessor:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            calls["huggingface"] = kwargs

    mods["transformers"].AutoImageProcessor = AutoImageProcessor
    mods["keras.layers"].Normalization = _recorder(calls, "keras")
    mods["keras"].layers = mods["keras.layers"]
    return mods


def _pasted_transform(library: str, code: str, monkeypatch) -> tuple:
    """(mean, std, scale) the pasted code hands the library, as float64 arrays."""
    calls: dict = {}
    for name, mod in _fake_modules(calls).items():
        monkeypatch.setitem(sys.modules, name, mod)
    exec(compile(code, f"<{library} snippet>", "exec"), {})
    kw = calls[library]
    if library == "torchvision":
        return np.array(kw["mean"]), np.array(kw["std"]), 1.0
    if library == "albumentations":
        m = float(kw["max_pixel_value"])
        return np.array(kw["mean"]) * m, np.array(kw["std"]) * m, m
    if library == "timm":
        return np.array(kw["mean"]), np.array(kw["std"]), 1.0
    if library == "huggingface":
        return np.array(kw["image_mean"]), np.array(kw["image_std"]), 1.0
    assert library == "keras"
    return np.array(kw["mean"]), np.sqrt(np.array(kw["variance"])), 255.0


@pytest.mark.parametrize("library", SNIPPET_LIBRARIES)
def test_pasted_snippet_reproduces_the_export(library, monkeypatch):
    code = snippets(MEAN, STD, "RGB", 255, ["train"])[library]
    mean, std, scale = _pasted_transform(library, code, monkeypatch)
    x = np.arange(256, dtype=np.float64)[:, None]
    # what the library computes on its own scale (x on 0-255, or x/255 after ToTensor)
    pasted = (x / (255.0 / scale) - mean) / std
    exported = (x / 255.0 - np.array(MEAN)) / np.array(STD)
    # within a few float32 steps of the output (8 digits give <= 5e-9 relative per number; with
    # this tiny std that is 2e-7 std units); 4 decimals were 1e-4 to 1e-2 off
    assert np.max(np.abs(pasted - exported) / np.maximum(1.0, np.abs(exported))) < 1e-6


def test_four_decimals_would_not_pass_the_same_check():
    """The check above is sharp enough to catch the old 4-decimal rounding."""
    rounded_mean, rounded_std = np.round(MEAN, 4), np.round(STD, 4)
    x = np.arange(256, dtype=np.float64)[:, None]
    exported = (x / 255.0 - np.array(MEAN)) / np.array(STD)
    old = (x / 255.0 - rounded_mean) / rounded_std
    assert np.max(np.abs(old - exported) / np.maximum(1.0, np.abs(exported))) > 1e-4
