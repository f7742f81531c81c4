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
    # the disagreement in units of the kept rows (their mean and norm): a caption band on a smooth
    # picture holds nearly all of the copy's variance, and in units of the whole image the picture
    # it keeps would look scaled down, as if the two differed there too
    keep = KEEP[best][:, :, None].astype(np.float32)
    row_err = ((_kept_unit(xa, keep) - _kept_unit(xb, keep)) ** 2).sum(axis=2)   # (P, CMP)
    inside = (row_err * ~KEEP[best]).sum(axis=1) / np.maximum(row_err.sum(axis=1), 1e-12)
    return BandScores(corr[r, best], fine[r, best], fstd[r, best], inside, spread, BANDS[best] / CMP,
                      _kept_significance(fa, fb, kept))


def _kept_unit(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """x (P, R, C) less its mean over the kept rows (keep: (P, R, 1) 0/1), over its norm there."""
    n = keep.sum(axis=(1, 2), keepdims=True) * x.shape[2]
    c = x - (x * keep).sum(axis=(1, 2), keepdims=True) / np.maximum(n, 1.0)
    return c / np.maximum(np.sqrt(((c * keep) ** 2).sum(axis=(1, 2), keepdims=True)), 1e-9)


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


def agreement_band(xa: np.ndarray, xb: np.ndarray, kept: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(band index into BANDS, share) per aligned pair xa, xb (P, CMP, CMP): the band whose fine rows
    hold the largest share of the fine detail the two share (their covariance, row by row, over the
    sum of its positive part), counting only the fine rows `kept` (P, N_FINE) if given. Two
    different pictures under one caption or logo agree there and nowhere else (share near 1); a
    copy shares detail wherever it has any."""
    fa, fb = _fit_residual(xa), _fit_residual(xb)
    fa = fa - fa.mean(axis=1, keepdims=True)
    fb = fb - fb.mean(axis=1, keepdims=True)
    cov = np.maximum((fa * fb).sum(axis=2), 0.0)                       # (P, N_FINE)
    if kept is not None:
        cov = cov * kept
    inside = cov @ (~KEEP_FINE).T.astype(np.float32)                   # (P, n_bands)
    best = np.argmax(inside, axis=1)
    return best, inside[np.arange(len(xa)), best] / np.maximum(cov.sum(axis=1), 1e-12)


@dataclass(frozen=True)
class RowsDetail:
    fine: np.ndarray       # (P,) fine-detail correlation over the rows kept
    spread: np.ndarray     # (P,) the lesser of the two images' spread of fine detail there
    texture: np.ndarray    # (P,) the lesser fine-detail std there


def rows_detail(xa: np.ndarray, xb: np.ndarray, kept: np.ndarray) -> RowsDetail:
    """The fine detail of aligned pairs xa, xb (P, CMP, CMP) over the fine rows each pair keeps
    (kept: (P, N_FINE) bool; column means over those rows, as band_scores)."""
    fa, fb = _fit_residual(xa), _fit_residual(xb)
    k = kept[:, :, None].astype(np.float32)
    n = np.maximum(k.sum(axis=1, keepdims=True), 1.0)
    da = (fa - (fa * k).sum(axis=1, keepdims=True) / n) * k
    db = (fb - (fb * k).sum(axis=1, keepdims=True) / n) * k
    ea, eb = (da * da).sum(axis=(1, 2)), (db * db).sum(axis=(1, 2))
    fine = (da * db).sum(axis=(1, 2)) / np.sqrt(np.maximum(ea * eb, 1e-12))
    texture = np.sqrt(np.minimum(ea, eb) / (n[:, 0, 0] * xa.shape[2]))
    return RowsDetail(fine, np.minimum(_kept_spread(fa, kept), _kept_spread(fb, kept)), texture)


def overlay_strength(xa: np.ndarray, xb: np.ndarray, left_out: np.ndarray) -> np.ndarray:
    """(P,) how much stronger the fine detail is in the rows the band `left_out` (indices into BANDS)
    reaches than in the rest, per row, in whichever of the two images it is stronger: a caption or
    text laid over a picture is its strongest detail (1.4-430 times the rest on the benchmark's
    captioned copies), while two pictures that differ in one band of their own detail and share a
    caption elsewhere hold the stronger detail in what is kept (0.08-0.12)."""
    inside = ~KEEP_FINE[left_out][:, :, None]
    out = []
    for f in (_fit_residual(xa), _fit_residual(xb)):
        e = f * f
        band = (e * inside).sum(axis=(1, 2)) / np.maximum(inside.sum(axis=(1, 2)), 1)
        rest = (e * ~inside).sum(axis=(1, 2)) / np.maximum((~inside).sum(axis=(1, 2)), 1)
        out.append(band / np.maximum(rest, 1e-9))
    return np.maximum(*out)


def kept_significance(xa: np.ndarray, xb: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(P,) the fine detail of aligned pairs xa, xb over the fine rows `kept` (P, N_FINE) over its
    chance level (band_scores' significance, for any rows)."""
    return _kept_significance(_fit_residual(xa), _fit_residual(xb), kept)


# Border fractions the band pass re-aligns over (removed from one image or the other, as the
# centred comparison's ALIGN_CROPS): a caption band pulls the centred alignment of a smooth picture
# a few percent off (its rows dominate the comparison), so what is kept is compared misaligned.
REALIGN_CROPS = tuple(np.round(np.linspace(0.0, 0.06, 9), 4))
REALIGN_ROUNDS = 2


def realigned_band_scores(ta: np.ndarray, tb: np.ndarray, crop_a: np.ndarray, crop_b: np.ndarray,
                          mirrored: np.ndarray) -> tuple[BandScores, np.ndarray, np.ndarray]:
    """band_scores of thumbnail pairs ta, tb (P, T, T) at the centred alignment (crop_a, crop_b,
    b mirrored where `mirrored`), then again at the alignment whose rows outside that best band
    correlate best (REALIGN_CROPS from either image), REALIGN_ROUNDS times (a band found at a
    misalignment is blurred by a row); per pair the best of these (correlation plus fine detail
    outside the band). Returns the scores and the border fractions they are at."""
    best = band_scores(aligned(ta, crop_a), aligned(tb, crop_b, mirrored))
    out = {f: getattr(best, f).copy() for f in BandScores.__dataclass_fields__}
    ca_out, cb_out = crop_a.copy(), crop_b.copy()
    todo, band = np.arange(len(ta)), best.band
    for _ in range(REALIGN_ROUNDS):
        new_a, new_b = _best_kept_alignment(ta[todo], tb[todo], mirrored[todo], band)
        moved = (new_a != ca_out[todo]) | (new_b != cb_out[todo])
        todo, new_a, new_b = todo[moved], new_a[moved], new_b[moved]
        if len(todo) == 0:
            break
        again = band_scores(aligned(ta[todo], new_a), aligned(tb[todo], new_b, mirrored[todo]))
        take = again.corr + again.fine > out["corr"][todo] + out["fine"][todo]
        for f in out:
            out[f][todo[take]] = getattr(again, f)[take]
        ca_out[todo[take]], cb_out[todo[take]] = new_a[take], new_b[take]
        todo, band = todo[take], again.band[take]
    return BandScores(**out), ca_out, cb_out


def _best_kept_alignment(ta: np.ndarray, tb: np.ndarray, mirrored: np.ndarray,
                         band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair the border fractions (REALIGN_CROPS, from a or from b) at which the rows outside
    `band` ([start, stop) fractions of the height) correlate best."""
    keep = KEEP[band_index(band)].astype(np.float32)
    cols = [(0.0, c) for c in REALIGN_CROPS] + [(c, 0.0) for c in REALIGN_CROPS[1:]]
    best_corr = np.full(len(ta), -np.inf)
    new_a, new_b = np.zeros(len(ta)), np.zeros(len(ta))
    for ca, cb in cols:
        c = _kept_corr(aligned(ta, np.full(len(ta), ca)), aligned(tb, np.full(len(tb), cb), mirrored), keep)
        better = c > best_corr
        best_corr[better], new_a[better], new_b[better] = c[better], ca, cb
    return new_a, new_b


def band_index(band: np.ndarray) -> np.ndarray:
    """Indices into BANDS of bands given as [start, stop) fractions of the height (BandScores.band)."""
    rows = np.rint(np.asarray(band) * CMP).astype(np.int64)
    lookup = {(int(s), int(e)): i for i, (s, e) in enumerate(BANDS)}
    return np.array([lookup[(int(s), int(e))] for s, e in rows], dtype=np.int64)


def _kept_corr(xa: np.ndarray, xb: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Correlation of xa, xb (P, R, C) over the rows each pair's mask keeps (P, R)."""
    k = keep[:, :, None]
    return (_kept_unit(xa, k) * _kept_unit(xb, k) * k).sum(axis=(1, 2))
