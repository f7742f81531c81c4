"""Copies with something laid over a band of the picture (a caption band, a watermark line, a
banner): the pair is compared again with one horizontal band of rows left out of both thumbnails.

At the alignment the centred comparison found, every band of up to BAND_MAX_ROWS comparison rows
(a quarter of the side) is tried; what is left must match as a copy does, and the band must hold
most of what the two pictures disagree on (`concentration`): a caption band or text line changes
those rows and nothing else, while two look-alikes disagree everywhere. The fine detail is the
one of thumbs.fine (a cubic fit and the row and column means removed), with the rows that the
band's pixels reach through the 5-point fit left out too, and the column means taken over the
kept rows only, so nothing of the band leaks into what is compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import THUMB_SIZE
from .thumbs import CMP, NULL_SHIFTS, SG5, area_matrix

BAND_MAX_ROWS = 6            # of CMP rows: a band covers at most a quarter of the picture
_REACH = len(SG5) // 2       # rows of the fit on either side of a row (the fine detail's reach)
_N_FINE = CMP - 2 * _REACH


def _bands() -> np.ndarray:
    """(n_bands, 2) [start, stop) in comparison rows: every band of 1..BAND_MAX_ROWS rows."""
    return np.array([(s, s + h) for h in range(1, BAND_MAX_ROWS + 1) for s in range(CMP - h + 1)])


BANDS = _bands()
_ROWS = np.arange(CMP)
KEEP = ~((_ROWS[None, :] >= BANDS[:, :1]) & (_ROWS[None, :] < BANDS[:, 1:]))          # (n_bands, CMP)
_FR = np.arange(_N_FINE)                 # fine row r is fit on comparison rows r .. r + 2*_REACH
KEEP_FINE = ~((_FR[None, :] + 2 * _REACH >= BANDS[:, :1]) & (_FR[None, :] < BANDS[:, 1:]))  # (n_bands, N_FINE)
_EYE = np.eye(CMP, dtype=np.float32)[_REACH:CMP - _REACH]
_SG = np.zeros((_N_FINE, CMP), np.float32)
for _r in range(_N_FINE):
    _SG[_r, _r:_r + len(SG5)] = SG5


@dataclass(frozen=True)
class BandScores:
    corr: np.ndarray           # (P,) correlation outside the best band
    fine: np.ndarray           # (P,) fine-detail correlation outside it
    texture: np.ndarray        # (P,) least fine-detail std of the two there
    concentration: np.ndarray  # (P,) share of the pair's disagreement that lies in the band
    spread: np.ndarray         # (P,) the lesser of the two images' spread of fine detail outside it
    band: np.ndarray           # (P, 2) [start, stop) of the band, as fractions of the height
    significance: np.ndarray   # (P,) the fine detail outside it over its chance level (see band_scores)


def _area(crop: float) -> np.ndarray:
    return area_matrix(CMP, THUMB_SIZE, crop * THUMB_SIZE, (1 - crop) * THUMB_SIZE).astype(np.float32)


def aligned(thumbs: np.ndarray, crop: np.ndarray, mirrored: np.ndarray | None = None) -> np.ndarray:
    """(P, CMP, CMP) float32: thumbnails with `crop` of each border removed (mirrored where asked)."""
    t = thumbs.astype(np.float32)
    out = np.empty((len(t), CMP, CMP), np.float32)
    for c in np.unique(crop):
        m = crop == c
        ar = _area(float(c))
        out[m] = ar @ t[m] @ ar.T
    if mirrored is not None:
        out[mirrored] = out[mirrored][:, :, ::-1]
    return out


def _masked_corr(xa: np.ndarray, xb: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation of xa and xb (P, R, C) over the rows each mask of `keep` (n, R) keeps, and the
    squared residual of their unit versions in the left-out rows over its total: (P, n) each."""
    k = keep.astype(np.float32)
    n = k.sum(axis=1) * xa.shape[2]                                 # cells kept per mask
    sa, sb = xa.sum(axis=2) @ k.T, xb.sum(axis=2) @ k.T
    saa, sbb = (xa * xa).sum(axis=2) @ k.T, (xb * xb).sum(axis=2) @ k.T
    sab = (xa * xb).sum(axis=2) @ k.T
    va, vb = saa - sa * sa / n, sbb - sb * sb / n
    return (sab - sa * sb / n) / np.sqrt(np.maximum(va * vb, 1e-12)), va


