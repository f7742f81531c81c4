"""Content hashes and perceptual signatures of decoded images.

`content_hash` identifies identical decoded pixels (whatever the file format or name).

`perceptual_signature` is what the near-duplicate search needs, computed once per image in the
scan's workers from the canonical decoded image (no second decode later):

- N_VIEWS 64-bit DCT hashes (pHash style) of several views of the image: the whole image, the
  image with a 3% and a 6% border removed, its mirror, its four corners with 8% cut from two sides,
  four edge views (14% cut from one side), the image turned 3.5 degrees either way (7% border removed), then two region views (the top and
  the bottom 40%). A pair's hash distance is the least distance between one image's whole-image
  hash (view 0) and any of the first views of the other, so cropped (also off-centre), turned and
  mirrored copies land close, or between the same region of both, so a copy with a caption band or
  a watermark over part of it lands close too.
- Uniform bars (letterboxing, padding to a square, any colour; also on one side only or unequal,
  an off-centre paste or a translated picture's filled gap) are trimmed first (`content_box`), and
  so are edge lines repeated to fill such a gap (`replicated_strips`): a padded copy hashes like its
  original, a shifted one like an off-centre crop of it.
- A THUMB_SIZE x THUMB_SIZE grey thumbnail (uint8) of the whole image, squashed to a square and
  contrast-stretched (its own min..max onto 0..255), for the finer confirmation in leakage/confirmation.py,
  which compares it against crops and mirrors of the other image's thumbnail.

Why these choices (measured on 2,000 real photo crops plus 350 planted near copies):
- Grey is computed in floating point and the thumbnail is stretched: with a plain 8-bit thumbnail
  of a smooth sky the fine detail is below one grey level and copies cannot be told from look-alike
  skies; stretched, a JPEG q60 copy of a smooth sky still correlates >= 0.5 in fine detail.
- 32x32 is enough (1,024 bytes + N_VIEWS*8 = 1,120 bytes per image): with it the confirmation
  finds 339 of 350 planted near copies with no false pair (scripts/bench_leakage.py); the copies
  it misses are lost earlier, at the hash stage. Stretched 8-bit and float 32x32 thumbnails scored
  the same, so 8 bits lose nothing once stretched.
- Bits are "coefficient above the median of the 64", so every hash has 32 ones: balanced 16-bit
  chunks for the multi-index search. Bits are ordered from low to high frequency, so chunk 0
  (the 16 lowest frequencies) is the most stable one.

Cost per ~120k-pixel photo on this machine (decode ~1.6 ms, loaded machine): the grey grid about
0.24 ms, almost all of it the RGB -> float grey conversion and the box reduction (Pillow's C code)
and the box resize; the hashes and thumbnails, computed for a whole chunk of images at once, about
0.02 ms (one image at a time they cost 0.1 ms, nearly all of it call overhead).
"""
from __future__ import annotations

import numpy as np
import xxhash
from PIL import Image

from .pixelbuffer import PixelView, pixel_view

