"""A cell's row: typed, computed from its runs' metrics; ``sweep.csv`` written from rows and
read back into them (for ``--resume`` and for the advice of a finished sweep)."""

import csv
import math
from dataclasses import dataclass, field, fields

import numpy as np

from . import intervals

# A cell keeps up when results came out at >= 98 % of the rate requests were due.
KEEP_UP = 0.98
PERCENTILES = (("p50", 0.5), ("p99", 0.99))
# Columns written blank, not "unknown", where there are too few requests for a bound.
BLANK_WHEN_NONE = {f"{name}_ci_{side}_ms" for name, _ in PERCENTILES for side in ("low", "high")}


@dataclass
class Row:
    """One cell of a sweep: its settings and what its runs measured (None: unknown)."""

    cell: str
    device: str
    batch: int
    batching: bool  # whether the compiled model may batch; False: timeout_ms is n/a
    timeout_ms: float = None
    labels: dict = field(default_factory=dict)  # the other keys that vary, as given
    arrival: str = ""
    interval_ms: float = None
    offered_per_s: float = None  # nominal; inf: all due at once
    due_per_s: float = None  # as the schedule's draws came out
    achieved_per_s: float = None
    achieved_min_per_s: float = None
    achieved_max_per_s: float = None
    keeps_up: bool = None
    p50_ms: float = None  # over the pooled requests of the repeats
    p50_ci_low_ms: float = None
    p50_ci_high_ms: float = None
    p50_min_ms: float = None  # over the repeats' own p50s
    p50_max_ms: float = None
    p99_ms: float = None
    p99_ci_low_ms: float = None
    p99_ci_high_ms: float = None
    p99_min_ms: float = None
    p99_max_ms: float = None
    p99_needed_requests: int = None  # for a bound on p99, at these runs' dependence
    max_ms: float = None
    requests: int = 0
    batched_share: object = None  # of the pooled requests: a share, a "low-high" range
    # where the labels leave requests unknown, or None
    pacing_p99_ms: float = None
    util: dict = field(default_factory=dict)  # {source: mean over the repeats}
    repeats: int = 0
    status: str = ""

    @property
    def p99_bounded(self):
        return self.p99_ci_low_ms is not None and self.p99_ci_high_ms is not None


FIELDS = {f.name: f for f in fields(Row)}
INTS = {"batch", "p99_needed_requests", "requests", "repeats"}
TEXTS = {"cell", "device", "arrival", "status"}


def _median(values):
    known = [v for v in values if isinstance(v, (int, float)) and v is not None]
    return float(np.median(known)) if known else None


def _low_high(values):
    known = [v for v in values if isinstance(v, (int, float)) and v is not None]
    return (float(min(known)), float(max(known))) if known else (None, None)


def offered_per_s(settings):
    """The nominal rate requests are due, per second (None for a replay file)."""
    from ..run import arrival
    pattern = arrival.pattern_of(settings["arrival"])
    if pattern == "replay":
        return None
    if settings["interval"] <= 0:
        return math.inf
    per = settings["burst"] if pattern == "burst" else 1
    return per * 1e3 / settings["interval"]


