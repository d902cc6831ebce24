"""The rate search on fake latency models: monotonic, not monotonic, never or always fitting."""

import pytest

from ovsched.sweep import search


def budget(p99_of, budget_ms):
    calls = []

    def passes(rate):
        calls.append(rate)
        return p99_of(rate) <= budget_ms
    return passes, calls


def test_a_monotonic_model_is_bracketed_within_5_percent_in_8_probes():
    # p99 rises steeply towards a capacity of 40/s: the budget of 100 ms holds up to 36/s
    passes, calls = budget(lambda r: 10 / (1 - r / 40) if r < 40 else float("inf"), 100.0)
    found = search.find_rate(passes, [5, 10, 20, 40])
    assert len(calls) == len(set(calls)) == 8  # 4 rungs, 4 halvings
    assert found.converged and found.rate <= 36.0 < found.above <= found.rate * 1.05
    assert all(passes(r) for r in [found.rate]) and not passes(found.above)


def test_a_model_that_is_not_monotonic_gives_the_highest_edge_between_rungs():
    # a batch timeout: slow at low rates (batches wait for the timer), fast in the middle,
    # slow again near capacity; the budget holds in 8-12/s and 30-50/s
    def p99(rate):
        if rate < 8:
            return 1000.0
        if rate < 12:
            return 80.0
        if rate < 30:
            return 300.0
        return 50.0 if rate <= 50 else 2000.0
    passes, calls = budget(p99, 100.0)
    found = search.find_rate(passes, [5, 10, 20, 40])
    assert 40 <= found.rate <= 50 < found.above
    assert found.converged and len(calls) == 9  # 4 rungs, one above, 4 halvings
    assert found.probes[20] is False and found.probes[10] is True  # the dip is seen


def test_no_rung_fits():
    passes, calls = budget(lambda r: 500.0, 100.0)
    found = search.find_rate(passes, [5, 10, 20])
    assert found.rate is None and found.above == 5 and calls == [5, 10, 20]


def test_a_top_rung_that_fits_is_followed_upwards_and_stays_a_lower_bound():
    passes, calls = budget(lambda r: 1.0, 100.0)
    found = search.find_rate(passes, [5, 10, 20, 40])
    assert found.above is None and not found.converged
    assert found.rate == 40 * 2 ** 5 and len(calls) == 9


def test_the_rates_are_rounded_so_that_a_resumed_search_probes_the_same_ones():
    rates = []
    for _ in range(2):
        passes, calls = budget(lambda r: 10 / (1 - r / 37.3) if r < 37.3 else 1e9, 100.0)
        search.find_rate(passes, [3.3333333, 10, 30, 90])
        rates.append(calls)
    assert rates[0] == rates[1] and all(r == float(f"{r:.4g}") for r in rates[0])


@pytest.mark.parametrize("ladder", [[1], [2, 4, 8, 16, 32, 64, 128, 256, 512]])
def test_odd_ladders(ladder):
    passes, calls = budget(lambda r: r, 100.0)
    found = search.find_rate(passes, ladder)
    assert found.rate is None or found.rate <= 100
    assert len(calls) <= max(9, len(ladder))
