"""The layering of the package, checked with import-linter (the contracts are in pyproject.toml):
ui above the application layer (inspector.app) above core, and neither core nor the application
layer imports Qt, so training code and the window's state can be used without a display."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(config: Path, cwd: Path) -> int:
    from importlinter.cli import lint_imports

    old = os.getcwd()
    sys.path.insert(0, str(cwd))
    os.chdir(cwd)
    try:
        return lint_imports(config_filename=str(config), no_cache=True)
    finally:
        os.chdir(old)
        sys.path.remove(str(cwd))


def test_layers_and_qt_free_core_and_app_are_kept():
    assert _lint(ROOT / "pyproject.toml", ROOT) == 0


@pytest.mark.parametrize("module, line", [
    ("app/state.py", "from ..ui import window\n"),          # the app layer may not reach up to ui
    ("core/maths.py", "from ..app import state\n"),         # nor core up to the app layer
    ("app/state.py", "def late():\n    import PySide6\n"),  # nor import Qt, even lazily
])
def test_the_contracts_catch_a_violation(tmp_path, module, line):
    """The same contracts over a miniature package with one bad import: they must fail."""
    pkg = tmp_path / "layered_mini"  # not "inspector": that one may already be imported
    for sub in ("core", "app", "ui"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "ui" / "window.py").write_text("from ..app import state\n")
    (pkg / "app" / "state.py").write_text("from ..core import maths\n")
    (pkg / "core" / "maths.py").write_text("import math\n")
    with open(pkg / module, "a") as fh:
        fh.write(line)
    config = tmp_path / "pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config.write_text(text[text.index("[tool.importlinter]"):].replace("inspector", "layered_mini"),
                      encoding="utf-8")
    assert _lint(config, tmp_path) != 0
