"""Headless scan and the export contract (DESIGN section 5)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from imagefactory import make_bad_inputs, make_good_images, write_image
from inspector import cli

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((Path(__file__).parent / "export-v1.schema.json").read_text())


def validate(doc: dict) -> None:
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture()
def dataset(tmp_path):
    root = tmp_path / "ds"
    make_good_images(root, "train", 12, modes=("RGB", "L", "RGBA"), label="cat", seed=1)
    make_good_images(root, "train", 8, modes=("RGB",), label="dog", seed=2)
    make_good_images(root, "Valid", 6, modes=("RGB",), label="cat", seed=3)
    make_good_images(root, "test", 6, modes=("RGB",), label="dog", seed=4)
    return root


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=str(REPO),
                          capture_output=True, text=True, timeout=120)



def test_scan_writes_a_valid_document(dataset, tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("scan", str(dataset), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    assert doc["schema_version"] == 1
    assert doc["dataset"]["splits"] == ["train", "val", "test"]
    assert doc["dataset"]["classes"]["train"] == {"cat": 12, "dog": 8}
    assert doc["normalization"]["source_splits"] == ["train"]
    assert doc["normalization"]["mean"] == doc["splits"]["train"]["mean"]
    assert "images" not in doc
    assert "Normalize(mean=[" in doc["normalization"]["snippets"]["torchvision"]
    assert "wrote" in proc.stdout and "train" in proc.stdout
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp-")]
    on_disk = sum(p.stat().st_size for p in (dataset / "train").rglob("*") if p.is_file())
    assert doc["splits"]["train"]["sizes"]["file_bytes"]["total"] == on_disk


def test_per_image_records_and_source(dataset, tmp_path):
    out = tmp_path / "out.json"
    assert cli.main(["scan", str(dataset), "--json", str(out), "--per-image",
                     "--source", "train,test", "--quiet"]) == 0
    doc = json.loads(out.read_text())
    validate(doc)
    assert len(doc["images"]) == 32
    first = doc["images"][0]
    assert {"path", "split", "class", "width", "height", "mean", "std", "amplification"} <= set(first)
    assert not first["path"].startswith("/") and "\\" not in first["path"]
    std = np.array(doc["normalization"]["std"])
    np.testing.assert_allclose(first["amplification"], std / np.array(first["std"]), rtol=1e-9)
    assert doc["normalization"]["source_splits"] == ["train", "test"]
    kinds = {(f["kind"], f["severity"]) for f in doc["leakage"]}
    assert ("stats_source", "error") in kinds


def test_failures_are_listed_and_not_fatal(tmp_path):
    root = tmp_path / "ds"
    cases = make_bad_inputs(root)
    out = tmp_path / "out.json"
    assert cli.main(["scan", str(root), "--json", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    listed = {f["path"]: f["reason"] for f in doc["failures"]}
    assert cases["truncated_jpeg"] in listed and cases["decompression_bomb"] in listed
    assert any(s["path"] == cases["text_file"] for s in doc["skipped"])


def test_usage_errors_exit_2(tmp_path, capsys):
    assert cli.main(["scan", str(tmp_path / "missing")]) == 2
    assert "No such file or folder" in capsys.readouterr().err
    (tmp_path / "empty" / "train").mkdir(parents=True)
    (tmp_path / "empty" / "train" / "notes.txt").write_text("x")
    assert cli.main(["scan", str(tmp_path / "empty")]) == 2
    assert "no image files" in capsys.readouterr().err
    write_image(tmp_path / "one" / "train" / "a.png", "RGB")
    assert cli.main(["scan", str(tmp_path / "one"), "--source", "nope"]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["scan"])
    assert exc.value.code == 2


def test_interrupt_exits_130(dataset, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield  # pragma: no cover

    monkeypatch.setattr("inspector.core.scan.iter_scan", interrupted)
    assert cli.main(["scan", str(dataset), "--quiet"]) == 130


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    from inspector.core.export import write_json_atomic

    target = tmp_path / "stats.json"
    write_json_atomic({"a": 1}, str(target))
    with pytest.raises(ValueError):
        write_json_atomic({"a": float("nan")}, str(target))  # NaN is not JSON: refused mid-write
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]


def test_flat_root_is_split_all(tmp_path):
    make_good_images(tmp_path / "flat", "x", 3, modes=("L",))
    out = tmp_path / "o.json"
    assert cli.main(["scan", str(tmp_path / "flat"), "--json", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["dataset"]["splits"] == ["all"] and doc["normalization"]["mode"] == "L"
    assert doc["normalization"]["source_splits"] == ["all"]


def test_version_and_a_mistyped_command(tmp_path, capsys):
    from inspector import __version__

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["scna", str(tmp_path)])  # a typo of "scan", not a folder to open a window on
    assert exc.value.code == 2 and "invalid choice: 'scna'" in capsys.readouterr().err


def test_no_display_is_a_message_not_a_crash(tmp_path, capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "main.py scan" in err


def test_summary_says_what_each_warning_is(dataset, capsys):
    assert cli.main(["scan", str(dataset), "--source", "train,val"]) == 0
    out = capsys.readouterr().out
    assert "3 warning" in out  # the stats source, and val and test each lack one of train's classes
    assert "[warning] Normalization statistics are computed from train, val" in out
    assert "[warning] 1 class(es) of train have no image in val: dog" in out


def test_core_has_no_qt_imports():
    import ast

    banned = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qtpy", "superqt")
    for path in (REPO / "inspector" / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.split(".")[0] in banned, f"{path.name} imports {name}"


def test_zero_std_source_warns_and_exports_null_amplification(tmp_path, capsys):
    for i in range(3):
        write_image(tmp_path / "ds" / "train" / f"c{i}.png", np.full((6, 6, 3), 128, np.uint8))
    write_image(tmp_path / "ds" / "val" / "v.png", "RGB")
    out = tmp_path / "o.json"
    assert cli.main(["scan", str(tmp_path / "ds"), "--json", str(out), "--per-image", "--quiet"]) == 0
    assert "std is 0" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["normalization"]["warnings"] and doc["images"][0]["amplification"] == [None, None, None]


def test_bad_outputs_and_arguments_are_usage_errors(dataset, tmp_path, capsys):
    assert cli.main(["scan", str(dataset), "--json", str(tmp_path / "nodir" / "x.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["scan", str(dataset), "--json", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert cli.main(["scan", str(dataset), "--workers", "0"]) == 2
    (tmp_path / "file").write_text("x")
    assert cli.main(["demo", str(tmp_path / "file")]) == 2
    if os.path.isdir("/proc"):  # writable by permission bits, yet no file can be created there
        assert cli.main(["scan", str(dataset), "--json", "/proc/stats.json"]) == 2
        assert "cannot create files in /proc" in capsys.readouterr().err


def test_write_failure_after_the_scan_is_a_message_not_a_traceback(dataset, tmp_path, capsys, monkeypatch):
    from inspector.core import export

    def disk_full(doc, path):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(export, "write_json_atomic", disk_full)
    assert cli.main(["scan", str(dataset), "--json", str(tmp_path / "o.json"), "--quiet"]) == 2
    assert "cannot write" in capsys.readouterr().err and not (tmp_path / "o.json").exists()


def test_source_accepts_aliases_and_json_to_stdout(dataset, capsys):
    assert cli.main(["scan", str(dataset), "--source", "train,VALID", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate(doc)
    assert doc["normalization"]["source_splits"] == ["train", "val"]


@pytest.mark.parametrize("all_sixteen", [False, True])
def test_max_pixel_value_is_65535_only_when_every_source_image_is_16_bit(tmp_path, all_sixteen):
    rng = np.random.default_rng(3)
    for k in range(2):
        write_image(tmp_path / "ds" / "train" / f"g16_{k}.png", rng.integers(0, 65536, (12, 16), dtype=np.uint16))
        write_image(tmp_path / "ds" / "val" / f"v{k}.png", "L", seed=k)
    if not all_sixteen:
        write_image(tmp_path / "ds" / "train" / "g8.png", "L", seed=7)
    out = tmp_path / "o.json"
    assert cli.main(["scan", str(tmp_path / "ds"), "--json", str(out), "--quiet"]) == 0
    norm = json.loads(out.read_text())["normalization"]
    validate(json.loads(out.read_text()))
    assert norm["max_pixel_value"] == (65535 if all_sixteen else 255)
    assert f"max_pixel_value={float(norm['max_pixel_value'])}" in norm["snippets"]["albumentations"]
    warning = " ".join(norm["warnings"])
    assert ("2 of 3 source images are 16-bit" in warning) != all_sixteen
    assert "v/65535" in warning and "clips" in warning
    out2 = tmp_path / "o2.json"  # 16-bit images only outside the source split: still said
    assert cli.main(["scan", str(tmp_path / "ds"), "--json", str(out2), "--quiet", "--source", "val"]) == 0
    warning = " ".join(json.loads(out2.read_text())["normalization"]["warnings"])
    assert "2 images outside the source splits are 16-bit" in warning and "clips them" in warning


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminal and signals")
def test_terminal_progress_line_and_real_ctrl_c_exit_130(tmp_path):
    """On a terminal (a pseudo-terminal here) the scan prints a progress line with ETA; a real
    SIGINT stops it with exit 130, no traceback, and neither the output nor a temporary file."""
    import pty
    import select
    import signal
    import time

    from hostile import slow_progressive_jpeg

    root = tmp_path / "ds"
    make_good_images(root, "train", 40, modes=("RGB",), seed=5)
    slow_progressive_jpeg(root / "train" / "slow.jpg")  # with no time limit, the scan cannot end first
    out = tmp_path / "out.json"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "scan", str(root), "--json", str(out),
                             "--decode-timeout", "0"],
                            cwd=str(REPO), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"ETA" not in seen and time.monotonic() < deadline:  # the first line comes before any work
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 4096)
        assert b"ETA" in seen and b"train 0/41" in seen, seen
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 130, seen
    assert b"interrupted" in seen and b"Traceback" not in seen
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_export_streams_per_image_records_and_reads_back_the_same(tmp_path):
    """The per-image records are written a block at a time (json_stream), and the file is the
    document json.dump would write, record for record."""
    import json as _json

    from inspector.core import json_stream

    class Rows(json_stream.StreamedRows):
        block = 7
        made: list = []

        def __len__(self):
            return 30

        def rows(self, lo, hi):
            self.made.append(hi - lo)
            return [{"i": i, "name": f"é{i}", "v": [i / 3]} for i in range(lo, hi)]

    rows = Rows()
    doc = {"a": 1, "images": rows, "z": {"k": [1, 2]}}
    target = tmp_path / "doc.json"
    with open(target, "w", encoding="utf-8") as fh:
        json_stream.dump(doc, fh)
    assert max(rows.made) <= 7 and sum(rows.made) == 30     # never all rows at once
    plain = {"a": 1, "images": list(rows), "z": {"k": [1, 2]}}
    assert _json.loads(target.read_text(encoding="utf-8")) == plain
    assert rows == plain["images"] and rows[-1] == plain["images"][-1]
    empty = type("Empty", (Rows,), {"__len__": lambda self: 0})()
    with open(target, "w", encoding="utf-8") as fh:
        json_stream.dump({"images": empty}, fh)
    assert _json.loads(target.read_text(encoding="utf-8")) == {"images": []}
