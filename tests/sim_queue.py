"""A simulated batching queue (pure numpy, seeded) whose requests depend on each other the way a
run's do: a batch's members complete together and a busy server carries delay forward."""

import numpy as np


def queue_run(rng, n, rate, batch=1, timeout_s=0.05, base_s=0.010, per_s=0.004, jitter=0.3):
    """Latencies (ms) of ``n`` Poisson requests at ``rate``/s, in arrival order, through one
    server that takes batches of ``batch`` (a partial batch leaves ``timeout_s`` after its
    first member arrived) and serves one in ``base_s + per_s * size``, gamma-jittered."""
    arrive = np.cumsum(rng.exponential(1 / rate, n))
    latency = np.empty(n)
    free = 0.0
    i = 0
    while i < n:
        j = min(i + batch, n)
        close = arrive[j - 1]
        if batch > 1 and arrive[i] + timeout_s < close:
            close = arrive[i] + timeout_s
            j = i + int(np.searchsorted(arrive[i:j], close, side="right"))
        start = max(close, free)
        free = start + (base_s + per_s * (j - i)) * rng.gamma(1 / jitter ** 2, jitter ** 2)
        latency[i:j] = free - arrive[i:j]
        i = j
    return latency * 1e3


def true_percentile(queue, n, p, runs=400, seed=12345):
    """The p-th percentile of the pooled latencies of many runs of ``n`` requests: what an
    interval over a few runs of the same length is to cover."""
    rng = np.random.default_rng(seed)
    return float(np.percentile(np.concatenate([queue_run(rng, n, **queue)
                                               for _ in range(runs)]), 100 * p))


def coverage(method, queue, n, runs, p, trials, seed=0):
    """``(share of bounded intervals that hold the truth, bounded trials)`` of ``method(runs,
    p) -> (low, high) or None`` over ``trials`` sweeps of ``runs`` runs of ``n`` requests."""
    truth = true_percentile(queue, n, p)
    rng = np.random.default_rng(seed)
    hits = bounded = 0
    for _ in range(trials):
        bounds = method([queue_run(rng, n, **queue) for _ in range(runs)], p)
        if bounds is None:
            continue
        bounded += 1
        hits += bounds[0] <= truth <= bounds[1]
    return (hits / bounded if bounded else None), bounded


QUEUES = {"one at a time, 70 % busy": dict(rate=50),
          "batch 4, 50 ms timer, busy": dict(rate=100, batch=4, timeout_s=0.05),
          "batch 8, 100 ms timer, light": dict(rate=40, batch=8, timeout_s=0.1)}


def ours(runs, p):
    """The sweep's interval of percentile ``p`` over ``runs``, or None where it cannot bound."""
    from ovsched.sweep import intervals
    r = intervals.pooled_percentile(runs, p)
    return (r.low_ms, r.high_ms) if r.bounded else None


def as_if_independent(runs, p):
    """The order-statistic interval of the pooled requests, as if each were independent."""
    from ovsched.sweep import intervals
    pooled = np.sort(np.concatenate(runs))
    low, high = intervals.order_ranks(pooled.size, p)
    return None if low is None or high is None else (pooled[low - 1], pooled[high - 1])


def main(trials=200):
    """The coverage table of the README: the sweep's intervals beside the same requests
    counted as independent, for a median and a p99 over 3 runs."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print("queue | percentile | requests a run | coverage (bounded trials) | as independent")
    for name, queue in QUEUES.items():
        for p, n in ((0.5, 200), (0.99, 1500)):
            share, bounded = coverage(ours, queue, n, 3, p, trials)
            naive, _ = coverage(as_if_independent, queue, n, 3, p, trials)
            text = "none bounded" if share is None else f"{share:.2f} ({bounded})"
            print(f"{name} | p{p * 100:g} | {n} | {text} | {naive:.2f}", flush=True)


if __name__ == "__main__":
    main()
