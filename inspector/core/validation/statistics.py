"""Two-sample statistics in numpy and math: Kolmogorov-Smirnov, chi-square, Cramer's V, total
variation and Jensen-Shannon distances (the test suite checks them against scipy)."""
from __future__ import annotations

import math

import numpy as np


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample Kolmogorov-Smirnov statistic D and its asymptotic p-value.

    D is the largest difference between the two empirical distribution functions, evaluated at
    every observed value (ties handled as scipy does). The p-value is Kolmogorov's limiting
    distribution at sqrt(n m / (n + m)) * D, as scipy's ks_2samp(method="asymp") up to its
    finite-sample correction (which matters little above a few dozen images per side).
    """
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return math.nan, math.nan
    values = np.concatenate((a, b))
    cdf_a = np.searchsorted(a, values, side="right") / n
    cdf_b = np.searchsorted(b, values, side="right") / m
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    return d, kolmogorov_sf(math.sqrt(n * m / (n + m)) * d)


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for Kolmogorov's distribution: 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2)."""
    if x <= 0:
        return 1.0
    if x < 0.2:  # the alternating series converges slowly here; the value is 1 to 1e-15
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = math.exp(-2.0 * k * k * x * x)
        total += term if k % 2 else -term
        if term < 1e-17:
            break
    return min(1.0, max(0.0, 2.0 * total))


def _gamma_q(s: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(s, x): series below s + 1, continued fraction above."""
    if x <= 0:
        return 1.0
    log_front = s * math.log(x) - x - math.lgamma(s)
    if x < s + 1.0:
        term = total = 1.0 / s
        k = s
        for _ in range(10000):
            k += 1.0
            term *= x / k
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - math.exp(log_front) * total)
    # Lentz's continued fraction for Q
    tiny = 1e-300
    b = x + 1.0 - s
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return math.exp(log_front) * h


def chi2_sf(x: float, dof: int) -> float:
    """P(X > x) for a chi-square distribution with dof degrees of freedom."""
    if dof <= 0:
        return math.nan
    return _gamma_q(dof / 2.0, x / 2.0)


def chi_square_homogeneity(table: np.ndarray) -> tuple[float, int, float]:
    """Pearson's chi-square test that the rows of a contingency table (rows x categories) share one
    distribution: (statistic, degrees of freedom, p-value). Empty categories are dropped."""
    t = np.asarray(table, dtype=np.float64)
    t = t[:, t.sum(axis=0) > 0]
    t = t[t.sum(axis=1) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 0.0, 0, 1.0
    expected = t.sum(axis=1, keepdims=True) * t.sum(axis=0, keepdims=True) / t.sum()
    stat = float(((t - expected) ** 2 / expected).sum())
    dof = (t.shape[0] - 1) * (t.shape[1] - 1)
    return stat, dof, chi2_sf(stat, dof)


def cramers_v(table: np.ndarray) -> float:
    """Cramer's V of a contingency table: sqrt(chi2 / (n (min(rows, cols) - 1))), 0 (same shares) .. 1."""
    t = np.asarray(table, dtype=np.float64)
    t = t[:, t.sum(axis=0) > 0]
    t = t[t.sum(axis=1) > 0]
    k = min(t.shape) - 1 if t.size else 0
    if k < 1:
        return 0.0
    stat, _, _ = chi_square_homogeneity(t)
    return math.sqrt(stat / (t.sum() * k))


def shares(counts: np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    return c / total if total > 0 else np.zeros_like(c)


def tvd(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """Total variation distance between two category distributions: the largest difference in the
    share of any set of categories (half the L1 distance), 0 .. 1."""
    return 0.5 * float(np.abs(shares(counts_a) - shares(counts_b)).sum())


def js_distance(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence, base 2), 0 .. 1."""
    p, q = shares(counts_a), shares(counts_b)
    mid = 0.5 * (p + q)

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float((x[nz] * np.log2(x[nz] / mid[nz])).sum())

    return math.sqrt(max(0.0, 0.5 * kl(p) + 0.5 * kl(q)))