THUMB_SIZE = 32          # stored thumbnail side (uint8 grey): THUMB_SIZE**2 bytes per image
GRID = 64                # working grid the hashes are computed on (not stored)
HASH_SIDE = 32           # each view is resampled to HASH_SIDE x HASH_SIDE before the DCT
# Views, each (rows kept, columns kept) as fractions of the side, and whether it is mirrored: the
# whole image, centred crops of 3% and 6% a side, the mirror, the four corners with 8% cut from two
# sides and four edge views (an off-centre crop of the original hashes close to one of those).
CORNER = 0.08
EDGE = 0.14
_VIEWS = (
    ("whole", (0.0, 1.0), (0.0, 1.0), False),
    ("crop 3%", (0.03, 0.97), (0.03, 0.97), False),
    ("crop 6%", (0.06, 0.94), (0.06, 0.94), False),
    ("mirror", (0.0, 1.0), (0.0, 1.0), True),
    ("bottom right 92%", (CORNER, 1.0), (CORNER, 1.0), False),
    ("bottom left 92%", (CORNER, 1.0), (0.0, 1.0 - CORNER), False),
    ("top right 92%", (0.0, 1.0 - CORNER), (CORNER, 1.0), False),
    ("top left 92%", (0.0, 1.0 - CORNER), (0.0, 1.0 - CORNER), False),
    # Edge views: EDGE cut from one side, nothing across. An off-centre crop of up to ~15% a side
    # (any share of it on either side) hashes close to one of these, the corners or the centred
    # crops more often, and so does a translated copy once its filled gap is trimmed (content_box,
    # replicated_strips): it is its original without a strip along one or two sides. On 600
    # simulated off-centre crops of real photos (JPEG q80-95) 75% shared a 16-bit chunk within 10
    # bits with some view before these views, 84% with 10% cut and 5% across; on 100 off-centre
    # crops and 100 shifts of the held-out kind (2026-12-03), within 10 bits 96 / 89 with those,
    # 99 / 96 with 14% and nothing across (other edits 100 / 100 either way).
    ("without the left 14%", (0.0, 1.0), (EDGE, 1.0), False),
    ("without the right 14%", (0.0, 1.0), (0.0, 1.0 - EDGE), False),
    ("without the top 14%", (EDGE, 1.0), (0.0, 1.0), False),
    ("without the bottom 14%", (0.0, 1.0 - EDGE), (0.0, 1.0), False),
    # (then the turned views, TURNED below)
    # Region views, compared only with the same region of the other image (not with its whole):
    # a caption band, a watermark or a logo changes the whole image's hash by 14-24 bits, but a
    # band up to 1 - 2 * REGION = 20% of the height, wherever it lies, leaves one of them untouched.
    ("top 40%", (0.0, 0.40), (0.0, 1.0), False),
    ("bottom 40%", (0.60, 1.0), (0.0, 1.0), False),
)
# Turned views: (name, degrees counter-clockwise, border fraction removed per side), hashed from the
# grid turned about its centre by bilinear sampling; they sit between the eight views above and the
# region views. The grid is the picture squashed to a square, so for a 4:3 picture a turn here is a
# turn and a slight shear there; copies turned 1-5 degrees and cropped so that no empty corner shows
# land within reach of one of them or of the whole and 3% / 6% views (measured on simulated turns of
# 300 real photos: 61% of them shared a 16-bit chunk within 10 bits with some view before, 76% now).
TURNED = (("turned 3.5 degrees left", 3.5, 0.07), ("turned 3.5 degrees right", -3.5, 0.07))
_N_BOXED = len(_VIEWS) - 2           # the boxed views before the region views
N_VIEWS = len(_VIEWS) + len(TURNED)
# Views 0 .. FIRST_REGION_VIEW - 1 take part in the pair distance through the other image's whole
# (view 0); the region views after them only against the same region (leakage/candidates.py).
FIRST_REGION_VIEW = _N_BOXED + len(TURNED)
VIEW_NAMES = tuple(v[0] for v in _VIEWS[:_N_BOXED]) + tuple(t[0] for t in TURNED) + tuple(v[0] for v in _VIEWS[_N_BOXED:])
MIRROR_VIEWS = frozenset(i for i, v in enumerate(_VIEWS) if v[3])


