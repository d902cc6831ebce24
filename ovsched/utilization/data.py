"""Samples as data: summary statistics and the ``utilization.csv`` file."""

import csv

import numpy as np

from ..files import atomic_write
from .track import COLUMNS, empty

# Files written before the cap and the per-sample periods have only these.
OLD_COLUMNS = ("time_s", "source", "value")


def _column(samples, name, n):
    values = samples.get(name)
    return [None] * n if values is None else list(values)


def summarize(samples, start_s=None, end_s=None, period_s=None):
    """{source: {mean, p50, p95, max, capped}} over the samples with ``start_s <= time_s <=
    end_s`` (each bound optional). ``mean`` weighs what was measured (before any cap) by each
    sample's period: for a busy-time counter that is its change between the first and the
    last reading over the time between them, so capped samples leave it true. p50, p95 and
    max are of the values shown (capped); ``capped`` counts the capped samples. Samples
    without a period (files of earlier versions) weigh ``period_s``, or equally."""
    n = len(samples["time_s"])
    times = np.asarray(samples["time_s"], dtype=float)
    values = np.asarray(samples["value"], dtype=float)
    sources = np.asarray(samples["source"], dtype=object)
    uncapped = _column(samples, "uncapped", n)
    measured = np.asarray([v if u is None else u for v, u in zip(samples["value"], uncapped)],
                          dtype=float)
    capped = np.asarray([u is not None for u in uncapped], dtype=bool)
    fallback = 1.0 if period_s is None else period_s
    periods = np.asarray([fallback if p is None else p
                          for p in _column(samples, "period_s", n)], dtype=float)
    keep = np.ones(n, dtype=bool)
    if start_s is not None:
        keep &= times >= start_s
    if end_s is not None:
        keep &= times <= end_s
    out = {}
    for source in sorted(set(sources[keep].tolist())):
        mask = keep & (sources == source)
        v, w = values[mask], periods[mask]
        mean = float(np.sum(measured[mask] * w) / np.sum(w)) if np.sum(w) > 0 \
            else float(measured[mask].mean())
        out[source] = {
            "mean": mean,
            "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)),
            "max": float(v.max()),
            "capped": int(capped[mask].sum()),
        }
    return out


def _number(x, digits):
    return "" if x is None else f"{x:.{digits}f}"


def write_csv(samples, path):
    """Write the samples to ``path`` (columns time_s, source, value, period_s, uncapped:
    ``uncapped`` holds what was measured where ``value`` was capped at 0 or 100, and is empty
    elsewhere) through a temporary file renamed into place, so a reader never sees half a
    file."""
    n = len(samples["time_s"])
    periods, uncapped = _column(samples, "period_s", n), _column(samples, "uncapped", n)

    def rows(f):
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows((f"{t:.6f}", s, f"{v:.3f}", _number(p, 6), _number(u, 3)) for t, s, v, p, u
                    in zip(samples["time_s"], samples["source"], samples["value"], periods,
                           uncapped))

    atomic_write(path, rows)


def read_csv(path):
    """The samples of a ``utilization.csv`` as columns {time_s, source, value, period_s,
    uncapped} of lists; a file of an earlier version (time_s, source, value only) gives None
    for the period and the uncapped value of each sample."""
    out = empty()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out["time_s"].append(float(row["time_s"]))
            out["source"].append(row["source"])
            out["value"].append(float(row["value"]))
            for name in ("period_s", "uncapped"):
                text = (row.get(name) or "").strip()
                out[name].append(float(text) if text else None)
    return out


def capped_mask(samples):
    """A list of bools: which samples were capped (False throughout for older files)."""
    n = len(samples["time_s"])
    return [u is not None for u in _column(samples, "uncapped", n)]
