"""The session: one open dataset and everything the window shows about it, as an evented model.

Every field changes through a method, and each change emits its event (``session.events.X``)
after the new value is in place, so a subscriber reads a consistent session. The rules that
several widgets used to work out each for themselves live here once: the default normalization
source, the numbers exported for it, which findings depend on it (``stats_source``), what may be
exported, the severity counts.

Events (arguments in brackets):
    root [root]              a dataset was opened (or reopened for a rescan): everything cleared
    phase [phase]            the scan phase changed (see ``Phase``)
    layout [layout]          the files are listed (``DatasetLayout``)
    result [result]          the final statistics (``ScanResult``), or None when cleared
    findings [findings]      the leakage findings (a list), or None: not checked yet, or failed
    source [splits]          the splits the normalization mean/std come from
    normalization [numbers]  the exported mean/std for that source (``NormalizationNumbers``)
    selection [selection]    the selected image or failed file (``Selection``)
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..core.export import default_source
from ..core.layout import DatasetLayout
from ..core.leakage import Finding, count_by_severity
from ..core.scan import ScanResult
from .events import EventGroup
from .normalization import NormalizationNumbers, normalization_numbers
from .scan_job import with_stats_source


class Phase(str, Enum):
    IDLE = "idle"                # nothing opened yet
    SCANNING = "scanning"        # listing files and computing the statistics
    CHECKING = "checking"        # statistics final; the leakage search runs
    DONE = "done"                # statistics and findings (or the leakage failure) are in
    CANCELLED = "cancelled"      # stopped by the user; the result stays when the statistics were final
    FAILED = "failed"            # the folder could not be scanned


@dataclass(frozen=True)
class Selection:
    """An image (``image_row`` into result.images) or a failed file (``failure`` into result.failures)."""

    image_row: int | None = None
    failure: int | None = None

    @property
    def empty(self) -> bool:
        return self.image_row is None and self.failure is None


NOTHING_SELECTED = Selection()


def leaky_sources(source: Sequence[str], splits: Sequence[str]) -> list[str]:
    """Source splits other than train, when the dataset has a train split (without one,
    no choice is leak-free and nothing is flagged)."""
    if "train" not in splits:
        return []
    return [s for s in source if s != "train"]


class Session:
    EVENT_NAMES = ("root", "phase", "layout", "result", "findings", "source", "normalization", "selection")

    def __init__(self) -> None:
        self.events = EventGroup(*self.EVENT_NAMES)
        self.root: str | None = None
        self.phase: Phase = Phase.IDLE
        self.layout: DatasetLayout | None = None
        self.result: ScanResult | None = None
        self.findings: list[Finding] | None = None
        self.leakage_error: str | None = None
        self.source: list[str] = []
        self.normalization: NormalizationNumbers | None = None
        self.selection: Selection = NOTHING_SELECTED

    # ------------------------------------------------------------------ scan lifecycle

    def open(self, root: str, *, keep_source: bool = False) -> None:
        """A dataset is (re)opened: everything about the previous one is cleared. A rescan keeps
        the chosen source; a new dataset starts from the default (train)."""
        self.root = root
        self.layout = None
        self.result = None
        self.findings = None
        self.leakage_error = None
        if not keep_source:
            self.source = []
        self.normalization = None
        self.selection = NOTHING_SELECTED
        self.phase = Phase.SCANNING
        for name in ("root", "phase"):
            getattr(self.events, name).emit(getattr(self, name))
        self.events.result.emit(None)
        self.events.findings.emit(None)
        self.events.normalization.emit(None)
        self.events.selection.emit(self.selection)

    def set_layout(self, layout: DatasetLayout) -> None:
        self.layout = layout
        self.events.layout.emit(layout)

    def set_result(self, result: ScanResult) -> None:
        """The statistics are final; the leakage search starts."""
        self.result = result
        self.findings = None
        self.leakage_error = None
        self.source = [s for s in self.source if s in result.splits] or default_source(result)
        self.normalization = self._numbers()
        self.phase = Phase.CHECKING
        self.events.result.emit(result)
        self.events.source.emit(list(self.source))
        self.events.normalization.emit(self.normalization)
        self.events.phase.emit(self.phase)

    def set_findings(self, findings: Sequence[Finding] | None, error: str | None = None) -> None:
        """The leakage search finished (``findings``) or failed (None and ``error``). The findings
        were computed for the source at the start of the search; they follow the current one."""
        self.findings = None if findings is None else with_stats_source(findings, self.source, self._splits())
        self.leakage_error = error if findings is None else None
        self.phase = Phase.DONE
        self.events.findings.emit(self.findings)
        self.events.phase.emit(self.phase)

    def cancel(self) -> None:
        self.phase = Phase.CANCELLED
        self.events.phase.emit(self.phase)

    def fail(self) -> None:
        self.phase = Phase.FAILED
        self.events.phase.emit(self.phase)

    @property
    def scanning(self) -> bool:
        return self.phase in (Phase.SCANNING, Phase.CHECKING)

    # ------------------------------------------------------------------ normalization source

    def set_source(self, splits: Sequence[str]) -> bool:
        """Choose the splits the exported mean/std come from (unknown names dropped; none left:
        the default). Only the stats_source finding depends on this choice, so the findings are
        updated at once. Returns whether anything changed."""
        if self.result is None:
            return False
        chosen = [s for s in splits if s in self.result.splits] or default_source(self.result)
        if chosen == self.source:
            return False
        self.source = chosen
        self.normalization = self._numbers()
        self.events.source.emit(list(self.source))
        self.events.normalization.emit(self.normalization)
        if self.findings is not None:
            self.findings = with_stats_source(self.findings, self.source, self._splits())
            self.events.findings.emit(self.findings)
        return True

    def _numbers(self) -> NormalizationNumbers:
        assert self.result is not None
        return normalization_numbers(self.result, self.source)

    @property
    def has_train(self) -> bool:
        return self.result is not None and "train" in self.result.splits

    @property
    def leaky_sources(self) -> list[str]:
        return leaky_sources(self.source, self.result.splits if self.result is not None else [])

    @property
    def dataset_std(self) -> tuple[float, ...] | None:
        """The source std, None when the source holds no readable pixel (nothing to export)."""
        return self.normalization.std if self.normalization is not None else None

    # ------------------------------------------------------------------ derived

    @property
    def leakage_unchecked(self) -> bool:
        """The statistics are final but the leakage search was cancelled."""
        return self.phase is Phase.CANCELLED and self.result is not None and self.findings is None

    @property
    def can_export(self) -> bool:
        """Final statistics and the leakage checked (or its check cancelled by the user: the export
        then holds the one check that needs no search, stats_source). A source without a readable
        pixel still exports: the document lists the failures and says why mean/std are missing."""
        checked = self.findings is not None or self.leakage_unchecked
        return self.result is not None and checked and self.normalization is not None

    def _splits(self) -> list[str] | None:
        return list(self.result.splits) if self.result is not None else None

    @property
    def export_findings(self) -> list[Finding]:
        if self.findings is not None:
            return list(self.findings)
        return with_stats_source([], self.source, self._splits()) if self.leakage_unchecked else []

    @property
    def severity_counts(self) -> dict[str, int]:
        return count_by_severity(self.findings or [])

    @property
    def error_count(self) -> int:
        return self.severity_counts.get("error", 0)

    def errors_by_split(self) -> Counter[str]:
        """How many error findings involve each split (the statistics table's badges)."""
        by_split: Counter[str] = Counter()
        for f in self.findings or []:
            if f.severity == "error":
                for s in set(f.splits):
                    by_split[s] += 1
        return by_split

    # ------------------------------------------------------------------ selection

    def select_image(self, row: int) -> None:
        self._select(Selection(image_row=int(row)))

    def select_failure(self, index: int) -> None:
        self._select(Selection(failure=int(index)))

    def clear_selection(self) -> None:
        self._select(NOTHING_SELECTED)

    def _select(self, selection: Selection) -> None:
        if selection == self.selection:
            return
        self.selection = selection
        self.events.selection.emit(selection)
