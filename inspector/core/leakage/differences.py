"""How a confirmed copy differs from its original, in words: "greyscale, cropped 8%, darker".

Everything comes from the scan's table (size, file format and mode, per-image mean and std, the
per-image properties when the table has them) and from the alignment that confirmed the pair (crop,
mirror, turn, band), plus one comparison of the two thumbnails at that alignment (`overlay_bands`),
so nothing is decoded again. Colour and tone differences do not stop a copy from being confirmed;
they are described here instead. Each word needs its own evidence, with a margin that keeps it off
unedited pairs (re-encoded, resized or mirrored copies), measured on the held-out benchmark's pairs:

- greyscale: the lattice's largest channel difference (properties COLOUR_SPREAD) at most
  GREY_SPREAD in one file only (without properties: equal channel means, stds, minima and maxima);
- colour: the cast of the mean colour (each channel's mean over the luma, less 1). Under a tone
  change (brightness, contrast, gamma) and a saturation change it only grows or shrinks (a
  contrast of 1.5 scales it by ~1.5: no colour word then); under a white-balance change (gains
  per channel) it moves across (BALANCE_SHIFT of it at right angles to the old cast, and at least
  BALANCE_ACROSS of the change): "colour balance warmer / cooler". A cast scaled by SATURATION_SCALE
  or more with little across (SATURATION_ALONG) is "more / less saturated". Named only when the
  grey tone kept (brightness and contrast within PURE_BRIGHTNESS / PURE_CONTRAST: a tone curve
  changes saturation as well; a balance change may move the contrast) and the two files show the
  same pixels;
- tone: luma mean and luma-weighted std ratios over TONE_DIFFERS (PARTIAL_TONE_DIFFERS when the
  files do not show the same pixels: a crop, a turn's filled corners move them; none with a
  band of text or a mark, whose black bar and white letters move them by more;
  and for the std when the colour balance changed or the grid's detail did (DETAIL_MOVED): gains
  per channel and sharpening move it too);
- fine detail (properties SHARPNESS at full resolution and DETAIL on the 64-px grid, same size
  only): both lower or higher in one file, by DETAIL_SHARPNESS and DETAIL_GRID (or by
  SHARP_SHARPNESS and SHARP_GRID): "less / more fine detail". Which one was edited the table cannot
  say (a blurred copy and its sharper original look like an original and its sharpened copy), so
  the words name both;
- text or a mark: the band pass's band, or (`overlay_bands`) at a centred alignment one band of
  rows that holds OVERLAY_CONCENTRATION of what the two thumbnails disagree on, when they disagree
  by more than re-encoding noise (OVERLAY_MIN_ERROR).
"""
from __future__ import annotations

import numpy as np

from ..table import FLAG_PADDED, ImageTable

GREY_MODES = frozenset({"L", "LA", "1", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})
CAST_GREY = 0.01        # without properties: a colour image whose channel means agree this closely ...
STD_GREY = 0.02         # ... and whose channel stds agree this closely (relative) holds grey pixels
GREY_SPREAD = 0.02      # properties COLOUR_SPREAD (largest channel difference, 0-1) of grey pixels
LUMA = np.array([0.299, 0.587, 0.114])
TONE_DIFFERS = 1.08     # brightness or contrast ratio worth naming
PARTIAL_TONE_DIFFERS = 1.25   # ... when the two files do not show the same pixels
PARTIAL_CROP = 0.03     # border fraction from which the two files do not show the same pixels
CROP_SHOWN = 0.01       # border fraction worth naming
PURE_BRIGHTNESS = 1.06  # colour words only when the grey tone kept (luma mean ratio) ...
PURE_CONTRAST = 1.10    # ... and luma-weighted std ratio
CAST_MIN = 0.05         # a cast (norm) this small has no direction to scale ...
CAST_AGREE = 0.9        # ... so the other's must point the same way (cosine) to be a scaling of it
BALANCE_SHIFT = 0.06    # cast moved at right angles to the old one: white balance
BALANCE_ACROSS = 0.8    # ... and by at least this share of the cast's change along it
SATURATION_SCALE = 1.2  # cast scaled by this (or 1/this) or more with little across: saturation
SATURATION_ALONG = 0.3  # across / along the old cast at most this
DETAIL_SHARPNESS = 1.6  # full-resolution sharpness ratio ...
DETAIL_GRID = 1.1       # ... with the grid's detail ratio the same way: one file has less fine detail
SHARP_SHARPNESS = 1.2   # or a smaller sharpness ratio ...
SHARP_GRID = 1.25       # ... with a larger grid detail ratio (sharpening)
DETAIL_MOVED = 1.15     # grid detail ratio from which a std change may be the detail's (no contrast word
                        # under PARTIAL_TONE_DIFFERS): sharpening raises both
