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

COLUMNS = ("request", "slot", "device", "batch", "scheduled_s", "submitted_s", "completed_s",
           "latency_ms", "lateness_ms", "infer_ms")
INT_COLUMNS = {"request", "slot", "batch"}
TEXT_COLUMNS = {"device"}


@dataclass
class Run:
    """Columns of per-request records (``request`` ascending) and the summary dict."""

    columns: dict
    summary: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.columns["request"])

    def __getitem__(self, name):
        return self.columns[name]

    @property
    def done(self):
        """Mask of the requests that completed."""
        return ~np.isnan(self.columns["completed_s"])

    @classmethod
    def from_arrays(cls, scheduled_s, submitted_s, completed_s, slot, device, infer_ms,
                    summary=None):
        scheduled_s = np.asarray(scheduled_s, dtype=float)
        submitted_s = np.asarray(submitted_s, dtype=float)
        completed_s = np.asarray(completed_s, dtype=float)
        n = len(submitted_s)
        columns = {
            "request": np.arange(n),
            "slot": np.asarray(slot, dtype=int),
            "device": np.asarray(device, dtype=object),
            "batch": np.full(n, -1, dtype=int),
            "scheduled_s": scheduled_s,
            "submitted_s": submitted_s,
            "completed_s": completed_s,
            "latency_ms": (completed_s - submitted_s) * 1e3,
            "lateness_ms": (submitted_s - scheduled_s) * 1e3,
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
    return f"{value:.3f}"


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_csv(run, path):
    names = [c for c in COLUMNS if c in run.columns]

    def write(f):
        w = csv.writer(f)
        w.writerow(names)
        cols = [run.columns[c].tolist() for c in names]
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
    """Load a saved run (``records.csv`` and ``summary.json``) without OpenVINO."""
    with open(os.path.join(folder, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    with open(os.path.join(folder, "records.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = {}
    for j, name in enumerate(header):
        values = [r[j] for r in body]
        if name in TEXT_COLUMNS:
            columns[name] = np.asarray(values, dtype=object)
        elif name in INT_COLUMNS:
            columns[name] = np.asarray([int(v) for v in values], dtype=int)
        else:
            columns[name] = np.asarray([float(v) if v else math.nan for v in values], dtype=float)
    return Run(columns, summary)
