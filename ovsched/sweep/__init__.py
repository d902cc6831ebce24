"""Sweep a grid of batching settings and say which one suits a request rate, measured.

    python -m ovsched sweep --device=CPU --batch=1,4,16 --AUTO_BATCH_TIMEOUT=10,100,1000 \\
        --interval=5,20,100 --arrival=poisson --niter=300 --out=sweeps/cpu

Every setting and property of ``auto-test.py`` may be given as ``--key=value``, starting
from the settings block of ``./auto-test.py`` when the current folder has it, else from the
block as shipped. A value may be a list: numbers with commas (``--interval=5,20,100``), any
value with ``;`` (``--device='AUTO:GPU,CPU;CPU'``: commas belong to device strings and
shapes). The lists span a grid; each cell is a normal run of the batching timeline,
repeated ``repeat`` times in rounds (every cell once, then every cell again), each into a
folder of its own.

Sweep keys: ``--batch=1,4,16`` (1 = no batching; N runs ``BATCH:DEVICE(N)``),
``--repeat=3``, ``--p99_ms=BUDGET`` (advise the highest throughput within it),
``--out=FOLDER`` (default sweeps/<time>), ``--resume`` (finish the sweep in ``--out``),
``--yes`` (run a grid of more than 500 cells).
"""

import csv
import datetime
import itertools
import json
import math
import os
import re
import runpy
import sys
import time
from dataclasses import dataclass, field

from ..derive import device_names
from ..run import devices, schema
from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Interrupted, RunError
from ..run.settings import UsageError, apply_overrides, check_settings, script_settings, split_args

SCRIPT = schema.SCRIPTS["timeline"]
MAX_CELLS = 500
# A cell keeps up when results came out at >= 98 % of the rate requests were due.
KEEP_UP = 0.98
TIMEOUT = "AUTO_BATCH_TIMEOUT"
SWEEP_KEYS = ("batch", "repeat", "p99_ms", "out")
FLAGS = ("--yes", "--resume")
# Settings a sweep decides itself: a window per cell, and one folder per cell.
NOT_SWEPT = ("show",)
NUMBER_KEYS = ("batch", "repeat", "p99_ms") + devices.COUNT_PROPERTIES
STATE = "sweep.json"
# Requests whose pairs give the delay's trend: 1500 make ~1.1 M pairs, a fraction of a second.
MAX_TREND_POINTS = 1500
SHORT = {TIMEOUT: "timeout", "PERFORMANCE_HINT": "hint"}
LATENCY_STATS = (("p50", "median"), ("p99", "p99"), ("max", "max"))


def script_defaults(folder=None):
    """The defaults a sweep starts from, and where they came from: the settings block of
    ``auto-test.py`` in ``folder`` (the current one) when it is there, as a user who edited
    that block expects; else the timeline's defaults as shipped (the settings schema)."""
    path = os.path.join(folder or os.getcwd(), SCRIPT)
    if not os.path.isfile(path):
        return (schema.defaults("timeline"), schema.properties("timeline"),
                f"{SCRIPT}'s settings block as shipped (no {SCRIPT} in this folder)")
    try:
        namespace = runpy.run_path(path)  # as a module: its main() does not run
        settings = script_settings(namespace)
        properties = dict(namespace["properties"])
    except Exception as e:  # any fault of the user's file is one line
        raise UsageError(f"cannot read the settings block of {path} ({type(e).__name__}: "
                         f"{' '.join(str(e).split())}); fix it, or run the sweep from another "
                         f"folder") from None
    return settings, properties, f"the settings block of {path}"


# ---------------------------------------------------------------- the grid

@dataclass
class Grid:
    """The lists given on the command line and the sweep's own options."""

    axes: list  # [(key, [text, ...])] in the order given
    batch: list
    repeat: int = 3
    p99_ms: float = None
    out: str = ""
    yes: bool = False
    resume: bool = False
    given: set = field(default_factory=set)


