"""Content hashes and perceptual signatures of decoded images.

`content_hash` identifies identical decoded pixels (whatever the file format or name).

`perceptual_signature` is what the near-duplicate search needs, computed once per image in the
scan's workers from the canonical decoded image (no second decode later):

- N_VIEWS 64-bit DCT hashes (pHash style) of several views of the image: the whole image, the
  image with a 3% and a 6% border removed, and the mirrors of those three. A pair's hash distance
  is the least distance between one image's whole-image hash (view 0) and any view of the other,
  so slightly cropped and mirrored copies land close.
- A THUMB_SIZE x THUMB_SIZE grey thumbnail (uint8) of the whole image, squashed to a square and
  contrast-stretched (its own min..max onto 0..255), for the finer confirmation in leakage/confirmation.py,
  which compares it against crops and mirrors of the other image's thumbnail.

Why these choices (measured on 2,000 real photo crops plus 350 planted near copies):
- Grey is computed in floating point and the thumbnail is stretched: with a plain 8-bit thumbnail
  of a smooth sky the fine detail is below one grey level and copies cannot be told from look-alike
  skies; stretched, a JPEG q60 copy of a smooth sky still correlates >= 0.5 in fine detail.
- 32x32 is enough (1,024 bytes + N_VIEWS*8 = 1,072 bytes per image): with it the confirmation
  finds 339 of 350 planted near copies with no false pair (scripts/bench_leakage.py); the copies
  it misses are lost earlier, at the hash stage. Stretched 8-bit and float 32x32 thumbnails scored
  the same, so 8 bits lose nothing once stretched.
- Bits are "coefficient above the median of the 64", so every hash has 32 ones: balanced 16-bit
  chunks for the multi-index search. Bits are ordered from low to high frequency, so chunk 0
  (the 16 lowest frequencies) is the most stable one.

Cost per ~128k-pixel photo on this machine (decode ~0.55 ms): about 0.15 ms, almost all of it the
RGB -> float grey conversion and the box reduction; the hashes are tiny matrix products on the
64x64 grid.
"""
from __future__ import annotations

import numpy as np
import xxhash
from PIL import Image

THUMB_SIZE = 32          # stored thumbnail side (uint8 grey): THUMB_SIZE**2 bytes per image
GRID = 64                # working grid the hashes are computed on (not stored)
HASH_SIDE = 32           # each view is resampled to HASH_SIDE x HASH_SIDE before the DCT
CROPS = (0.0, 0.03, 0.06)  # border fraction removed on each side, per view
N_VIEWS = 2 * len(CROPS)   # views: CROPS in order, then their horizontal mirrors
VIEW_NAMES = tuple([f"crop {c:.0%}" for c in CROPS] + [f"mirror, crop {c:.0%}" for c in CROPS])
MIRROR_VIEWS = frozenset(range(len(CROPS), N_VIEWS))


def content_hash(im: Image.Image) -> tuple[int, int]:
    """xxh3_128 over (mode, size, decoded bytes) as two unsigned 64-bit ints (hi, lo).

    An 8-bit grey image is hashed as its RGB expansion: a grey PNG and an RGB file holding the same
    grey pixels are the same input to a loader that calls convert("RGB"), so they are exact copies.
    """
    if im.mode == "L":
        im = im.convert("RGB")
    h = xxhash.xxh3_128()
    h.update(f"{im.mode}|{im.size[0]}x{im.size[1]}|".encode())
    h.update(im.tobytes())
    d = h.intdigest()
    return (d >> 64) & 0xFFFFFFFFFFFFFFFF, d & 0xFFFFFFFFFFFFFFFF


def resample_matrix(n_out: int, n_in: int, lo: float, hi: float) -> np.ndarray:
    """(n_out, n_in) float64 matrix: linear interpolation of the interval [lo, hi) of a 1-D signal of
    n_in samples (pixel centres at i + 0.5, coordinates in pixels) onto n_out equally spaced samples."""
    x = lo + (np.arange(n_out) + 0.5) * (hi - lo) / n_out - 0.5
    x = np.clip(x, 0.0, n_in - 1.0)
    i0 = np.floor(x).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = x - i0
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i0] += 1.0 - w1
    m[np.arange(n_out), i1] += w1
    return m


def _dct_matrix(k: int, n: int) -> np.ndarray:
    """First k rows of the orthonormal DCT-II matrix of size n."""
    u = np.arange(k)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * u / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


# 64 lowest-frequency AC coefficients of a 9x9 block (DC excluded), in zigzag-like order.
_K = 9
_ORDER = sorted(((u, v) for u in range(_K) for v in range(_K) if (u, v) != (0, 0)),
                key=lambda uv: (uv[0] + uv[1], uv[0]))[:64]
_SEL_U = np.array([u for u, _ in _ORDER])
_SEL_V = np.array([v for _, v in _ORDER])
# Horizontal mirror of a symmetric crop flips the sign of odd horizontal frequencies (v odd).
_MIRROR_SIGN = np.where(_SEL_V % 2 == 1, -1.0, 1.0)

_DCT = _dct_matrix(_K, HASH_SIDE)
# One (K, GRID) matrix per crop: resample the crop to HASH_SIDE, then DCT.
_VIEW_MATS = np.stack([
    _DCT @ resample_matrix(HASH_SIDE, GRID, c * GRID, (1.0 - c) * GRID) for c in CROPS
]).astype(np.float32)                                        # (n_crops, K, GRID)
_VIEW_MATS_STACKED = _VIEW_MATS.reshape(-1, GRID)            # (n_crops*K, GRID)


