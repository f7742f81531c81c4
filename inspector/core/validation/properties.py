"""Per-image properties, measured in the scan's workers from what they already hold.

No second decode and no full-resolution pass beyond what the scan does anyway:
- the image's exact integer histogram (per channel) gives brightness, contrast, the dark and light
  percentiles and the entropy;
- the 64x64 floating-point grey grid of the perceptual hashes (hashing.py) gives sharpness and
  fine detail: cleanvision measures blur on a grey image resized to 64 px as well;
- 32x32 pixels sampled from the decoded image (nearest neighbour: about 20 microseconds) give
  saturation and the colour spread that tells a grey image stored as RGB.

All values are on the 0-1 scale unless a comment says otherwise. NaN marks a value that does not
apply (an empty image), so statistics skip it instead of reading a made-up number.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

# Columns of ImageTable.properties, in this order.
BRIGHTNESS = 0   # luma mean (ITU-R 601 weights of the channel means; the grey mean for L)
CONTRAST = 1     # RMS contrast: luma-weighted per-channel std (the grey std for L)
SHARPNESS = 2    # RMS gradient of the 64x64 grey grid (0-1 scale per grid step)
SATURATION = 3   # mean HSV saturation of 32x32 sampled pixels (0 for grey images)
DARK = 4         # 99th percentile of the brightest channel: low when nearly every pixel is dark
LIGHT = 5        # 5th percentile of the darkest channel: high when even the dark pixels are bright
ENTROPY = 6      # Shannon entropy of the histogram, bits / 8, the largest over channels
COLOUR_SPREAD = 7  # largest channel difference over the sampled pixels (0 = grey)
DETAIL = 8       # finest-band share of the grid's detail, 0 (blurred) .. 1 (noise): see grid_properties
COLUMNS = ("brightness", "contrast", "sharpness", "saturation", "dark_p99", "light_p5",
           "entropy", "colour_spread", "detail")
N_PROPERTIES = len(COLUMNS)

SAMPLE_SIDE = 32
_LUMA = np.array([0.299, 0.587, 0.114])


def _percentile_bin(cum: np.ndarray, q: float) -> np.ndarray:
    """Per channel, the lowest bin holding the q-quantile of the pixels (cum: (C, bins) cumsum)."""
    target = np.maximum(np.ceil(q * cum[:, -1:]), 1)
    return (cum < target).sum(axis=1)


def histogram_properties(hist: np.ndarray, mean: np.ndarray, std: np.ndarray) -> tuple[float, ...]:
    """brightness, contrast, dark_p99, light_p5, entropy from one image's histogram and moments."""
    scale = hist.shape[1] - 1
    if hist.shape[0] == 3:
        brightness, contrast = float(_LUMA @ mean), float(_LUMA @ std)
    else:
        brightness, contrast = float(mean[0]), float(std[0])
    cum = np.cumsum(hist, axis=1)
    dark = float(_percentile_bin(cum, 0.99).max()) / scale
    light = float(_percentile_bin(cum, 0.05).min()) / scale
    # entropy = log2(n) - sum(h log2 h) / n, with 0 log 0 = 0 (log2 of 1 is 0)
    n = float(cum[0, -1])
    h_log_h = (hist * np.log2(np.maximum(hist, 1))).sum(axis=1)
    ent = math.log2(n) - float(h_log_h.min()) / n  # the channel with the largest entropy
    bits = math.log2(hist.shape[1])  # 8 for 8-bit data, 16 for 16-bit
    return brightness, contrast, dark, light, ent / bits


def grid_properties(grid: np.ndarray, full_scale: float) -> tuple[float, float]:
    """(sharpness, detail) of the grey grid; full_scale is the grid value of white (255 or 65535).

    sharpness: RMS of one-step differences (0-1 scale). detail: 2 * rms(one-step) / rms(two-step)
    - 1. Natural photos have power spectra close to 1/f^2, so this band ratio hardly depends on
    what is shown (0.02-0.5 on real photos); a blurred image has lost its finest band and its
    one-step differences are half its two-step ones, so detail falls to 0; white noise gives 1.
    """
    g = grid  # float32 is plenty for a ratio of sums; one-step and two-step differences:
    h1, v1 = g[:, 1:] - g[:, :-1], g[1:] - g[:-1]
    h2, v2 = g[:, 2:] - g[:, :-2], g[2:] - g[:-2]
    e1 = (float(np.vdot(h1, h1)) + float(np.vdot(v1, v1))) / (h1.size + v1.size)
    e2 = (float(np.vdot(h2, h2)) + float(np.vdot(v2, v2))) / (h2.size + v2.size)
    sharpness = math.sqrt(e1) / full_scale
    detail = 2.0 * math.sqrt(e1 / e2) - 1.0 if e2 > 1e-12 * full_scale ** 2 else 0.0
    return sharpness, max(0.0, detail)


def colour_properties(im: Image.Image) -> tuple[float, float]:
    """(saturation, colour_spread) of SAMPLE_SIDE^2 pixels sampled from an RGB image; (0, 0) for grey."""
    if im.mode != "RGB":
        return 0.0, 0.0
    s = np.asarray(im.resize((SAMPLE_SIDE, SAMPLE_SIDE), Image.NEAREST))
    # channel planes, not reductions over the last axis of length 3 (about 3x slower)
    r, g, b = s[..., 0], s[..., 1], s[..., 2]
    hi = np.maximum(np.maximum(r, g), b)
    spread = hi - np.minimum(np.minimum(r, g), b)  # uint8: hi >= min
    sat = spread / np.maximum(hi, 1)  # 0 where hi is 0 (spread is 0 there)
    return float(sat.mean()), float(spread.max()) / 255.0


def measure(im: Image.Image, hist: np.ndarray, mean: np.ndarray, std: np.ndarray,
            grid: np.ndarray) -> np.ndarray:
    """float64 (N_PROPERTIES,) for one canonical image (RGB, L or I;16)."""
    if not np.all(np.isfinite(mean)):
        return np.full(N_PROPERTIES, np.nan)
    b, c, dark, light, ent = histogram_properties(hist, mean, std)
    sharp, detail = grid_properties(grid, 65535.0 if im.mode.startswith("I") else 255.0)
    sat, spread = colour_properties(im)
    return np.array([b, c, sharp, sat, dark, light, ent, spread, detail])
