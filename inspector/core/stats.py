"""Exact, mergeable per-channel statistics from integer histograms (DESIGN section 3).

For integer pixel data the per-channel histogram is a sufficient statistic: mean, std, min, max
and percentiles follow from it exactly, and histograms add up exactly across images, worker
processes and machines. 8-bit data lives on a 256-bin grid (value k means k/255); 16-bit data on a
65536-bin grid (v/65535). Because 65535 = 255 * 257, an 8-bit value k is exactly the 16-bit value
257*k, so both kinds of image merge onto one grid without rounding.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .median import median

PERCENTILES = (0.5, 1.0, 50.0, 99.0, 99.5)
_V8 = np.arange(256, dtype=np.int64)
_V16 = np.arange(65536, dtype=np.int64)
_V8_SQ = _V8 * _V8
_V16_SQ = _V16 * _V16


def image_histogram(im: Image.Image) -> np.ndarray:
    """Integer histogram of a canonical image: (3, 256) for RGB, (1, 256) for L, (1, 65536) for I;16."""
    if im.mode == "I;16":
        return np.bincount(np.asarray(im).ravel(), minlength=65536).astype(np.int64)[None, :]
    counts = im.histogram()  # Pillow's C loop: ~3x faster than np.bincount
    return np.fromiter(counts, np.int64, len(counts)).reshape(-1, 256)  # fromiter: ~30% less than np.array


def max_value(hist: np.ndarray) -> int:
    """The value that maps to 1.0 on the 0-1 scale for a histogram's grid."""
    return 65535 if hist.shape[1] == 65536 else 255


def to_grid16(hist: np.ndarray) -> np.ndarray:
    """Move a 256-bin histogram onto the exact 65536-bin grid (k -> 257*k)."""
    if hist.shape[1] == 65536:
        return hist
    out = np.zeros((hist.shape[0], 65536), dtype=np.int64)
    out[:, _V8 * 257] = hist
    return out


def to_256_bins(hist: np.ndarray) -> np.ndarray:
    """A 256-bin view for display and export: 16-bit value v falls in bin v >> 8 (8-bit k stays k)."""
    if hist.shape[1] == 256:
        return hist
    return hist.reshape(hist.shape[0], 256, 256).sum(axis=2)


def exact_moments(hist: np.ndarray) -> list[tuple[int, int, int]]:
    """Per channel (count, sum of values, sum of squared values) as exact Python integers."""
    values = _V8 if hist.shape[1] == 256 else _V16
    top = int(values[-1])
    out = []
    for row in hist:
        n = int(row.sum())
        if n * top * top < 2**62:  # int64 dot products cannot overflow: fast path
            s1, s2 = int(row @ values), int(row @ (values * values))
        else:  # huge splits of 16-bit data: exact Python integers over non-empty bins
            nz = np.flatnonzero(row)
            pairs = [(int(c), int(v)) for c, v in zip(row[nz], values[nz])]
            s1 = sum(c * v for c, v in pairs)
            s2 = sum(c * v * v for c, v in pairs)
        out.append((n, s1, s2))
    return out


