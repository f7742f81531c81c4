"""search_sorted gives exactly np.searchsorted's places, whatever the order of the queries."""
import numpy as np
import pytest

from inspector.core.sorted_lookup import FEW, search_sorted, search_sorted_both


@pytest.mark.parametrize("n_queries", [0, 5, FEW - 1, FEW, 3 * FEW + 17])
@pytest.mark.parametrize("side", ["left", "right"])
def test_same_places_as_numpy(n_queries: int, side: str) -> None:
    rng = np.random.default_rng(n_queries)
    values = np.sort(rng.integers(0, 500, 2000).astype(np.uint64))  # many repeats: left != right
    queries = rng.integers(0, 520, n_queries).astype(np.uint64)
    expected = np.searchsorted(values, queries, side=side)
    got = search_sorted(values, queries, side)
    assert got.shape == expected.shape and np.array_equal(got, expected)


def test_both_sides_and_a_given_sorter() -> None:
    rng = np.random.default_rng(7)
    values = np.sort(rng.integers(0, 2**63, 50_000, dtype=np.uint64))
    queries = np.concatenate([values[rng.integers(0, len(values), 3 * FEW)],
                              rng.integers(0, 2**63, FEW, dtype=np.uint64)])
    lo, hi = search_sorted_both(values, queries)
    assert np.array_equal(lo, np.searchsorted(values, queries, "left"))
    assert np.array_equal(hi, np.searchsorted(values, queries, "right"))
    order = np.argsort(queries)
    assert np.array_equal(search_sorted(values, queries, "right", order), hi)
