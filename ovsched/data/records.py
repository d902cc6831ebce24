"""A run's data: one record per submitted request plus the run's summary, and their files.

Records are kept as columns (numpy arrays) so that 100,000 requests stay small. Times are
seconds from the run's start (the first request's due time). A request that was submitted
but never completed has NaN completion.
"""

import csv
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..files import atomic_write

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
    """Columns of per-request records (``request`` ascending) and the summary dict.

    ``run["latency_ms"]`` and ``run["lateness_ms"]`` are derived from the times; the
    masks ``done``, ``late`` and ``waited_for_slot`` are the one place that classifies.
    ``utilization`` holds the sampler's samples as columns {time_s, source, value} (lists),
    or None for a run without them."""

    columns: dict
    summary: dict = field(default_factory=dict)
    utilization: dict = None

    def __len__(self):
        return len(self.columns["request"])

    def __getitem__(self, name):
        if name in DERIVED:
            return DERIVED[name](self.columns)
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
        wait = self.columns.get("queue_wait_ms")
        if wait is None:  # saved before the wait was recorded: nothing can be said
            return np.zeros(len(self), dtype=bool)
        return wait > QUEUE_WAIT_MS

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
        return cls(columns, summary or {})


def _cell(name, value):
    if name in TEXT_COLUMNS:
        return value
    if name in INT_COLUMNS:
        return str(int(value))
    if isinstance(value, float) and math.isnan(value):
        return ""
    if name.endswith("_s"):
        return f"{value:.6f}"
    if name in FINE_COLUMNS:
        return f"{value:.4f}"
    return f"{value:.3f}"


def write_csv(run, path):
    names = [c for c in COLUMNS if c in run] + [c for c in run.columns if c not in COLUMNS]

    def write(f):
        w = csv.writer(f)
        w.writerow(names)
        cols = [run[c].tolist() for c in names]
        w.writerows([_cell(n, v) for n, v in zip(names, row)] for row in zip(*cols))

    atomic_write(path, write)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def write_json(data, path, compact=False):
    """Write ``data`` as JSON; ``compact`` skips indenting and the type clean-up, for large
    files made only of plain Python values."""
    if compact:
        # one dumps() call runs the C encoder throughout; dump() to a file does not
        text = json.dumps(data, separators=(",", ":"))
        atomic_write(path, lambda f: f.write(text))
    else:
        atomic_write(path, lambda f: json.dump(_jsonable(data), f, indent=2))


def read_run(folder):
    """Load a saved run (``records.csv``, ``summary.json`` and, when there, the samples of
    ``utilization.csv``) without OpenVINO."""
    with open(os.path.join(folder, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    with open(os.path.join(folder, "records.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = {}
    for j, name in enumerate(header):
        if name in DERIVED:
            continue
        values = [r[j] for r in body]
        if name in TEXT_COLUMNS:
            columns[name] = np.asarray(values, dtype=object)
        elif name in INT_COLUMNS:
            columns[name] = np.asarray([int(v) for v in values], dtype=int)
        else:
            columns[name] = np.asarray([float(v) if v else math.nan for v in values], dtype=float)
    return Run(columns, summary, read_utilization(folder))


def read_utilization(folder):
    """The samples of a run folder's ``utilization.csv``, or None when it has none."""
    path = os.path.join(folder, UTILIZATION_CSV)
    if not os.path.isfile(path):
        return None
    from ..utilization.data import read_csv
    return read_csv(path)
