"""A run's data: one record per submitted request plus the run's summary, and their files.

Records are kept as columns (numpy arrays) so that 100,000 requests stay small. Times are
seconds from the run's start (the first request's due time). A request that was submitted
but never completed has NaN completion.
"""

import math
from dataclasses import dataclass

import numpy as np

from .parts import Summary, as_summary

COLUMNS = ("request", "slot", "device", "device_done", "ran", "batch", "flush", "launch_s",
           "launch_err_ms", "scheduled_s",
           "submitted_s", "completed_s", "latency_ms", "lateness_ms", "queue_wait_ms",
           "infer_ms", "client_ms", "batch_wait_ms", "device_ms", "callback_ms", "compute_ms",
           "profile_id")
INT_COLUMNS = {"request", "slot", "batch", "flush", "profile_id"}
# Parts of a response time, kept to 0.1 us so that they add up to it within 0.002 ms.
FINE_COLUMNS = {"client_ms", "batch_wait_ms", "device_ms", "callback_ms"}
TEXT_COLUMNS = {"device", "device_done", "ran"}
# Computed from the times whenever asked, never stored: a saved run and a live one give the
# same answer, and an edited CSV cannot disagree with itself.
DERIVED = {
    "latency_ms": lambda c: (c["completed_s"] - c["submitted_s"]) * 1e3,
    "lateness_ms": lambda c: (c["submitted_s"] - c["scheduled_s"]) * 1e3,
}
UTILIZATION_CSV = "utilization.csv"
# A submit later than this after its due time is late: below it is timer noise.
LATE_MS = 1.0
# A request that waited longer than this for a free queue slot met back-pressure.
QUEUE_WAIT_MS = 1.0


@dataclass
class Run:
    """Columns of per-request records (``request`` ascending) and the run's Summary.

    ``run["latency_ms"]`` and ``run["lateness_ms"]`` are derived from the times; the
    masks ``done``, ``late`` and ``waited_for_slot`` are the one place that classifies.
    ``utilization`` holds the sampler's samples as columns {time_s, source, value} (lists),
    or None for a run without them. A dict given as the summary (a program's own, in the
    newest shape) is read into a Summary."""

    columns: dict
    summary: Summary = None
    utilization: dict = None

    def __setattr__(self, name, value):
        if name == "summary" and not isinstance(value, Summary):
            value = as_summary(value)
        super().__setattr__(name, value)

    def __len__(self):
        return len(self.columns["request"])

    def __getitem__(self, name):
        if name in DERIVED:
            return DERIVED[name](self.columns)
        if name not in self.columns and name in MISSING:
            return MISSING[name](self.columns, len(self))
        return self.columns[name]

    def __contains__(self, name):
        return name in self.columns or name in DERIVED

    def latency_ms_of(self, index):
        """Latency of some requests (an index or an index array), from their times."""
        c = self.columns
        return (c["completed_s"][index] - c["submitted_s"][index]) * 1e3

    @property
    def done(self):
        """Mask of the requests that completed."""
        return ~np.isnan(self.columns["completed_s"])

    @property
    def late(self):
        """Mask of the requests submitted more than LATE_MS after they were due."""
        return self["lateness_ms"] > LATE_MS

    @property
    def waited_for_slot(self):
        """Mask of the requests that waited more than QUEUE_WAIT_MS for a free queue slot."""
        # NaN (not recorded, see MISSING) is no wait that can be said
        return self["queue_wait_ms"] > QUEUE_WAIT_MS

    @classmethod
    def empty(cls, niter):
        """Room for ``niter`` records, filled in while a run goes on."""
        columns = {
            "request": np.arange(niter),
            "slot": np.full(niter, -1, dtype=int),
            "batch": np.full(niter, -1, dtype=int),
            "scheduled_s": np.full(niter, np.nan),
            "submitted_s": np.full(niter, np.nan),
            "completed_s": np.full(niter, np.nan),
            "queue_wait_ms": np.full(niter, np.nan),
            "infer_ms": np.full(niter, np.nan),
        }
        return cls(columns)

    def head(self, n, summary=None, **extra):
        """The first ``n`` records as a Run of their own, with extra columns."""
        columns = {name: values[:n] for name, values in self.columns.items()}
        columns.update(extra)
        return Run(columns, summary if summary is not None else self.summary)

    @classmethod
    def from_arrays(cls, scheduled_s, submitted_s, completed_s, slot, device, infer_ms,
                    summary=None, queue_wait_ms=None):
        n = len(submitted_s)
        columns = {
            "request": np.arange(n),
            "slot": np.asarray(slot, dtype=int),
            "device": np.asarray(device, dtype=object),
            "batch": np.full(n, -1, dtype=int),
            "scheduled_s": np.asarray(scheduled_s, dtype=float),
            "submitted_s": np.asarray(submitted_s, dtype=float),
            "completed_s": np.asarray(completed_s, dtype=float),
            "queue_wait_ms": (np.zeros(n) if queue_wait_ms is None
                              else np.asarray(queue_wait_ms, dtype=float)),
            "infer_ms": np.asarray(infer_ms, dtype=float),
        }
        return cls(columns, summary)


def _ran_from_batch_ids(c, n):
    batch = c.get("batch")
    if batch is None:
        return np.full(n, "", dtype=object)
    return np.where(np.asarray(batch) >= 0, "batched", "").astype(object)


# What a column the records lack reads as (records saved by an earlier version, or a
# program's own): ``ran`` "batched" where a batch id was given and "" (no claim)
# elsewhere, no batch or flush, ``device_done`` "", ``queue_wait_ms`` NaN (not recorded).
# ``run.columns`` keeps only what was recorded; ``run[name]`` reads these in its place.
MISSING = {
    "ran": _ran_from_batch_ids,
    "batch": lambda c, n: np.full(n, -1, dtype=int),
    "flush": lambda c, n: np.full(n, -1, dtype=int),
    "device_done": lambda c, n: np.full(n, "", dtype=object),
    "queue_wait_ms": lambda c, n: np.full(n, math.nan),
}
