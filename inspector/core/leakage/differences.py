"""How a confirmed copy differs from its original, in words: "greyscale, cropped 8%, darker".

Everything comes from the scan's table (size, file format and mode, per-image mean and std) and
from the alignment that confirmed the pair (crop, mirror), so nothing is decoded again. Colour and
tone differences do not stop a copy from being confirmed; they are described here instead.
"""
from __future__ import annotations

import numpy as np

from ..table import FLAG_PADDED, ImageTable

GREY_MODES = frozenset({"L", "LA", "1", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})
CAST_GREY = 0.01        # a colour image whose channel means agree this closely holds grey pixels
COLOUR_DIFFERS = 0.04   # colour cast difference worth naming ((channel - grey) / (grey + 0.05))
TONE_DIFFERS = 1.08     # brightness or contrast ratio worth naming
CROP_SHOWN = 0.01       # border fraction worth naming


def _cast(mean: np.ndarray) -> np.ndarray:
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    g = m.mean()
    return (m - g) / (g + 0.05)


def _is_grey(table: ImageTable, i: int, by_pixels: bool = True) -> bool:
    if table.mode_names[int(table.mode[i])] in GREY_MODES:
        return True
    return by_pixels and bool(np.abs(_cast(table.mean[i])).max() <= CAST_GREY)


def _padded(table: ImageTable, i: int) -> bool:
    return bool(int(table.flags[i]) & FLAG_PADDED)


def _grey_value(v: np.ndarray) -> float:
    return float(np.asarray(v, dtype=np.float64).reshape(-1).mean())


def band_words(top: float, bottom: float) -> str:
    """Where the rows that differ lie (caption bands run along an edge, watermarks across)."""
    if bottom >= 0.99:
        return f"a caption or text over the bottom {1 - top:.0%}"
    if top <= 0.01:
        return f"a caption or text over the top {bottom:.0%}"
    return f"text or a band across {top:.0%}-{bottom:.0%} of the height"


def describe(table: ImageTable, i: int, j: int, crop_i: float = 0.0, crop_j: float = 0.0,
             off_centre: bool = False, angle: float = 0.0,
             band: tuple[float, float] | None = None) -> tuple[str, ...]:
    """What image j does differently from image i (each entry a few words), in a fixed order:
    colour, padding, tone, overlaid text, turn, crop, size, file format. `crop_i` / `crop_j` are the border fractions the
    confirming alignment removed from i / j (so a positive crop_i means j shows less of i);
    `angle` is how many degrees i was turned (counter-clockwise) to match j; `band` the rows
    (top, bottom fractions) left out because they differ (a caption, a watermark)."""
    out: list[str] = []
    # One side padded: its mean and std hold the bars too, so they tell nothing of the picture's
    # colour or tone (a copy on black bars is not "darker, more contrast"); only the file's mode
    # still tells greyscale.
    pi, pj = _padded(table, i), _padded(table, j)
    tones = pi == pj
    gi, gj = _is_grey(table, i, tones), _is_grey(table, j, tones)
    if gj and not gi:
        out.append("greyscale")
    elif gi and not gj:
        out.append("in colour (the other is greyscale)")
    elif tones and not gi and np.abs(_cast(table.mean[i]) - _cast(table.mean[j])).max() > COLOUR_DIFFERS:
        out.append("colours changed")
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
    bi, bj = _grey_value(table.mean[i]) + 0.02, _grey_value(table.mean[j]) + 0.02
    if tones and max(bi, bj) / min(bi, bj) > TONE_DIFFERS:
        out.append("brighter" if bj > bi else "darker")
    si, sj = _grey_value(table.std[i]), _grey_value(table.std[j])
    if tones and min(si, sj) > 1e-9 and max(si, sj) / min(si, sj) > TONE_DIFFERS:
        out.append("more contrast" if sj > si else "less contrast")
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