OVERLAY_CONCENTRATION = 0.95  # share of the thumbnails' disagreement inside one band of rows
OVERLAY_MIN_ERROR = 0.002     # squared difference of the unit thumbnails (2 (1 - corr)) at least this
OVERLAY_BLOCK = 1024          # pairs compared at a time (the bands' masks: ~10 KB a pair)


def _cast(mean: np.ndarray) -> np.ndarray:
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    g = m.mean()
    return (m - g) / (g + 0.05)


def _luma(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    return float(v @ LUMA) if len(v) == 3 else float(v.mean())


def _colour_cast(mean: np.ndarray) -> np.ndarray:
    """Each channel's mean over the luma mean, less 1 (0 for grey); empty for one channel."""
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    if len(m) != 3:
        return np.zeros(0)
    return m / max(float(m @ LUMA), 0.02) - 1.0


def _is_grey(table: ImageTable, i: int, by_pixels: bool = True) -> bool:
    if table.mode_names[int(table.mode[i])] in GREY_MODES:
        return True
    if np.asarray(table.mean[i]).size != 3:
        return True
    if not by_pixels:
        return False
    if table.properties is not None:
        from ..validation.properties import COLOUR_SPREAD
        spread = float(table.properties[i, COLOUR_SPREAD])
        if np.isfinite(spread):
            return spread <= GREY_SPREAD
    s = np.asarray(table.std[i], dtype=np.float64).reshape(-1)
    lo, hi = (np.asarray(v[i], dtype=np.float64).reshape(-1) for v in (table.min, table.max))
    return (bool(np.abs(_cast(table.mean[i])).max() <= CAST_GREY)
            and float(s.max() - s.min()) <= STD_GREY * max(float(s.mean()), 1e-6)
            and float(max(np.ptp(lo), np.ptp(hi))) <= GREY_SPREAD)


def is_grey(table: ImageTable, i: int) -> bool:
    """Whether the file i holds grey pixels (its mode, else its pixels as the scan measured them)."""
    return _is_grey(table, int(i))


def _padded(table: ImageTable, i: int) -> bool:
    return bool(int(table.flags[i]) & FLAG_PADDED)


def _grey_value(v: np.ndarray) -> float:
    return float(np.asarray(v, dtype=np.float64).reshape(-1).mean())


def colour_words(mean_i: np.ndarray, mean_j: np.ndarray) -> str | None:
    """How the colours of j differ from i's when their grey tone is the same (see the module's
    docstring), or None when the casts tell nothing apart. Symmetric: the change is measured along
    and across the two casts' sum; a cast that was nearly neutral (under CAST_MIN) has
    no direction of its own, so the other's must agree with it (CAST_AGREE) to be a scaling."""
    ui, uj = _colour_cast(mean_i), _colour_cast(mean_j)
    if len(ui) == 0:
        return None
    ni, nj = float(np.sqrt(ui @ ui)), float(np.sqrt(uj @ uj))
    if max(ni, nj) < CAST_MIN:
        return None
    ref = ui + uj                   # (symmetric: a scaling keeps this direction)
    norm = max(float(np.sqrt(ref @ ref)), 1e-9)
    change = uj - ui
    along = float(change @ ref) / norm
    across = float(np.sqrt(max(change @ change - along * along, 0.0)))
    perp = change - along * ref / norm
    if min(ni, nj) < CAST_MIN:
        agree = float(ui @ uj) / max(ni * nj, 1e-12)
        tinted = agree < CAST_AGREE and float(np.sqrt(change @ change)) >= BALANCE_SHIFT
        if tinted:     # measured across the neutral one: the whole change
            perp, across, along = change, float(np.sqrt(change @ change)), 0.0
    else:
        tinted = across >= BALANCE_SHIFT and across >= BALANCE_ACROSS * abs(along)
    if tinted:
        # red up against blue: warmer (the part along the cast left out)
        return f"colour balance {'warmer' if perp[0] - perp[2] > 0 else 'cooler'}"
    scale = nj / max(ni, 1e-9)
    if across <= SATURATION_ALONG * abs(along) and max(scale, 1.0 / max(scale, 1e-9)) >= SATURATION_SCALE:
        return "more saturated" if scale > 1 else "less saturated"
    if float(np.sqrt(change @ change)) >= BALANCE_SHIFT:
        return "colours changed"
    return None


def detail_words(table: ImageTable, i: int, j: int) -> str | None:
    """Whether one of two files of one size has less fine detail (properties SHARPNESS and DETAIL
    both lower), or None without the evidence."""
    if table.properties is None:
        return None
    from ..validation.properties import DETAIL, SHARPNESS
    p = table.properties
    sh = (float(p[j, SHARPNESS]) + 0.01) / (float(p[i, SHARPNESS]) + 0.01)
    dt = (float(p[j, DETAIL]) + 0.01) / (float(p[i, DETAIL]) + 0.01)
    if not (np.isfinite(sh) and np.isfinite(dt)):
        return None
    for ratio_sh, ratio_dt, words in ((sh, dt, "more"), (1.0 / sh, 1.0 / dt, "less")):
        if (ratio_sh >= DETAIL_SHARPNESS and ratio_dt >= DETAIL_GRID) or \
                (ratio_sh >= SHARP_SHARPNESS and ratio_dt >= SHARP_GRID):
            why = ("sharpened, or the other blurred or smoothed" if words == "more"
                   else "blurred or smoothed, or the other sharpened")
            return f"{words} fine detail ({why})"
    return None


def _detail_ratio(table: ImageTable, i: int, j: int) -> float:
    """The larger over the smaller of the two files' grid detail (properties DETAIL; 1 without)."""
    if table.properties is None:
        return 1.0
    from ..validation.properties import DETAIL
    a, b = float(table.properties[i, DETAIL]) + 0.01, float(table.properties[j, DETAIL]) + 0.01
    return max(a, b) / min(a, b) if np.isfinite(a) and np.isfinite(b) and min(a, b) > 0 else 1.0


def overlay_bands(thumb_a: np.ndarray, thumb_b: np.ndarray, crop_a: np.ndarray, crop_b: np.ndarray,
                  mirrored: np.ndarray) -> np.ndarray:
    """(P, 2) rows [top, bottom) as fractions of the height where thumbnail pairs aligned at
    centred crops (crop_a, crop_b, b mirrored) differ and nowhere else (a caption, a watermark, a
    stamp), -1 where they do not (OVERLAY_CONCENTRATION, OVERLAY_MIN_ERROR)."""
    from .overlay import aligned, band_scores
    from .thumbs import unit
    out = np.full((len(thumb_a), 2), -1.0)
    for lo in range(0, len(thumb_a), OVERLAY_BLOCK):
        sl = slice(lo, lo + OVERLAY_BLOCK)
        xa = aligned(thumb_a[sl], np.asarray(crop_a[sl], np.float64))
        xb = aligned(thumb_b[sl], np.asarray(crop_b[sl], np.float64), np.asarray(mirrored[sl], bool))
        ua, _ = unit(xa)
        ub, _ = unit(xb)
        err = ((ua - ub) ** 2).sum(axis=(1, 2))
        bs = band_scores(xa, xb)
        hit = (err >= OVERLAY_MIN_ERROR) & (bs.concentration >= OVERLAY_CONCENTRATION)
        out[lo + np.flatnonzero(hit)] = bs.band[hit]
    return out


def band_words(top: float, bottom: float) -> str:
    """Where the rows that differ lie (caption bands run along an edge, watermarks across)."""
    if bottom >= 0.99:
        return f"a caption, text or a mark over the bottom {1 - top:.0%}"
    if top <= 0.01:
        return f"a caption, text or a mark over the top {bottom:.0%}"
    return f"text or a mark across {top:.0%}-{bottom:.0%} of the height"


def describe(table: ImageTable, i: int, j: int, crop_i: float = 0.0, crop_j: float = 0.0,
             off_centre: bool = False, angle: float = 0.0,
             band: tuple[float, float] | None = None) -> tuple[str, ...]:
    """What image j does differently from image i (each entry a few words), in a fixed order:
    colour, padding, tone, fine detail, overlaid text, turn, crop, size, file format. `crop_i` /
    `crop_j` are the border fractions the confirming alignment removed from i / j (so a positive
    crop_i means j shows less of i); `angle` is how many degrees i was turned (counter-clockwise)
    to match j; `band` the rows (top, bottom fractions) where the two differ and nowhere else (the
    band pass's, or overlay_bands': a caption, a watermark)."""
    out: list[str] = []
    # One side padded: its mean and std hold the bars too, so they tell nothing of the picture's
    # colour or tone (a copy on black bars is not "darker, more contrast"); only the file's mode
    # still tells greyscale.
    pi, pj = _padded(table, i), _padded(table, j)
    tones = pi == pj
    # the two files show the same pixels: no crop, turn, band or bars moves their mean and std
    whole = (tones and not pi and not angle and band is None
             and max(crop_i, crop_j) < PARTIAL_CROP and not off_centre)
    # (a caption band's colour is in one file's pixels only: then only the files' modes tell)
    gi, gj = _is_grey(table, i, tones and band is None), _is_grey(table, j, tones and band is None)
    bi, bj = _luma(table.mean[i]) + 0.02, _luma(table.mean[j]) + 0.02
    si, sj = _luma(table.std[i]), _luma(table.std[j])
    bright = max(bi, bj) / min(bi, bj)
    contrast = max(si, sj) / min(si, sj) if min(si, sj) > 1e-9 else 1.0
    colour = colour_words(table.mean[i], table.mean[j]) if whole and not (gi or gj) else None
    # gains per channel (white balance) move the luma-weighted std as well: no contrast word for that
    balance = bool(colour and colour.startswith("colour balance"))
    if gj and not gi:
        out.append("greyscale")
    elif gi and not gj:
        out.append("in colour (the other is greyscale)")
    elif colour and bright <= PURE_BRIGHTNESS and (contrast <= PURE_CONTRAST or balance):
        out.append(colour)
    # a trimmed side matched as a window of the other: its picture was translated and the gap it
    # left filled (uniform or repeated edge lines), not padded whole
    shifted = off_centre and ((pj and not pi and crop_i >= CROP_SHOWN) or (pi and not pj and crop_j >= CROP_SHOWN))
    if shifted and pj:
        out.append(f"shifted by about {crop_i:.0%} of a side, the gap filled")
    elif shifted:
        out.append(f"not shifted (the other is shifted by about {crop_j:.0%}, its gap filled)")
    elif pj and not pi:
        out.append("padded with uniform bars")
    elif pi and not pj:
        out.append("without the other's padding bars")
    same_size = (int(table.width[i]), int(table.height[i])) == (int(table.width[j]), int(table.height[j]))
    detail = detail_words(table, i, j) if whole and same_size else None
    # the grid's detail moved (short of detail_words' evidence): the std may have moved with it
    detail_moved = bool(detail) or (whole and same_size and _detail_ratio(table, i, j) >= DETAIL_MOVED)
    differs = TONE_DIFFERS if whole else PARTIAL_TONE_DIFFERS
    # (a caption band or watermark holds the file's strongest tones: a black bar with white text
    # moves its mean and std by more than any bar for partial files, so no tone word with a band)
    if tones and band is None and bright > differs:
        out.append("brighter" if bj > bi else "darker")
    # (sharpening raises the std and blurring lowers it a little: no contrast word for that alone)
    if tones and band is None and contrast > (PARTIAL_TONE_DIFFERS if detail_moved or balance else differs):
        out.append("more contrast" if sj > si else "less contrast")
    if detail:
        out.append(detail)
    if band is not None:
        out.append(band_words(*band))
    if angle:
        out.append(f"turned {abs(angle):.0f} degrees {'counter-clockwise' if angle > 0 else 'clockwise'}")
    where = "off-centre, " if off_centre else ""
    if shifted:
        pass
    elif crop_i >= CROP_SHOWN:
        out.append(f"cropped {where}{crop_i:.0%}")
    elif crop_j >= CROP_SHOWN:
        out.append(f"shows {crop_j:.0%} more at the borders ({where.rstrip(', ') or 'centred'})")
    wi, hi, wj, hj = int(table.width[i]), int(table.height[i]), int(table.width[j]), int(table.height[j])
    if (wi, hi) != (wj, hj):
        aspect = abs((wj / hj) / (wi / hi) - 1.0) if hi and hj and wi else 0.0
        shape = ", other aspect ratio" if aspect > 0.03 else ""
        out.append(f"resized to {wj}x{hj} from {wi}x{hi}{shape}")
    fi, fj = table.format_names[int(table.format[i])], table.format_names[int(table.format[j])]
    if fi != fj:
        out.append(f"{fj} instead of {fi}")
    return tuple(out)
