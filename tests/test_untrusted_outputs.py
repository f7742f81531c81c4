"""Outputs that an adversarial user points somewhere odd, and names that try to drive the terminal."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from imagefactory import make_good_images, write_image

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=str(REPO),
                          capture_output=True, text=True, timeout=120, **kwargs)


@pytest.fixture()
def small(tmp_path):
    make_good_images(tmp_path / "ds", "train", 3, modes=("RGB",))
    return tmp_path / "ds"


def test_json_onto_a_link_or_a_device_is_refused_before_the_scan(small, tmp_path):
    target = tmp_path / "real.json"
    target.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    fifo = tmp_path / "pipe.json"  # stands in for a device node: never replace a real one in a test
    os.mkfifo(fifo)
    for out, why in ((link, "symbolic link"), (fifo, "not a regular file")):
        proc = run_cli("scan", str(small), "--json", str(out))
        assert proc.returncode == 2 and why in proc.stderr, proc.stderr
    assert link.is_symlink() and target.read_text() == "keep"
    assert fifo.is_fifo()


def test_the_atomic_writer_never_writes_through_a_non_regular_target(tmp_path):
    from inspector.core.atomic import NotARegularFile, write_text_atomic

    (tmp_path / "real.txt").write_text("keep")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    with pytest.raises(NotARegularFile):
        write_text_atomic("new", str(tmp_path / "link.txt"))
    assert (tmp_path / "link.txt").is_symlink() and (tmp_path / "real.txt").read_text() == "keep"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_stale_temporary_file_is_removed_by_the_next_write_of_the_same_target(tmp_path):
    from inspector.core.atomic import write_text_atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs: its writer was killed mid-export
    stale = tmp_path / f".tmp-out.json-{dead.pid}-abcd.json"
    live = tmp_path / f".tmp-out.json-{os.getpid()}-efgh.json"   # a write in progress: kept
    other = tmp_path / f".tmp-other.json-{dead.pid}-ijkl.json"   # another target's: not ours to judge
    for p in (stale, live, other):
        p.write_text("{")
    write_text_atomic("{}", str(tmp_path / "out.json"), ".json")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "out.json").read_text() == "{}"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_json_to_a_full_or_closed_stdout_is_a_one_line_error_exit_2(small):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(small), "--json", "-", "--quiet"],
                              cwd=str(REPO), stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: cannot write the export"), proc.stderr
    closed = subprocess.Popen([sys.executable, str(REPO / "main.py"), "scan", str(small), "--json", "-", "--quiet"],
                              cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    closed.stdout.close()  # the reader went away (`| head -c0`)
    err = closed.stderr.read()
    closed.wait(timeout=120)
    assert closed.returncode == 2 and err.count("\n") == 1 and "standard output" in err, err


def test_terminal_escape_codes_in_names_are_printed_escaped(tmp_path):
    root = tmp_path / "ds"
    evil = "evil\x1b]0;pwned\x07\x1b[2J.png"
    write_image(root / "train" / evil, "RGB", seed=3)
    (root / "test").mkdir()
    shutil.copy(root / "train" / evil, root / "test" / evil)  # an exact train/test copy: printed as an error
    proc = run_cli("scan", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J.png" in proc.stdout


def test_nfc_and_nfd_spellings_of_one_name_collide(tmp_path):
    from inspector.core.leakage import scan_leakage
    from inspector.core.scan import scan

    name = "café.png"
    write_image(tmp_path / "train" / unicodedata.normalize("NFC", name), "RGB", seed=1)
    write_image(tmp_path / "val" / unicodedata.normalize("NFD", name), "RGB", seed=2)
    collisions = [f for f in scan_leakage(scan(str(tmp_path), workers=1)) if f.kind == "name_collision"]
    assert len(collisions) == 1 and set(collisions[0].splits) == {"train", "val"}


def test_a_train_split_of_undecodable_files_still_writes_every_output(tmp_path):
    import jsonschema

    root = tmp_path / "ds"
    (root / "train" / "cat").mkdir(parents=True)
    (root / "train" / "cat" / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (root / "train" / "cat" / "b.png").write_text("<html>a failed download</html>")
    make_good_images(root, "val", 2, modes=("RGB",))
    out, report, drop = tmp_path / "stats.json", tmp_path / "report.html", tmp_path / "drop.csv"
    proc = run_cli("scan", str(root), "--json", str(out), "--html", str(report), "--drop-list", str(drop),
                   "--no-cache")
    # Still a usage error (no normalization for train), but every output is there.
    assert proc.returncode == 2, proc.stderr
    assert "train holds no readable image (2 file(s) failed to decode" in proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    schema = json.loads((Path(__file__).parent / "export-v1.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert sorted(f["path"] for f in doc["failures"]) == ["train/cat/a.jpg", "train/cat/b.png"]
    norm = doc["normalization"]
    assert norm["source_splits"] == ["train"] and "failed to decode" in norm["unavailable"]
    assert norm["mean"] == norm["std"] == doc["splits"]["train"]["mean"] == [0.0, 0.0, 0.0]
    assert all(code.startswith("# ") and "\n" not in code for code in norm["snippets"].values())
    assert doc["splits"]["val"]["images"] == 2 and doc["splits"]["val"]["pixels"] > 0
    assert "failed to decode" in report.read_text(encoding="utf-8") and drop.exists()
    # A source that does hold pixels exports its numbers as before.
    ok = run_cli("scan", str(root), "--json", str(out), "--source", "val", "--no-cache", "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert "unavailable" not in json.loads(out.read_text(encoding="utf-8"))["normalization"]