def content_hash(im: Image.Image, view: PixelView | None = None, pad_filled: bool = False
                 ) -> tuple[int, int]:
    """xxh3_128 over (mode, size, decoded pixels) as two unsigned 64-bit ints (hi, lo).
    ``view``: ``pixel_view(im)`` when the caller holds it already (the scan shares one export);
    ``pad_filled``: the caller knows every pad byte of an RGB image's storage is 255
    (decode.Decoded.pad_filled), so the check below is not needed.

    An 8-bit grey image is hashed as its RGB expansion: a grey PNG and an RGB file holding the same
    grey pixels are the same input to a loader that calls convert("RGB"), so they are exact copies.
    RGB pixels are hashed in Pillow's own 4-byte storage (R, G, B, pad), read without a copy
    (pixelbuffer.py): packing them with tobytes() cost more than hashing. Unless the caller knows
    it, the pad byte is checked to be 255 in every pixel (and forced to 255 otherwise), so equal
    pixels always give equal bytes. A grey image's expansion is made with numpy from its own
    pixels, the bytes convert("RGB") would store (a quarter of the cost of converting).
    """
    h = xxhash.xxh3_128()
    if im.mode in ("RGB", "L"):
        h.update(f"RGBX|{im.size[0]}x{im.size[1]}|".encode())
        view = view or pixel_view(im)
        if im.mode == "L":
            grey = np.frombuffer(view.buffer if view else im.tobytes(), np.uint8)
            pixels = np.multiply(grey, np.uint32(0x010101), dtype="<u4")  # R = G = B = grey
            pixels |= np.uint32(0xFF000000)  # and the pad byte 255, as convert("RGB") writes them
        else:
            pixels = np.frombuffer(view.buffer if view else im.tobytes("raw", "RGBX"), "<u4")
            if not pad_filled and pixels.size and pixels.min() < 0xFF000000:  # a pad byte other than 255
                pixels = pixels | np.uint32(0xFF000000)
        h.update(pixels)
    else:
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
# One (K, GRID) matrix per kept interval of a side: resample it to HASH_SIDE, then DCT.
_INTERVALS = sorted({v[1] for v in _VIEWS} | {v[2] for v in _VIEWS})
_SIDE_MATS = np.stack([_DCT @ resample_matrix(HASH_SIDE, GRID, lo * GRID, hi * GRID)
                       for lo, hi in _INTERVALS]).astype(np.float32)          # (n_intervals, K, GRID)
_SIDE_MATS_STACKED = _SIDE_MATS.reshape(-1, GRID)                           # (n_intervals*K, GRID)
_VIEW_ROWS = [_INTERVALS.index(v[1]) for v in _VIEWS if not v[3]]
_VIEW_COLS = [_INTERVALS.index(v[2]) for v in _VIEWS if not v[3]]
_VIEW_ORDER = [i for i, v in enumerate(_VIEWS) if not v[3]] + [i for i, v in enumerate(_VIEWS) if v[3]]
# a mirror view is the sign-flipped hash of the unmirrored view with the same (symmetric) crop
_MIRROR_OF = [next(k for k, w in enumerate(v for v in _VIEWS if not v[3]) if w[1:3] == v[1:3])
              for v in _VIEWS if v[3]]


