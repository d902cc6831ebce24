"""The highest request rate that passes a test, found with few probes: a coarse ladder of
rates first (p99 need not rise with the rate, so every rung is probed), then bisection of the
highest edge that passes, in log steps, until it is bracketed within a tolerance."""

import math
from dataclasses import dataclass, field

# 4 rungs, one more above when the top one passes, 4 halvings: 2 ** (1/16) < 1.05
MAX_PROBES = 9
TOLERANCE = 0.05


@dataclass
class Found:
    """What the search found: ``rate`` passes (None: no rung did), ``above`` fails (None:
    nothing above ``rate`` was seen to fail, so the rate is a lower bound)."""

    rate: float
    above: float
    probes: dict = field(default_factory=dict)  # {rate: passed}, in the order probed

    @property
    def converged(self):
        return (self.rate is not None and self.above is not None
                and self.above <= self.rate * (1 + TOLERANCE))


def default_ladder(rate_per_s):
    """Four rungs around a rate: half of it to four times it."""
    return [rate_per_s * f for f in (0.5, 1.0, 2.0, 4.0)]


def _round(rate):
    return float(f"{rate:.4g}")  # stable folder names, and the same rates when resumed


def find_rate(passes, ladder, max_probes=MAX_PROBES, tolerance=TOLERANCE):
    """The highest rate for which ``passes(rate)`` holds, to within ``tolerance``.

    Every rung of ``ladder`` is probed; the highest rung that passes and the next rung
    above it (which failed) bracket the edge, then the bracket is halved in log steps while
    probes are left. A top rung that passes is followed upwards by the ladder's last step.
    Where the test is not monotonic the answer is the highest edge found between rungs."""
    ladder = sorted({_round(r) for r in ladder})
    probes = {}

    def probe(rate):
        if rate not in probes:
            probes[rate] = bool(passes(rate))
        return probes[rate]

    for rate in ladder:
        probe(rate)
    passed = [r for r in ladder if probes[r]]
    if not passed:
        return Found(None, ladder[0], probes)
    low = max(passed)
    above = [r for r in ladder if r > low]
    high = min(above) if above else None
    step = ladder[-1] / ladder[-2] if len(ladder) > 1 else 2.0
    while high is None and len(probes) < max_probes:
        rate = _round(low * step)
        if probe(rate):
            low = rate
        else:
            high = rate
    while (high is not None and high > low * (1 + tolerance)
           and len(probes) < max_probes):
        rate = _round(math.sqrt(low * high))
        if rate in (low, high):
            break
        if probe(rate):
            low = rate
        else:
            high = rate
    return Found(low, high, probes)