@dataclass
class Cell:
    """One point of the grid: the settings and properties of its runs."""

    index: int
    settings: dict
    properties: dict
    batch: int
    batching: bool  # whether the compiled model may batch (explicitly or implicitly)
    labels: dict  # the grid's values of this cell, by key, as text
    varying: tuple = ()  # the keys whose lists hold more than one value

    @property
    def key(self):
        return json.dumps({"settings": {k: v for k, v in self.settings.items() if k != "out"},
                           "properties": self.properties}, sort_keys=True, default=str)

    @property
    def name(self):
        """Folder name: the index, the device, and the values of the keys that vary."""
        words = [self.settings["device"]] + [f"{SHORT.get(k, k)}{v}"
                                             for k, v in self.labels.items()
                                             if k in self.varying and k not in ("device",
                                                                                "batch")]
        words = [re.sub(r"[^A-Za-z0-9.]+", "-", w).strip("-") for w in words]
        return f"{self.index:03d}_" + "_".join(words)

    @property
    def timeout_text(self):
        return self.properties.get(TIMEOUT, "default") if self.batching else "n/a"


def split_list(key, text, numeric):
    """The items of one ``--key=value``: ``;`` separates any values, ``,`` numbers."""
    if ";" in text:
        items = text.split(";")
    elif numeric and "," in text:
        items = text.split(",")
    else:
        items = [text]
    items = [item.strip() for item in items]
    if len(items) > 1 and not all(items):
        raise UsageError(f"--{key}={text}: an empty item in the list; give one value between "
                         f"separators, e.g. --{key}={'5,20' if numeric else 'A;B'}")
    if numeric:
        if items == [""]:
            raise UsageError(f"--{key}= is an empty list; give at least one value, e.g. "
                             f"--{key}=5,20")
        for item in items:
            if not _is_number(item):
                raise UsageError(f"--{key}={text}: {item!r} is not a number; list numbers with "
                                 f"commas, e.g. --{key}=5,20,100")
    return items


def _is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def parse_grid(argv, defaults, properties):
    """Read the sweep's command line into a Grid; refuse what no sweep can run."""
    words = list(argv)
    flags = {flag: flag in words for flag in FLAGS}
    words = [w for w in words if w not in FLAGS]
    pairs = split_args(words)
    grid = Grid(axes=[], batch=[1], yes=flags["--yes"], resume=flags["--resume"])
    for key, text in pairs:
        if key in NOT_SWEPT:
            raise UsageError(f"--{key} does not apply to a sweep: its cells run without a window; "
                             f"leave it out")
        numeric = key in NUMBER_KEYS or (
            key in defaults and isinstance(defaults[key], (int, float))
            and not isinstance(defaults[key], bool))
        if key == "out":
            grid.out = text
            continue
        items = split_list(key, text, numeric)
        if key in ("repeat", "p99_ms") and len(items) > 1:
            raise UsageError(f"--{key}={text}: give one value, not a list")
        if key == "batch":
            grid.batch = [_whole(key, item, 1) for item in items]
            grid.given.add(key)
        elif key == "repeat":
            grid.repeat = _whole(key, items[0], 1)
        elif key == "p99_ms":
            grid.p99_ms = float(items[0])
            if grid.p99_ms <= 0:
                raise UsageError(f"--p99_ms={text}: the latency budget is a number of ms above "
                                 f"0, e.g. --p99_ms=50")
        else:
            for item in items:  # each value is checked as a run would check it
                apply_overrides([(key, item)], defaults, properties)
            grid.axes.append((key, items))
            grid.given.add(key)
    return grid


def _whole(key, text, least):
    value = float(text)
    if not value.is_integer() or value < least:
        hint = " (1 = no batching), e.g. --batch=1,4,16" if key == "batch" else \
            f", e.g. --{key}=3"
        raise UsageError(f"--{key}={text}: give whole numbers >= {least}{hint}")
    return int(value)


def batched_device(device, batch):
    """``device`` run with automatic batching of ``batch`` requests (1: as it is)."""
    device = device.strip()
    if batch == 1:
        return device
    head = device.partition(":")[0]
    if head == "BATCH":
        raise UsageError(f"--device={device} --batch={batch}: the device batches already; give "
                         f"a plain device with --batch, or leave --batch out")
    if head in device_names.VIRTUAL_DEVICES:
        raise UsageError(f"--device={device} --batch={batch}: automatic batching needs a real "
                         f"device, not {head}; e.g. --device=CPU --batch={batch}")
    return f"BATCH:{device}({batch})"


