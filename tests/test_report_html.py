"""The HTML report: self-contained, complete (every finding with its thumbnails, statistics,
snippets, balance), and generic over finding kinds and image-issue keys it does not know."""
from __future__ import annotations

import base64
import copy
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagefactory import write_image
from inspector.core.export import build_document
from inspector.core.layout import discover
from inspector.core.leakage import scan_leakage
from inspector.core.report import Thumbnails, build_report, layout_loader, recommendation_for
from inspector.core.report.thumbs import THUMB_SIDE, make_thumbnail
from inspector.core.report.sections import MAX_ISSUE_ITEMS
from inspector.core.scan import scan


class _Refs(HTMLParser):
    """Every tag and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.pictures: list[tuple[str, str]] = []   # (aria-label = item id, thumbnail class)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "xlink:href", "background"):
                self.refs.append((tag, name, value or ""))
        a = dict(attrs)
        if a.get("role") == "img" and "pic" in a.get("class", "").split():
            cls = [c for c in a["class"].split() if re.fullmatch(r"i\d+", c)]
            self.pictures.append((a["aria-label"], cls[0]))


THUMB_CSS = re.compile(r'\.pic\.(i\d+)\{background-image:url\("(data:image/jpeg;base64,[A-Za-z0-9+/=]+)"\)\}')


def _thumbnails(html: str) -> dict[str, str]:
    return dict(THUMB_CSS.findall(html))


def _parse(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def demo_report(demo_root):
    layout = discover(demo_root)
    result = scan(layout, workers=1)
    findings = scan_leakage(result, ["train"])
    doc = build_document(result, findings, source_splits=["train"])
    html = build_report(doc, recommendation=recommendation_for(result, ["train"]),
                        thumbnails=Thumbnails(layout_loader(layout)), fail_on="warning")
    return result, layout, doc, html


def test_references_nothing_outside_itself(demo_report):
    *_, html = demo_report
    p = _parse(html)
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(p.tags)
    for tag, name, value in p.refs:
        assert value.startswith("#") or value.startswith("data:image/"), (tag, name, value[:60])
    lowered = THUMB_CSS.sub("", html).lower()      # the only url(...) allowed: embedded thumbnails
    assert _thumbnails(html)
    assert "http:" not in lowered and "https:" not in lowered and "file://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered and " src=" not in lowered


def test_every_finding_appears_with_both_thumbnails(demo_report):
    _, _, doc, html = demo_report
    assert doc["leakage"]
    p = _parse(html)
    flagged = [q["path"] for q in doc["quality_issues"][:MAX_ISSUE_ITEMS]]  # image issues have pictures too
    named = {path for f in doc["leakage"] for path in f["paths"]} | set(flagged)
    assert len(p.pictures) == sum(len(f["paths"]) for f in doc["leakage"]) + len(flagged)
    assert {item for item, _ in p.pictures} == named
    thumbs = _thumbnails(html)
    assert {cls for _, cls in p.pictures} == set(thumbs)      # every picture defined, each once
    assert len(thumbs) == len(set(thumbs.values()))
    for uri in thumbs.values():                              # real, small pictures
        im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert im.format == "JPEG" and max(im.size) <= THUMB_SIDE and np.asarray(im).std() > 1
    from html import escape
    for f in doc["leakage"]:
        assert escape(f["message"]) in html
        for path in f["paths"]:
            assert f'aria-label="{escape(path)}"' in html


def test_statistics_normalization_and_balance_are_in_the_report(demo_report):
    from html import escape
    _, _, doc, html = demo_report
    for name, st in doc["splits"].items():
        assert f"<td>{name}</td><td class=\"num\">{st['images']:,}</td>" in html
        assert ", ".join(f"{v:.4f}" for v in st["mean"]) in html
    assert html.count('<svg class="plot"') >= 3 + 3 + 1       # 3 channels, 3 splits, class balance
    for code in doc["normalization"]["snippets"].values():
        assert escape(code) in html
    assert "Recommendation" in html and "dataset standardization" in html
    for split, classes in doc["dataset"]["classes"].items():
        for cls, n in classes.items():
            assert f"<td>{escape(cls)}</td>" in html
    for f in doc["failures"]:
        assert escape(f["reason"]) in html
    assert "--fail-on warning: fails" in html


def test_new_finding_kinds_and_image_issues_render_from_the_export(demo_report, demo_root):
    """Keys and kinds the report was not written for (drift tests, image issues) still show."""
    _, layout, doc, _ = demo_report
    doc = copy.deepcopy(doc)
    doc["leakage"].append({"kind": "label_drift", "severity": "warning", "splits": ["test", "train"],
                           "paths": [], "distance": None, "message": "Class shares of test differ from train.",
                           "property": "label", "statistic": "chi2_p", "value": 0.0012, "threshold": 0.01})
    doc["leakage"].append({"kind": "new_class", "severity": "error", "splits": ["val"], "paths": [],
                           "distance": None, "message": "Class 'boat' is in val but not in train."})
    dark = "train/night/dark_night_frame.png"
    doc["quality"] = {"dark": {"train": 1, "val": 0, "test": 0}, "blurry": {"train": 0, "val": 2, "test": 0}}
    doc["quality_issues"] = [{"path": dark, "split": "train", "issues": ["dark"], "scores": {"dark": 0.031}}]
    html = build_report(doc, thumbnails=Thumbnails(layout_loader(layout)))
    assert "label_drift" in html and "chi2_p" in html and "0.0012" in html and "new_class" in html
    assert 'id="quality"' in html and "blurry" in html and "dark 0.031" in html
    assert f'aria-label="{dark}"' in html
    bare = {k: v for k, v in demo_report[2].items() if k not in ("quality", "quality_issues")}
    assert 'id="quality"' not in build_report(bare)     # no keys, no section


def test_an_image_gone_since_the_scan_is_named_not_fatal(demo_report):
    _, _, doc, _ = demo_report
    path = doc["leakage"][0]["paths"][0]
    html = build_report(doc, thumbnails=Thumbnails(lambda item: "/nonexistent/" + item))
    assert "no thumbnail: FileNotFoundError" in html and path in html


def test_thumbnail_limit_bounds_the_report(demo_report, demo_root):
    _, layout, doc, _ = demo_report
    html = build_report(doc, thumbnails=Thumbnails(layout_loader(layout), limit=2))
    assert len(_thumbnails(html)) == 2
    assert "report image limit reached" in html


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "I;16", "CMYK", "LA", "1"])
def test_thumbnails_of_every_mode(tmp_path, mode):
    path = tmp_path / f"x.{'tif' if mode in ('I;16', 'CMYK') else 'png'}"
    write_image(path, mode, size=(300, 90))
    uri = make_thumbnail(str(path))
    im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert im.size == (THUMB_SIDE, round(90 * THUMB_SIDE / 300)) and im.mode in ("RGB", "L")


def test_tiny_images_are_not_enlarged(tmp_path):
    write_image(tmp_path / "d.png", "L", size=(28, 28))
    uri = make_thumbnail(str(tmp_path / "d.png"))
    assert Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size == (28, 28)


def test_thumbnails_made_on_threads_give_the_same_page(demo_report):
    """The threaded prefetch numbers pictures in item order: the page equals a one-by-one build."""
    _, layout, doc, _ = demo_report

    class OneByOne(Thumbnails):
        def start_prefetch(self, items, threads=None):
            return lambda: None

    named = {p for f in doc["leakage"] for p in f["paths"]}
    assert len(named) >= 8                       # enough for the prefetch to run on threads
    when = __import__("datetime").datetime(2026, 1, 1)
    threaded = build_report(doc, thumbnails=Thumbnails(layout_loader(layout)), generated=when)
    serial = build_report(doc, thumbnails=OneByOne(layout_loader(layout)), generated=when)
    assert threaded == serial


def test_exact_copies_are_read_once_and_the_page_is_unchanged(demo_report):
    """With the scan's content hashes, files of identical content share one read and one
    thumbnail; the page equals the one made by reading every file."""
    from inspector.core.report import scan_report
    from inspector.core.report.thumbs import content_identity

    result, layout, doc, _ = demo_report
    exact = [f for f in doc["leakage"] if f["kind"] == "exact"]
    assert exact
    load, reads = layout_loader(layout), []

    def counting(item):
        reads.append(item)
        return load(item)

    when = __import__("datetime").datetime(2026, 1, 1)
    identity = content_identity(result.images.paths, result.images.content_hash)
    shared = build_report(doc, thumbnails=Thumbnails(counting, identity=identity), generated=when)
    named = list(dict.fromkeys([p for f in doc["leakage"] for p in f["paths"]]
                               + [it["path"] for it in doc["quality_issues"][:MAX_ISSUE_ITEMS]]))
    rows = {p: i for i, p in enumerate(result.images.paths)}
    distinct = {tuple(result.images.content_hash[rows[p]]) if p in rows else p for p in named}
    assert len(reads) == len(distinct) < len(named)
    assert shared == build_report(doc, thumbnails=Thumbnails(load), generated=when)
    html = scan_report(doc, result, layout, ["train"], fail_on="warning")
    assert _thumbnails(html) == _thumbnails(demo_report[3])


def test_a_split_without_pixels_and_a_single_value_split_read_plainly(demo_report):
    from inspector.core.report.sections import splits_section
    from inspector.core.report.svg import histogram_svg

    svg = histogram_svg({"val": [0] * 10 + [64] + [0] * 245}, {"val": "#000"}, "one value")
    assert ">100%<" in svg and "e+" not in svg   # the axis top is 100%, not 1e+02%
    doc = copy.deepcopy(demo_report[2])
    val = doc["splits"]["val"]
    val.update(images=0, pixels=0, failed=3, mean=[0.0] * 3, std=[0.0] * 3)
    row = re.search(r"<tr><td>val</td>.*?</tr>", splits_section(doc)).group(0)
    assert "no readable image" in row and "0.0000" not in row


def test_a_thumbnail_opens_only_the_formats_the_scan_lists(tmp_path):
    """A file swapped for an EPS after the scan: no Ghostscript, a listed failure."""
    from PIL import UnidentifiedImageError

    eps = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n"
           b"newpath 0 0 moveto 8 0 lineto 8 8 lineto closepath fill\nshowpage\n%%EOF\n")
    with pytest.raises(UnidentifiedImageError):
        make_thumbnail(eps)
    thumbs = Thumbnails(lambda item: eps)
    assert thumbs.css_class("train/photo.jpg") is None
    assert "UnidentifiedImageError" in thumbs.failed["train/photo.jpg"]
