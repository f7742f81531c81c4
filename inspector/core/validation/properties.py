"""Per-image properties, measured in the scan's workers from what they already hold.

No second decode and no pass over all the pixels beyond what the scan does anyway:
- the image's exact integer histogram (per channel) and moments give brightness, contrast, the
  dark and light percentiles and the entropy;
- the 64x64 floating-point grey grid of the perceptual hashes (hashing.py) gives the blur score
  at the scale of the picture (cleanvision judges blur on a grey image resized to 64 px as well),
  less the part of the grid's detail that is the image's own noise (estimated from the patches);
- four 32x32 patches copied at full resolution from the decoded pixels (1-4% of a photo) give
  sharpness at the image's own resolution, which the grid cannot see: a 2 px blur of a 400 px
  photo is a third of a grid step;
- 32x32 pixels on a regular lattice of the decoded image give saturation and the colour spread
  that tells a grey image stored as RGB;
- eight full rows and eight full columns at full resolution (structure.py) give the blur score's
  second term: whether the picture has structure at its finest few pixels anywhere across it,
  rows and columns apart (a motion blur removes it along one direction only).

Cost: per image, `sample` only keeps references and copies the patches and the lattice out of
Pillow's pixel memory (read in place, pixelbuffer.py); `measure_all` then computes every property
of a chunk's images together, one numpy operation per step for all of them. Measured one at a
time, the ~40 small numpy operations cost about 0.3 ms an image inside the scan (cold caches
after each decode), 10% of the scan; batched they cost a few percent (scripts/bench_validation.py).

All values are on the 0-1 scale unless a comment says otherwise. NaN marks a value that does not
apply (an empty image), so statistics skip it instead of reading a made-up number.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..pixelbuffer import PixelView, pixel_view
from .structure import line_positions, line_structure

# Columns of ImageTable.properties, in this order.
BRIGHTNESS = 0   # luma mean (ITU-R 601 weights of the channel means; the grey mean for L)
CONTRAST = 1     # RMS contrast: luma-weighted per-channel std (the grey std for L)
SHARPNESS = 2    # finest-step share of detail at full resolution (band_ratio), 0 smooth .. 1 noise
SATURATION = 3   # mean HSV saturation of the 32x32 lattice (0 for grey images)
DARK = 4         # 99th percentile of the brightest channel: low when nearly every pixel is dark
LIGHT = 5        # 5th percentile of the darkest channel: high when even the dark pixels are bright
ENTROPY = 6      # Shannon entropy of the histogram, bits / 8, the largest over channels
COLOUR_SPREAD = 7  # largest channel difference over the lattice (0 = grey)
DETAIL = 8       # finest-step share of detail on the 64x64 grid less noise, rows and columns (grid_detail)
STRUCTURE = 9    # full-resolution structure at 1-4 px of the weaker direction (structure.py), ~0.25 smooth
COLUMNS = ("brightness", "contrast", "sharpness", "saturation", "dark_p99", "light_p5",
           "entropy", "colour_spread", "detail", "structure")
N_PROPERTIES = len(COLUMNS)

SAMPLE_SIDE = 32   # the colour lattice is (at most) SAMPLE_SIDE x SAMPLE_SIDE pixels
PATCH = 32         # side of each full-resolution sharpness patch (2 x 2 of them)
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass
class Sample:
    """What one image leaves for measure_all: references to the scan's own arrays plus two small
    copies of its pixels (patches: (p, s, s) grey, lattice: (m, 3) uint8 RGB or None for grey)
    and the image's (width, height), which say how many pixels a cell of the grid averages."""
    hist: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    grid: np.ndarray
    patches: np.ndarray | None
    lattice: np.ndarray | None
    size: tuple[int, int] = (0, 0)
    rows: np.ndarray | None = None  # (LINES, width) full-resolution grey rows (structure.py)
    cols: np.ndarray | None = None  # (LINES, height) full-resolution grey columns, each one contiguous