def _masked_fine(fa: np.ndarray, fb: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fine-detail correlation and least std over the kept rows of the row-centred fit residuals
    fa, fb (P, R, C): the column means are taken over the kept rows only."""
    k = keep.astype(np.float32)
    n_rows = k.sum(axis=1)                                          # (n,)
    ga = np.einsum("nr,prc->pnc", k, fa) / n_rows[None, :, None]    # column means over kept rows
    gb = np.einsum("nr,prc->pnc", k, fb) / n_rows[None, :, None]
    dab = (fa * fb).sum(axis=2) @ k.T - n_rows * (ga * gb).sum(axis=2)
    daa = (fa * fa).sum(axis=2) @ k.T - n_rows * (ga * ga).sum(axis=2)
    dbb = (fb * fb).sum(axis=2) @ k.T - n_rows * (gb * gb).sum(axis=2)
    corr = dab / np.sqrt(np.maximum(daa * dbb, 1e-12))
    std = np.sqrt(np.maximum(np.minimum(daa, dbb), 0.0) / (n_rows * fa.shape[2]))
    return corr, std


def _fit_residual(x: np.ndarray) -> np.ndarray:
    """x minus its separable 5-point cubic fit on the valid region, each row's mean removed."""
    r = _EYE @ x @ _EYE.T - _SG @ x @ _SG.T
    return r - r.mean(axis=2, keepdims=True)


def band_scores(xa: np.ndarray, xb: np.ndarray, band: np.ndarray | None = None) -> BandScores:
    """The best band to leave out of each aligned pair xa, xb (P, CMP, CMP): the one whose kept
    rows match best (correlation + fine detail), or the one given (`band`, indices into BANDS)."""
    p = len(xa)
    corr, _ = _masked_corr(xa, xb, KEEP)
    fa, fb = _fit_residual(xa), _fit_residual(xb)
    fine, fstd = _masked_fine(fa, fb, KEEP_FINE)
    best = np.argmax(corr + fine, axis=1) if band is None else np.asarray(band)
    r = np.arange(p)
    kept = KEEP_FINE[best]                                            # (P, N_FINE) fine rows kept
    spread = np.minimum(_kept_spread(fa, kept), _kept_spread(fb, kept))
    ua = xa - xa.mean(axis=(1, 2), keepdims=True)
    ub = xb - xb.mean(axis=(1, 2), keepdims=True)
    ua /= np.maximum(np.sqrt((ua * ua).sum(axis=(1, 2), keepdims=True)), 1e-9)
    ub /= np.maximum(np.sqrt((ub * ub).sum(axis=(1, 2), keepdims=True)), 1e-9)
    row_err = ((ua - ub) ** 2).sum(axis=2)                            # (P, CMP)
    inside = (row_err * ~KEEP[best]).sum(axis=1) / np.maximum(row_err.sum(axis=1), 1e-12)
    return BandScores(corr[r, best], fine[r, best], fstd[r, best], inside, spread, BANDS[best] / CMP,
                      _kept_significance(fa, fb, kept))


def _kept_significance(fa: np.ndarray, fb: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """thumbs.fine_significance over the kept rows: the fine-detail correlation of fa, fb (P, R, C)
    there over its rms at the shifted alignments thumbs.NULL_SHIFTS (rows left out count as zeros,
    column means taken over the kept rows), so that a caption on a smooth picture, whose kept rows
    share only faint detail, is told from look-alikes as the centred comparison tells its copies."""
    k = kept[:, :, None].astype(np.float32)
    n_rows = np.maximum(k.sum(axis=1, keepdims=True), 1.0)
    ga = ((fa * k).sum(axis=1, keepdims=True) / n_rows)
    gb = ((fb * k).sum(axis=1, keepdims=True) / n_rows)
    xa, xb = (fa - ga) * k, (fb - gb) * k
    norm = np.sqrt((xa * xa).sum(axis=(1, 2)) * (xb * xb).sum(axis=(1, 2))) + 1e-12
    at = (xa * xb).sum(axis=(1, 2)) / norm
    shifted = np.stack([(xa * np.roll(xb, sh, axis=(1, 2))).sum(axis=(1, 2)) / norm for sh in NULL_SHIFTS], axis=1)
    return at / np.maximum(np.sqrt((shifted ** 2).mean(axis=1)), 1e-6)


def _kept_spread(f: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Participation ratio of the fine-detail energy over the kept rows (as confirmation.spread):
    look-alike sunsets keep a sun disc and a horizon, a captioned copy keeps its picture."""
    k = kept[:, :, None].astype(np.float32)
    g = (f * k).sum(axis=1, keepdims=True) / np.maximum(k.sum(axis=1, keepdims=True), 1.0)
    e = ((f - g) * k) ** 2
    n = k.sum(axis=(1, 2)) * f.shape[2]
    return e.sum(axis=(1, 2)) ** 2 / (n * (e * e).sum(axis=(1, 2)) + 1e-12)


def agreement_band(xa: np.ndarray, xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(band index into BANDS, share) per aligned pair xa, xb (P, CMP, CMP): the band whose fine rows
    hold the largest share of the fine detail the two share (their covariance, row by row, over the
    sum of its positive part). Two different pictures under one caption or logo agree there and
    nowhere else (share near 1); a copy shares detail wherever it has any."""
    fa, fb = _fit_residual(xa), _fit_residual(xb)
    fa = fa - fa.mean(axis=1, keepdims=True)
    fb = fb - fb.mean(axis=1, keepdims=True)
    cov = np.maximum((fa * fb).sum(axis=2), 0.0)                       # (P, N_FINE)
    inside = cov @ (~KEEP_FINE).T.astype(np.float32)                   # (P, n_bands)
    best = np.argmax(inside, axis=1)
    return best, inside[np.arange(len(xa)), best] / np.maximum(cov.sum(axis=1), 1e-12)
