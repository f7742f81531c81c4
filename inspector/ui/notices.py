"""The texts of the window's in-window messages and of the dataset summary line (rich text, no Qt).

Pure functions of the layout or the result, so the wording is in one place and testable; the
window decides where they appear (``message_bar.MessageArea``, ``progress_panel``).
"""
from __future__ import annotations

import html
import os
from collections.abc import Sequence

from ..app.dataset_facts import cache_note
from ..app.opening import source_text
from ..core.formatting import count
from ..core.layout import DatasetLayout
from ..core.scan import ScanResult

Notice = tuple[str, str]  # (level, rich text)


def _bold_list(names: Sequence[str], joiner: str = ", ") -> str:
    return joiner.join(f"<b>{html.escape(n)}</b>" for n in names)


def layout_notice(layout: DatasetLayout) -> Notice | None:
    """What is unusual about the folder structure: no split folders, missing or empty splits.
    Nothing while a manifest is still being read: its splits are not all known yet."""
    if layout.pending is not None:
        return None
    if layout.kind == "flat":
        return ("info", f"No train/val/test folders in {html.escape(layout.root)}: the whole folder is "
                        "scanned as one split called <b>all</b>. Leakage between splits cannot be checked.")
    counts = layout.files.split_counts()
    missing = [s for s in ("train", "val", "test") if s not in layout.splits]
    empty = [s for s in layout.splits if counts.get(s, 0) == 0]
    notes = []
    if "train" in missing:
        notes.append("There is no <b>train</b> split: the normalization statistics come from "
                     f"<b>{html.escape(layout.splits[0])}</b>.")
    other_missing = [s for s in missing if s != "train"]
    if other_missing:
        notes.append(f"No {_bold_list(other_missing, ' or ')} split found (splits: {', '.join(layout.splits)}).")
    if empty:
        notes.append(f"The {_bold_list(empty)} folder{'s contain' if len(empty) > 1 else ' contains'} no images.")
    if not notes:
        return None
    return ("warning" if ("train" in missing or empty) else "info", " ".join(notes))


def layout_label(layout: DatasetLayout) -> str:
    """The status-bar line for a dataset being scanned: its kind, where it is, what is listed."""
    listed = count(len(layout.files), "image file")
    if layout.pending is not None:  # a manifest read as the scan goes
        listed = f"{len(layout.files):,}+ image files (still listing)"
    return f"{source_text(layout.source_kind, layout.uri or layout.root)} · {listed} · splits {', '.join(layout.splits)}"


def result_label(result: ScanResult) -> str:
    """The status-bar line for a scanned dataset."""
    return (f"{source_text(result.source_kind, result.source_uri or result.root)} · "
            f"{count(len(result.images), 'image')} · {len(result.failures):,} failed · "
            f"{len(result.skipped):,} skipped · mode {result.mode}")


def undecodable_splits_notice(result: ScanResult) -> Notice | None:
    broken = [s for s, st in result.split_stats.items() if st.images == 0 and st.failed > 0]
    if not broken:
        return None
    return ("warning", f"No image of {_bold_list(broken)} could be decoded; see Failures.")


def failures_notice(result: ScanResult) -> Notice | None:
    n = len(result.failures)
    if not n:
        return None
    return ("info", f"{n:,} file{'s' if n != 1 else ''} could not be decoded and "
                    f"{'are' if n != 1 else 'is'} not in the statistics.")


def leakage_failed_notice(detail: str | None) -> Notice:
    return ("error", f"The leakage check failed ({html.escape(detail or 'unknown error')}). The statistics "
                     "are complete; export is disabled until a rescan succeeds.")


def source_notice(leaks: Sequence[str]) -> Notice | None:
    """The warning shown while the normalization source includes val or test."""
    if not leaks:
        return None
    return ("warning", f"Normalization statistics include <b>{html.escape(' + '.join(leaks))}</b>: "
                       "evaluation data leaks into training. The export records this as a "
                       "<b>stats_source</b> finding.")


def scan_done_status(result: ScanResult) -> str:
    """The status bar once a scan has finished: files, time and what came from the cache."""
    return (f"Scanned {count(len(result.images) + len(result.failures), 'file')} in {result.elapsed:.1f} s, "
            f"{cache_note(result)}")


def dataset_summary(result: ScanResult) -> str:
    """The one-line summary under the toolbar once a scan has finished."""
    name = os.path.basename(os.path.normpath(result.root)) or result.root
    splits = ", ".join(f"{s} {st.images:,}" for s, st in result.split_stats.items())
    workers = f"{result.workers} worker process{'es' if result.workers != 1 else ''}"
    return (f"<b>{html.escape(name)}</b> · {count(len(result.images), 'image')} ({html.escape(splits)}) · "
            f"{len(result.failures):,} failed · {len(result.skipped):,} skipped · mode {result.mode} · "
            f"scanned in {result.elapsed:.1f} s with {workers} ({html.escape(cache_note(result))}) · "
            f"<span style='color:gray'>{html.escape(result.root)}</span>")


def normalization_notice(warnings: Sequence[str]) -> Notice | None:
    """Problems with the normalization numbers themselves (zero std, 16-bit pixels), as exported."""
    if not warnings:
        return None
    return ("warning", "Normalization: " + " ".join(html.escape(w[0].upper() + w[1:]).rstrip(".") + "."
                                                      for w in warnings))
