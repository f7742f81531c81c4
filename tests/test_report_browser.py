"""The HTML report rendered by a real browser (headless Chromium) at 1400 px and at phone width.

The screenshot must be a real rendering: not blank, the page's own colours present (header, error
cards, split colours of the plots) and the thumbnails drawn (photo-like colour variety). A blank
page is checked to fail the same test, so the check can fail.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from inspector.core.export import build_document
from inspector.core.layout import discover
from inspector.core.leakage import scan_leakage
from inspector.core.report import Thumbnails, build_report, layout_loader, recommendation_for, write_report
from inspector.core.scan import scan

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs "
                                                        "Debian's chromium package); the report is not rendered")
HEADER = (0x1D, 0x2A, 0x3A)
ERROR_RED = (0xB3, 0x26, 0x1E)
TRAIN_BLUE = (0x00, 0x72, 0xB2)


def screenshot(html_path, out, size: tuple[int, int], profile) -> Image.Image:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={out}",
           f"--window-size={size[0]},{size[1]}", html_path.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    return Image.open(out).convert("RGB")


def _has_colour(a: np.ndarray, rgb: tuple[int, int, int], least: int, tol: int = 6) -> bool:
    return int((np.abs(a.astype(int) - rgb).max(axis=2) <= tol).sum()) >= least


def rendered_problems(im: Image.Image, size: tuple[int, int]) -> list[str]:
    """Why a screenshot is not a real rendering of the report (empty when it is)."""
    a = np.asarray(im)
    problems = []
    if im.size != size:
        problems.append(f"size {im.size} != {size}")
    if a.std() < 20:
        problems.append(f"almost uniform (pixel std {a.std():.1f})")
    if not _has_colour(a[:60], HEADER, least=size[0] * 20):
        problems.append("no dark header at the top")
    if not _has_colour(a, ERROR_RED, least=100):
        problems.append("no error badge or card")
    colours = len(np.unique(a.reshape(-1, 3) // 4, axis=0))
    if colours < 1500:
        problems.append(f"only {colours} distinct colours: thumbnails not drawn")
    return problems


@pytest.fixture(scope="module")
def report_file(demo_root, tmp_path_factory):
    layout = discover(demo_root)
    result = scan(layout, workers=1)
    doc = build_document(result, scan_leakage(result, ["train"]), source_splits=["train"])
    html = build_report(doc, recommendation=recommendation_for(result, ["train"]),
                        thumbnails=Thumbnails(layout_loader(layout)))
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(html, str(path))
    return path


@pytest.mark.parametrize("size", [(1400, 900), (390, 1800)], ids=["desktop", "phone"])
def test_report_renders_in_chromium(report_file, tmp_path, size):
    im = screenshot(report_file, tmp_path / "shot.png", size, tmp_path / "profile")
    assert rendered_problems(im, size) == []
    if size[0] < 500:    # phone: the page fits the width (no horizontal overflow cuts the header)
        a = np.asarray(im)
        assert _has_colour(a[:40, -12:], HEADER, least=12 * 20)


def test_statistics_plots_render(report_file, tmp_path):
    """Further down the page: the histogram lines in the split colours."""
    im = screenshot(report_file, tmp_path / "tall.png", (1400, 4200), tmp_path / "profile")
    a = np.asarray(im)
    assert _has_colour(a[900:], TRAIN_BLUE, least=400, tol=10)


def test_a_blank_page_fails_the_check(tmp_path):
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    im = screenshot(blank, tmp_path / "blank.png", (1400, 900), tmp_path / "profile")
    assert len(rendered_problems(im, (1400, 900))) >= 3
