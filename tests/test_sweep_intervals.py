"""The sweep's percentile intervals: the order-statistic ranks, and coverage on a simulated queue
whose requests depend on each other as a run's do (not on independent draws)."""

import numpy as np
import pytest

from ovsched.sweep import intervals
from sim_queue import as_if_independent, coverage, ours, queue_run

BATCHED = dict(rate=100, batch=4, timeout_s=0.05)  # clusters of four, a busy server
PLAIN = dict(rate=50)  # one request at a time, ~70 % busy: delay carried forward


def test_a_p99_needs_368_independent_requests_for_a_two_sided_bound():
    assert intervals.least_independent(0.99) == 368
    assert intervals.order_ranks(367, 0.99)[1] is None
    assert intervals.order_ranks(368, 0.99) == (intervals.order_ranks(368, 0.99)[0], 368)
    assert intervals.least_independent(0.5) == 6
    low, high = intervals.order_ranks(100, 0.5)
    assert (low, high) == (40, 61)  # the textbook ranks for a median of 100 at 95 %


def test_pooled_value_is_the_percentile_of_all_requests_and_too_few_say_how_many():
    rng = np.random.default_rng(1)
    runs = [rng.exponential(10, 100) for _ in range(2)]
    r = intervals.pooled_percentile(runs, 0.99)
    assert r.value_ms == pytest.approx(np.percentile(np.concatenate(runs), 99))
    assert r.requests == 200 and not r.bounded and r.low_ms is None
    assert r.needed >= 368
    assert intervals.pooled_percentile([np.array([])], 0.5) is None


def test_independent_requests_count_as_about_as_many():
    rng = np.random.default_rng(2)
    runs = [rng.exponential(10, 1000) for _ in range(3)]
    r = intervals.pooled_percentile(runs, 0.99)
    assert r.bounded and r.effective > 1000  # inflation well below 3


def test_independent_draws_are_covered_at_the_nominal_level():
    rng = np.random.default_rng(3)
    truth = np.log(100.0) * 10  # the p99 of an exponential of mean 10
    hits = [ours([rng.exponential(10, 600) for _ in range(3)], 0.99) for _ in range(300)]
    bounded = [h for h in hits if h is not None]
    share = np.mean([low <= truth <= high for low, high in bounded])
    assert len(bounded) >= 250 and 0.92 <= share <= 1.0


def test_the_median_of_a_queue_is_covered_where_independence_would_not_be():
    share, bounded = coverage(ours, PLAIN, n=200, runs=3, p=0.5, trials=150)
    naive, _ = coverage(as_if_independent, PLAIN, n=200, runs=3, p=0.5, trials=150)
    assert bounded == 150 and share >= 0.92
    assert naive <= 0.8  # the queue's dependence is real: ignoring it misses


def test_the_p99_of_a_batching_queue_is_covered_where_independence_would_not_be():
    share, bounded = coverage(ours, BATCHED, n=1500, runs=3, p=0.99, trials=120)
    naive, naive_bounded = coverage(as_if_independent, BATCHED, n=1500, runs=3, p=0.99,
                                    trials=120)
    # the method's inflation is estimated from three runs and is sometimes low: 0.93 with
    # this seed, 0.89-0.90 over 200 trials of others, at the nominal 0.95; the same runs
    # counted as independent requests cover 0.43-0.49
    assert bounded >= 30 and share >= 0.8
    assert naive_bounded == 120 and naive <= 0.7


def test_the_simulated_queue_is_a_queue():
    rng = np.random.default_rng(4)
    latency = queue_run(rng, 2000, **PLAIN)
    # a request's latency predicts the next one's: what resampling single requests ignores
    assert np.corrcoef(latency[:-1], latency[1:])[0, 1] > 0.5
    batched = queue_run(rng, 2000, **BATCHED)
    assert np.all(latency > 0) and np.all(batched > 0)