def cell_row(cell, measured, repeat, failures=()):
    """The row of a cell from the metrics of its finished repeats."""
    from .grid import TIMEOUT
    row = Row(cell=cell.name, device=cell.settings["device"], batch=cell.batch,
              batching=cell.batching, timeout_ms=cell.given_timeout_ms)
    timeouts = {m.timeout_ms for m in measured if m.timeout_ms is not None}
    if cell.batching and len(timeouts) == 1:
        row.timeout_ms = timeouts.pop()  # as the compiled model reported it
    row.labels = {k: v for k, v in cell.labels.items()
                  if k not in ("device", "batch", TIMEOUT, "interval", "arrival")}
    row.arrival = cell.settings["arrival"]
    row.interval_ms = float(cell.settings["interval"])
    realized = [m.offered_realized_per_s for m in measured]
    offered = offered_per_s(cell.settings)
    row.offered_per_s = _median(realized) if offered is None else offered
    row.due_per_s = _median(realized)
    achieved = [m.achieved_per_s for m in measured]
    row.achieved_per_s = _median(achieved)
    row.achieved_min_per_s, row.achieved_max_per_s = _low_high(achieved)
    ratios = [a / o for a, o in zip(achieved, realized)
              if a is not None and o and math.isfinite(o)]
    row.keeps_up = None if not ratios else bool(_median(ratios) >= KEEP_UP)
    runs = [m.latency_ms for m in measured]
    for name, p in PERCENTILES:
        pooled = intervals.pooled_percentile(runs, p)
        if pooled is not None:
            setattr(row, f"{name}_ms", pooled.value_ms)
            setattr(row, f"{name}_ci_low_ms", pooled.low_ms)
            setattr(row, f"{name}_ci_high_ms", pooled.high_ms)
            row.requests = pooled.requests
            if name == "p99":
                row.p99_needed_requests = pooled.needed
        low, high = _low_high([m.percentile_ms(p) for m in measured])
        setattr(row, f"{name}_min_ms", low)
        setattr(row, f"{name}_max_ms", high)
    sizes = [x for x in runs if x.size]
    row.max_ms = float(max(x.max() for x in sizes)) if sizes else None
    from .measure import batched_share
    row.batched_share = batched_share([m.batched for m in measured])
    row.pacing_p99_ms = _median([m.pacing_p99_ms for m in measured])
    for source in sorted({k for m in measured for k in m.utilization}):
        row.util[source] = _median([m.utilization.get(source) for m in measured])
    row.repeats = len(measured)
    row.status = (("failed: " + failures[0]) if failures else
                  "done" if len(measured) >= repeat else
                  f"partial ({len(measured)} of {repeat})")
    return row


# ---------------------------------------------------------------- the CSV

def columns_of(row):
    """``{column: value}`` of a row in the CSV's order: the labels after the timeout, the
    utilization means (``util_<source>_mean``) before the repeats."""
    out = {}
    for name in FIELDS:
        if name == "labels":
            out.update(row.labels)
        elif name == "util":
            out.update({f"util_{source}_mean": v for source, v in row.util.items()})
        elif name == "batching":
            continue  # the timeout column says it: n/a where the model cannot batch
        else:
            out[name] = getattr(row, name)
    if not row.batching:
        out["timeout_ms"] = "n/a"
    return out


def _text(name, value, blank=BLANK_WHEN_NONE):
    if value is None:
        return "" if name in blank else "unknown"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"
    return str(value)


def write_rows(rows, path):
    """sweep.csv: one row a cell; an unknown value is "unknown", a missing bound blank."""
    write_table([columns_of(r) for r in rows], path)


def write_table(table, path, blank=BLANK_WHEN_NONE):
    """A CSV of ``[{column: value}]``, columns in the order they first appear; None is
    blank in the ``blank`` columns, "unknown" in the others."""
    from ..files import atomic_write
    names = list(dict.fromkeys(k for cols in table for k in cols))

    def write(f):
        w = csv.writer(f)
        w.writerow(names)
        w.writerows([_text(n, cols.get(n), blank) for n in names] for cols in table)

    atomic_write(path, write)


def _number(text, kind=float):
    if text in ("", "unknown", "n/a", None):
        return None
    try:
        return kind(float(text)) if kind is int else float(text)
    except ValueError:  # a text an earlier version wrote, e.g. a timeout "default"
        return None


def _value(name, text):
    if name in TEXTS:
        return text
    if name == "keeps_up":
        return {"True": True, "False": False}.get(text)
    if name == "batched_share":
        try:
            return float(text)
        except ValueError:
            return None if text in ("", "unknown") else text
    return _number(text, int if name in INTS else float)


def read_rows(path):
    """sweep.csv back as Rows (columns this version does not know become labels)."""
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    rows = []
    for cols in table:
        known, labels, util = {}, {}, {}
        for name, text in cols.items():
            if name == "timeout_ms":
                known["batching"] = text != "n/a"
                known[name] = _number(text)
            elif name in FIELDS and name not in ("labels", "util", "batching"):
                known[name] = _value(name, text)
            elif name.startswith("util_") and name.endswith("_mean"):
                util[name[len("util_"):-len("_mean")]] = _number(text)
            else:
                labels[name] = text
        rows.append(Row(labels=labels, util=util, **known))
    return rows
