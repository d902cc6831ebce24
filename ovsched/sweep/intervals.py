"""A percentile over the pooled requests of a cell's runs, with a 95 % confidence interval
that respects how the requests of one run depend on each other.

For independent requests the interval is the classic distribution-free one: the number of
requests at or below the true p-th percentile is Binomial(n, p), so two order statistics of
the sorted latencies bound it (a two-sided 95 % bound on a p99 needs 368 requests, since
0.99 ** 367 > 2.5 %). The requests of a run are not independent: the members of a batch
share its fate and a queue carries delay from one request to the next, so the requests above
a percentile come in clusters and the count above it varies more than a binomial's. The
method measures that excess (batch means: the variance of the count in blocks of
consecutive requests against the binomial's, the largest over blocks of 10 to 80 requests
and whole runs, at the percentile itself and at the p90 and median) and counts the requests
as fewer independent ones, ``effective = n / inflation``; the binomial ranks of the
effective sample, scaled back to the pooled one, give the bounds. Blocks never straddle two
runs, whose requests are independent. ``python tests/sim_queue.py`` measures its
coverage on simulated queues (the README has the table): 0.96-0.98 for a median and 0.90-0.99
for a p99 at the nominal 0.95 (0.90 for a busy batching queue, whose dependence, estimated
from a few runs, is sometimes underestimated), where counting the same requests as
independent covers 0.34-0.70 wherever a queue carries delay."""

import math
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
# Indicator series whose inflation is measured besides the percentile's own: a p99's
# clusters hold ~1 % of the requests, too few in a few hundred to measure their length
# alone; the p90's and the median's show how long the queue's bad spells last.
REFERENCE_PS = (0.9, 0.5)
# Block lengths tried (up to a fifth of a run), and whole runs: the largest inflation
# counts, so a queue whose level drifts over a whole run is not taken for a steady one.
BLOCKS = (10, 20, 40, 80)


@dataclass(frozen=True)
class Percentile:
    """A pooled percentile in ms with its bounds (None where the requests do not suffice)."""

    p: float
    value_ms: float
    low_ms: float
    high_ms: float
    requests: int
    effective: float  # the requests counted as independent ones
    needed: int  # requests (at this inflation) a two-sided bound needs

    @property
    def bounded(self):
        return self.low_ms is not None and self.high_ms is not None


def _log_binom_pmf(m, p):
    k = np.arange(m + 1, dtype=float)
    lg = np.vectorize(math.lgamma)
    return (lg(m + 1.0) - lg(k + 1.0) - lg(m - k + 1.0)
            + k * math.log(p) + (m - k) * math.log1p(-p))


def order_ranks(m, p, level=LEVEL):
    """1-based ranks ``(low, high)`` of the order statistics of ``m`` independent draws that
    bound the p-th percentile with probability ``level``; a rank is None where no order
    statistic of ``m`` draws does (too few)."""
    if m < 1:
        return None, None
    tail = (1 - level) / 2
    cdf = np.cumsum(np.exp(_log_binom_pmf(m, p)))  # cdf[k] = P(B <= k)
    # P(X_(l) > q) = P(B <= l - 1) <= tail; P(X_(u) < q) = P(B >= u) = 1 - cdf[u - 1] <= tail
    lows = np.flatnonzero(cdf <= tail)
    low = int(lows[-1]) + 1 if lows.size else None
    highs = np.flatnonzero(cdf >= 1 - tail)
    high = int(highs[0]) + 1 if highs.size else None
    if high is not None and high > m:
        high = None
    return low, high


def least_independent(p, level=LEVEL):
    """The fewest independent requests whose order statistics bound the p-th percentile on
    both sides (368 for a p99 at 95 %)."""
    tail = (1 - level) / 2
    need_high = math.ceil(math.log(tail) / math.log(p))  # p ** m <= tail
    need_low = math.ceil(math.log(tail) / math.log1p(-p))  # (1 - p) ** m <= tail
    return max(need_high, need_low)


def inflation(runs, threshold, p, block):
    """How much more the count of requests at or below ``threshold`` varies than if they
    were independent (>= 1): batch means over blocks of ``block`` consecutive requests."""
    sums = []
    for x in runs:
        k = len(x) // block
        if k:
            below = (np.asarray(x[:k * block]) <= threshold).reshape(k, block)
            sums.append(below.sum(axis=1))
    if not sums:
        return 1.0
    sums = np.concatenate(sums).astype(float)
    share = min(max(p, 1e-9), 1 - 1e-9)
    if sums.size < 2:
        return 1.0
    excess = float(np.mean((sums - block * share) ** 2)) / (block * share * (1 - share))
    return max(1.0, excess)


def block_lengths(runs):
    """The block lengths whose inflation is measured: ``BLOCKS`` up to a fifth of the
    longest run, and the shortest run whole."""
    longest = max((len(x) for x in runs), default=0)
    lengths = [b for b in BLOCKS if b <= longest // 5] or [BLOCKS[0]]
    shortest = min((len(x) for x in runs), default=0)
    return lengths + ([shortest] if shortest > lengths[-1] else [])


def inflation_of(runs, pooled, p):
    """The largest inflation over the block lengths, at the p-th percentile and at the
    reference ones."""
    factor = 1.0
    for block in block_lengths(runs):
        for share in dict.fromkeys((p,) + REFERENCE_PS):
            threshold = float(np.percentile(pooled, 100 * share))
            factor = max(factor, inflation(runs, threshold, share, block))
    return factor


def pooled_percentile(runs, p, level=LEVEL):
    """The p-th percentile (0 < p < 1) of the pooled latencies of ``runs`` (one array per
    run, in request order) with its confidence bounds; None when there is no request."""
    runs = [np.asarray(x, dtype=float) for x in runs]
    runs = [x[np.isfinite(x)] for x in runs]
    pooled = np.sort(np.concatenate(runs)) if runs else np.array([])
    n = pooled.size
    if not n:
        return None
    value = float(np.percentile(pooled, 100 * p))
    factor = inflation_of(runs, pooled, p)
    effective = n / factor
    needed = math.ceil(least_independent(p, level) * factor)
    low_rank, high_rank = order_ranks(int(math.floor(effective)), p, level)
    scale = n / math.floor(effective) if effective >= 1 else None
    low = high = None
    if low_rank is not None and scale is not None:
        low = float(pooled[max(1, math.floor(low_rank * scale)) - 1])
    if high_rank is not None and scale is not None:
        high = float(pooled[min(n, math.ceil(high_rank * scale)) - 1])
    if low is None or high is None:
        low = high = None  # a bound on one side only is not the interval asked for
    return Percentile(p, value, low, high, n, effective, needed)
