"""Normalization schemes and what they do to images (DESIGN section 4).

Everything here is pure numpy (no Qt, no Pillow) so training code can import it. Values are on
the 0-1 scale unless a name says otherwise: a dataset mean of 0.4850 means 0.4850 * 255 on 8-bit
data, the way torchvision's ``ToTensor()`` + ``Normalize(mean, std)`` expect it.

Schemes (``SCHEMES``, in display order), for raw pixel values ``x`` and ``M = max_value``
(255 for 8-bit, 65535 for 16-bit):

- ``"unit"``      x / M                                   -> [0, 1]
- ``"symmetric"`` x / (M / 2) - 1                         -> [-1, 1]   (x/127.5 - 1 on 8-bit)
- ``"dataset"``   (x / M - mean[c]) / std[c]              train mean/std, per channel
- ``"per_image"`` (x / M - m_img[c]) / max(s_img[c], STD_FLOOR)   the image's own mean/std
- ``"minmax"``    (x - min_img[c]) / (max_img[c] - min_img[c]), a constant channel -> 0

What the view needs, in one place:

- ``normalize(image, scheme, mean, std)``: the panel pixels (float32, same shape).
- ``luminance(array)``: the luminance toggle (ITU-R 601-2 luma, as Pillow's ``convert("L")``).
- ``display_range(scheme)``: the fixed colour scale; both standardized schemes share
  ``STANDARDIZED_RANGE`` so their panels are comparable.
- ``normalized_summary(values)``: the histogram, mean, std and fraction below zero under a panel.
- ``amplification`` / ``max_amplification``: the sortable per-image column.
- ``summarize_amplification`` + ``fraction_below_zero_from_histogram`` + ``recommend``: the
  dataset-level summary and the data-driven advice.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .median import median as stats_median

# --- scheme identifiers ------------------------------------------------------------------------

UNIT = "unit"
SYMMETRIC = "symmetric"
DATASET = "dataset"
PER_IMAGE = "per_image"
MINMAX = "minmax"

SCHEMES: tuple[str, ...] = (UNIT, SYMMETRIC, DATASET, PER_IMAGE, MINMAX)
SCHEME_LABELS: dict[str, str] = {
    UNIT: "[0, 1]",
    SYMMETRIC: "[-1, 1]",
    DATASET: "Dataset mean/std",
    PER_IMAGE: "Per-image mean/std",
    MINMAX: "Per-image min-max",
}
# Schemes whose output is in "standard deviations": they share one colour scale and histogram axis.
STANDARDIZED_SCHEMES: tuple[str, ...] = (DATASET, PER_IMAGE)

STD_FLOOR: float = 1e-4 / 255.0
"""Floor on a per-image std (0-1 scale) in ``"per_image"`` and in ``amplification``.

Source: albumentations' ``Normalize(normalization="image_per_channel")`` calls albucore's
``normalize_per_image``, which computes the per-channel mean and std on the *raw* pixel values and
divides by ``std + eps`` with ``eps = 1e-4`` (``albucore.stats.DEFAULT_EPS``; the docstring says
"Adds epsilon (1e-4) to std deviation to prevent division by zero"), then clips the result to
[-20, 20]. For 8-bit data a raw-scale eps of 1e-4 is 1e-4 / 255 on the 0-1 scale, hence this value
(``normalize`` applies it on the raw scale as ``STD_FLOOR * max_value``: exactly 1e-4 for 8-bit).

Differences, on purpose:
- we take ``max(std, STD_FLOOR)`` instead of ``std + eps``. For any image whose std is at least one
  grey level the two differ by less than 0.01 %; ``max`` keeps the std of textured images exact.
- we do not clip to [-20, 20]: the view must show how large the values get (the histogram counts
  anything beyond ``STANDARDIZED_RANGE`` into its end bins instead).

Consequence: a perfectly uniform image (std 0) gets an amplification of dataset_std / 3.9e-7,
about 6e5 for a typical std of 0.25: large and finite, never inf or nan, and it sorts first.
"""

STANDARDIZED_RANGE: tuple[float, float] = (-4.0, 4.0)
"""Fixed value range of the standardized panels' colour scale and of every panel histogram.

