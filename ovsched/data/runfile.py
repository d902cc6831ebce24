"""The run file format: ``summary.json`` and ``records.csv``, written in the newest format
and read from every earlier one.

``summary.json`` starts with ``"format_version"`` (``parts.FORMAT_VERSION``); the version
covers ``records.csv`` too. A file without the key was written before versions existed
(version 0); ``upgrade`` brings it to the newest shape, so every view reads one shape:

- version 0 (2026-11-24 to 2026-11-29): ``batches`` held the batch count twice (``count`` and
  ``batches``) and the batched requests twice (``requests_batched`` and ``batched``): one
  name each is kept, ``count`` and ``requests_batched``. A run without ``arrival`` ran on a
  metronome: ``"fixed, every N ms"`` from its ``interval``. ``records.csv`` keeps the
  columns it has; one it lacks reads as ``records.MISSING`` says (``ran``: ``batched`` where
  a batch id was given, ``""`` (no claim) elsewhere; ``queue_wait_ms``: NaN, not recorded,
  so neither it nor the pacing derived from it is known). Everything else such a run lacks
  (machine, utilization, model format, pacing, own cost, ...) loads as None, and
  ``Summary.lacks`` names it.

``to_json`` / ``from_json`` turn any dataclass of ``parts`` into JSON values and back,
generically: nested dataclasses, ``List[X]``, ``Dict[str, X]``, ``Optional[X]``; other values
as they are. A part's ``extra`` keeps the keys it does not know, written back after its own.
"""

import csv
import json
import math
import os

import numpy as np

from ..errors import UsageError
from ..files import atomic_write
from ..utilization.data import read_csv
from .convert import from_json, to_json
from .parts import FORMAT_VERSION, Summary
from .records import COLUMNS, DERIVED, FINE_COLUMNS, INT_COLUMNS, TEXT_COLUMNS, Run

# ---------------------------------------------------------------- older versions

def upgrade(data, columns=None):
    """Bring a summary dict (and the records' ``columns``, when given) from the version it
    was written in to FORMAT_VERSION; return the summary dict. See the module docstring."""
    version = data.get("format_version", 0)
    if not isinstance(version, int) or version < 0:
        raise ValueError(f"format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise UsageError(f"this run was saved by a newer ovsched (run format {version}; "
                         f"this one reads up to {FORMAT_VERSION}): update ovsched to read it")
    data = dict(data)
    if version == 0:
        data = _from_version_0(data)
    data["format_version"] = FORMAT_VERSION
    return data



def _from_version_0(data):
    batches = data.get("batches")
    if isinstance(batches, dict):
        batches = dict(batches)
        for old, new in (("batches", "count"), ("batched", "requests_batched")):
            if old in batches:
                value = batches.pop(old)
                batches.setdefault(new, value)
        data["batches"] = batches
    if not data.get("arrival"):
        interval = (data.get("settings") or {}).get("interval")
        if isinstance(interval, (int, float)) and not isinstance(interval, bool):
            data["arrival"] = f"fixed, every {interval:g} ms"
    return data


# ---------------------------------------------------------------- summary.json

def summary_to_json(summary):
    """The summary as the dict ``summary.json`` holds, ``format_version`` first."""
    data = to_json(summary)
    data["format_version"] = FORMAT_VERSION
    return {"format_version": FORMAT_VERSION,
            **{k: v for k, v in data.items() if k != "format_version"}}


def summary_from_json(data, columns=None):
    """A Summary from the dict of any version's ``summary.json`` (upgraded on the way);
    its ``lacks`` names what an earlier version did not record."""
    if not isinstance(data, dict):
        raise ValueError("summary.json does not hold a JSON object")
    had = set(columns) if columns is not None else None
    summary = from_json(Summary, upgrade(data, columns))
    if data.get("format_version", 0) < FORMAT_VERSION:
        summary.lacks = lacking(data, summary, had)
    return summary


def lacking(original, summary, columns=None):
    """What a saved run does not know because the version that wrote it did not record it
    (short phrases, for the terminal and the figures)."""
    lacks = []
    if columns is not None and "ran" not in columns:
        lacks.append("exact batch labels (batch ids only)")
    if columns is not None and "queue_wait_ms" not in columns:
        lacks.append("the wait for a queue slot and pacing")
    if summary.breakdown is None:
        lacks.append("where each request's time went")
    if summary.model is not None and summary.model.format is None:
        lacks.append("model format and shapes")
    for name, what in (("machine", "the machine"), ("utilization", "device utilization"),
                       ("own_cpu", "the tool's own CPU cost")):
        if getattr(summary, name) is None:
            lacks.append(what)
    return lacks


def write_json(data, path):
    """Write ``data`` (a Summary, dataclass or plain values) as JSON; a Summary starts with
    ``format_version``. (A trace, large and plain, goes through ``write_trace``.)"""
    if isinstance(data, Summary):
        data = summary_to_json(data)
    data = to_json(data)
    atomic_write(path, lambda f: json.dump(data, f, indent=2))


def write_trace(trace, path, chunk=2000):
    """Write a trace-event dict compactly, its ``traceEvents`` (a list or an iterator)
    encoded a few thousand events at a time: a long run's trace is never held whole, as
    objects or as text."""
    rest = {k: v for k, v in trace.items() if k != "traceEvents"}
    encode = json.JSONEncoder(separators=(",", ":")).encode

    def write(f):
        f.write('{"traceEvents":[')
        events = iter(trace.get("traceEvents", ()))
        first = True
        while True:
            block = [encode(e) for _, e in zip(range(max(chunk, 1)), events)]
            if not block:
                break
            f.write(("" if first else ",") + ",".join(block))
            first = False
        f.write("]" + ("," + encode(rest)[1:] if rest else "}"))

    atomic_write(path, write)


# ---------------------------------------------------------------- records.csv

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
    """``records.csv``: the known columns in their order, then any others (numbers)."""
    names = [c for c in COLUMNS if c in run] + [c for c in run.columns if c not in COLUMNS]

    def write(f):
        w = csv.writer(f)
        w.writerow(names)
        cols = [run[c].tolist() for c in names]
        w.writerows([_cell(n, v) for n, v in zip(names, row)] for row in zip(*cols))

    atomic_write(path, write)


def read_columns(path):
    """The columns of a ``records.csv`` as arrays (text, whole or float numbers by name;
    an unknown column as floats, an empty cell as NaN)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError("records.csv is empty")
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
            columns[name] = np.asarray([float(v) if v else math.nan for v in values],
                                       dtype=float)
    return columns


def read_summary_file(path, columns=None):
    with open(path, encoding="utf-8") as f:
        return summary_from_json(json.load(f), columns)


def read_run(folder):
    """A saved run of any version (``records.csv``, ``summary.json`` and, when there, the
    samples of ``utilization.csv``), upgraded, without OpenVINO."""
    columns = read_columns(os.path.join(folder, "records.csv"))
    summary = read_summary_file(os.path.join(folder, "summary.json"), columns)
    samples = os.path.join(folder, "utilization.csv")
    return Run(columns, summary, read_csv(samples) if os.path.isfile(samples) else None)
