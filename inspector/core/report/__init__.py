"""A self-contained HTML report of a scan: one file, no network, nothing beside it.

Built from the export document (so it shows exactly what the JSON says) plus the normalization
recommendation and thumbnails of the images that findings name. Plots are inline SVG drawn here,
thumbnails embedded JPEG data URIs (each distinct picture once, as a CSS class), the CSS inline;
no script. Usage::

    html = build_report(doc, recommendation=recommendation_for(result, sources),
                        thumbnails=Thumbnails(layout_loader(layout)))
    write_report(html, "report.html")
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import normalize as nz
from ..atomic import write_text_atomic
from ..export import StatsSourceError, normalization_stats, source_histogram
from .page import document
from .sections import (MAX_ISSUE_ITEMS, balance_section, findings_section, normalization_section, problems_section,
                       quality_section, splits_section, summary_section)
from .thumbs import Thumbnails, content_identity

__all__ = ["Thumbnails", "build_report", "layout_loader", "recommendation_for", "save_report", "scan_report",
           "write_report"]


def recommendation_for(result: Any, source_splits: Sequence[str]) -> nz.Recommendation | None:
    """The window's normalization advice for a scan, or None when it is undefined (no pixels, std 0)."""
    try:
        mean, std, _ = normalization_stats(result, source_splits)
        hist = source_histogram(result, source_splits)
    except StatsSourceError:
        return None
    mean_a, std_a = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    if len(result.images) == 0 or not np.all(std_a > 0):
        return None
    amp = nz.summarize_amplification(result.images.mean, result.images.std, std_a)
    fractions = {s: nz.fraction_below_zero_from_histogram(hist, s, mean_a, std_a)
                 for s in (nz.UNIT, nz.SYMMETRIC, nz.DATASET)}
    return nz.recommend(amp, mean_a, std_a, fractions, list(source_splits))


def layout_loader(layout: Any, storage_options: dict | None = None) -> Callable[[str], bytes | None]:
    """Item id -> its encoded bytes for a thumbnail, read through the sources package (files, tar
    members, Parquet rows alike); None for ids the layout does not hold."""
    from ..sources.reader import read_bytes

    files = layout.files

    def load(item: str) -> bytes | None:
        try:
            f = files[files.index_of(item)]
        except ValueError:
            return None
        return read_bytes(f, storage_options)
    return load


def build_report(doc: dict, *, recommendation: nz.Recommendation | None = None,
                 thumbnails: Thumbnails | None = None, fail_on: str | None = None,
                 generated: _dt.datetime | None = None) -> str:
    """The whole HTML page for an export document."""
    thumbs = thumbnails or Thumbnails(None)
    finish = thumbs.start_prefetch([p for f in doc["leakage"] for p in f.get("paths") or []]
                                   + [it["path"] for it in (doc.get("quality_issues") or [])[:MAX_ISSUE_ITEMS]])
    try:  # the sections without pictures are built while the thumbnails are made
        when = (generated or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
        ds = doc["dataset"]
        summary, splits = summary_section(doc, fail_on), splits_section(doc)
        normalization, balance = normalization_section(doc, recommendation), balance_section(doc)
        files = problems_section(doc)
    finally:
        finish()
    parts = [("summary", "Summary", summary), ("findings", "Findings", findings_section(doc, thumbs)),
             ("splits", "Statistics", splits), ("normalization", "Normalization", normalization),
             ("balance", "Class balance", balance)]
    quality = quality_section(doc, thumbs)
    if quality:
        parts.append(("quality", "Image issues", quality))
    parts.append(("files", "Files", files))
    tool = doc.get("tool", {})
    subtitle = (f"{ds['root']} · {', '.join(ds['splits'])} · generated {when} by "
                f"{tool.get('name', 'dataset-inspector')} {tool.get('version', '')}")
    footer = "Self-contained report: every plot and picture is inside this file. " + (
        f"{thumbs.over_limit} image(s) past the report's image limit are named without a thumbnail."
        if thumbs.over_limit else "")
    return document("Dataset report", subtitle, [(a, t) for a, t, _ in parts],
                    "".join(html for _, _, html in parts), footer.strip(), thumbs.css())


def scan_report(doc: dict, result: Any, layout: Any, source_splits: Sequence[str], *,
                storage_options: dict | None = None, fail_on: str | None = None) -> str:
    """The page for a scan's export document: its advice, and thumbnails read through the layout
    (exact copies, by content hash, read once)."""
    thumbs = Thumbnails(layout_loader(layout, storage_options),
                        identity=content_identity(result.images.paths, result.images.content_hash))
    return build_report(doc, recommendation=recommendation_for(result, source_splits), thumbnails=thumbs,
                        fail_on=fail_on)


def write_report(html: str, path: str) -> None:
    """Write the page atomically (temporary file + rename)."""
    write_text_atomic(html, path, ".html")


def save_report(result: Any, layout: Any, findings: Sequence[Any], source_splits: Sequence[str], path: str,
                *, storage_options: dict | None = None, fail_on: str | None = None) -> str:
    """Build the export document and write its report to `path` (the command line's and the
    window's one way to make a report); returns the path."""
    from ..export import build_document

    doc = build_document(result, findings, source_splits=list(source_splits))
    write_report(scan_report(doc, result, layout, source_splits, storage_options=storage_options,
                             fail_on=fail_on), path)
    return path