def may_batch(device, properties):
    """Whether a compiled model of ``device`` may batch: BATCH:, or a GPU's THROUGHPUT hint."""
    if device.startswith("BATCH:"):
        return True
    hint = str(properties.get("PERFORMANCE_HINT", "")).upper()
    allowed = str(properties.get("ALLOW_AUTO_BATCHING", "YES")).upper() in ("YES", "TRUE")
    return "GPU" in device and hint == "THROUGHPUT" and allowed


def make_cells(grid, defaults, properties):
    """Every cell of the grid, in order; the timeout is not repeated where nothing batches."""
    axes = list(grid.axes)
    # batch right after device: cells of one device and batch size come together
    at = next((k + 1 for k, (key, _) in enumerate(axes) if key == "device"), 0)
    axes.insert(at, ("batch", grid.batch))
    keys = [k for k, _ in axes]
    varying = tuple(k for k, items in axes if len(items) > 1)
    cells, seen = [], set()
    for values in itertools.product(*[items for _, items in axes]):
        batch = values[at]
        pairs = [(k, v) for k, v in zip(keys, values) if k != "batch"]
        settings, props = apply_overrides(pairs, defaults, properties)
        settings["show"] = False
        settings["device"] = batched_device(settings["device"], batch)
        batching = may_batch(settings["device"], props)
        labels = dict(pairs)
        if not batching:
            props.pop(TIMEOUT, None)
            labels.pop(TIMEOUT, None)
        cell = Cell(len(cells), settings, props, batch, batching, labels, varying)
        if cell.key not in seen:
            seen.add(cell.key)
            cells.append(cell)
    if not cells:
        raise UsageError("the grid is empty; give at least one value for each key")
    if len(cells) > MAX_CELLS and not grid.yes:
        raise UsageError(f"the grid has {len(cells)} cells (over {MAX_CELLS}); give --yes to "
                         f"run them all, or list fewer values")
    return cells


def check_cells(cells, given):
    """Refuse a cell no run could use, before the first one runs."""
    from ..run import arrival
    for cell in cells:
        settings = check_settings(dict(cell.settings))
        arrival.resolve(settings, given)
        devices.check_properties(cell.properties)


# ---------------------------------------------------------------- measuring a run

def rates_per_s(scheduled_s, completed_s):
    """``(offered, achieved)``: the rates requests were due and results came out, per s.

    Results come out at the due rate, shifted by each request's delay from due to
    completed; a device that falls behind makes that delay grow along the run. The delay's
    trend (a Theil-Sen slope: the median of the slopes between pairs of requests) gives
    achieved = offered / (1 + slope): exact for a queue that grows steadily, and unmoved by
    the few requests at the end of a finite run that wait for a batch timeout. None when a
    request never completed (an interrupted run); offered is inf when all are due at once."""
    import numpy as np
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


def batched_share(summary, run):
    """Share of completed requests that ran in a full batch: a number, a range, or unknown."""
    import numpy as np
    batches = summary.get("batches") or {}
    if batches.get("batched_share") is not None:
        return batches["batched_share"]
    if not (summary.get("batching") or {}).get("batching"):
        return 0.0  # the compiled model is not a BATCH one: nothing ran batched
    if "ran" not in run.columns:
        return "unknown"
    ran = np.asarray(run.columns["ran"], dtype=object)
    ran = ran[ran != ""]
    if not ran.size:
        return "unknown"
    low = float(np.mean(ran == "batched"))
    high = float(np.mean((ran == "batched") | (ran == "unknown")))
    return low if low == high else f"{low:.2f}-{high:.2f}"


def utilization_means(summary):
    """Mean of each utilization source the run sampled, by name."""
    util = summary.get("utilization")
    if not isinstance(util, dict):
        return {}
    sources = util.get("summary", util)
    return {name: v["mean"] for name, v in sources.items()
            if isinstance(v, dict) and isinstance(v.get("mean"), (int, float))}


def repeat_metrics(run):
    """What one run of a cell measured, from its records and summary."""
    s = run.summary
    offered, achieved = rates_per_s(run["scheduled_s"], run["completed_s"])
    latency = s["stats"]["latency_ms"]
    metrics = {f"{name}_ms": latency[key] for name, key in LATENCY_STATS}
    metrics.update(offered_realized_per_s=offered, achieved_per_s=achieved,
                   batched_share=batched_share(s, run),
                   pacing_p99_ms=(s["stats"].get("pacing_ms") or {}).get("p99"),
                   timeout_ms=(s.get("batching") or {}).get("timeout_ms"),
                   utilization=utilization_means(s))
    return metrics


