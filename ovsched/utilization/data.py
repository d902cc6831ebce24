"""Samples as data: summary statistics and the ``utilization.csv`` file."""

import csv

import numpy as np

from ..files import atomic_write

COLUMNS = ("time_s", "source", "value")


def empty():
    return {name: [] for name in COLUMNS}


def summarize(samples, start_s=None, end_s=None):
    """{source: {mean, p50, p95, max}} over the samples with ``start_s <= time_s <= end_s``
    (each bound optional)."""
    times = np.asarray(samples["time_s"], dtype=float)
    values = np.asarray(samples["value"], dtype=float)
    sources = np.asarray(samples["source"], dtype=object)
    keep = np.ones(len(times), dtype=bool)
    if start_s is not None:
        keep &= times >= start_s
    if end_s is not None:
        keep &= times <= end_s
    out = {}
    for source in sorted(set(sources[keep].tolist())):
        v = values[keep & (sources == source)]
        out[source] = {
            "mean": float(v.mean()),
            "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)),
            "max": float(v.max()),
        }
    return out


def write_csv(samples, path):
    """Write the samples (columns time_s, source, value) to ``path`` through a temporary file
    renamed into place, so a reader never sees half a file."""
    def rows(f):
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows((f"{t:.6f}", s, f"{v:.3f}") for t, s, v in
                    zip(samples["time_s"], samples["source"], samples["value"]))

    atomic_write(path, rows)


def read_csv(path):
    """The samples of a ``utilization.csv`` as columns {time_s, source, value} of lists."""
    out = empty()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out["time_s"].append(float(row["time_s"]))
            out["source"].append(row["source"])
            out["value"].append(float(row["value"]))
    return out
