"""Image issues with cleanvision's names: a score per image in 0..1 (low = the issue is strong)
and a threshold under which the image is flagged.

Thresholds, measured with scripts/bench_validation.py on planted cases of every issue (random
strengths, on real photos) and on the clean 2,000-photo corpus, where each flags at most 1.0%
and all but grayscale together 1.8%:
- dark: the 99th percentile of the brightest channel < 0.15 (nearly every pixel below ~38/255);
- light: 1 - the 5th percentile of the darkest channel < 0.15 (even the darkest pixels washed out);
- blurry: the 64x64 grey grid's detail (properties.DETAIL: the finest band's share of detail,
  rows' and columns' geometric mean, the image's own pixel noise taken out) times the square of
  the full-resolution structure of eight rows and eight columns (properties.STRUCTURE, the weaker
  direction; structure.py), see blur_score; < 0.0030: the clean corpus's 1st percentile (its
  out-of-focus macro shots, fog and plain skies sit below it too). The grid judges blur at the
  scale of the picture, as cleanvision does; the rows and columns see the blurs whose kernels
  have hard edges (box, defocus disc, motion streak, bilinear upscale) and the blurs that left
  only noise, which the grid reads as detail. Heavy JPEG (quality under ~10) is blocky, not
  blurry, and is not counted as a blur (0-2.5% of planted ones are flagged);
- low_information: histogram entropy / 8 bits < 0.40 (nearly blank: a handful of grey levels).
  In a dataset whose typical image is itself under that cut (median below 0.40: MNIST's digits
  measure ~0.21) a fixed cut would flag every image, so there the cut is a quarter of the median:
  the images blank for that dataset (see `effective_thresholds`);
- odd_aspect_ratio: min(width / height, height / width) < 0.40 (longer than 5:2);
- odd_size: min(r, 1 / r) < 0.25 where r = sqrt(area / the dataset's median area), i.e. four times
  smaller or larger per side than a typical image of the dataset;
- grayscale: the largest channel difference of 1,024 sampled pixels, flagged at 2/255 or less;
  only in colour datasets (in an all-grey dataset such as MNIST every image would be flagged).
"""
from __future__ import annotations

import numpy as np

from ..median import median as stats_median
from ..table import ImageTable
from . import properties as P

ISSUES = ("dark", "light", "blurry", "low_information", "odd_aspect_ratio", "odd_size", "grayscale")
THRESHOLDS = {"dark": 0.15, "light": 0.15, "blurry": 0.0030, "low_information": 0.40,
              "odd_aspect_ratio": 0.40, "odd_size": 0.25, "grayscale": 2.5 / 255}


def issue_scores(table: ImageTable, mode: str = "RGB") -> dict[str, np.ndarray]:
    """issue -> float64 (N,) scores (NaN where the issue does not apply or was not measured)."""
    n = len(table)
    nan = np.full(n, np.nan)
    props = table.properties if table.properties is not None else np.full((n, P.N_PROPERTIES), np.nan)
    w, h = table.width.astype(np.float64), table.height.astype(np.float64)
    area = w * h
    median = stats_median(area) if n else 1.0
    r = np.sqrt(area / median) if median > 0 else np.ones(n)
    return {
        "dark": props[:, P.DARK],
        "light": 1.0 - props[:, P.LIGHT],
        "blurry": blur_score(props),
        "low_information": props[:, P.ENTROPY],
        "odd_aspect_ratio": np.minimum(w, h) / np.maximum(np.maximum(w, h), 1),
        "odd_size": np.minimum(r, 1.0 / np.maximum(r, 1e-12)),
        "grayscale": props[:, P.COLOUR_SPREAD] if mode == "RGB" else nan,
    }


def blur_score(props: np.ndarray) -> np.ndarray:
    """(N,) the grid's detail (properties.DETAIL) times the square of the full-resolution
    structure (properties.STRUCTURE, structure.py) where that was measured: the grid misses
    blurs with hard-edged kernels and blurs that left nothing but noise, the lines miss nothing
    of those but read a photo's naturally soft areas as smooth; a photo must look smooth to both
    to score low. Squared because the structure's range (1/4 smooth .. 1/2 natural) is narrower."""
    structure = props[:, P.STRUCTURE]
    return np.where(np.isfinite(structure), props[:, P.DETAIL] * structure ** 2, props[:, P.DETAIL])


# In a dataset of low-information images, low_information flags those under this share of the median.
LOW_INFORMATION_OF_MEDIAN = 0.25


def effective_thresholds(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """The thresholds applied to these scores: THRESHOLDS, with low_information's lowered for a
    dataset whose typical image is itself low in information."""
    out = dict(THRESHOLDS)
    entropy = scores["low_information"]
    if np.isfinite(entropy).any():
        median = stats_median(entropy[~np.isnan(entropy)])  # np.nanmedian, without numpy.ma
        if median < THRESHOLDS["low_information"]:
            out["low_information"] = LOW_INFORMATION_OF_MEDIAN * median
    return out


def flag_matrix(scores: dict[str, np.ndarray]) -> np.ndarray:
    """bool (N, len(ISSUES)): score under its effective threshold (NaN never flags)."""
    cut = effective_thresholds(scores)
    with np.errstate(invalid="ignore"):
        return np.stack([scores[k] < cut[k] for k in ISSUES], axis=1)


def quality_summary(table: ImageTable, flags: np.ndarray) -> dict[str, dict[str, int]]:
    """{issue: {split: count}} with every split listed (zeros included)."""
    out = {}
    for k, issue in enumerate(ISSUES):
        out[issue] = {s: int(flags[table.rows_in(s), k].sum()) for s in table.split_names}
    return out


def flagged_images(table: ImageTable, scores: dict[str, np.ndarray], flags: np.ndarray) -> list[dict]:
    """[{path, split, issues, scores}] for every flagged image, in table order."""
    out = []
    for i in np.flatnonzero(flags.any(axis=1)):
        issues = [ISSUES[k] for k in np.flatnonzero(flags[i])]
        out.append({"path": table.paths[i], "split": table.split_of(i), "issues": issues,
                    "scores": {k: round(float(scores[k][i]), 4) for k in ISSUES
                               if np.isfinite(scores[k][i])}})
    return out