# ---------------------------------------------------------------- one row a cell

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


def _spread(values):
    import numpy as np
    known = [v for v in values if isinstance(v, (int, float)) and v is not None]
    if not known:
        return None, None, None
    return float(np.median(known)), float(min(known)), float(max(known))


def cell_row(cell, measured, repeat, failures=()):
    """The CSV row of a cell from the metrics of its finished repeats."""
    row = {"cell": cell.name, "device": cell.settings["device"], "batch": cell.batch}
    row["timeout_ms"] = cell.timeout_text
    timeouts = {m["timeout_ms"] for m in measured if m["timeout_ms"] is not None}
    if cell.batching and len(timeouts) == 1:
        row["timeout_ms"] = timeouts.pop()  # as the compiled model reported it
    for key, value in cell.labels.items():
        if key not in ("device", "batch", TIMEOUT, "interval", "arrival"):
            row[key] = value
    row["arrival"] = cell.settings["arrival"]
    row["interval_ms"] = cell.settings["interval"]
    offered = offered_per_s(cell.settings)
    realized = [m["offered_realized_per_s"] for m in measured]
    if offered is None:
        offered = _spread(realized)[0]
    row["offered_per_s"] = offered
    row["due_per_s"] = _spread(realized)[0]  # as this schedule's draws came out
    achieved = [m["achieved_per_s"] for m in measured]
    row["achieved_per_s"], row["achieved_min_per_s"], row["achieved_max_per_s"] = \
        _spread(achieved)
    ratios = [a / o for a, o in zip(achieved, realized)
              if a is not None and o and math.isfinite(o)]
    row["keeps_up"] = (None if not ratios else
                       bool(_spread(ratios)[0] >= KEEP_UP))
    for name, _ in LATENCY_STATS:
        row[f"{name}_ms"], row[f"{name}_min_ms"], row[f"{name}_max_ms"] = \
            _spread([m[f"{name}_ms"] for m in measured])
    shares = [m["batched_share"] for m in measured]
    numbers = [v for v in shares if isinstance(v, (int, float))]
    row["batched_share"] = (_spread(numbers)[0] if numbers and len(numbers) == len(shares)
                            else (shares[0] if shares else None))
    row["pacing_p99_ms"] = _spread([m["pacing_p99_ms"] for m in measured])[0]
    sources = sorted({k for m in measured for k in m["utilization"]})
    for source in sources:
        row[f"util_{source}_mean"] = _spread([m["utilization"].get(source)
                                              for m in measured])[0]
    row["repeats"] = len(measured)
    row["status"] = ("failed: " + failures[0]) if failures else \
        ("done" if len(measured) >= repeat else f"partial ({len(measured)} of {repeat})")
    return row


def write_rows(rows, path):
    """sweep.csv: one row a cell; unknown values are written as "unknown"."""
    from ..files import atomic_write
    names = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value):
        if value is None:
            return "unknown"
        if isinstance(value, float):
            return "inf" if math.isinf(value) else f"{value:.4g}" if abs(value) < 1e4 \
                else f"{value:.1f}"
        return str(value)

    def write(f):
        w = csv.writer(f)
        w.writerow(names)
        w.writerows([cell(row.get(n)) for n in names] for row in rows)

    atomic_write(path, write)


def read_rows(path):
    """sweep.csv back as dicts of text."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- advice

def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def describe_cell(row):
    """'BATCH:CPU(4), timeout 100 ms' or 'CPU (no batching)'."""
    if str(row.get("timeout_ms")) == "n/a":
        return f"{row['device']} (no batching)"
    return f"{row['device']}, timeout {row['timeout_ms']} ms"


def overlap(a, b, name):
    """Whether two rows' ranges of ``name`` over their repeats overlap."""
    lo_a, hi_a = _num(a.get(f"{name}_min_ms")), _num(a.get(f"{name}_max_ms"))
    lo_b, hi_b = _num(b.get(f"{name}_min_ms")), _num(b.get(f"{name}_max_ms"))
    if None in (lo_a, hi_a, lo_b, hi_b):
        return True
    return lo_a <= hi_b and lo_b <= hi_a


