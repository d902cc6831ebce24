"""What one run of a cell measured, read from its records and summary."""

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..data.parts import Batches, Batching

# Requests whose pairs give the delay's trend: 1500 make ~1.1 M pairs, a fraction of a second.
MAX_TREND_POINTS = 1500
# Utilization sources that are one part of an aggregate one (a core of ``cpu``).
PER_PART = re.compile(r"^cpu\d+$")


@dataclass
class RepeatMetrics:
    """One finished run of a cell."""

    latency_ms: np.ndarray  # of the completed requests, in request order
    offered_realized_per_s: float
    achieved_per_s: float  # None when unknown (an interrupted run)
    batched: tuple  # (at least, at most, completed) requests that ran batched; None: unknown
    pacing_p99_ms: float
    timeout_ms: float  # as the compiled model reported it; None when it did not
    utilization: dict = field(default_factory=dict)  # {source: mean}

    def percentile_ms(self, p):
        return float(np.percentile(self.latency_ms, 100 * p)) if self.latency_ms.size else None


def rates_per_s(scheduled_s, completed_s):
    """``(offered, achieved)``: the rates requests were due and results came out, per s.

    Results come out at the due rate, shifted by each request's delay from due to
    completed; a device that falls behind makes that delay grow along the run. The delay's
    trend (a Theil-Sen slope: the median of the slopes between pairs of requests) gives
    achieved = offered / (1 + slope): exact for a queue that grows steadily, and unmoved by
    the few requests at the end of a finite run that wait for a batch timeout. None when a
    request never completed (an interrupted run); offered is inf when all are due at once."""
    due = np.asarray(scheduled_s, dtype=float)
    done = np.asarray(completed_s, dtype=float)
    n = due.size
    span = float(due[-1] - due[0]) if n else 0.0
    offered = (n - 1) / span if span > 0 else math.inf
    if n < 2 or np.isnan(done).any():
        return offered, None
    if span <= 0:
        end = float(done.max() - due[0])
        return offered, (n / end if end > 0 else None)
    pick = np.unique(np.linspace(0, n - 1, min(n, MAX_TREND_POINTS)).astype(int))
    t, delay = due[pick], (done - due)[pick]
    i, j = np.triu_indices(t.size, k=1)
    apart = t[j] > t[i]
    slope = float(np.median((delay[j] - delay[i])[apart] / (t[j] - t[i])[apart]))
    return offered, offered / (1 + slope) if slope > -1 else None


def batched_requests(summary, run):
    """``(low, high, completed)``: how many completed requests ran in a full batch, at least
    and at most (the labels' ``unknown`` ones may or may not have), or None when the run
    cannot say at all."""
    completed = int(np.sum(run.done)) if len(run) else 0
    batching = summary.batching or Batching()
    if not batching.batching:
        if batching.batching is None and batching.unknown is not None:
            return None  # AUTO or MULTI hide whether the device batches
        return 0, 0, completed  # the compiled model is not a BATCH one: nothing ran batched
    if "ran" in run.columns:
        ran = np.asarray(run.columns["ran"], dtype=object)[run.done]
        if ran.size and not (ran == "").all():
            low = int(np.sum(ran == "batched"))
            unknown = int(np.sum((ran == "unknown") | (ran == "")))
            return low, low + unknown, completed
    batches = summary.batches or Batches()
    if batches.requests_batched is not None:
        low = int(batches.requests_batched)
        return low, low + int(batches.unknown or 0), completed
    return None


def batched_share(counts):
    """The share of requests that ran batched from ``[(low, high, completed)]`` pooled: a
    number, a "low-high" range where labels are unknown, or None."""
    if not counts or any(c is None for c in counts):
        return None
    total = sum(c[2] for c in counts)
    if not total:
        return None
    low, high = sum(c[0] for c in counts) / total, sum(c[1] for c in counts) / total
    return low if low == high else f"{low:.2f}-{high:.2f}"


def utilization_means(summary):
    """Mean of each aggregate utilization source the run sampled (``cpu``, ``process``,
    ``gpu.compute``, ...; not each core), by name."""
    util = summary.utilization
    sources = util.sources if util is not None else None
    if not isinstance(sources, dict):
        return {}
    return {name: float(v["mean"]) for name, v in sources.items()
            if not PER_PART.match(name) and isinstance(v, dict)
            and isinstance(v.get("mean"), (int, float))}


def repeat_metrics(run):
    """What one run of a cell measured, from its records and summary."""
    s = run.summary
    offered, achieved = rates_per_s(run["scheduled_s"], run["completed_s"])
    latency = np.asarray(run["latency_ms"], dtype=float)
    timeout = s.batching.timeout_ms if s.batching else None
    return RepeatMetrics(
        latency_ms=latency[np.isfinite(latency)], offered_realized_per_s=offered,
        achieved_per_s=achieved, batched=batched_requests(s, run),
        pacing_p99_ms=s.stats.pacing_ms.p99 if s.stats and s.stats.pacing_ms else None,
        timeout_ms=None if timeout is None else float(timeout),
        utilization=utilization_means(s))


def measure_saved(folder):
    """The metrics of a run saved in ``folder``."""
    from ..data.folder import read_run
    return repeat_metrics(read_run(folder))
