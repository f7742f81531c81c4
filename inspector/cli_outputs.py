"""The scan command's outputs beyond JSON: the HTML report (`--html`), the drop list
(`--drop-list`, `--drop-side`) and the CI gate (`--fail-on`, exit 1 after every output is written)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .core.gate import EXIT_FAILED_GATE, LEVELS, failing, gate_lines


def add_arguments(s: argparse.ArgumentParser) -> None:
    from .core.droplist import SIDES

    s.add_argument("--html", metavar="REPORT", help="write a self-contained HTML report here (atomically)")
    s.add_argument("--drop-list", metavar="CSV",
                   help="write the fewest files to remove so no exact, near or mirror copy is shared "
                        "across splits (columns path,split,kind,partner,reason)")
    s.add_argument("--drop-side", choices=SIDES, default="train",
                   help="which copy the drop list removes: train (default: held-out images stay) or heldout")
    s.add_argument("--fail-on", choices=LEVELS, default=None,
                   help="exit 1 (after writing every output) when a finding at this severity or higher exists")


def output_paths(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(flag, path, example file name) of the file outputs asked for, for the up-front checks."""
    wanted = [("--html", args.html, "report.html"), ("--drop-list", args.drop_list, "drop.csv")]
    return [(flag, path, example) for flag, path, example in wanted if path]


def write_outputs(args: argparse.Namespace, result: Any, layout: Any, doc: dict,
                  findings: Sequence[Any], source: Sequence[str],
                  storage_options: dict | None = None) -> str | None:
    """Write the report and the drop list; a message when one cannot be written."""
    jobs: list[tuple[str, Callable[[], None]]] = []
    if args.html:
        jobs.append((args.html, lambda: _write_html(args.html, result, layout, doc, source, args.fail_on,
                                                      storage_options)))
    if args.drop_list:
        jobs.append((args.drop_list, lambda: _write_drop_list(args.drop_list, result, findings, args.drop_side)))
    for path, job in jobs:
        try:
            job()
        except OSError as exc:   # the disk filled up or the folder went away during the scan
            return f"cannot write {path}: {exc.strerror or exc}"
    return None


def _write_html(path: str, result: Any, layout: Any, doc: dict, source: Sequence[str],
                fail_on: str | None, storage_options: dict | None) -> None:
    from .core.report import scan_report, write_report

    write_report(scan_report(doc, result, layout, source, storage_options=storage_options, fail_on=fail_on), path)


def _write_drop_list(path: str, result: Any, findings: Sequence[Any], side: str) -> None:
    from .core.droplist import save_drop_list

    save_drop_list(result.images, findings, path, side=side)


def gate_status(args: argparse.Namespace, doc: dict) -> int:
    """0, or 1 with the failing findings printed on stderr (even with --quiet: it says why CI failed)."""
    failed = failing(doc["leakage"], args.fail_on)
    if not failed:
        return 0
    for line in gate_lines(failed, args.fail_on):
        print(line, file=sys.stderr)
    return EXIT_FAILED_GATE