def _keeps_up(row):
    return str(row.get("keeps_up")) == "True"


def _p99(row):
    return _num(row.get("p99_ms"))


def _rate_text(rate):
    return "as fast as possible" if math.isinf(rate) else f"{rate:g}/s"


def by_offered_rate(rows):
    """Rows grouped by their offered rate, in increasing order."""
    groups = {}
    for row in rows:
        rate = _num(row.get("offered_per_s"))
        if rate is not None and _p99(row) is not None:
            groups.setdefault(rate, []).append(row)
    return dict(sorted(groups.items()))


def best_keeping_up(rows):
    """The row with the lowest p99 among those that keep up, or None."""
    kept = [r for r in rows if _keeps_up(r)]
    return min(kept, key=_p99) if kept else None


def advise(rows, p99_budget_ms=None):
    """Per offered rate, the advice lines: ``[(rate, best_cell_or_None, [lines])]``.

    Without a budget: the lowest p99 that keeps up, beside no batching. With one: the
    highest achieved throughput whose p99 fits."""
    advice = []
    for rate, group in by_offered_rate(rows).items():
        head = f"offered {_rate_text(rate)}:"
        if p99_budget_ms is not None:
            best, lines = _within_budget(group, p99_budget_ms, head)
        else:
            best, lines = _lowest_p99(group, head)
        advice.append((rate, best["cell"] if best else None, lines))
    return advice


def _row_text(row):
    due = _num(row.get("due_per_s"))
    of = f" of {due:.1f}/s due" if due is not None and math.isfinite(due) else ""
    return (f"{describe_cell(row)} [{row['cell']}]: p99 {_p99(row):.1f} ms "
            f"({_num(row['p99_min_ms']):.1f}-{_num(row['p99_max_ms']):.1f}), p50 "
            f"{_num(row['p50_ms']):.1f} ms, achieved {_num(row['achieved_per_s']):.1f}/s{of}")


def _lowest_p99(group, head):
    best = best_keeping_up(group)
    plain = [r for r in group if str(r.get("timeout_ms")) == "n/a"]
    base = best_keeping_up(plain) or (min(plain, key=_p99) if plain else None)
    if best is None:
        top = max(group, key=lambda r: _num(r.get("achieved_per_s")) or 0)
        return None, [f"{head} no setting keeps up (achieved >= {KEEP_UP:.0%} of offered); "
                      f"the most came from {describe_cell(top)} [{top['cell']}]: "
                      f"{_num(top.get('achieved_per_s')) or 0:.1f}/s"]
    lines = [f"{head} lowest p99 that keeps up: {_row_text(best)}"]
    if base is None:
        lines.append("  no cell without batching was measured at this rate")
    elif base is best:
        lines.append("  batching does not help here: no batched setting that keeps up has a "
                     "lower p99 than no batching")
    elif not _keeps_up(base):
        lines.append(f"  no batching does not keep up: {_row_text(base)}")
    elif overlap(best, base, "p99"):
        lines.append(f"  beside no batching, {_row_text(base)}: no significant difference "
                     f"(their p99 ranges over the repeats overlap)")
    else:
        lines.append(f"  beside no batching, {_row_text(base)}: batching lowers p99 by "
                     f"{_p99(base) - _p99(best):.1f} ms")
    return best, lines


def _within_budget(group, budget_ms, head):
    fits = [r for r in group if _p99(r) <= budget_ms and _num(r.get("achieved_per_s"))]
    if not fits:
        low = min(group, key=_p99)
        return None, [f"{head} no setting keeps p99 within {budget_ms:g} ms; the lowest is "
                      f"{_row_text(low)}"]
    best = max(fits, key=lambda r: _num(r["achieved_per_s"]))
    lines = [f"{head} highest throughput with p99 <= {budget_ms:g} ms: {_row_text(best)}"]
    close = [r for r in fits if r is not best
             and _num(r["achieved_min_per_s"]) <= _num(best["achieved_max_per_s"])]
    if close:
        lines.append("  no significant difference in throughput from " +
                     ", ".join(f"{describe_cell(r)} [{r['cell']}]" for r in close[:4]) +
                     (" ..." if len(close) > 4 else ""))
    return best, lines