def _grey_small_bars(im: Image.Image, side: int = GRID) -> tuple[Image.Image, bool]:
    """("F" (side, side) grey image on the 0-255 scale, box-averaged from `im` and squashed to a
    square; whether uniform bars were trimmed from `im` first).

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
    small = _reduced(f, side)
    trimmed = False
    if min(f.size) >= GRID:
        a = _f_array(small)
        sbox = content_box(a)
        box = None
        if sbox is not None:
            # bars seen on the reduced grid: find their exact edges at full resolution (rare, so
            # the cost is paid by padded images only)
            box = content_box(np.asarray(f))
        x0, y0, x1, y1 = sbox if sbox is not None else (0, 0, a.shape[1], a.shape[0])
        strips = replicated_strips(a[y0:y1, x0:x1])
        if strips is not None:
            # edge lines repeated inside the bars (a translated picture's gap filled from its
            # edge), seen on the reduced grid (JPEG noise cancels there), mapped to full resolution
            k = max(1, min(f.size) // side)
            ox, oy = ((f.size[0] % k) // 2, (f.size[1] % k) // 2) if k > 1 else (0, 0)
            l, t, r, b = strips
            rep = (ox + (x0 + l) * k if l else 0, oy + (y0 + t) * k if t else 0,
                   ox + (x1 - r) * k if r else f.size[0], oy + (y1 - b) * k if b else f.size[1])
            box = rep if box is None else (max(box[0], rep[0]), max(box[1], rep[1]),
                                           min(box[2], rep[2]), min(box[3], rep[3]))
        if box is not None and min(box[2] - box[0], box[3] - box[1]) >= 8:
            # and reduce the picture inside them
            small = _reduced(f.crop(box), side)
            trimmed = True
    return small.resize((side, side), Image.BOX), trimmed


REPLICATE_TOL = 0.008    # repeated lines differ by at most this fraction of the grey range (JPEG)
REPLICATE_MAX = 0.20     # a run of repeated lines reaching this fraction of the side is the picture
REPLICATE_SHARE = 0.1    # repeated lines differ by at most this share of their own detail along them
REPLICATE_RING = 0.4     # ... and lines of the JPEG ring past them by at most this share


def replicated_strips(a: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) numbers of edge lines of a reduced grey grid that repeat the line
    next to them (a picture translated and its gap filled by repeating its edge, as translate
    augmentations do), or None when no side has FILL_MIN of them. The line they repeat is the
    picture's own edge and stays. Runs reaching REPLICATE_MAX of the side are not a fill (a sky
    whose colour changes only across the other axis repeats every line)."""
    span = float(a.max()) - float(a.min())
    if span <= 0:
        return None
    tol = REPLICATE_TOL * span
    sides = (a.T, a, a.T[::-1], a[::-1])           # columns from the left, rows from the top, ...
    # most pictures: no edge line repeats the next one (a cheap test, run on every image)
    if all(float(np.abs(x[1] - x[0]).max()) > tol for x in sides):
        return None
    out = []
    for lines in sides:
        n = len(lines)
        cap = int(REPLICATE_MAX * n)
        step = np.abs(lines[1:cap + 2] - lines[:cap + 1])
        along = np.abs(np.diff(lines[:cap + 1], axis=1)).mean(axis=1)
        # repeated, and a line with detail of its own: a smooth sky's rows differ from each other
        # about as much as along themselves, a uniform bar's are `content_box`'s
        d = (step.max(axis=1) <= tol) & (step.mean(axis=1) <= REPLICATE_SHARE * along) & (along > tol)
        run = int(np.argmin(d)) if not d.all() else len(d)
        if not max(2, FILL_MIN * n) <= run <= cap:
            out.append(0)
            continue
        # JPEG rings where the fill meets the picture (its 8x8 block): lines that still differ
        # far less than along themselves go with the fill, and one line of blend after them
        ring = step.mean(axis=1)[run:run + 2] <= REPLICATE_RING * along[run:run + 2]
        out.append(min(run + (int(np.argmin(ring)) if not ring.all() else len(ring)) + 1, cap))
    return tuple(out) if any(out) else None


def _reduced(f: Image.Image, side: int) -> Image.Image:
    """`f` box-reduced by the largest integer factor that keeps it at least `side` px a side."""
    w, h = f.size
    k = min(w, h) // side
    if k < 2:
        return f
    # Reduce a centred box whose sides are multiples of k: no partial boxes at one edge, so a
    # mirrored or re-sized copy stays aligned with the original to a small fraction of a pixel.
    bw, bh = w - w % k, h - h % k
    x0, y0 = (w - bw) // 2, (h - bh) // 2
    return f.reduce(k, box=(x0, y0, x0 + bw, y0 + bh))


TRIM_TOLERANCE = 0.012   # a bar's lines vary by at most this fraction of the image's grey range
TRIM_MIN = 0.02          # bars narrower than this fraction of the side are left alone
FILL_MIN = 0.03          # ... and a bar on one side only (or unequal bars) narrower than this
CAPTION_SHARE = 0.5      # lines past a bar holding its value in this share of pixels: text on it
JPEG_BLOCK = 8