def mean_std(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std (ddof=0) on the 0-1 scale, exact up to float rounding."""
    scale = max_value(hist)
    means, stds = [], []
    for n, s1, s2 in exact_moments(hist):
        if n == 0:
            means.append(math.nan)
            stds.append(math.nan)
            continue
        means.append(s1 / (n * scale))
        var_num = s2 * n - s1 * s1  # exact integer: n^2 * variance (in grid units^2)
        stds.append(math.sqrt(var_num) / (n * scale))
    return np.array(means), np.array(stds)


def min_max(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = max_value(hist)
    mins, maxs = [], []
    for row in hist:
        nz = np.flatnonzero(row)
        mins.append(nz[0] / scale if nz.size else math.nan)
        maxs.append(nz[-1] / scale if nz.size else math.nan)
    return np.array(mins), np.array(maxs)


def percentiles(hist: np.ndarray, qs: tuple[float, ...] = PERCENTILES) -> dict[str, list[float]]:
    """numpy's default ('linear') percentiles of all pixel values, read off the histogram exactly."""
    scale = max_value(hist)
    out: dict[str, list[float]] = {}
    cums = np.cumsum(hist, axis=1)
    for q in qs:
        per_channel = []
        for cum in cums:
            n = int(cum[-1])
            if n == 0:
                per_channel.append(math.nan)
                continue
            pos = q / 100.0 * (n - 1)
            lo, frac = int(math.floor(pos)), pos - math.floor(pos)
            v_lo = int(np.searchsorted(cum, lo, side="right"))
            v_hi = int(np.searchsorted(cum, min(lo + 1, n - 1), side="right"))
            per_channel.append((v_lo + frac * (v_hi - v_lo)) / scale)
        out[_pct_key(q)] = per_channel
    return out


def _pct_key(q: float) -> str:
    return f"p{q:g}"


_FIXED_BITS = 1074  # 2**-1074 is float64's smallest step: every finite float is a multiple of it


def exact_fixed(values: np.ndarray) -> np.ndarray:
    """Floats as exact integers on the 2**-1074 grid (an object array of Python ints), so that
    sums of them are exact whatever the order or grouping (chunks, workers, machines). A
    non-finite value stays as it is and makes its sum NaN, as a float sum would."""
    out = np.empty(len(values), object)
    for k, v in enumerate(np.asarray(values, np.float64).tolist()):
        if math.isfinite(v):
            num, den = v.as_integer_ratio()  # den is a power of two
            out[k] = num << (_FIXED_BITS + 1 - den.bit_length())
        else:
            out[k] = v
    return out


def _exact_zeros(channels: int) -> np.ndarray:
    return np.array([0] * channels, object)


@dataclass
class SplitAccumulator:
    """Running, mergeable sums for one split. Single-channel and colour images are kept apart
    until the dataset mode is known (L when every image is single-channel, else RGB)."""

    hist_rgb: np.ndarray = field(default_factory=lambda: np.zeros((3, 256), np.int64))
    hist_l: np.ndarray = field(default_factory=lambda: np.zeros((1, 256), np.int64))
    hist_l16: np.ndarray | None = None
    images_rgb: int = 0
    images_l: int = 0
    # Sums of per-image std as exact fixed-point integers (exact_fixed): the "mean of image std"
    # must not depend on how the images were cut into chunks.
    std_sum_rgb: np.ndarray = field(default_factory=lambda: _exact_zeros(3))
    std_sum_l: np.ndarray = field(default_factory=lambda: _exact_zeros(1))
    failed: int = 0
    modes: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    flags: Counter = field(default_factory=Counter)

    def add(self, hist: np.ndarray, image_std: np.ndarray, mode: str, fmt: str,
            flag_names: list[str]) -> None:
        self.add_sums(hist, 1, exact_fixed(image_std), (mode,), (fmt,), flag_names)

    def add_sums(self, hist: np.ndarray, images: int, std_sum: np.ndarray, modes: Iterable | Mapping,
                 formats: Iterable | Mapping, flags: Iterable | Mapping) -> None:
        """Several images of one histogram shape at once (the cache's stored batches): their
        summed histogram, how many, the exact sum of their stds (``exact_fixed`` units) and their
        modes, formats and flag names (names, or counts per name)."""
        if hist.shape[0] == 3:
            self.hist_rgb += hist
            self.images_rgb += images
            self.std_sum_rgb += std_sum
        else:
            if hist.shape[1] == 65536:
                if self.hist_l16 is None:
                    self.hist_l16 = np.zeros((1, 65536), np.int64)
                self.hist_l16 += hist
            else:
                self.hist_l += hist
            self.images_l += images
            self.std_sum_l += std_sum
        self.modes.update(modes)
        self.formats.update(formats)
        self.flags.update(flags)

    def merge(self, other: "SplitAccumulator") -> None:
        self.hist_rgb += other.hist_rgb
        self.hist_l += other.hist_l
        if other.hist_l16 is not None:
            self.hist_l16 = other.hist_l16.copy() if self.hist_l16 is None else self.hist_l16 + other.hist_l16
        self.images_rgb += other.images_rgb
        self.images_l += other.images_l
        self.std_sum_rgb += other.std_sum_rgb
        self.std_sum_l += other.std_sum_l
        self.failed += other.failed
        self.modes.update(other.modes)
        self.formats.update(other.formats)
        self.flags.update(other.flags)

    @property
    def images(self) -> int:
        return self.images_rgb + self.images_l

    def histogram(self, mode: str) -> np.ndarray:
        """The split's histogram in the dataset mode: what convert(mode) would give for every image."""
        single = self.hist_l if self.hist_l16 is None else to_grid16(self.hist_l) + self.hist_l16
        if mode == "L":
            return single.copy()
        colour = self.hist_rgb if single.shape[1] == 256 else to_grid16(self.hist_rgb)
        return colour + single  # broadcasting: convert("RGB") replicates a grey channel

    def mean_of_image_std(self, mode: str) -> np.ndarray:
        n = self.images if mode == "RGB" else self.images_l
        if n == 0:
            return np.full(3 if mode == "RGB" else 1, math.nan)
        total = self.std_sum_l if mode == "L" else self.std_sum_rgb + self.std_sum_l
        return np.array([t / (n << _FIXED_BITS) if isinstance(t, int) else math.nan for t in total],
                        np.float64)  # int / int: the correctly rounded quotient

    def finalize(self, name: str, mode: str, sizes: dict | None = None) -> "SplitStats":
        hist = self.histogram(mode)
        mean, std = mean_std(hist)
        lo, hi = min_max(hist)
        return SplitStats(
            name=name, mode=mode, images=self.images, failed=self.failed,
            pixels=int(hist[0].sum()), histogram=hist, depth=16 if hist.shape[1] == 65536 else 8,
            mean=mean, std=std, min=lo, max=hi, percentiles=percentiles(hist),
            mean_of_image_std=self.mean_of_image_std(mode),
            modes=dict(sorted(self.modes.items())), formats=dict(sorted(self.formats.items())),
            flags=dict(sorted(self.flags.items())), sizes=sizes or {},
        )


@dataclass(frozen=True)
class SplitStats:
    """Final statistics of one split, on the 0-1 scale, per channel of the dataset mode."""

    name: str
    mode: str
    images: int
    failed: int
    pixels: int           # pixels per channel
    histogram: np.ndarray  # int64 (C, 256) or (C, 65536) when the split holds 16-bit data
    depth: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    percentiles: dict[str, list[float]]
    mean_of_image_std: np.ndarray  # the popular but wrong "std": average of per-image stds
    modes: dict[str, int]
    formats: dict[str, int]
    flags: dict[str, int]
    sizes: dict

    @property
    def histogram_256(self) -> np.ndarray:
        return to_256_bins(self.histogram)


def image_moments(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-image mean, std, min, max on the 0-1 scale from its own histogram (see moments_of)."""
    mean, std, lo, hi = moments_of(hist[None])[0]
    return mean, std, lo, hi


def moments_of(hists: np.ndarray) -> np.ndarray:
    """float64 (k, 4, C): mean, std, min, max on the 0-1 scale of k images from their histograms
    (k, C, bins), all NaN for an image without pixels.

    The scan's workers call this once per chunk: per image the ~15 small numpy operations cost
    more than the arithmetic. Every step is elementwise per image, so an image's values do not
    depend on the images measured with it. One image's sums fit int64 exactly (at most 2**31
    pixels * 65535**2). The variance numerator n * s2 - s1**2 is formed in int64 while it cannot
    overflow (n * scale < 2**31.5: any image under ~11.9 megapixels for 8-bit data), else in
    Python integers: exact either way.
    """
    k, c, bins = hists.shape
    big = bins == 65536
    values, squares = (_V16, _V16_SQ) if big else (_V8, _V8_SQ)
    scale = 65535 if big else 255
    n, s1, s2 = hists.sum(axis=2), hists @ values, hists @ squares
    var_num = np.empty((k, c))
    safe = n.max(axis=1, initial=0) * scale < _INT64_SAFE  # n * s2 <= (n * scale)**2 < 2**63
    var_num[safe] = (n[safe] * s2[safe] - s1[safe] * s1[safe]).astype(np.float64)
    for i in np.flatnonzero(~safe):
        var_num[i] = [int(a) * int(b) - int(c) * int(c) for a, b, c in zip(s2[i], n[i], s1[i])]
    denom = n * float(scale)
    occupied = hists > 0
    lo = occupied.argmax(axis=2)
    hi = bins - 1 - occupied[:, :, ::-1].argmax(axis=2)
    out = np.empty((k, 4, c))
    with np.errstate(divide="ignore", invalid="ignore"):  # images without pixels: NaN below
        out[:, 0], out[:, 1] = s1 / denom, np.sqrt(var_num) / denom
    out[:, 2], out[:, 3] = lo / scale, hi / scale
    out[~n.all(axis=1)] = math.nan
    return out


def _size_counts(width: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique`` of the (width, height) rows with counts, as one int64 key per row when both
    fit 32 unsigned bits (the same order and counts; 20x faster than sorting rows)."""
    w, h = np.asarray(width, np.int64), np.asarray(height, np.int64)
    if w.min() < 0 or h.min() < 0 or w.max() >> 32 or h.max() >> 32:
        return np.unique(np.stack([width, height], axis=1), axis=0, return_counts=True)
    keys, counts = np.unique((w << 32) | h, return_counts=True)
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1), counts


_INT64_SAFE = 3037000499  # floor(sqrt(2**63 - 1)): a product of two values below it fits int64


def size_summary(width: np.ndarray, height: np.ndarray, top: int = 10,
                 nbytes: np.ndarray | None = None) -> dict:
    """Distribution of image sizes, aspect ratios (width / height) and file sizes for one split."""
    if width.size == 0:
        return {"count": 0}
    aspect = width / height
    pairs, counts = _size_counts(width, height)
    order = np.argsort(-counts, kind="stable")[:top]

    def dist(a: np.ndarray) -> dict:
        return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()),
                "median": median(a)}

    files = {} if nbytes is None else {"file_bytes": {**dist(nbytes), "total": int(nbytes.sum())}}
    return {
        "count": int(width.size), **files,
        "width": dist(width), "height": dist(height), "aspect_ratio": dist(aspect),
        "megapixels": dist(width.astype(np.float64) * height / 1e6),
        "distinct_sizes": int(len(pairs)),
        "most_common": [[int(pairs[i][0]), int(pairs[i][1]), int(counts[i])] for i in order],
        "orientation": {"landscape": int((aspect > 1).sum()), "portrait": int((aspect < 1).sum()),
                        "square": int((aspect == 1).sum())},
    }