def overall_budget_line(rows, budget_ms):
    """The highest throughput of the whole sweep within the budget, over every rate."""
    fits = [r for r in rows if _p99(r) is not None and _p99(r) <= budget_ms
            and _num(r.get("achieved_per_s"))]
    if not fits:
        return f"no cell of the sweep keeps p99 within {budget_ms:g} ms"
    best = max(fits, key=lambda r: _num(r["achieved_per_s"]))
    return (f"overall, the highest throughput with p99 <= {budget_ms:g} ms: {_row_text(best)} "
            f"(offered {_rate_text(_num(best['offered_per_s']))})")


# ---------------------------------------------------------------- the figure

def pareto(points):
    """Indices of the points no other point beats on both throughput (up) and p99 (down)."""
    front = []
    for i, (x, y) in enumerate(points):
        beaten = any((x2 >= x and y2 <= y) and (x2 > x or y2 < y)
                     for j, (x2, y2) in enumerate(points) if j != i)
        if not beaten:
            front.append(i)
    return front


def plot_sweep(rows, figure=None):
    """Per offered rate: p99 (filled) and p50 (hollow) against achieved throughput, the
    Pareto front of p99 joined, each point labelled with its batch and timeout."""
    from matplotlib.figure import Figure
    groups = {rate: [r for r in g if _num(r.get("achieved_per_s"))]
              for rate, g in by_offered_rate(rows).items()}
    groups = {rate: g for rate, g in groups.items() if g}
    n = max(len(groups), 1)
    fig = (figure or Figure)(figsize=(5.2 * min(n, 3), 4.4 * math.ceil(n / 3)),
                             layout="constrained")
    axes = fig.subplots(math.ceil(n / 3), min(n, 3), squeeze=False).ravel()
    for ax, (rate, group) in zip(axes, groups.items()):
        x = [_num(r["achieved_per_s"]) for r in group]
        p99 = [_p99(r) for r in group]
        for r, xi, yi in zip(group, x, p99):
            colour = "#1f77b4" if str(r.get("timeout_ms")) == "n/a" else "#ff7f0e"
            low, high = _num(r["p99_min_ms"]), _num(r["p99_max_ms"])
            ax.errorbar(xi, yi, yerr=[[yi - low], [high - yi]], fmt="o", color=colour,
                        ms=6, capsize=2, alpha=1.0 if _keeps_up(r) else 0.45)
            ax.plot(xi, _num(r["p50_ms"]), "o", mfc="none", color=colour, ms=5)
            label = (f"b{r['batch']}" if str(r["timeout_ms"]) == "n/a"
                     else f"b{r['batch']} t{r['timeout_ms']}")
            ax.annotate(label, (xi, yi), xytext=(4, 3), textcoords="offset points", fontsize=7)
        # Cells that keep up all deliver the offered rate: their achieved rates differ by
        # noise, so the front ranks them by p99 alone.
        due = [_num(r.get("due_per_s")) for r in group]
        level = [d if _keeps_up(r) and d is not None and math.isfinite(d) else xi
                 for r, d, xi in zip(group, due, x)]
        front = sorted(pareto(list(zip(level, p99))), key=lambda i: x[i])
        ax.plot([x[i] for i in front], [p99[i] for i in front], "-o", color="0.3", lw=1,
                ms=12, mfc="none", label="Pareto front (p99)")
        known = [d for d in due if d is not None and math.isfinite(d)]
        title = f"offered {_rate_text(rate)}"
        if known:
            due_rate = sorted(known)[len(known) // 2]
            ax.axvline(due_rate * KEEP_UP, color="#d62728", lw=0.8, ls=":",
                       label=f"{KEEP_UP:.0%} of the {due_rate:.3g}/s due")
            if abs(due_rate - rate) > 0.005 * rate:
                title += f" ({due_rate:.3g}/s as drawn)"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("achieved throughput (results/s)")
        ax.set_ylabel("latency (ms): p99 filled, p50 hollow")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="best")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("Sweep: blue no batching, orange batched (b = batch, t = timeout ms); "
                 "faint = does not keep up; bars = range over repeats", fontsize=9)
    return fig


