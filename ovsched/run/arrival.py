"""When each request is due: the arrival pattern of a run.

``--arrival`` takes one of

- ``fixed``: request i due at ``i * interval`` (a metronome; the default);
- ``poisson``: exponential gaps with mean ``interval``, drawn from
  ``numpy.random.default_rng(seed)``, so a seed gives the same schedule every time;
- ``burst``: ``burst`` requests due together, one group every ``interval``;
- the path of a replay file of due times in milliseconds (see :func:`read_replay`).

Pattern names win over file names: a replay file called ``fixed`` is given as ``./fixed``.

Due times are seconds from the run's start, non-decreasing. The first request is due at 0
for ``fixed``, ``burst`` and ``poisson``: the run's clock starts with its first request, as
a recorded trace's does, so no run opens with idle time and ``niter`` requests span
``niter - 1`` gaps for every pattern. A replay file keeps its own origin (see
:func:`read_replay`).
"""

import csv
import difflib
import math
import os

import numpy as np

from ..errors import UsageError

PATTERNS = ("fixed", "poisson", "burst")
# A first due time this late is almost surely a clock reading (epoch ms), not an offset.
MAX_FIRST_DUE_MS = 3_600_000.0
REPLAY_FORMAT = ("one number of milliseconds a line (# starts a comment), or a CSV with a "
                 "due_ms column")


def pattern_of(arrival):
    """The pattern name (``fixed``, ``poisson``, ``burst``) or ``replay`` for a file path."""
    name = arrival.strip().lower()
    if name in PATTERNS:
        return name
    if os.path.exists(arrival) or _looks_like_path(arrival):
        return "replay"
    match = difflib.get_close_matches(name, PATTERNS, n=1, cutoff=0.6)
    hint = f" (did you mean {match[0]}?)" if match else ""
    raise UsageError(f"--arrival={arrival!r} is neither a pattern nor a file{hint}; use fixed, "
                     f"poisson, burst, or the path of a replay file of due times in ms")


def _looks_like_path(text):
    return any(sep in text for sep in ("/", "\\", os.sep)) or bool(os.path.splitext(text)[1])


