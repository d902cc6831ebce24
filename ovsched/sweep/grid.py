"""The sweep's grid: its command line read into cells, each a run's settings and properties."""

import itertools
import json
import math
import os
import re
import runpy
from dataclasses import dataclass, field

from ..derive import batching as batching_rule
from ..derive import device_names
from ..run import devices, schema
from ..run.settings import UsageError, apply_overrides, check_settings, script_settings, split_args

SCRIPT = schema.SCRIPTS["timeline"]
MAX_CELLS = 500
TIMEOUT = "AUTO_BATCH_TIMEOUT"
SWEEP_KEYS = ("batch", "repeat", "p99_ms", "out")
FLAGS = ("--yes", "--resume", "--find_rate")
# Requests a run of a --find_rate probe when --niter is not given: a p99 bound needs 368
# independent ones, and a run's are fewer.
PROBE_NITER = 400
# Settings a sweep decides itself: a window per cell, and one folder per cell.
NOT_SWEPT = ("show",)
NUMBER_KEYS = ("batch", "repeat", "p99_ms") + devices.COUNT_PROPERTIES
SHORT = {TIMEOUT: "timeout", "PERFORMANCE_HINT": "hint"}


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
    find_rate: bool = False
    ladder: list = field(default_factory=list)  # --find_rate: the rates to scan, per s


@dataclass
class Cell:
    """One point of the grid: the settings and properties of its runs."""

    index: int
    settings: dict
    properties: dict
    batch: int
    batching: bool  # whether the compiled model may batch (derive.batching.may_batch)
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
    def given_timeout_ms(self):
        """The timeout this cell sets (None: the device's default, or no batching)."""
        value = self.properties.get(TIMEOUT)
        return float(value) if self.batching and value is not None else None


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
    grid = Grid(axes=[], batch=[1], yes=flags["--yes"], resume=flags["--resume"],
                find_rate=flags["--find_rate"])
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
    if grid.find_rate:
        rate_search(grid, defaults)
    return grid


def rate_search(grid, defaults):
    """--find_rate: the rates are what is searched; --interval lists the ladder's rungs.
    Poisson arrivals, --niter requests a run (default PROBE_NITER), a budget needed."""
    if grid.p99_ms is None:
        raise UsageError("--find_rate needs a latency budget: give --p99_ms=BUDGET, e.g. "
                         "--find_rate --p99_ms=200")
    for key, items in grid.axes:
        if key == "arrival" and any(a != "poisson" for a in items):
            raise UsageError("--find_rate searches Poisson request rates: leave --arrival out "
                             "(or give --arrival=poisson)")
        if key in ("burst", "niter") and len(items) > 1:
            raise UsageError(f"--find_rate --{key}: give one value, not a list")
    intervals = [float(v) for key, items in grid.axes if key == "interval" for v in items]
    if any(v <= 0 for v in intervals):
        raise UsageError("--find_rate --interval: give intervals above 0 ms (each is a rung "
                         "of the ladder of rates, 1000/interval per s), e.g. --interval=200,50")
    from .search import default_ladder
    grid.ladder = ([1e3 / v for v in intervals] if intervals
                   else default_ladder(1e3 / float(defaults["interval"])))
    grid.axes = [(k, items) for k, items in grid.axes if k not in ("interval", "arrival")]
    grid.axes.append(("arrival", ["poisson"]))
    if "niter" not in grid.given:
        grid.axes.append(("niter", [str(PROBE_NITER)]))
    grid.given |= {"arrival", "interval", "niter"}


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


def make_cells(grid, defaults, properties, available=()):
    """Every cell of the grid, in order; the timeout is not repeated where nothing batches
    (``available``: the machine's devices, which a bare AUTO may pick)."""
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
        batching = batching_rule.may_batch(settings["device"], props, available)
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
    from ..run import arrival, models
    from ..run.settings import DEFAULT_MODEL
    for cell in cells:
        settings = check_settings(dict(cell.settings))
        arrival.resolve(settings, given)
        devices.check_properties(cell.properties)
    for model in dict.fromkeys(cell.settings["model"] for cell in cells):
        if model != DEFAULT_MODEL or os.path.exists(model):  # else the offline stand-in
            models.check_model_file(model)
