"""`scan --html --drop-list --fail-on`: the report, the drop list and the CI gate from the command line."""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from imagefactory import make_good_images
from inspector import cli

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((Path(__file__).parent / "export-v1.schema.json").read_text())
COPY_KINDS = {"exact", "near", "mirror"}


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=str(cwd),
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def demo_outputs(demo_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    proc = run_cli("scan", demo_root, "--json", str(out / "stats.json"), "--html", str(out / "report.html"),
                   "--drop-list", str(out / "drop.csv"), "--fail-on", "error", "--workers", "2")
    return proc, out


def test_fail_on_error_exits_1_after_writing_every_output(demo_outputs):
    proc, out = demo_outputs
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((out / "stats.json").read_text())
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert (out / "report.html").stat().st_size > 10_000 and (out / "drop.csv").exists()
    errors = [f for f in doc["leakage"] if f["severity"] == "error"]
    assert errors
    # the terminal says why: every failing finding, and only those
    assert f"failed: --fail-on error: {len(errors)} finding(s)" in proc.stderr
    for f in errors:
        assert f["message"] in proc.stderr
    for f in doc["leakage"]:
        if f["severity"] != "error":
            assert f["message"] not in proc.stderr.split("failed: --fail-on", 1)[1]
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_drop_list_names_the_training_copy_of_every_cross_split_pair(demo_outputs):
    _, out = demo_outputs
    doc = json.loads((out / "stats.json").read_text())
    rows = list(csv.DictReader((out / "drop.csv").open(newline="")))
    assert list(rows[0].keys()) == ["path", "split", "kind", "partner", "reason"]
    pairs = [f for f in doc["leakage"] if f["kind"] in COPY_KINDS and f["splits"][0] != f["splits"][1]]
    assert pairs
    dropped = {r["path"] for r in rows}
    for f in pairs:  # the demo's copies are train -> val/test; the training side goes
        train = [p for p, s in zip(f["paths"], f["splits"]) if s == "train"]
        assert train and train[0] in dropped
    assert {r["split"] for r in rows} == {"train"}
    assert len(rows) == len({p for f in pairs for p, s in zip(f["paths"], f["splits"]) if s == "train"})


def _readme_quarantine_code() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"moves every listed file into `quarantine/`.*?```python\n(.*?)```", text, re.S)
    assert m, "README shows how to apply the drop list"
    code = textwrap.dedent(m.group(1))
    assert len(code.strip().splitlines()) == 2
    return code


def test_readme_recipe_quarantines_the_drop_list_and_a_rescan_is_clean(demo_root, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(demo_root, root)
    work = tmp_path / "work"
    work.mkdir()
    assert cli.main(["scan", str(root), "--drop-list", str(work / "drop.csv"), "--quiet", "--workers", "1",
                     "--drop-side", "heldout"]) == 0
    held_out = list(csv.DictReader((work / "drop.csv").open(newline="")))
    assert held_out and {r["split"] for r in held_out} <= {"val", "test"}
    assert cli.main(["scan", str(root), "--drop-list", str(work / "drop.csv"), "--quiet", "--workers", "1"]) == 0
    rows = list(csv.DictReader((work / "drop.csv").open(newline="")))
    before = sum(1 for _ in root.rglob("*") if _.is_file())
    code = _readme_quarantine_code().replace('"ROOT"', repr(str(root)))
    subprocess.run([sys.executable, "-c", code], cwd=str(work), check=True, timeout=60)
    for r in rows:   # moved, not deleted
        assert not (root / r["path"]).exists() and (work / "quarantine" / r["path"]).is_file()
    assert sum(1 for _ in root.rglob("*") if _.is_file()) == before - len(rows)
    assert cli.main(["scan", str(root), "--json", str(work / "after.json"), "--quiet", "--workers", "1",
                     "--fail-on", "error"]) in (0, 1)
    after = json.loads((work / "after.json").read_text())
    assert not [f for f in after["leakage"] if f["kind"] in COPY_KINDS and f["splits"][0] != f["splits"][1]]


@pytest.fixture()
def val_copy_dataset(tmp_path):
    """Distinct images, plus one exact copy from train in val: a warning, no error."""
    root = tmp_path / "ds"
    make_good_images(root, "train", 6, modes=("RGB",), seed=11)
    make_good_images(root, "val", 4, modes=("RGB",), seed=12)
    make_good_images(root, "test", 4, modes=("RGB",), seed=13)
    first = sorted((root / "train").iterdir())[0]
    shutil.copy(first, root / "val" / ("copy_" + first.name))
    return root


@pytest.mark.parametrize("level, code", [("error", 0), ("warning", 1), ("info", 1)])
def test_fail_on_levels(val_copy_dataset, tmp_path, capsys, level, code):
    out = tmp_path / "o.json"
    assert cli.main(["scan", str(val_copy_dataset), "--json", str(out), "--workers", "1",
                     "--fail-on", level, "--quiet"]) == code
    err = capsys.readouterr().err
    assert ("failed: --fail-on" in err) == bool(code)   # printed even with --quiet: it says why CI failed
    if code:
        assert "[warning] exact:" in err
    assert out.exists()


def test_no_gate_and_clean_data_exit_0(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 4, modes=("RGB",), seed=21)
    make_good_images(root, "test", 3, modes=("RGB",), seed=22)
    for f in (root / "test").iterdir():   # distinct names too: no name-collision finding
        f.rename(f.with_name("t_" + f.name))
    assert cli.main(["scan", str(root), "--quiet", "--workers", "1", "--fail-on", "info"]) == 0
    assert cli.main(["scan", str(root), "--quiet", "--workers", "1"]) == 0


def test_usage_errors_keep_exit_2(tmp_path, capsys):
    root = tmp_path / "ds"
    make_good_images(root, "train", 2, modes=("RGB",), seed=31)
    assert cli.main(["scan", str(root), "--html", str(tmp_path / "no" / "r.html"), "--quiet"]) == 2
    assert "--html" in capsys.readouterr().err
    assert cli.main(["scan", str(root), "--drop-list", str(tmp_path), "--quiet"]) == 2
    assert "--drop-list" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["scan", str(root), "--fail-on", "fatal"])
    assert exc.value.code == 2
    assert cli.main(["scan", str(tmp_path / "missing"), "--fail-on", "info"]) == 2