def due_times_s(arrival, niter, interval_ms, seed=0, burst=1):
    """Due time of each of ``niter`` requests, in seconds from the run's start."""
    pattern = pattern_of(arrival)
    interval_s = interval_ms / 1e3
    index = np.arange(niter)
    if pattern == "fixed":
        return index * interval_s
    if pattern == "burst":
        return (index // burst) * interval_s
    if pattern == "poisson":
        gaps_s = np.random.default_rng(seed).exponential(interval_s, size=max(niter - 1, 0))
        return np.concatenate(([0.0], np.cumsum(gaps_s)))[:niter]
    due_ms = read_replay(arrival)
    if niter > len(due_ms):
        raise UsageError(f"--niter={niter} is more than the {len(due_ms)} due times in replay "
                         f"file {arrival}; leave niter out to replay them all, or give fewer")
    return due_ms[:niter] / 1e3


def read_replay(path):
    """Due times in milliseconds from a replay file, in the file's order.

    The file holds one number a line (``#`` starts a comment; blank lines are skipped),
    or is a CSV whose first line is a header with a ``due_ms`` column. Times must be 0 or
    more and never go back; equal times are requests due together.

    The times keep the file's own origin: a first time of 500 means the first request is
    due 500 ms after the run starts. The file says when each request is due, and a trace
    cut from the middle of a recording, or one that opens with a quiet spell, is replayed
    as written; subtract the first time in the file to start at once.
    """
    lines = _read_lines(path)
    rows = [(n, line) for n, line in enumerate(lines, start=1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise UsageError(f"replay file {path} holds no due times; give {REPLAY_FORMAT}")
    header_no, header = rows[0]
    cells = [cell.strip().strip('"').strip() for cell in next(csv.reader([header]))]
    column = cells.index("due_ms") if "due_ms" in cells else None
    if column is not None:
        rows = rows[1:]
        if not rows:
            raise UsageError(f"replay file {path} has a due_ms header (line {header_no}) but "
                             f"no rows below it; add one due time in ms a row")
    elif "," in header and any(c.isalpha() for c in header.split("#", 1)[0]):
        raise UsageError(f"replay file {path}, line {header_no}: a CSV needs a due_ms column; "
                         f"its header has {', '.join(cells)}")
    due_ms = np.empty(len(rows))
    for k, (n, line) in enumerate(rows):
        text = line.split("#", 1)[0].strip() if column is None else _cell(path, n, line, column)
        due_ms[k] = _number(path, n, text, column is not None)
        if due_ms[k] < 0:
            raise UsageError(f"replay file {path}, line {n}: due time {text} ms is negative; "
                             f"times are ms from the run's start, 0 or more")
        if k and due_ms[k] < due_ms[k - 1]:
            raise UsageError(f"replay file {path}, line {n}: due time {text} ms comes before "
                             f"the one on line {rows[k - 1][0]} ({due_ms[k - 1]:g} ms); "
                             f"sort the times")
    if due_ms[0] > MAX_FIRST_DUE_MS:
        raise UsageError(f"replay file {path}, line {rows[0][0]}: the first due time is "
                         f"{due_ms[0]:g} ms, over an hour after the start; times are ms from "
                         f"the run's start, not clock readings: subtract the first one")
    return due_ms


def _read_lines(path):
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: spreadsheets write a BOM
            return f.read().splitlines()
    except FileNotFoundError:
        raise UsageError(f"replay file {path} not found; give --arrival=fixed, poisson, burst "
                         f"or the path of an existing file") from None
    except IsADirectoryError:
        raise UsageError(f"replay file {path} is a folder; give the path of a file of due "
                         f"times") from None
    except UnicodeDecodeError:
        raise UsageError(f"replay file {path} is not text; give {REPLAY_FORMAT}") from None
    except OSError as e:
        raise UsageError(f"cannot read replay file {path} ({e.strerror}); check the path "
                         f"and its permissions") from None


def _cell(path, n, line, column):
    cells = next(csv.reader([line]))
    if column >= len(cells):
        raise UsageError(f"replay file {path}, line {n}: no due_ms cell in {line.strip()!r}; "
                         f"give every row a due_ms value")
    return cells[column].strip()


def _is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _number(path, n, text, is_csv):
    if not _is_number(text):
        what = "due_ms cell" if is_csv else "line"
        raise UsageError(f"replay file {path}, line {n}: {text!r} is not a number of ms; give "
                         f"each {what} one number, e.g. 12.5")
    return float(text)


def resolve(settings, given=()):
    """Check the arrival settings and build the schedule: ``(due_s, notes)``.

    ``settings`` holds ``arrival``, ``niter``, ``interval`` (ms), ``seed`` and ``burst``;
    ``given`` names the keys the user set, so that a replay file can default ``niter`` to
    its length and say that a given ``interval`` does not apply. ``len(due_s)`` is the
    number of requests to run; ``notes`` are lines to print before the run.
    """
    arrival = settings.get("arrival", "fixed")
    niter = settings["niter"]
    seed = settings.get("seed", 0)
    burst = settings.get("burst", 1)
    if not _is_int(seed) or seed < 0:
        raise UsageError(f"--seed={seed!r}: the seed is a whole number, 0 or more, e.g. --seed=1")
    if not _is_int(burst) or burst < 1:
        raise UsageError(f"--burst={burst!r}: requests due together is a whole number, 1 or "
                         f"more, e.g. --burst=4")
    pattern = pattern_of(arrival)
    notes = []
    if pattern != "poisson" and "seed" in given and settings.get("input") != "random":
        # the seed also draws random input data (model_inputs): only say it is unused
        # when neither uses it
        notes.append(f"--seed applies to --arrival=poisson and --input=random; used by "
                     f"neither here ({pattern}, input {settings.get('input')})")
    if pattern != "burst" and "burst" in given:
        notes.append(f"--burst applies only to --arrival=burst; ignored for {pattern}")
    if pattern != "replay":
        interval = settings["interval"]
        if not math.isfinite(interval) or interval < 0:
            raise UsageError(f"--interval={interval}: the time between requests (ms) is a "
                             f"number, 0 or more")
        return due_times_s(arrival, niter, settings["interval"], seed, burst), notes
    if "interval" in given:
        notes.append(f"--interval does not apply to a replay: the due times come from {arrival}")
    if "niter" not in given:
        niter = len(read_replay(arrival))
    return due_times_s(arrival, niter, 0.0), notes


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def describe(settings):
    """The arrival pattern in a few words, for the summary and a figure's title."""
    arrival = settings.get("arrival", "fixed")
    interval = settings.get("interval", 0)
    pattern = pattern_of(arrival)
    if pattern == "fixed":
        return f"fixed, every {interval:g} ms"
    if pattern == "poisson":
        return f"poisson, mean {interval:g} ms, seed {settings.get('seed', 0)}"
    if pattern == "burst":
        return f"burst of {settings.get('burst', 1)} every {interval:g} ms"
    return f"replay of {os.path.basename(arrival)}"