Fixed (not per image) so that panels and images can be compared at a glance; +-4 std holds
99.99 % of a Gaussian, so only real outliers land in the end bins.
"""
HISTOGRAM_BINS: int = 160  # 0.05 per bin over STANDARDIZED_RANGE: [0, 1] still gets 20 bins

# ITU-R 601-2 luma, the weights Pillow's convert("L") uses (with integer rounding there).
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)

# Thresholds used by summarize_amplification() and recommend(); see recommend() for the rules.
AMPLIFICATION_THRESHOLDS: tuple[float, ...] = (2.0, 5.0, 10.0)
AMPLIFICATION_WARN_FACTOR: float = 5.0
PER_IMAGE_WARN_FRACTION: float = 0.01
BRIGHTNESS_SHARE_HIGH: float = 0.5


# --- applying a scheme -------------------------------------------------------------------------


def normalize(
    image: np.ndarray,
    scheme: str,
    mean: Sequence[float] | np.ndarray | None = None,
    std: Sequence[float] | np.ndarray | None = None,
    max_value: float = 255.0,
) -> np.ndarray:
    """Apply one of ``SCHEMES`` to an image and return float32 values of the same shape.

    ``image`` is (H, W) or (H, W, C) with raw values in [0, max_value]: uint8 with max_value=255,
    uint16 with max_value=65535, or a float array on that scale (e.g. from ``luminance``).
    ``mean``/``std`` (0-1 scale, length C or 1) are required for ``"dataset"`` only.
    Arithmetic is float64; only the result is rounded to float32, so signs (what a ReLU sees)
    are exactly those of the definition.
    """
    if scheme not in _SCHEME_FUNCTIONS:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {SCHEMES}")
    raw = _raw_hwc(image, max_value)
    if scheme == DATASET:
        out = _dataset(raw, max_value, *_dataset_params(mean, std, raw.shape[2]))
    else:
        out = _SCHEME_FUNCTIONS[scheme](raw, max_value)
    return out.reshape(np.shape(image)).astype(np.float32)


def channel_mean_std(image: np.ndarray, max_value: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std (ddof=0) of one image on the 0-1 scale, float64 (C,)."""
    x01 = _raw_hwc(image, max_value) / max_value
    return x01.mean(axis=(0, 1)), x01.std(axis=(0, 1))


def display_range(scheme: str) -> tuple[float, float]:
    """The fixed colour-scale range of a scheme's panel.

    ``"dataset"`` and ``"per_image"`` share ``STANDARDIZED_RANGE`` (one colour bar, zero neutral);
    the bounded schemes use their own output range.
    """
    ranges = {UNIT: (0.0, 1.0), SYMMETRIC: (-1.0, 1.0), MINMAX: (0.0, 1.0)}
    if scheme in STANDARDIZED_SCHEMES:
        return STANDARDIZED_RANGE
    if scheme not in ranges:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {SCHEMES}")
    return ranges[scheme]


def luminance(image: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma ``L = 0.299 R + 0.587 G + 0.114 B`` as float32, shape (H, W).

    The weights are those of Pillow's ``convert("L")`` (``R*299/1000 + G*587/1000 + B*114/1000``),
    without Pillow's rounding to an integer, so the result is within 0.5 grey levels of
    Pillow's (plus Pillow's own fixed-point error, a few thousandths). A (H, W) or (H, W, 1) array
    is already luminance and is returned as float.

    Works on any scale and is linear, so for the luminance toggle either order is fine for the
    linear schemes: ``luminance(normalize(img, s))`` is the luma-weighted mix of the normalized
    channels (what the view shows), and equals ``normalize(luminance(img), s)`` for "unit" and
    "symmetric".
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        return arr.astype(np.float32)
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[:, :, 0].astype(np.float32)
    if arr.ndim == 3 and arr.shape[2] == 3:
        return (arr.astype(np.float64) @ np.asarray(LUMA_WEIGHTS)).astype(np.float32)
    raise ValueError(f"luminance needs (H, W), (H, W, 1) or (H, W, 3); got shape {arr.shape}")