def content_box(a: np.ndarray, blend: int = 1) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inside uniform bars (letterboxing, padding to a square) of a grey image,
    or None when there are none.

    A bar is a run of lines at an edge that are uniform and of one value. Bars on opposite sides
    of about equal width and the same value (a centred paste onto a canvas) are trimmed from
    TRIM_MIN of the side; a bar on one side only, or bars of unequal width (an off-centre paste, the
    gap a translated picture leaves filled with one colour) from FILL_MIN. A flat sky of one exact
    grey along an edge is trimmed too: its copies are trimmed alike, and what is left is the
    picture both show (an off-centre crop of it at worst, which the confirmation aligns). The line
    where a bar meets the picture is a blend of both (box reduction, JPEG): `blend` lines go with
    the bar, since a sliver of bar left in changes a thumbnail more than a lost line of picture.
    """
    hh, ww = a.shape
    if not _edges_may_be_bars(a):
        return None
    rows = (a.max(axis=1), a.min(axis=1), a.mean(axis=1))
    cols = (a.max(axis=0), a.min(axis=0), a.mean(axis=0))
    span = float(rows[0].max() - rows[1].min())
    if span <= 0:
        return None
    tol = TRIM_TOLERANCE * span
    x0, y0, x1, y1 = 0, 0, ww, hh
    left, right = _bars(cols, tol), _bars(tuple(c[::-1] for c in cols), tol)
    x0, x1 = _trimmed(left, right, ww, tol, blend, _bar_text(a.T, left, tol), _bar_text(a.T[::-1], right, tol))
    top, bottom = _bars(rows, tol), _bars(tuple(r[::-1] for r in rows), tol)
    y0, y1 = _trimmed(top, bottom, hh, tol, blend, _bar_text(a, top, tol), _bar_text(a[::-1], bottom, tol))
    if (x0, y0, x1, y1) == (0, 0, ww, hh) or min(x1 - x0, y1 - y0) < 8:
        return None
    return x0, y0, x1, y1


def _trimmed(a: tuple[int, float], b: tuple[int, float], n: int, tol: float, blend: int,
             a_text: bool = False, b_text: bool = False) -> tuple[int, int]:
    """The lines [lo, hi) of an axis of n lines kept inside its bars a (at its start) and b (at
    its end), from `_bars`: a centred pair from TRIM_MIN, any other bar from FILL_MIN of n unless
    text lies on it (a_text, b_text: `_bar_text`)."""
    if _paired(a, b, n, tol):
        return a[0] + blend, n - b[0] - blend
    least = max(2, FILL_MIN * n)
    lo = a[0] + blend if a[0] >= least and not a_text else 0
    hi = n - b[0] - blend if b[0] >= least and not b_text else n
    return (lo, hi) if hi - lo >= 0.5 * n else (0, n)


def _bar_text(lines: np.ndarray, bar: tuple[int, float], tol: float) -> bool:
    """Whether the lines just past a bar (lines from the edge, the bar first) still hold its value
    in most of their pixels: text on a caption bar, which is no gap to trim (the band pass
    compares captioned copies with the caption rows left out)."""
    n, value = bar
    near = lines[n:n + JPEG_BLOCK]
    return bool(len(near)) and float((np.abs(near - value) <= tol).mean()) >= CAPTION_SHARE


def _edges_may_be_bars(a: np.ndarray) -> bool:
    """False when no edge line is uniform, so content_box finds no bars: a cheap test that
    spares most images the full line-by-line search (it runs on every image). Conservative
    (twice the tolerance, in float64), so it never changes content_box's answer."""
    span = float(a.max()) - float(a.min())
    if span <= 0:
        return False
    loose = 2 * TRIM_TOLERANCE * span
    def uniform(line: np.ndarray) -> bool:
        return float(line.max()) - float(line.min()) <= loose
    return uniform(a[:, 0]) or uniform(a[:, -1]) or uniform(a[0]) or uniform(a[-1])


