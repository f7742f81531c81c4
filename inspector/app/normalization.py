"""What the normalization view shows, computed without Qt (so it can run in a worker thread and be
tested on its own).

Two levels:

- ``DatasetContext``: per scan and choice of source splits. The source mean/std
  (``NormalizationNumbers``, computed once per source by ``normalization_numbers`` and kept by the
  session), the amplification summary over every image of the scan,
  the exact dataset-level fractions below zero (from the source splits' integer histograms) and
  the ``recommend()`` text with its facts. All numbers come from ``inspector.core``.
- ``LoadedImage`` + ``compute_panels``: per displayed image. The file is decoded the way the scan
  decoded it (``core.decode``), brought to the dataset mode (a grey image in an RGB dataset is
  replicated, as ``convert("RGB")`` does), normalized with ``core.normalize.normalize`` on the
  full-resolution image, and summarized with ``core.normalize.normalized_summary``. Only the
  arrays handed to the display are downsampled (``display_step``).

Colour scales (see ``normalization_view`` for the widgets):

- Standardized schemes ("dataset", "per_image") share ``core.normalize.STANDARDIZED_RANGE``
  (-4..+4 std) on one diverging colour bar: the same colour means the same value in every panel.
- Bounded schemes ([0, 1], [-1, 1], per-image min-max) share a second fixed bar, ``BOUNDED_RANGE``
  (-1..+1), with the same diverging map. [0, 1] is deliberately *not* stretched over the whole
  map: zero stays the neutral colour on both bars, so "blue" always means "below zero, what a
  ReLU right after the input would cut", and [0, 1] visibly uses only the warm half.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import amplification
from ..core import normalize as nz
from ..core.decode import DecodeError, decode
from ..core.export import StatsSourceError, default_source, normalization_stats, result_warnings, source_histogram
from ..core.scan import ScanResult
from ..core.sources import ReadError, image_payload

ORIGINAL = "original"
LUMINANCE = -1  # channel selector value for the luminance (luma-weighted mix of channels)

# The selectable third panel, in menu order (default first).
THIRD_PANEL_SCHEMES: tuple[str, ...] = (nz.PER_IMAGE, nz.UNIT, nz.SYMMETRIC, nz.MINMAX, nz.DATASET)

BOUNDED_RANGE: tuple[float, float] = (-1.0, 1.0)
"""Fixed colour scale and histogram axis of the bounded schemes ([0, 1], [-1, 1], min-max)."""
BOUNDED_BINS = 80            # 0.025 per bin over BOUNDED_RANGE, zero on a bin edge
ORIGINAL_RANGE: tuple[float, float] = (0.0, 1.0)
ORIGINAL_BINS = 64           # 4 grey levels per bin on 8-bit data

DISPLAY_MAX_SIDE = 1024      # larger images are shown subsampled (numbers still use every pixel)


def too_amplified(amplification: float) -> bool:
    """Whether per-image standardization stretches an image enough to warn about it (the image
    list, the preview and the normalization view all highlight by this one rule)."""
    return amplification > nz.AMPLIFICATION_WARN_FACTOR


def panel_range(scheme: str) -> tuple[float, float]:
    """Colour scale and histogram x range of a panel."""
    if scheme == ORIGINAL:
        return ORIGINAL_RANGE
    if scheme in nz.STANDARDIZED_SCHEMES:
        return nz.display_range(scheme)
    nz.display_range(scheme)  # validates the name
    return BOUNDED_RANGE


def panel_bins(scheme: str) -> int:
    if scheme == ORIGINAL:
        return ORIGINAL_BINS
    return nz.HISTOGRAM_BINS if scheme in nz.STANDARDIZED_SCHEMES else BOUNDED_BINS


def is_standardized(scheme: str) -> bool:
    return scheme in nz.STANDARDIZED_SCHEMES


# --- per scan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalizationNumbers:
    """The mean/std exported for the source splits, or why there are none (``problem``)."""

    source: tuple[str, ...]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    max_value: int = 255
    warnings: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.std is not None


def normalization_numbers(result: ScanResult, source: list[str]) -> NormalizationNumbers:
    """The exported numbers for these source splits: the one place the window computes them (the
    session keeps them; the normalization view and the snippets read them from there). Kept with
    the result per source: the scan job works them out first (scan_job._prepare_display)."""
    known = result.extra.setdefault("_normalization_numbers", {})
    if tuple(source) not in known:
        known[tuple(source)] = _numbers(result, source)
    return known[tuple(source)]


def _numbers(result: ScanResult, source: list[str]) -> NormalizationNumbers:
    try:
        mean, std, max_value = normalization_stats(result, source)
    except StatsSourceError as exc:
        return NormalizationNumbers(tuple(source), problem=str(exc))
    warnings = tuple(result_warnings(result, source, std))
    return NormalizationNumbers(tuple(source), tuple(mean), tuple(std), max_value, warnings)


@dataclass(frozen=True, eq=False)
class DatasetContext:
    """Dataset-level numbers for one (scan, source splits) pair; ``error`` is set instead of
    the statistics when the source splits cannot provide a mean/std."""

    result: ScanResult
    sources: list[str]
    mean: np.ndarray | None = None          # (C,) 0-1 scale
    std: np.ndarray | None = None           # (C,) 0-1 scale
    max_value: int = 255
    amplification: nz.AmplificationSummary | None = None
    fractions: dict[str, np.ndarray] = field(default_factory=dict)  # scheme -> (C,) below zero
    recommendation: nz.Recommendation | None = None
    error: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def channel_names(self) -> list[str]:
        return ["R", "G", "B"] if self.result.channels == 3 else ["L"]


def dataset_context(result: ScanResult, source_splits: list[str] | None,
                    numbers: NormalizationNumbers | None = None) -> DatasetContext:
    """The context for these source splits; ``numbers`` are the session's for them (computed here
    only when not given, e.g. a view used on its own)."""
    sources = [s for s in (source_splits or []) if s]
    note = ""
    if not sources:
        sources = default_source(result) if result.splits else []
        note = f"No source split chosen; using {', '.join(sources) or 'none'}."
    if len(result.images) == 0:
        return DatasetContext(result, sources, error="The scan found no readable images.", note=note)
    if numbers is None or list(numbers.source) != sources:
        numbers = normalization_numbers(result, sources)
    if numbers.problem is not None or numbers.mean is None or numbers.std is None:
        return DatasetContext(result, sources, error=f"No normalization statistics: {numbers.problem}.", note=note)
    max_value = numbers.max_value
    hist = source_histogram(result, sources)
    mean_a, std_a = np.asarray(numbers.mean, np.float64), np.asarray(numbers.std, np.float64)
    if not np.all(std_a > 0):
        return DatasetContext(result, sources, mean=mean_a, std=std_a, max_value=max_value,
                              error="The source splits have a zero std (every pixel identical): "
                                    "standardization is undefined.", note=note)
    table = result.images
    amp = amplification.summary(table, std_a)  # worked out once per std (the scan job's thread)
    fractions = {s: nz.fraction_below_zero_from_histogram(hist, s, mean_a, std_a)
                 for s in (nz.UNIT, nz.SYMMETRIC, nz.DATASET)}
    rec = nz.recommend(amp, mean_a, std_a, fractions, sources, has_train="train" in result.splits)
    return DatasetContext(result, sources, mean_a, std_a, max_value, amp, fractions, rec, note=note)


# --- per image ---------------------------------------------------------------------------------


@dataclass(eq=False)
class LoadedImage:
    """One decoded image in the dataset mode, raw values (uint8 or uint16), (H, W, C)."""

    row: int
    path: str
    raw: np.ndarray
    max_value: float
    _normalized: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def pixels(self) -> int:
        return int(self.raw.shape[0] * self.raw.shape[1])

    @property
    def channels(self) -> int:
        return int(self.raw.shape[2])

    def normalized(self, scheme: str, mean=None, std=None) -> np.ndarray:
        """Full-resolution ``core.normalize.normalize`` output, cached per scheme."""
        if scheme not in self._normalized:
            self._normalized[scheme] = nz.normalize(self.raw, scheme, mean, std, self.max_value)
        return self._normalized[scheme]


class ImageLoadError(Exception):
    """The file of a row cannot be shown; ``str(exc)`` is the message for the user."""


def load_image(result: ScanResult, row: int) -> LoadedImage:
    """Decode row ``row`` of ``result.images`` from disk, in the dataset mode."""
    table = result.images
    if not 0 <= row < len(table):
        raise ImageLoadError(f"No image #{row}: the scan has {len(table)} images.")
    rel = table.paths[row]
    try:
        im = decode(image_payload(result, rel), rel).image
        raw = np.asarray(im)
    except (DecodeError, ReadError) as exc:
        raise ImageLoadError(f"Cannot load {rel}: {exc}") from None
    except OSError as exc:  # anything decode does not classify (e.g. the file vanished mid-read)
        raise ImageLoadError(f"Cannot load {rel}: {exc}") from None
    max_value = 65535.0 if raw.dtype == np.uint16 else 255.0
    if raw.ndim == 2:
        raw = raw[:, :, np.newaxis]
    if result.channels == 3 and raw.shape[2] == 1:  # convert("RGB") replicates a grey channel
        raw = np.repeat(raw, 3, axis=2)
    elif result.channels == 1 and raw.shape[2] != 1:
        raise ImageLoadError(f"{rel} now holds colour data, but the scan found a single-channel dataset; rescan.")
    return LoadedImage(row, rel, raw, max_value)


def display_step(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> int:
    """Subsampling step for display: 1 up to ``max_side`` pixels per side."""
    return max(1, math.ceil(max(height, width) / max_side))


def select_channel(values: np.ndarray, channel: int) -> np.ndarray:
    """(H, W) values of one channel, or their luminance (``core.normalize.luminance``)."""
    if channel == LUMINANCE:
        return nz.luminance(values if values.shape[2] != 1 else values[:, :, 0])
    return values[:, :, channel]


@dataclass(frozen=True, eq=False)
class PanelData:
    scheme: str                     # ORIGINAL or a core scheme id
    display: np.ndarray | None      # what the ImageItem shows (subsampled); None when unavailable
    values_range: tuple[float, float]
    summary: nz.NormalizedSummary | None  # over the full-resolution values of the selected channel
    message: str = ""               # why there is nothing to show (e.g. no dataset statistics)


def original_display(img: LoadedImage) -> np.ndarray:
    """True colours for display: uint8 (H, W, 3) or (H, W), subsampled."""
    step = display_step(*img.raw.shape[:2])
    raw = img.raw[::step, ::step]
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    if raw.shape[2] == 3:
        return np.ascontiguousarray(raw)
    return np.ascontiguousarray(raw[:, :, 0])


def compute_panel(img: LoadedImage, scheme: str, channel: int, ctx: DatasetContext | None) -> PanelData:
    rng = panel_range(scheme)
    if scheme == ORIGINAL:
        values = select_channel(img.raw, channel).astype(np.float64) / img.max_value
        summary = nz.normalized_summary(values, bins=panel_bins(scheme), value_range=rng)
        return PanelData(scheme, original_display(img), rng, summary)
    if scheme == nz.DATASET:
        if ctx is None or ctx.mean is None or not ctx.ok:
            why = ctx.error if ctx is not None and ctx.error else "no dataset statistics"
            return PanelData(scheme, None, rng, None, f"Dataset standardization unavailable: {why}")
        normalized = img.normalized(scheme, ctx.mean, ctx.std)
    else:
        normalized = img.normalized(scheme)
    values = select_channel(normalized, channel)
    summary = nz.normalized_summary(values, bins=panel_bins(scheme), value_range=rng)
    step = display_step(*values.shape)
    display = np.ascontiguousarray(values[::step, ::step], dtype=np.float32)
    return PanelData(scheme, display, rng, summary)


def compute_panels(img: LoadedImage, third_scheme: str, channel: int,
                   ctx: DatasetContext | None) -> list[PanelData]:
    """The three panels: original | dataset standardization | ``third_scheme``."""
    return [compute_panel(img, ORIGINAL, channel, ctx),
            compute_panel(img, nz.DATASET, channel, ctx),
            compute_panel(img, third_scheme, channel, ctx)]