# ---------------------------------------------------------------- running

class SweepProgress:
    """cell k/N, repeat, and an ETA on stderr: rewritten in a terminal, a line in a log."""

    def __init__(self, total, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.done = 0
        self.overhead_s = []

    def show(self, k, cell, repeat, left_s):
        n = self.done
        width = 24
        filled = int(width * n / max(self.total, 1))
        eta = "ETA --:--" if left_s is None else f"ETA {_clock(left_s)}"
        text = (f"[{'#' * filled}{'.' * (width - filled)}] run {n + 1}/{self.total}: "
                f"cell {k}/{cell} repeat {repeat}  {eta}")
        if self.tty:
            self.stream.write("\r" + text.ljust(90))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60:02d}:{seconds % 60:02d}"


def planned_s(cell, given):
    from ..run import arrival
    due_s, _ = arrival.resolve(check_settings(dict(cell.settings)), given)
    return float(due_s[-1]) if len(due_s) else 0.0


def repeat_folder(out, cell, r):
    return os.path.join(out, cell.name, f"r{r}")


def finished(folder):
    """Whether ``folder`` holds a run that ended on its own (not stopped, not failed)."""
    path = os.path.join(folder, "summary.json")
    if not os.path.isfile(path):
        return False
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return False
    return not summary.get("interrupted") and not summary.get("errors")


def set_aside(folder):
    """Keep an interrupted run's folder under another name; return the new name."""
    n = 1
    while os.path.exists(f"{folder}.partial{'' if n == 1 else n}"):
        n += 1
    target = f"{folder}.partial{'' if n == 1 else n}"
    os.replace(folder, target)
    return target