def _bars(lines: tuple[np.ndarray, np.ndarray, np.ndarray], tol: float) -> tuple[int, float]:
    """(number of leading lines that are uniform and of the first line's value, that value), from
    the lines' max, min and mean; at most half of the lines; 0 for fewer than TRIM_MIN of them."""
    hi, lo, mean = (x[:len(x) // 2] for x in lines)
    ok = ((hi - lo) <= tol) & (np.abs(mean - mean[0]) <= tol)
    n = int(np.argmin(ok)) if not ok.all() else len(ok)
    if n < max(1, TRIM_MIN * len(lines)):
        return 0, float(mean[0])
    # JPEG rings where a bar meets the picture (up to one 8x8 block): lines there are not uniform
    # but still average to the bar's value
    ring = slice(n, n + JPEG_BLOCK)
    near = (np.abs(mean[ring] - mean[0]) <= 2 * tol) & ((hi[ring] - lo[ring]) <= 16 * tol)
    n += int(np.argmin(near)) if not near.all() else len(near)
    return n, float(mean[0])


def _paired(a: tuple[int, float], b: tuple[int, float], n: int, tol: float) -> bool:
    """Bars on opposite sides that look like a centred paste: both there, same value, about equal."""
    (na, va), (nb, vb) = a, b
    return (min(na, nb) > 0 and abs(va - vb) <= tol
            and abs(na - nb) <= 0.1 * max(na, nb) + 2 and na + nb < 0.9 * n)


def grey_grid(im: Image.Image, side: int = GRID) -> np.ndarray:
    """float32 (side, side) grey image on the 0-255 scale (see _grey_small_bars)."""
    return grey_grid_bars(im, side)[0]


def grey_grid_bars(im: Image.Image, side: int = GRID) -> tuple[np.ndarray, bool]:
    """(grey_grid(im), whether uniform bars were trimmed first): the scan keeps the second as
    FLAG_PADDED, so a finding can say a copy was padded instead of calling the bars a tone change."""
    small, trimmed = _grey_small_bars(im, side)
    return _f_array(small), trimmed


def _f_array(f: Image.Image) -> np.ndarray:
    """float32 (h, w) values of an "F" image: read from its bytes, about half the cost of
    np.asarray's array-interface path on these small images (the scan does this per image)."""
    w, h = f.size
    return np.frombuffer(f.tobytes(), np.float32).reshape(h, w)


_SEL_FLAT = _SEL_U * _K + _SEL_V


def hashes_from_grid(g: np.ndarray) -> np.ndarray:
    """uint64 (N_VIEWS,) DCT hashes of the views of a (GRID, GRID) float32 grey grid."""
    return hashes_from_grids(g[None])[0]


def hashes_from_grids(grids: np.ndarray) -> np.ndarray:
    """uint64 (k, N_VIEWS) DCT hashes of the views of k (GRID, GRID) float32 grey grids.

    Bit i of a hash is set when the i-th selected low-frequency AC coefficient exceeds the median
    of the 64 (balanced bits, which keeps the multi-index search's buckets even). A whole chunk
    of images is hashed in one call: per image the work is a few tiny matrix products, so the
    per-call overhead was most of the cost. Each grid's products are the same matrix products
    whatever the batch, so a hash does not depend on the images hashed with it.
    """
    k, n_int = len(grids), len(_INTERVALS)
    rows = np.matmul(_SIDE_MATS_STACKED, grids).reshape(k, n_int, _K, GRID)  # rows transformed, per interval
    plain = np.stack([np.matmul(rows[:, r], _SIDE_MATS[c].T) for r, c in zip(_VIEW_ROWS, _VIEW_COLS)],
                     axis=1)                                                 # (k, n_plain, K, K)
    sel = plain.reshape(k, plain.shape[1], _K * _K)[:, :, _SEL_FLAT]        # (k, n_plain, 64)
    allv = np.concatenate([sel, sel[:, _MIRROR_OF] * _MIRROR_SIGN], axis=1)  # plain views, then mirrors
    srt = np.sort(allv, axis=2)
    med = (srt[:, :, 31:32] + srt[:, :, 32:33]) * 0.5
    packed = np.packbits(allv > med, axis=2, bitorder="little")
    out = np.ascontiguousarray(packed).view("<u8").reshape(k, len(_VIEWS)).astype(np.uint64)
    boxed = np.empty((k, len(_VIEWS)), np.uint64)
    boxed[:, _VIEW_ORDER] = out
    return np.concatenate([boxed[:, :_N_BOXED], _turned_hashes(grids), boxed[:, _N_BOXED:]], axis=1)


def _turn_sampling(degrees: float, cut: float) -> tuple[np.ndarray, np.ndarray]:
    """Flat grid positions (4, HASH_SIDE**2) and bilinear weights (4, HASH_SIDE**2) that sample the
    GRID x GRID grid turned `degrees` about its centre, `cut` of the side removed all round."""
    t = (np.arange(HASH_SIDE) + 0.5) / HASH_SIDE * (1 - 2 * cut) + cut - 0.5
    yy, xx = np.meshgrid(t, t, indexing="ij")
    a = np.radians(degrees)
    px = np.clip((np.cos(a) * xx - np.sin(a) * yy + 0.5) * GRID - 0.5, 0, GRID - 1.001).ravel()
    py = np.clip((np.sin(a) * xx + np.cos(a) * yy + 0.5) * GRID - 0.5, 0, GRID - 1.001).ravel()
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    wx, wy = px - x0, py - y0
    at = np.stack([y0 * GRID + x0, y0 * GRID + x0 + 1, (y0 + 1) * GRID + x0, (y0 + 1) * GRID + x0 + 1])
    w = np.stack([(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy]).astype(np.float32)
    return at, w


_TURNS = [_turn_sampling(degrees, cut) for _, degrees, cut in TURNED]
_DCT32 = _DCT.astype(np.float32)


def _turned_hashes(grids: np.ndarray) -> np.ndarray:
    """uint64 (k, len(TURNED)) hashes of the turned views of k grids (bits as hashes_from_grids).
    The turned grid is gathered (4 positions per sample), not a product with a (GRID^2, 64) matrix:
    that product is large enough for the BLAS to start threads, which a scan's worker processes
    must not (about 0.02 ms per image and turned view either way on an idle core)."""
    k = len(grids)
    flat = grids.reshape(k, GRID * GRID)
    out = np.empty((k, len(TURNED)), np.uint64)
    for i, (at, w) in enumerate(_TURNS):
        corners = np.take(flat, at, axis=1)  # (k, 4, HASH_SIDE**2)
        corners *= w
        # the four terms added in order, as sum(axis=1) adds them, without its strided pass
        turned = corners[:, 0] + corners[:, 1]
        turned += corners[:, 2]
        turned += corners[:, 3]
        turned = turned.reshape(k, HASH_SIDE, HASH_SIDE)
        co = np.matmul(np.matmul(_DCT32, turned), _DCT32.T).reshape(k, _K * _K)[:, _SEL_FLAT]
        srt = np.sort(co, axis=1)
        med = (srt[:, 31:32] + srt[:, 32:33]) * 0.5
        out[:, i] = np.ascontiguousarray(np.packbits(co > med, axis=1, bitorder="little")).view("<u8")[:, 0]
    return out


def stretch_u8(a: np.ndarray) -> np.ndarray:
    """uint8 copy of a float image with its own min..max mapped onto 0..255 (all zeros when flat).

    Correlation-based comparisons are invariant to this affine map, and it keeps sub-grey-level
    detail of low-contrast images in 8 bits (a sky spanning 20 grey levels keeps ~0.08-level steps).
    """
    return stretch_u8_each(np.asarray(a)[None])[0]


def stretch_u8_each(images: np.ndarray) -> np.ndarray:
    """stretch_u8 of each of k float images (k, h, w) at once, element for element the same."""
    if not np.issubdtype(images.dtype, np.floating):
        images = images.astype(np.float64)
    k = len(images)
    lo = images.min(axis=(1, 2)) if k else np.zeros(0, images.dtype)
    span = images.max(axis=(1, 2)) - lo if k else lo
    flat = span < 1e-3
    scale = (255.0 / np.where(flat, 1, span)).astype(images.dtype)  # the dtype a scalar division gives
    out = ((images - lo[:, None, None]) * scale[:, None, None] + images.dtype.type(0.5)).astype(np.uint8)
    out[flat] = 0
    return out


def thumbnail_from_grid(g: np.ndarray) -> np.ndarray:
    """uint8 (THUMB_SIZE, THUMB_SIZE) contrast-stretched thumbnail from a (GRID, GRID) float grid."""
    f = GRID // THUMB_SIZE
    t = g.reshape(THUMB_SIZE, f, THUMB_SIZE, f).sum(axis=(1, 3)) if f > 1 else g
    return stretch_u8(t)


def thumbnails_from_grids(grids: np.ndarray) -> np.ndarray:
    """uint8 (k, THUMB_SIZE, THUMB_SIZE) stored thumbnails of k float32 (GRID, GRID) grids: each
    grid 2x2 box-averaged, then contrast-stretched. The four terms are added in the order of
    Pillow's float reduce(2), so this is bit for bit the thumbnail ``reduce(2)`` of the grid gave."""
    assert GRID == 2 * THUMB_SIZE
    g = grids
    t = (((g[:, 0::2, 0::2] + g[:, 0::2, 1::2]) + g[:, 1::2, 0::2]) + g[:, 1::2, 1::2]) * np.float32(0.25)
    return stretch_u8_each(t)


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
    The scan computes the same per chunk: grey_grid per image, then hashes_from_grids and
    thumbnails_from_grids over the chunk's grids.
    """
    grid = grey_grid(im, GRID)
    return hashes_from_grids(grid[None])[0], thumbnails_from_grids(grid[None])[0], grid


def weak_bits(thumbs: np.ndarray, per_chunk: int, chunk_bits: int = 16, block: int = 1 << 15) -> np.ndarray:
    """int8 (k, 64 // chunk_bits, per_chunk): for each of k stored thumbnails, the bits of its
    whole-image hash (view 0) most likely to flip in a copy, per 16-bit chunk: those whose DCT
    coefficient lies nearest the median of the 64 (weakest first).

    The thumbnail is the grid's 2x2 box average, which is what view 0's resampling to HASH_SIDE
    takes, contrast-stretched (a positive affine map, which moves no coefficient across the median)
    and rounded to 8 bits: its coefficients are view 0's up to that rounding (the bits they give
    equal the stored hash's in ~88% of photos and differ in two, the median pair, in the rest), so
    the weak bits cost no stored byte. Two GEMMs per block of images."""
    assert HASH_SIDE == THUMB_SIZE
    k = len(thumbs)
    n_chunks = 64 // chunk_bits
    out = np.empty((k, n_chunks, per_chunk), np.int8)
    dct_t = _DCT32.T.copy()                                              # (T, K)
    for lo in range(0, k, block):
        t = np.asarray(thumbs[lo:lo + block], np.float32).reshape(-1, THUMB_SIZE, THUMB_SIZE)
        m = len(t)
        cols = (t.reshape(m * THUMB_SIZE, THUMB_SIZE) @ dct_t).reshape(m, THUMB_SIZE, _K)    # [n, x, v]
        co = (cols.transpose(0, 2, 1).reshape(m * _K, THUMB_SIZE) @ dct_t).reshape(m, _K, _K)  # [n, v, u]
        sel = co.transpose(0, 2, 1).reshape(m, _K * _K)[:, _SEL_FLAT]                       # [n, 64]
        srt = np.sort(sel, axis=1)
        margin = np.abs(sel - (srt[:, 31:32] + srt[:, 32:33]) * 0.5).reshape(m, n_chunks, chunk_bits)
        order = np.argsort(margin, axis=2, kind="stable")[:, :, :per_chunk]
        out[lo:lo + m] = order + (np.arange(n_chunks) * chunk_bits)[None, :, None]
    return out
