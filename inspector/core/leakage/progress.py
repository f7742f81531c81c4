"""Progress of the leakage phase: its stages report fractions, the phase reports one progress line.

The stages are generators that yield their own fraction done (0-1) between blocks of work of a
fraction of a second each, and return their result; a consumer that stops iterating (Cancel) stops
the work at the next block. `drain` runs one to its end for the simple calls.
"""
from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Steps = Generator[float, None, T]   # a stage: yields its fraction done, returns its result

STAGES = ("exact duplicates", "candidate search", "confirmation", "names and drift")
@dataclass(frozen=True)
class LeakageProgress:
    stage: str            # one of STAGES
    fraction: float       # of the whole leakage phase, 0-1
    elapsed: float        # seconds since the phase started
    eta: float | None     # seconds left, None until the rate is known


def drain(steps: Generator[object, None, T]) -> T:
    """Run a stage (or the phase) to its end and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def scaled(steps: Steps[T], lo: float, hi: float) -> Steps[T]:
    """A sub-stage's fractions mapped onto [lo, hi] of its parent stage."""
    span = hi - lo
    while True:
        try:
            f = next(steps)
        except StopIteration as stop:
            return stop.value
        yield lo + span * min(max(f, 0.0), 1.0)


class PhaseClock:
    """Turns (stage, fraction of the stage) into LeakageProgress for the whole phase.

    Each stage's share of the phase follows its estimated work (`work`: stage -> any unit, the
    same for all stages), and an estimate can be revised before its stage starts (`plan`: the
    confirmation's work is known once the candidates are). A stage's share is taken from what
    the phase has left when it starts, in proportion to its work among the stages still to run,
    so the reported fraction never goes back, whatever an estimate turns out to be."""

    def __init__(self, work: dict[str, float] | None = None) -> None:
        self.t0 = time.perf_counter()
        self._work = {name: 1.0 for name in STAGES} if work is None else {n: work.get(n, 0.0) for n in STAGES}
        self._stage: str | None = None
        self._base = 0.0       # the phase's fraction when the current stage started
        self._share = 0.0      # the current stage's share of the phase
        self._last = 0.0

    def plan(self, stage: str, work: float) -> None:
        """Revise the estimated work of a stage that has not started yet."""
        self._work[stage] = max(float(work), 0.0)

    def _begin(self, stage: str) -> None:
        later = STAGES[STAGES.index(stage):]
        left = sum(self._work[s] for s in later)
        self._base = self._last
        self._share = (1.0 - self._base) * (self._work[stage] / left if left > 0 else 1.0 / len(later))
        self._stage = stage

    def at(self, stage: str, stage_fraction: float) -> LeakageProgress:
        if stage != self._stage:
            self._begin(stage)
        f = self._base + self._share * min(max(stage_fraction, 0.0), 1.0)
        if stage == STAGES[-1] and stage_fraction >= 1.0:
            f = 1.0
        self._last = f = min(max(f, self._last), 1.0)
        elapsed = time.perf_counter() - self.t0
        eta = elapsed * (1.0 - f) / f if f > 0.02 and elapsed > 0.2 else None
        return LeakageProgress(stage, f, elapsed, eta if f < 1.0 else 0.0)

    def run(self, stage: str, steps: Steps[T]) -> Generator[LeakageProgress, None, T]:
        """Yield the phase's progress while `steps` runs; return its result."""
        yield self.at(stage, 0.0)
        while True:
            try:
                f = next(steps)
            except StopIteration as stop:
                yield self.at(stage, 1.0)
                return stop.value
            yield self.at(stage, f)