def prepare_out(grid, cells, argv):
    """The sweep's folder: new, or (``--resume``) the one an earlier run of this grid left."""
    out = grid.out or os.path.join(
        "sweeps", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    state_path = os.path.join(out, STATE)
    keys = [cell.key for cell in cells]
    if grid.resume:
        if not grid.out:
            raise UsageError("--resume needs --out=FOLDER: the folder of the sweep to finish")
        if not os.path.isfile(state_path):
            raise UsageError(f"--resume: {out} holds no sweep ({STATE} missing); give the "
                             f"--out of an earlier sweep, or leave --resume out")
        with open(state_path, encoding="utf-8") as f:
            state = json.load(f)
        if state.get("cells") != keys:
            raise UsageError(f"--resume: the sweep in {out} has another grid; give the same "
                             f"keys and values as before, or a new --out")
        return out
    if os.path.isfile(out) or (os.path.isdir(out) and os.listdir(out)):
        raise UsageError(f"--out={out} already holds files; give --resume to finish the sweep "
                         f"there, or a new folder")
    os.makedirs(out, exist_ok=True)
    from ..data.records import write_json
    write_json({"argv": list(argv), "cells": keys}, state_path)
    return out


def run_one(cell, folder, given, interrupt, experiment):
    """One repeat of a cell: a normal run into ``folder``; its Run, or raises."""
    settings = dict(cell.settings, out=folder)
    result = experiment.run_experiment(settings, cell.properties, kind="timeline",
                                       script=SCRIPT, say=None, interrupt=interrupt,
                                       given=given)
    return result


def measure_saved(folder):
    from ..data.records import read_run
    return repeat_metrics(read_run(folder))


def main(argv=None):
    """``python -m ovsched sweep``; returns the exit code."""
    from ..cli import Interrupt, safe_output
    safe_output()
    program = argv is None
    argv = sys.argv[1:] if program else list(argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return EXIT_OK
    with Interrupt(keep=program) as interrupt:
        try:
            return _sweep(argv, interrupt)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE


@dataclass
class SweepState:
    """A sweep under way: its cells, where it writes, and what each cell gave so far."""

    grid: object
    cells: list
    out: str
    measured: dict
    failures: dict

    @property
    def csv_path(self):
        return os.path.join(self.out, "sweep.csv")

    def rows(self):
        return [cell_row(c, self.measured[c.index], self.grid.repeat, self.failures[c.index])
                for c in self.cells if self.measured[c.index] or self.failures[c.index]]

    @property
    def runs_done(self):
        return sum(len(m) for m in self.measured.values())


def _sweep(argv, interrupt):
    from ..run import experiment
    state = plan_sweep(argv, experiment.core())
    todo = pending_runs(state)
    stopped = run_all(state, todo, interrupt, experiment)
    return finish(state, stopped)


def plan_sweep(argv, core):
    """Read the grid, check every cell's device, and prepare (or reopen) the folder."""
    defaults, properties, source = script_defaults()
    print(f"starting from {source}")
    grid = parse_grid(argv, defaults, properties)
    cells = make_cells(grid, defaults, properties)
    check_cells(cells, grid.given)
    for device in dict.fromkeys(cell.settings["device"] for cell in cells):
        devices.check_device(core, device)
    out = prepare_out(grid, cells, argv)
    print(f"sweep of {len(cells)} cells x {grid.repeat} repeats into {out}")
    return SweepState(grid, cells, out, {c.index: [] for c in cells},
                      {c.index: [] for c in cells})


def pending_runs(state):
    """The runs still to do, in rounds; finished ones (a resumed sweep's) are read back and
    an interrupted one is set aside to run again."""
    todo = []
    for r in range(1, state.grid.repeat + 1):
        for cell in state.cells:
            folder = repeat_folder(state.out, cell, r)
            if finished(folder):
                state.measured[cell.index].append(measure_saved(folder))
                continue
            if os.path.exists(folder):
                kept = set_aside(folder)
                print(f"{folder} was interrupted: kept as {kept}; running it again")
            todo.append((r, cell, folder))
    total = len(state.cells) * state.grid.repeat
    if len(todo) < total:
        print(f"resuming: {total - len(todo)} runs done, {len(todo)} to go")
    return todo


def run_all(state, todo, interrupt, experiment):
    """Run each pending run, rewriting sweep.csv after each; True when stopped early."""
    progress = SweepProgress(len(todo))
    try:
        return _run_each(state, todo, interrupt, experiment, progress)
    finally:
        progress.end()


def _run_each(state, todo, interrupt, experiment, progress):
    plan_s = {c.index: planned_s(c, state.grid.given) for c in state.cells}
    for r, cell, folder in todo:
        if interrupt.pending:
            return True
        left = sum(plan_s[c.index] for _, c, _ in todo[progress.done:])
        overhead = (sum(progress.overhead_s) / len(progress.overhead_s)
                    if progress.overhead_s else None)
        progress.show(cell.index + 1, len(state.cells), r,
                      None if overhead is None else left + overhead * (len(todo) - progress.done))
        started = time.perf_counter()
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        try:
            result = run_one(cell, folder, state.grid.given, interrupt, experiment)
        except Interrupted:
            return True
        except (RunError, UsageError) as e:
            state.failures[cell.index].append(str(e))
            progress.done += 1
            continue
        progress.overhead_s.append(time.perf_counter() - started - plan_s[cell.index])
        progress.done += 1
        if result.interrupted:
            return True
        state.measured[cell.index].append(repeat_metrics(result.run))
        write_rows(state.rows(), state.csv_path)
    return False


def finish(state, stopped):
    """Write sweep.csv and sweep.png; advise, or say how to resume; the exit code."""
    write_rows(state.rows(), state.csv_path)
    text_rows = read_rows(state.csv_path)
    figure_path = os.path.join(state.out, "sweep.png")
    if text_rows:
        plot_sweep(text_rows).savefig(figure_path, dpi=110)
    if stopped:
        print(f"interrupted: {state.runs_done} of {len(state.cells) * state.grid.repeat} runs "
              f"done; {state.csv_path} holds the cells measured so far; finish with the same "
              f"command and --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    say_advice(text_rows, state.grid.p99_ms)
    print(f"sweep: {state.csv_path}\nfigure: {figure_path}")
    failed = [c for c in state.cells if state.failures[c.index]]
    if failed:
        print(f"error: {len(failed)} cell(s) failed, e.g. {failed[0].name}: "
              f"{state.failures[failed[0].index][0]}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def say_advice(rows, p99_budget_ms=None, say=print):
    for _, _, lines in advise(rows, p99_budget_ms):
        for line in lines:
            say(line)
    if p99_budget_ms is not None:
        say(overall_budget_line(rows, p99_budget_ms))
