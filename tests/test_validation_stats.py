"""The validation statistics (numpy/math) against scipy's reference implementations."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon
from scipy.stats.contingency import association

from inspector.core.validation import statistics as st


@pytest.mark.parametrize("seed", range(6))
def test_ks_matches_scipy_with_ties_and_unequal_sizes(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(5, 400, size=2)
    a = rng.integers(0, 20, n).astype(float) + (rng.random(n) < 0.5) * rng.normal(0, 1, n)
    b = rng.integers(0, 20, m).astype(float) + seed * 0.3
    d, p = st.ks_2samp(a, b)
    ref = sps.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    en = n * m / (n + m)
    assert p == pytest.approx(sps.kstwobign.sf(math.sqrt(en) * d), rel=1e-9, abs=1e-300)
    assert p == pytest.approx(ref.pvalue, abs=0.06)  # scipy adds a finite-sample correction


def test_ks_identical_and_disjoint_samples():
    a = np.arange(50.0)
    assert st.ks_2samp(a, a) == (0.0, 1.0)
    d, p = st.ks_2samp(a, a + 100)
    assert d == 1.0 and p < 1e-20
    assert math.isnan(st.ks_2samp(a, np.array([]))[0])


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 7, 20, 99])
def test_chi2_sf_matches_scipy(dof):
    for x in (0.01, 0.5, 1.0, dof * 0.7, dof, dof + 3.0, 2.5 * dof + 10, 200.0):
        assert st.chi2_sf(x, dof) == pytest.approx(sps.chi2.sf(x, dof), rel=1e-9, abs=1e-280)


@pytest.mark.parametrize("seed", range(5))
def test_contingency_statistics_match_scipy(seed):
    rng = np.random.default_rng(seed)
    table = rng.integers(1, 200, size=(2, rng.integers(2, 9)))
    table[1] = np.maximum(1, table[1] + rng.integers(-50, 50, table.shape[1]))
    stat, dof, p = st.chi_square_homogeneity(table)
    ref = sps.chi2_contingency(table, correction=False)
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert dof == ref.dof
    assert p == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
    assert st.cramers_v(table) == pytest.approx(association(table, method="cramer"), rel=1e-12)
    assert st.js_distance(table[0], table[1]) == pytest.approx(
        jensenshannon(table[0], table[1], base=2), rel=1e-9)
    shares = table / table.sum(axis=1, keepdims=True)
    assert st.tvd(table[0], table[1]) == pytest.approx(0.5 * np.abs(shares[0] - shares[1]).sum())


def test_empty_categories_are_dropped_and_degenerate_tables_are_no_evidence():
    table = np.array([[10, 0, 5], [3, 0, 9]])
    assert st.chi_square_homogeneity(table)[1] == 1
    assert st.chi_square_homogeneity(np.array([[4], [7]])) == (0.0, 0, 1.0)
    assert st.cramers_v(np.array([[4, 0], [7, 0]])) == 0.0