def _grey_small(im: Image.Image, side: int = GRID) -> Image.Image:
    """"F" (side, side) grey image on the 0-255 scale, box-averaged from `im` and squashed to a square.

    Grey is ITU-R 601 luma (Pillow's "L" weights) kept in floating point ("F" mode): no rounding to
    8 bits before averaging, so the faint detail of smooth images (skies) survives. Measured on
    ~128k-pixel photos (Pillow 13, this machine): RGB -> "F" 0.066 ms, then an integer box reduce
    by k 0.04 ms, then a box resize of the ~70x80 result to side x side. Converting the full image
    to grey first is cheaper here than reducing RGB (RGB reduce alone costs 0.13 ms).
    16-bit / 32-bit integer single-channel images go to "F" the same way; the absolute scale does
    not matter (the hashes and the stored thumbnail are invariant to it).
    """
    mode = im.mode
    if mode not in ("RGB", "L", "F", "I") and not mode.startswith("I;16"):
        im = im.convert("RGB")
    f = im.convert("F") if im.mode != "F" else im
    w, h = f.size
    k = min(w, h) // side
    if k >= 2:
        # Reduce a centred box whose sides are multiples of k: no partial boxes at one edge, so a
        # mirrored or re-sized copy stays aligned with the original to a small fraction of a pixel.
        bw, bh = w - w % k, h - h % k
        x0, y0 = (w - bw) // 2, (h - bh) // 2
        f = f.reduce(k, box=(x0, y0, x0 + bw, y0 + bh))
    return f.resize((side, side), Image.BOX)


def grey_grid(im: Image.Image, side: int = GRID) -> np.ndarray:
    """float32 (side, side) grey image on the 0-255 scale (see _grey_small)."""
    return np.asarray(_grey_small(im, side), dtype=np.float32)


_VIEW_MATS_T = np.ascontiguousarray(_VIEW_MATS.transpose(0, 2, 1))   # (n_crops, GRID, K)
_SEL_FLAT = _SEL_U * _K + _SEL_V


def hashes_from_grid(g: np.ndarray) -> np.ndarray:
    """uint64 (N_VIEWS,) DCT hashes of the views of a (GRID, GRID) float32 grey grid.

    Bit i of a hash is set when the i-th selected low-frequency AC coefficient exceeds the median
    of the 64 (balanced bits, which keeps the multi-index search's buckets even).
    """
    n_crops = len(CROPS)
    p = (_VIEW_MATS_STACKED @ g).reshape(n_crops, _K, GRID)          # columns transformed
    coef = (p @ _VIEW_MATS_T).reshape(n_crops, _K * _K)               # (n_crops, K*K)
    sel = coef[:, _SEL_FLAT]                                          # (n_crops, 64)
    allv = np.concatenate([sel, sel * _MIRROR_SIGN], axis=0)          # (N_VIEWS, 64)
    srt = np.sort(allv, axis=1)
    med = (srt[:, 31:32] + srt[:, 32:33]) * 0.5
    packed = np.packbits(allv > med, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").reshape(N_VIEWS).astype(np.uint64)


def stretch_u8(a: np.ndarray) -> np.ndarray:
    """uint8 copy of a float image with its own min..max mapped onto 0..255 (all zeros when flat).

    Correlation-based comparisons are invariant to this affine map, and it keeps sub-grey-level
    detail of low-contrast images in 8 bits (a sky spanning 20 grey levels keeps ~0.08-level steps).
    """
    lo = a.min()
    span = a.max() - lo
    if span < 1e-3:
        return np.zeros(a.shape, np.uint8)
    return ((a - lo) * (255.0 / span) + 0.5).astype(np.uint8)


def thumbnail_from_grid(g: np.ndarray) -> np.ndarray:
    """uint8 (THUMB_SIZE, THUMB_SIZE) contrast-stretched thumbnail from a (GRID, GRID) float grid."""
    f = GRID // THUMB_SIZE
    t = g.reshape(THUMB_SIZE, f, THUMB_SIZE, f).sum(axis=(1, 3)) if f > 1 else g
    return stretch_u8(t)


def perceptual_signature(im: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(view hashes, thumbnail): see signature_and_grid."""
    hashes, thumb, _ = signature_and_grid(im)
    return hashes, thumb


def signature_and_grid(im: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint64 (N_VIEWS,) view hashes, uint8 (THUMB_SIZE, THUMB_SIZE) grey thumbnail of the whole
    image, float32 (GRID, GRID) grey grid).

    `im` is the canonical decoded image: "RGB" or "L" (8-bit), or "I;16"/"I" (16-bit single channel).
    The thumbnail is the whole image squashed to a square, box-averaged in floating point and
    contrast-stretched to 0..255 (its own min and max); a flat image gives all zeros. Absolute
    brightness and contrast are in the table's per-image mean and std, not in the thumbnail.
    The third value is the float32 (GRID, GRID) grey grid itself, for the per-image sharpness
    measures (validation/properties.py), so they cost no second pass over the pixels.
    """
    small = _grey_small(im, GRID)
    thumb = small.reduce(GRID // THUMB_SIZE) if GRID != THUMB_SIZE else small
    grid = np.asarray(small, dtype=np.float32)
    return hashes_from_grid(grid), stretch_u8(np.asarray(thumb)), grid