def _raw_hwc(image: np.ndarray, max_value: float) -> np.ndarray:
    """Image as float64 (H, W, C) raw values; refuses values above max_value (wrong scale)."""
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError(f"image must be a non-empty (H, W) or (H, W, C) array; got shape {arr.shape}")
    if max_value <= 0:
        raise ValueError(f"max_value must be positive; got {max_value}")
    raw = arr.astype(np.float64)
    if raw.max() > max_value:  # e.g. uint16 data with the default max_value=255
        raise ValueError(f"image has values up to {raw.max():g} > max_value={max_value:g}")
    return raw if raw.ndim == 3 else raw[:, :, np.newaxis]


def _dataset_params(mean, std, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate dataset mean/std (0-1 scale) and broadcast them to (C,)."""
    if mean is None or std is None:
        raise ValueError('scheme "dataset" needs the dataset (train) mean and std on the 0-1 scale')
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    s = np.asarray(std, dtype=np.float64).reshape(-1)
    for name, v in (("mean", m), ("std", s)):
        if v.size not in (1, channels) or not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be {channels} finite value(s); got {v.tolist()}")
    if np.any(s <= 0):
        raise ValueError(f"std must be positive; got {s.tolist()}")
    return np.broadcast_to(m, (channels,)), np.broadcast_to(s, (channels,))


def _unit(raw: np.ndarray, max_value: float) -> np.ndarray:
    return raw / max_value


def _symmetric(raw: np.ndarray, max_value: float) -> np.ndarray:
    return raw / (max_value / 2.0) - 1.0


def _dataset(raw: np.ndarray, max_value: float, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    # Same order of operations as fraction_below_zero_from_histogram, so the signs agree exactly.
    return (raw / max_value - mean) / std


def _per_image(raw: np.ndarray, max_value: float) -> np.ndarray:
    # (x/M - m/M) / max(s/M, F) == (x - m) / max(s, F*M). Working on the raw scale keeps a uniform
    # image exactly 0: integer sums are exact in float64, while a mean of x/M values is not, and
    # its rounding error divided by the tiny floor would show as values "below zero".
    m, s = raw.mean(axis=(0, 1)), raw.std(axis=(0, 1))
    return (raw - m) / np.maximum(s, STD_FLOOR * max_value)


def _minmax(raw: np.ndarray, max_value: float) -> np.ndarray:
    lo, hi = raw.min(axis=(0, 1)), raw.max(axis=(0, 1))
    span = hi - lo
    # A constant channel carries no contrast: map it to 0 instead of dividing by zero.
    return np.where(span > 0, (raw - lo) / np.where(span > 0, span, 1.0), 0.0)


_SCHEME_FUNCTIONS = {UNIT: _unit, SYMMETRIC: _symmetric, DATASET: _dataset,
                     PER_IMAGE: _per_image, MINMAX: _minmax}


# --- what a panel shows ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NormalizedSummary:
    """Statistics of normalized values, overall (all channels pooled) and per channel.

    ``counts``/``edges`` are a histogram over a fixed range (``STANDARDIZED_RANGE`` by default)
    so that panels are comparable; values outside the range are counted into the first/last bin
    (``below_range``/``above_range`` say how many). Plot with ``stepMode="center"``
    (``len(edges) == len(counts) + 1``).
    """

    n_values: int
    mean: float
    std: float                       # population (ddof=0)
    fraction_below_zero: float       # strictly < 0: what a ReLU right after the input would zero
    min: float
    max: float
    counts: np.ndarray               # int64 (bins,), all channels together
    edges: np.ndarray                # float64 (bins + 1,)
    below_range: int
    above_range: int
    channel_mean: np.ndarray         # float64 (C,)
    channel_std: np.ndarray          # float64 (C,)
    channel_fraction_below_zero: np.ndarray  # float64 (C,)
    channel_min: np.ndarray          # float64 (C,)
    channel_max: np.ndarray          # float64 (C,)
    channel_counts: np.ndarray       # int64 (C, bins)

    @property
    def n_channels(self) -> int:
        return int(self.channel_mean.shape[0])


def normalized_summary(
    values: np.ndarray,
    bins: int = HISTOGRAM_BINS,
    value_range: tuple[float, float] = STANDARDIZED_RANGE,
) -> NormalizedSummary:
    """Summarize normalized values: a (H, W, C) array has C channels, anything else has one."""
    cols = _channel_columns(values)
    lo, hi = value_range
    if not (bins >= 1 and hi > lo):
        raise ValueError(f"need bins >= 1 and a non-empty range; got {bins}, {value_range}")
    edges = np.linspace(lo, hi, bins + 1)
    # Clipping puts out-of-range values into the end bins, so no value silently disappears.
    # range= with equal bins lets numpy bin by arithmetic instead of sorting (3x faster).
    ch_counts = np.stack([np.histogram(np.clip(c, lo, hi), bins=bins, range=(lo, hi))[0] for c in cols.T])
    return NormalizedSummary(
        n_values=int(cols.size),
        mean=float(cols.mean()),
        std=float(cols.std()),
        fraction_below_zero=float(np.count_nonzero(cols < 0) / cols.size),
        min=float(cols.min()),
        max=float(cols.max()),
        counts=ch_counts.sum(axis=0).astype(np.int64),
        edges=edges,
        below_range=int(np.count_nonzero(cols < lo)),
        above_range=int(np.count_nonzero(cols > hi)),
        channel_mean=cols.mean(axis=0),
        channel_std=cols.std(axis=0),
        channel_fraction_below_zero=np.count_nonzero(cols < 0, axis=0) / cols.shape[0],
        channel_min=cols.min(axis=0),
        channel_max=cols.max(axis=0),
        channel_counts=ch_counts.astype(np.int64),
    )


def _channel_columns(values: np.ndarray) -> np.ndarray:
    """Values as float64 (n, C): channel-last for 3-D input, one column otherwise."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("no values to summarize")
    return v.reshape(-1, v.shape[2]) if v.ndim == 3 else v.reshape(-1, 1)


# --- amplification under per-image standardization --------------------------------------------


def amplification(image_std: np.ndarray, dataset_std: np.ndarray) -> np.ndarray:
    """How much per-image standardization stretches an image compared with dataset standardization.

    ``dataset_std / max(image_std, STD_FLOOR)`` per channel, both on the 0-1 scale.
    ``image_std`` is (C,) for one image or (N, C) for many; ``dataset_std`` is (C,). A uniform
    image (std 0) gives a large finite number through the floor, never inf or nan.
    """
    ds = np.asarray(dataset_std, dtype=np.float64)
    if np.any(~np.isfinite(ds)) or np.any(ds <= 0):
        raise ValueError(f"dataset_std must be positive and finite; got {ds.tolist()}")
    return ds / np.maximum(np.asarray(image_std, dtype=np.float64), STD_FLOOR)


def max_amplification(image_std: np.ndarray, dataset_std: np.ndarray) -> np.ndarray:
    """Largest per-channel amplification: the sort key of the image list, (N,) (or a scalar for (C,))."""
    return amplification(image_std, dataset_std).max(axis=-1)


def mean_luminance(image_mean: np.ndarray) -> np.ndarray:
    """Per-image mean luminance (0-1 scale) from per-channel means (N, C) -> (N,).

    Luma is linear, so the mean of the luminance equals the luma of the channel means.
    C == 1 is already luminance; other channel counts fall back to the plain channel average.
    """
    m = np.asarray(image_mean, dtype=np.float64)
    if m.shape[-1] == 3:
        return m @ np.asarray(LUMA_WEIGHTS)
    return m.mean(axis=-1)


@dataclass(frozen=True, eq=False)
class AmplificationSummary:
    """Dataset-level view of what per-image standardization would do.

    ``count_over[t]``/``fraction_over[t]``: images whose max-over-channel amplification is > t,
    for t in ``AMPLIFICATION_THRESHOLDS``. Brightness = per-image mean luminance on the 0-1 scale;
    ``between_image_share`` is the part of the dataset's pixel variance that comes from differences
    between image means (averaged over channels) - exactly the part per-image standardization removes.
    """

    n_images: int
    count_over: dict[float, int]
    fraction_over: dict[float, float]
    median: float                    # of the per-image max-over-channel amplification
    max: float
    most_amplified_index: int | None  # row of the most amplified image, None without images
    brightness_mean: float
    brightness_std: float            # std of per-image mean luminance (0-1 scale)
    brightness_cv: float             # brightness_std / brightness_mean (0 for an all-black set)
    between_image_share: float       # in [0, 1]


def summarize_amplification(
    image_mean: np.ndarray,
    image_std: np.ndarray,
    dataset_std: np.ndarray,
    thresholds: Sequence[float] = AMPLIFICATION_THRESHOLDS,
) -> AmplificationSummary:
    """Summarize per-image amplification and brightness variation for N images.

    ``image_mean``/``image_std`` are (N, C) per-image channel statistics and ``dataset_std`` is
    (C,) - all on the 0-1 scale, as in ``ImageTable.mean``/``.std`` and the train split's std.
    ``between_image_share`` uses the law of total variance (total = mean within-image variance +
    variance of image means); it is exact when all images have the same pixel count and an
    image-weighted approximation otherwise.
    """
    means = np.asarray(image_mean, dtype=np.float64).reshape(-1, np.shape(dataset_std)[0])
    stds = np.asarray(image_std, dtype=np.float64).reshape(means.shape)
    amp = max_amplification(stds, dataset_std)
    n = int(amp.shape[0])
    counts = {float(t): int(np.count_nonzero(amp > t)) for t in thresholds}
    bright = mean_luminance(means)
    return AmplificationSummary(
        n_images=n,
        count_over=counts,
        fraction_over={t: (c / n if n else 0.0) for t, c in counts.items()},
        median=stats_median(amp) if n else 0.0,
        max=float(amp.max()) if n else 0.0,
        most_amplified_index=int(np.argmax(amp)) if n else None,
        **_brightness(bright),
        between_image_share=_between_image_share(means, dataset_std),
    )


def _brightness(bright: np.ndarray) -> dict[str, float]:
    if bright.size == 0:
        return {"brightness_mean": 0.0, "brightness_std": 0.0, "brightness_cv": 0.0}
    mean, std = float(bright.mean()), float(bright.std())
    return {"brightness_mean": mean, "brightness_std": std,
            "brightness_cv": std / mean if mean > 0 else 0.0}


def _between_image_share(means: np.ndarray, dataset_std: np.ndarray) -> float:
    if means.shape[0] == 0:
        return 0.0
    share = means.var(axis=0) / np.asarray(dataset_std, dtype=np.float64) ** 2
    return float(np.clip(share, 0.0, 1.0).mean())


# --- exact dataset-level fraction below zero ---------------------------------------------------


def fraction_below_zero_from_histogram(
    hist: np.ndarray,
    scheme: str,
    mean: Sequence[float] | np.ndarray | None = None,
    std: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Exact per-channel fraction of input values strictly below zero, from integer histograms.

    ``hist`` is (C, K) integer counts where bin k holds pixel value k and K - 1 is the maximum
    value (K = 256 for 8-bit: value k is k/255 on the 0-1 scale; K = 65536 for 16-bit).
    - ``"unit"``, ``"minmax"``: never below zero -> 0.
    - ``"symmetric"``: k / ((K-1)/2) - 1 < 0, i.e. k <= 127 on 8-bit.
    - ``"dataset"``: k / (K-1) < mean[c] (std > 0 does not change the sign).
    ``"per_image"`` depends on each image's own mean and cannot be read off a dataset histogram.
    A channel without pixels gives 0.
    """
    h = np.asarray(hist)
    if h.ndim != 2 or h.shape[1] < 2:
        raise ValueError(f"hist must be (C, K) counts; got shape {h.shape}")
    below = _below_zero_mask(scheme, h.shape, mean, std)
    total = h.sum(axis=1)
    n_below = np.where(below, h, 0).sum(axis=1)
    return np.divide(n_below, total, out=np.zeros(h.shape[0]), where=total > 0)


def _below_zero_mask(scheme: str, shape: tuple[int, int], mean, std) -> np.ndarray:
    """(C, K) booleans: which pixel values a scheme maps strictly below zero."""
    channels, k = shape
    raw = np.arange(k, dtype=np.float64)[np.newaxis, :]
    max_value = float(k - 1)
    if scheme in (UNIT, MINMAX):
        return np.zeros(shape, dtype=bool)
    if scheme == SYMMETRIC:
        return np.broadcast_to(_symmetric(raw, max_value) < 0, shape)
    if scheme == DATASET:
        m, s = _dataset_params(mean, std, channels)
        # Same float64 expression as normalize(): identical signs, value by value.
        return _dataset(raw.T[np.newaxis], max_value, m, s)[0].T < 0
    if scheme == PER_IMAGE:
        raise ValueError('"per_image" depends on each image and is not computable from a dataset histogram')
    raise ValueError(f"unknown scheme {scheme!r}; expected one of {SCHEMES}")


# --- recommendation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    """Advice for the user: ``text`` (a few sentences), the ``facts`` it rests on (label -> value,
    display-ready, in order) and the sentences of ``text`` that are ``warnings``."""

    text: str
    facts: dict[str, str]
    warnings: tuple[str, ...] = ()


def recommend(
    summary: AmplificationSummary,
    train_mean: Sequence[float] | np.ndarray,
    train_std: Sequence[float] | np.ndarray,
    fractions_below_zero: Mapping[str, np.ndarray] | None = None,
    source_splits: Sequence[str] = ("train",),
    has_train: bool = True,
) -> Recommendation:
    """Deterministic, data-driven advice on which normalization to use.

    Rules, in the order the sentences appear:
    1. Leakage: if ``source_splits`` include "val" or "test", warn that the statistics must be
       recomputed on train only. A dataset without a train split (``has_train`` False) has no
       leak-free choice: say where the numbers come from instead, without a warning.
    2. Default advice: dataset standardization with the train mean/std (quoted to 4 decimals, 0-1
       scale). Reasons: it is the same affine map for every image, so it never invents contrast,
       and it is what ImageNet-style pipelines expect.
    3. Amplification: always quote the share of images amplified more than
       ``AMPLIFICATION_WARN_FACTOR`` (5x) by per-image standardization, with median and max.
       If that share is at least ``PER_IMAGE_WARN_FRACTION`` (1 %), warn against per-image
       standardization (it turns the noise of flat images into full-contrast texture).
    4. Brightness: if ``summary.between_image_share`` >= ``BRIGHTNESS_SHARE_HIGH`` (0.5, i.e. more
       than half the pixel variance is brightness differences between images), mention per-image
       standardization as an option - with a caveat when rule 3 warned.
    5. ReLU: if fractions for "dataset" are given, quote the share of input values below zero and
       note that this is intended (the first layer's weights and bias act before any ReLU).
    """
    mean = np.asarray(train_mean, dtype=np.float64).reshape(-1)
    std = np.asarray(train_std, dtype=np.float64).reshape(-1)
    fractions = dict(fractions_below_zero or {})
    sources = list(source_splits)
    facts = _facts(summary, mean, std, fractions, sources)
    if summary.n_images == 0:
        return Recommendation("No images to base a recommendation on.", facts)
    sentences: list[str] = []
    warnings: list[str] = []
    if has_train:
        leak = _leakage_sentence(sources)
        if leak:
            sentences.append(leak)
            warnings.append(leak)
    else:
        sentences.append(f"There is no train split, so the mean/std come from {', '.join(sources)}; "
                         "compute them on the split you train on, never on one you evaluate on.")
    sentences.append(_default_sentence(mean, std, sources, held_out=has_train))
    amp_text, amp_warns = _amplification_sentence(summary)
    sentences.append(amp_text)
    if amp_warns:
        warnings.append(amp_text)
    bright = _brightness_sentence(summary, amp_warns)
    if bright:
        sentences.append(bright)
    relu = _relu_sentence(fractions)
    if relu:
        sentences.append(relu)
    return Recommendation(" ".join(sentences), facts, tuple(warnings))


def _fmt_values(v: np.ndarray) -> str:
    return ", ".join(f"{x:.4f}" for x in v)


def _pct(fraction: float) -> str:
    return f"{100.0 * fraction:.1f}%"


def _leakage_sentence(sources: list[str]) -> str:
    held_out = [s for s in sources if s in ("val", "test")]
    if not held_out:
        return ""
    return (f"Warning: the mean/std were computed on {', '.join(sources)}, which includes held-out "
            f"data ({', '.join(held_out)}); recompute them on train only, or the evaluation leaks.")


def _default_sentence(mean: np.ndarray, std: np.ndarray, sources: list[str], held_out: bool = True) -> str:
    """``held_out``: val and test are evaluation splits here (there is a train split)."""
    if held_out and any(s in ("val", "test") for s in sources):  # never recommend numbers that leak
        clean = [s for s in sources if s not in ("val", "test")]
        return ("Use dataset standardization, with the mean and std of "
                + (" + ".join(clean) + " alone" if clean else "the training split")
                + f" (these numbers, {_fmt_values(mean)} and {_fmt_values(std)}, include held-out data).")
    origin = "train" if sources == ["train"] else " + ".join(sources) or "dataset"
    return (f"Use dataset standardization with the {origin} mean ({_fmt_values(mean)}) "
            f"and std ({_fmt_values(std)}) on the 0-1 scale.")


def _amplification_sentence(s: AmplificationSummary) -> tuple[str, bool]:
    f = AMPLIFICATION_WARN_FACTOR
    share, count = s.fraction_over.get(f, 0.0), s.count_over.get(f, 0)
    text = (f"{_pct(share)} of images ({count:,} of {s.n_images:,}) would be amplified more than "
            f"{f:g}x by per-image standardization (median {s.median:.1f}x, max {s.max:.1f}x).")
    warns = share >= PER_IMAGE_WARN_FRACTION and count > 0
    if warns:
        text += (" Avoid per-image standardization: it would turn the noise of flat images "
                 "(blank sky, empty background) into full-contrast texture.")
    return text, warns


def _brightness_sentence(s: AmplificationSummary, amplification_warned: bool) -> str:
    if s.between_image_share < BRIGHTNESS_SHARE_HIGH:
        return ""
    text = (f"Brightness varies strongly between images ({_pct(s.between_image_share)} of the pixel "
            f"variance; std of mean luminance {s.brightness_std:.4f}, CV {_pct(s.brightness_cv)}), "
            "so per-image standardization is an option")
    if amplification_warned:
        return text + ", but only with a larger std floor or with brightness augmentation instead."
    return text + "."


def _relu_sentence(fractions: dict[str, np.ndarray]) -> str:
    if DATASET not in fractions:
        return ""
    text = f"{_pct(float(np.mean(fractions[DATASET])))} of input values are below zero with dataset standardization"
    if SYMMETRIC in fractions:
        text += f" ({_pct(float(np.mean(fractions[SYMMETRIC])))} with [-1, 1])"
    return text + "; that is intended: the first layer's weights and bias act before any ReLU."


def _facts(s: AmplificationSummary, mean: np.ndarray, std: np.ndarray,
           fractions: dict[str, np.ndarray], sources: list[str]) -> dict[str, str]:
    facts = {
        "Images": f"{s.n_images:,}",
        "Statistics from": ", ".join(sources) or "-",
        "Mean (0-1)": _fmt_values(mean),
        "Std (0-1)": _fmt_values(std),
    }
    for t in sorted(s.count_over):
        facts[f"Amplified > {t:g}x"] = f"{_pct(s.fraction_over[t])} ({s.count_over[t]:,} of {s.n_images:,})"
    facts["Median amplification"] = f"{s.median:.2f}x"
    facts["Max amplification"] = f"{s.max:.2f}x"
    facts["Std of mean luminance (0-1)"] = f"{s.brightness_std:.4f}"
    facts["CV of mean luminance"] = _pct(s.brightness_cv)
    facts["Between-image share of variance"] = _pct(s.between_image_share)
    for scheme in SCHEMES:
        if scheme in fractions:
            facts[f"Below zero, {SCHEME_LABELS[scheme]}"] = _pct(float(np.mean(fractions[scheme])))
    return facts
