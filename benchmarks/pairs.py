"""Wall-clock comparisons that hold on a busy machine: alternating pairs and an interval.

A and B are measured in many short rounds in ABBA order (A B, B A, A B, ...), so that a slow
drift of the machine's load favours neither. Each pair gives one ratio A / B; the figure is
the median ratio with a 95 % bootstrap confidence interval over the pairs, and the verdict
is PASS only when the whole interval meets the target, MISS only when the whole interval
misses it, and INCONCLUSIVE when it straddles the target (or there are too few pairs).

Pure numpy: no OpenVINO, so the statistics can be tested on synthetic ratios.
"""

import numpy as np

from benchmarks import machine

CONFIDENCE = 0.95
RESAMPLES = 10_000  # bootstrap resamples; the interval's ends settle well before this
SEED = 0  # fixed, so the same ratios always give the same interval and verdict
MIN_PAIRS = 3  # below this an interval says nothing: the verdict is INCONCLUSIVE
OPS = ("<=", "<", ">=", ">")


def abba_order(n_pairs):
    """Who goes first in each pair: ("A", "B") for even pairs, ("B", "A") for odd ones."""
    return [("A", "B") if i % 2 == 0 else ("B", "A") for i in range(n_pairs)]


def run_pairs(measure_a, measure_b, n_pairs, on_pair=None):
    """Call measure_a() and measure_b() once per pair in ABBA order; return (a, b) lists.

    on_pair(i, a_value, b_value) is called after each pair, e.g. to print progress."""
    a, b = [], []
    for i, order in enumerate(abba_order(n_pairs)):
        for who in order:
            if who == "A":
                a.append(measure_a())
            else:
                b.append(measure_b())
        if on_pair is not None:
            on_pair(i, a[-1], b[-1])
    return a, b


def bootstrap_median_ci(ratios, confidence=CONFIDENCE, resamples=RESAMPLES, seed=SEED):
    """Percentile bootstrap interval (low, high) of the median, resampling whole pairs."""
    ratios = np.asarray(ratios, dtype=float)
    if ratios.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ratios.size, size=(resamples, ratios.size))
    return percentile_interval(np.median(ratios[picks], axis=1), confidence)


def percentile_interval(samples, confidence=CONFIDENCE):
    """(low, high): the central ``confidence`` share of bootstrap ``samples``."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def meets(value, target):
    """Whether one value meets target = (op, bound)."""
    op, bound = target
    return {"<=": value <= bound, "<": value < bound, ">=": value >= bound,
            ">": value > bound}[op]


def verdict(ci_low, ci_high, target, n_pairs=MIN_PAIRS):
    """PASS if the whole interval meets the target, MISS if it wholly misses, else
    INCONCLUSIVE (also with fewer than MIN_PAIRS pairs or no interval); None without a
    target (a figure given as information)."""
    if target is None:
        return None
    if n_pairs < MIN_PAIRS or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "INCONCLUSIVE"
    low_ok, high_ok = meets(ci_low, target), meets(ci_high, target)
    if low_ok and high_ok:
        return "PASS"
    if not low_ok and not high_ok:
        return "MISS"
    return "INCONCLUSIVE"


def compare(a_values, b_values, target):
    """The figure of a paired comparison: ratios A / B per pair, their median, its interval,
    spread and verdict against target = (op, bound) or None, as a plain dict."""
    a = np.asarray(a_values, dtype=float)
    b = np.asarray(b_values, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"{a.size} A values but {b.size} B values: a pair needs both")
    ratios = a / b
    low, high = bootstrap_median_ci(ratios)
    n = int(ratios.size)
    return {
        "pairs": n,
        "ratios": ratios.tolist(),
        "median": float(np.median(ratios)) if n else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "spread": spread(ratios),
        "verdict": verdict(low, high, target, n),
    }


def spread(values):
    """min, quartiles and max of the values (the raw scatter the interval summarises)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None
    q1, q3 = np.percentile(values, [25, 75])
    return {"min": float(values.min()), "q1": float(q1), "q3": float(q3),
            "max": float(values.max())}


def measure_pairs(measure_a, measure_b, n_pairs, on_pair=None):
    """run_pairs with the machine's state taken before and after: {"a", "b", "before",
    "after"} (see benchmarks.machine.snapshot)."""
    before = machine.snapshot()
    a, b = run_pairs(measure_a, measure_b, n_pairs, on_pair)
    return {"a": a, "b": b, "before": before, "after": machine.snapshot()}