def _patch_grid(n: int, side: int) -> tuple[int, int, int]:
    """(first origin, spacing, count) of the patches along a side of n pixels: two, centred in
    its halves, or one in the middle of a side shorter than two patches."""
    if n < 2 * side:
        return max(0, (n - side) // 2), 0, 1
    return n // 4 - side // 2, n // 2, 2


def _patches(plane: np.ndarray, side: int) -> np.ndarray:
    """A copy of the (p, side, side) patches of a 2-D pixel plane."""
    h, w = plane.shape
    y0, dy, ny = _patch_grid(h, side)
    x0, dx, nx = _patch_grid(w, side)
    return np.stack([plane[y0 + j * dy:y0 + j * dy + side, x0 + i * dx:x0 + i * dx + side]
                     for j in range(ny) for i in range(nx)])


def _lattice(n: int) -> slice:
    """Every step-th pixel along a side of n, at most SAMPLE_SIDE of them, centred."""
    step = max(1, n // SAMPLE_SIDE)
    count = min(SAMPLE_SIDE, n)
    start = (n - (count - 1) * step - 1) // 2
    return slice(start, start + (count - 1) * step + 1, step)


def _lattice_image(im: Image.Image) -> Image.Image:
    """The pixels of _lattice as an image, by a nearest-neighbour resize whose sample points
    (box origin + (i + 0.5) * step) fall half a pixel past each lattice position."""
    (w, h), box, size = im.size, [], []
    for n in (w, h):
        sl = _lattice(n)
        count = len(range(n)[sl])
        box.append(sl.start + 0.5 - 0.5 * sl.step)
        size.append(count)
    x0, y0 = box
    steps = [_lattice(w).step, _lattice(h).step]
    return im.resize(tuple(size), Image.NEAREST, box=(x0, y0, x0 + size[0] * steps[0], y0 + size[1] * steps[1]))


def sample(im: Image.Image, hist: np.ndarray, mean: np.ndarray, std: np.ndarray,
           grid: np.ndarray, view: PixelView | None = None) -> Sample:
    """One canonical image's (RGB, L or I;16) share of the properties, kept until its chunk is
    measured: a handful of slices, no arithmetic. ``view``: ``pixel_view(im)`` if already made."""
    w, h = im.size
    patches = lattice = rows = cols = None
    ys, xs = line_positions(h), line_positions(w)
    if min(w, h) >= 3:
        side = min(PATCH, w, h)
        view = view or pixel_view(im)  # None for 16-bit and very large images: Pillow crops instead
        if view is not None:
            a = np.frombuffer(view.buffer, np.uint8)
            if im.mode == "RGB":  # Pillow's storage: R, G, B, pad; green is most of luma
                a = a.reshape(h, w, 4)
                patches = _patches(a[..., 1], side)
                lattice = a[_lattice(h), _lattice(w), :3].copy().reshape(-1, 3)  # the memory dies with im
                rows, cols = a[ys, :, 1].copy(), a[:, xs, 1].T.copy()
            else:
                a = a.reshape(h, w)
                patches = _patches(a, side)
                rows, cols = a[ys].copy(), a[:, xs].T.copy()
        else:  # Pillow copies just the patches and the lattice
            y0, dy, ny = _patch_grid(h, side)
            x0, dx, nx = _patch_grid(w, side)
            crops = [im.crop((x0 + i * dx, y0 + j * dy, x0 + i * dx + side, y0 + j * dy + side))
                     for j in range(ny) for i in range(nx)]
            grey = (lambda c: c.getchannel(1)) if im.mode == "RGB" else (lambda c: c)
            patches = np.stack([np.asarray(grey(c)) for c in crops])
            rows = np.stack([np.asarray(grey(im.crop((0, y, w, y + 1))))[0] for y in range(h)[ys]])
            cols = np.stack([np.asarray(grey(im.crop((x, 0, x + 1, h))))[:, 0] for x in range(w)[xs]])
            if im.mode == "RGB":
                lattice = np.asarray(_lattice_image(im)).reshape(-1, 3)
    return Sample(hist, mean, std, grid, patches, lattice, (w, h), rows, cols)


def _groups(values: list, key) -> dict:
    """{key: [row positions]} of the rows whose value has that key (arrays of one shape stack)."""
    out: dict = {}
    for i, v in enumerate(values):
        out.setdefault(key(v), []).append(i)
    return out


def band_ratio(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """2 rms(one-step differences) / rms(two-step differences) - 1, clipped to 0..1 (0 when flat).

    Natural photos have power spectra close to 1/f^2, so this share of the finest band hardly
    depends on what is shown or on its contrast (0.05-0.6 on real photos); detail lost to blur
    makes one-step differences half the two-step ones (0); white noise gives 1.
    """
    e1, e2 = np.asarray(e1, np.float64), np.asarray(e2, np.float64)
    flat = e2 <= 1e-12
    r = 2.0 * np.sqrt(e1 / np.where(flat, 1.0, e2)) - 1.0
    return np.where(flat, 0.0, np.clip(r, 0.0, 1.0))


def _energy(d: np.ndarray) -> np.ndarray:
    """Mean square over every axis but the first (one value per image); float32 sums of a few
    thousand squares are good to ~1e-4, plenty for a ratio (a float64 einsum is 5x slower)."""
    flat = d.reshape(d.shape[0], -1)
    return np.einsum("ki,ki->k", flat, flat).astype(np.float64) / flat.shape[1]


def _histogram_columns(hists: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """(k, 5) brightness, contrast, dark_p99, light_p5, entropy of k histograms of one shape."""
    k, c, bins = hists.shape
    scale = bins - 1
    if c == 3:  # elementwise, not a matrix product: the same bits whatever the chunk holds
        brightness = means[:, 0] * _LUMA[0] + means[:, 1] * _LUMA[1] + means[:, 2] * _LUMA[2]
        contrast = stds[:, 0] * _LUMA[0] + stds[:, 1] * _LUMA[1] + stds[:, 2] * _LUMA[2]
    else:
        brightness, contrast = means[:, 0], stds[:, 0]
    cum = hists.cumsum(axis=2)
    n = cum[:, 0, -1].astype(np.float64)
    # per channel, the lowest bin holding the q-quantile: the bins whose cumulative count is below
    targets = np.maximum(np.ceil(np.stack([0.99 * n, 0.05 * n], axis=1)), 1)       # (k, 2)
    below = (cum[:, :, None, :] < targets[:, None, :, None]).sum(axis=3)           # (k, C, 2)
    dark = below[:, :, 0].max(axis=1) / scale
    light = below[:, :, 1].min(axis=1) / scale
    # entropy = log2(n) - sum(h log2 h) / n, with 0 log 0 = 0 (log2 of 1 is 0); the largest channel
    h_log_h = np.einsum("kcb,kcb->kc", hists, np.log2(np.maximum(hists, 1)))
    ent = (np.log2(n) - h_log_h.min(axis=1) / n) / np.log2(bins)  # 8 bits for 8-bit data, 16 for 16
    return np.stack([brightness, contrast, dark, light, ent], axis=1)


def grid_detail(grids: np.ndarray, noise: np.ndarray | float = 0.0,
                sizes: np.ndarray | None = None) -> np.ndarray:
    """(k,) blur scores of k 64x64 grey grids: band_ratio along rows and along columns with
    `noise` (per image, the mean square a grid difference owes to noise) taken out of every
    energy, then their geometric mean: low when either direction lost its fine detail (a blur
    along one direction, motion, counts), less jumpy than the lower of the two on photos.

    With `sizes` ((k, 2) width, height): along a side shorter than the grid the grid repeats
    pixels (MNIST's 28 px read the same 0.14 whatever the digit), so that direction is left out;
    an image smaller than the grid both ways gets NaN (its blur is not judged)."""
    g = grids
    def ratio(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
        # at most half of e1 is noise: an image of pure noise keeps its full detail (1)
        taken = np.minimum(noise, 0.5 * e1)
        return band_ratio(e1 - taken, np.maximum(e2 - taken, 0.0))
    rows = ratio(_energy(g[:, :, 1:] - g[:, :, :-1]), _energy(g[:, :, 2:] - g[:, :, :-2]))
    cols = ratio(_energy(g[:, 1:] - g[:, :-1]), _energy(g[:, 2:] - g[:, :-2]))
    if sizes is None:
        return np.sqrt(rows * cols)
    wide, tall = sizes[:, 0] >= g.shape[2], sizes[:, 1] >= g.shape[1]
    return np.where(wide & tall, np.sqrt(rows * cols),
                    np.where(wide, rows, np.where(tall, cols, np.nan)))


# Rounding to whole levels adds noise of variance 1/12 to every pixel, so 2/12 to the mean square
# of any difference, at every step: left in, it makes a smooth patch (a heavy blur) read like noise.
ROUNDING_FLOOR = 2.0 / 12.0


def patch_energies(patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, p, 2) mean squares of the one-step and of the two-step differences of each of the p
    full-resolution patches of k images ((k, p, s, s)), along rows and along columns."""
    k, p = patches.shape[:2]
    g = patches.reshape(k * p, *patches.shape[2:]).astype(np.float32)
    e1 = np.stack([_energy(g[..., 1:] - g[..., :-1]), _energy(g[..., 1:, :] - g[..., :-1, :])], axis=1)
    e2 = np.stack([_energy(g[..., 2:] - g[..., :-2]), _energy(g[..., 2:, :] - g[..., :-2, :])], axis=1)
    return e1.reshape(k, p, 2), e2.reshape(k, p, 2)


def patch_sharpness(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """(k,) band_ratio pooled over each image's patches (patch_energies, rows and columns
    added), with the rounding noise taken out of both energies (differences within a level are
    not detail)."""
    floor = 2 * ROUNDING_FLOOR  # rows and columns
    pooled1, pooled2 = e1.sum(axis=2).mean(axis=1), e2.sum(axis=2).mean(axis=1)
    return band_ratio(np.maximum(pooled1 - floor, 0.0), np.maximum(pooled2 - floor, 0.0))


def patch_noise(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """(k,) per-pixel noise variance of each image, from its least detailed patch and direction.

    Noise of variance v adds 2v to the mean square of a difference at any step, smooth detail
    adds four times as much to e2 as to e1: so (e1 - e2 / 4) / 1.5 is v on a smooth patch and
    more on a detailed one. The least over patches and directions is taken (noise is the same
    everywhere, detail is not: a photo squashed to a strip is rough only across it).
    """
    return np.maximum(e1 - e2 / 4, 0.0).min(axis=(1, 2)) / 1.5


# Below this many pixels per grid cell the grid is nearly the image itself, and the noise
# estimate (an upper bound that grows with detail) is as large as the grid's own differences.
MIN_NOISE_CELL = 4.0


def grid_noise(noise: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """(k,) the mean square a grid difference owes to pixel noise of variance `noise`: each cell
    averages `cells` pixels, so 2 noise / cells (0 under MIN_NOISE_CELL). A blurred photo's
    sensor noise and JPEG artefacts would otherwise read as detail on a smooth grid; a detailed
    photo's grid differences are hundreds of times this, so they are unaffected."""
    return np.where(cells >= MIN_NOISE_CELL, 2.0 * noise / np.maximum(cells, 1.0), 0.0)


def colour_columns(lattices: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(saturation, colour_spread) per lattice of (m, 3) uint8 pixels, all lattices at once."""
    px = np.concatenate(lattices)
    starts = np.cumsum([0] + [len(a) for a in lattices[:-1]])
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    hi = np.maximum(np.maximum(r, g), b)
    spread = hi - np.minimum(np.minimum(r, g), b)  # uint8: hi >= min
    sat = spread / np.maximum(hi, 1)  # 0 where hi is 0 (spread is 0 there)
    counts = np.array([len(a) for a in lattices])
    return (np.add.reduceat(sat, starts) / counts,
            np.maximum.reduceat(spread, starts).astype(np.float64) / 255.0)


def measure_all(samples: list[Sample]) -> np.ndarray:
    """float64 (k, N_PROPERTIES) for a chunk's samples, each step done for all of them at once."""
    k = len(samples)
    out = np.full((k, N_PROPERTIES), np.nan)
    ok = [i for i, s in enumerate(samples) if np.isfinite(s.mean).all()]
    for shape, rows in _groups([samples[i].hist for i in ok], lambda a: a.shape).items():
        idx = [ok[j] for j in rows]
        cols = _histogram_columns(np.stack([samples[i].hist for i in idx]),
                                  np.stack([samples[i].mean for i in idx]),
                                  np.stack([samples[i].std for i in idx]))
        out[idx, BRIGHTNESS], out[idx, CONTRAST] = cols[:, 0], cols[:, 1]
        out[idx, DARK], out[idx, LIGHT], out[idx, ENTROPY] = cols[:, 2], cols[:, 3], cols[:, 4]
    noise = np.zeros(k)  # per-pixel noise variance, 0 where no patch was taken
    with_patches = [i for i in ok if samples[i].patches is not None]
    for _, rows in _groups([samples[i].patches for i in with_patches],
                           lambda a: (a.shape, a.dtype.str)).items():
        idx = [with_patches[j] for j in rows]
        e1, e2 = patch_energies(np.stack([samples[i].patches for i in idx]))
        out[idx, SHARPNESS] = patch_sharpness(e1, e2)
        noise[idx] = patch_noise(e1, e2)
    if ok:
        grids = np.stack([samples[i].grid for i in ok])
        sizes = np.array([samples[i].size for i in ok], np.float64).reshape(-1, 2)
        cells = sizes[:, 0] / grids.shape[2] * sizes[:, 1] / grids.shape[1]
        out[ok, DETAIL] = grid_detail(grids, grid_noise(noise[ok], cells), sizes)
    with_lines = [i for i in ok if samples[i].rows is not None]
    if with_lines:
        out[with_lines, STRUCTURE] = line_structure([samples[i].rows for i in with_lines],
                                                    [samples[i].cols for i in with_lines])
    colour = [i for i in ok if samples[i].lattice is not None]
    out[ok, SATURATION] = out[ok, COLOUR_SPREAD] = 0.0  # grey images: no colour at all
    if colour:
        out[colour, SATURATION], out[colour, COLOUR_SPREAD] = colour_columns(
            [samples[i].lattice for i in colour])
    return out


def measure(im: Image.Image, hist: np.ndarray, mean: np.ndarray, std: np.ndarray,
            grid: np.ndarray) -> np.ndarray:
    """float64 (N_PROPERTIES,) for one canonical image (RGB, L or I;16)."""
    return measure_all([sample(im, hist, mean, std, grid)])[0]
