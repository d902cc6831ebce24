"""``--find_rate``: for each setting, the highest Poisson request rate that keeps up and whose
p99's upper 95 % bound fits ``--p99_ms``, found by ``search.find_rate``. Each probe of a rate
runs ``repeat`` runs, and more while its p99 cannot be bounded or straddles the budget (up
to ``MAX_RUNS`` runs). Writes sweep.csv (every probe), capacity.csv (every setting) and the
figures; Ctrl+C and ``--resume`` as for a grid."""

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass

from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, Interrupted, RunError
from ..run.settings import UsageError
from .advice import describe_cell
from .folders import _clock, finished, prepare_out, run_one, set_aside
from .measure import measure_saved
from .results import cell_row, columns_of, read_rows, write_rows, write_table
from .search import MAX_PROBES, find_rate

MAX_RUNS = 8  # runs of one probe at most: beyond them a p99 that cannot be bounded fails
CAPACITY_COLUMNS = ("rate_per_s", "p99_ms", "p99_ci_low_ms", "p99_ci_high_ms", "runs",
                    "requests", "above_per_s", "above_why", "note")


class Stopped(Exception):
    """Ctrl+C during a probe: what was measured is kept."""


@dataclass
class Capacity:
    """What the search found for one setting."""

    setting: str  # describe_cell's text
    columns: dict  # the setting's CSV columns: device, batch, timeout_ms, other keys
    row: object  # the probe Row at the rate found (None: none found)
    rate_per_s: float
    above_per_s: float  # the lowest rate probed above it, which did not fit (None: none)
    above_why: str = ""  # why it did not: falls behind, p99 over, too few requests to tell
    note: str = ""


def probe_cell(cell, rate):
    settings = dict(cell.settings, interval=1e3 / rate, arrival="poisson")
    return dataclasses.replace(cell, settings=settings)


def verdict(row, budget_ms):
    """``(fits, why)``: True when it keeps up and the p99's upper bound fits; False when it
    falls behind or the lower bound is over; None when the data cannot tell."""
    if row.keeps_up is False:
        return False, "falls behind"
    if row.keeps_up is None:
        return None, "achieved rate unknown"
    if row.p99_bounded:
        if row.p99_ci_high_ms <= budget_ms:
            return True, "fits"
        if row.p99_ci_low_ms > budget_ms:
            return False, "p99 over the budget"
        return None, "p99's interval straddles the budget"
    return None, f"too few requests for a p99 bound ({row.requests} of ~{row.p99_needed_requests})"


class RateFinder:
    """Runs the probes of every setting into ``out``; resumes from the finished ones."""

    def __init__(self, grid, cells, out, interrupt, experiment, stream=sys.stderr):
        self.grid, self.cells, self.out = grid, cells, out
        self.interrupt, self.experiment, self.stream = interrupt, experiment, stream
        self.rows = {}  # (cell index, rate) -> Row
        self.why = {}  # (cell index, rate) -> the verdict's reason
        self.found = []
        self.runs_done = 0
        self.run_s = []
        self.failures = []

    def folder(self, cell, rate, k):
        return os.path.join(self.out, cell.name, f"rate{rate:g}", f"r{k}")

    def progress(self, cell, rate, k, probes):
        runs_left = ((len(self.cells) - cell.index) * MAX_PROBES - probes) * self.grid.repeat
        eta = (f"ETA <= {_clock(runs_left * sum(self.run_s) / len(self.run_s))}"
               if self.run_s else "ETA --:--")
        self.stream.write(f"setting {cell.index + 1}/{len(self.cells)} probe {probes + 1} "
                          f"({rate:g}/s) run {k}  {eta}\n")
        self.stream.flush()

    def measure(self, cell, rate, k, probes):
        """The metrics of run k of a probe: read back when finished, else run."""
        folder = self.folder(cell, rate, k)
        if finished(folder):
            return measure_saved(folder)
        if os.path.exists(folder):
            kept = set_aside(folder)
            print(f"{folder} was interrupted: kept as {kept}; running it again")
        if self.interrupt.pending:
            raise Stopped
        self.progress(cell, rate, k, probes)
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        started = time.perf_counter()
        try:
            result = run_one(probe_cell(cell, rate), folder, self.grid.given, self.interrupt,
                             self.experiment, k)
        except Interrupted:
            raise Stopped from None
        self.run_s.append(time.perf_counter() - started)
        self.runs_done += 1
        if result.interrupted:
            raise Stopped
        return measure_saved(folder)

    def probe(self, cell, rate, probes):
        """Run a rate until its verdict is known or MAX_RUNS ran; True when it fits."""
        measured = []
        row = None
        while len(measured) < MAX_RUNS:
            want = self.grid.repeat if row is None else self._more_runs(row, len(measured))
            if want <= len(measured):
                break
            while len(measured) < want:
                measured.append(self.measure(cell, rate, len(measured) + 1, probes))
            row = cell_row(probe_cell(cell, rate), measured, len(measured))
            row.cell = f"{cell.name}/rate{rate:g}"
            self.rows[(cell.index, rate)] = row
            self.write()
            if verdict(row, self.grid.p99_ms)[0] is not None:
                break
        fits, why = verdict(row, self.grid.p99_ms)
        self.why[(cell.index, rate)] = why if fits is not None else f"cannot tell: {why}"
        return fits is True

    def _more_runs(self, row, runs):
        """Runs a probe whose verdict is open should have: enough for the bound it lacks,
        or one more where the interval straddles the budget."""
        per_run = max(row.requests / max(runs, 1), 1)
        if not row.p99_bounded and row.p99_needed_requests:
            return min(MAX_RUNS, math.ceil(row.p99_needed_requests / per_run))
        return min(MAX_RUNS, runs + 1)

    def run(self):
        """Search every setting; True when stopped early."""
        for cell in self.cells:
            empty = cell_row(cell, [], 1)
            setting = describe_cell(empty, cell.varying)
            columns = {k: v for k, v in columns_of(empty).items()
                       if k in ("device", "batch", "timeout_ms", *empty.labels)}
            counted = []

            def passes(rate, cell=cell, counted=counted):
                counted.append(rate)
                return self.probe(cell, rate, len(counted) - 1)
            try:
                found = find_rate(passes, self.grid.ladder)
            except Stopped:
                return True
            except (RunError, UsageError) as e:
                self.failures.append((cell, str(e)))
                self.found.append(Capacity(setting, columns, None, None, None,
                                           note=f"failed: {e}"))
                continue
            self.found.append(self.capacity(cell, setting, columns, found))
            self.write()
        return False

    def capacity(self, cell, setting, columns, found):
        row = self.rows.get((cell.index, found.rate)) if found.rate is not None else None
        if found.rate is None:
            note = f"even the lowest rate probed, {found.above:g}/s, was not shown to fit"
        elif found.above is None:
            note = "the highest rate probed fits: the capacity is at least this"
        elif not found.converged:
            note = f"bracketed within {found.above / found.rate - 1:.0%} only"
        else:
            note = ""
        why = self.why.get((cell.index, found.above), "") if found.above else ""
        return Capacity(setting, columns, row, found.rate, found.above, why, note)

    # ------------------------------------------------------------ files

    @property
    def csv_path(self):
        return os.path.join(self.out, "sweep.csv")

    @property
    def capacity_path(self):
        return os.path.join(self.out, "capacity.csv")

    def write(self):
        write_rows(list(self.rows.values()), self.csv_path)
        write_capacity(self.found, self.capacity_path)


def write_capacity(found, path):
    """capacity.csv: the setting's columns, then what the search found."""
    table = []
    for c in found:
        r = c.row
        cols = dict(c.columns)
        cols.update(rate_per_s=c.rate_per_s, p99_ms=r and r.p99_ms,
                    p99_ci_low_ms=r and r.p99_ci_low_ms, p99_ci_high_ms=r and r.p99_ci_high_ms,
                    runs=r and r.repeats, requests=r and r.requests,
                    above_per_s=c.above_per_s, above_why=c.above_why, note=c.note)
        table.append(cols)
    write_table(table, path, blank=set(CAPACITY_COLUMNS) - {"note"})


def capacity_lines(found, budget_ms):
    """The advice of a rate search: each setting's rate, and the one that serves the most."""
    lines = []
    for c in found:
        if c.rate_per_s is None:
            lines.append(f"{c.setting}: none found ({c.note})")
            continue
        r = c.row
        above = (f"; at {c.above_per_s:g}/s: {c.above_why}" if c.above_per_s else "")
        lines.append(f"{c.setting}: {c.rate_per_s:g}/s with p99 {r.p99_ms:.1f} ms (95 % CI "
                     f"{r.p99_ci_low_ms:.1f}-{r.p99_ci_high_ms:.1f}) over {r.requests} "
                     f"requests in {r.repeats} runs{above}" + (f"; {c.note}" if c.note else ""))
    served = [c for c in found if c.rate_per_s is not None]
    if not served:
        lines.append(f"no setting serves any rate probed within p99 <= {budget_ms:g} ms")
        return lines
    best = max(served, key=lambda c: c.rate_per_s)
    # another setting is surely below only where it failed at a rate the best one served
    close = [c for c in served if c is not best
             and (c.above_per_s is None or c.above_per_s > best.rate_per_s)]
    lines.append(f"serves the most within p99 <= {budget_ms:g} ms: {best.setting}, "
                 f"{best.rate_per_s:g}/s")
    if close:
        lines.append("  not separated from it (the searches' brackets overlap): " +
                     "; ".join(c.setting for c in close[:4]))
    return lines


def run_find_rate(argv, interrupt):
    """``sweep --find_rate``: its exit code."""
    from ..run import experiment
    from .execute import plan_cells
    grid, cells = plan_cells(argv, experiment.core())
    out = prepare_out(grid, cells, argv, mode="find_rate")
    print(f"rate search of {len(cells)} settings over the ladder "
          f"{', '.join(f'{r:.4g}' for r in sorted(grid.ladder))}/s (p99 <= {grid.p99_ms:g} ms, "
          f"{grid.repeat}+ runs a probe) into {out}")
    finder = RateFinder(grid, cells, out, interrupt, experiment)
    stopped = finder.run()
    finder.write()
    from .figure import plot_capacity, plot_sweep
    rows = read_rows(finder.csv_path) if finder.rows else []
    if rows:
        plot_sweep(rows, budget_ms=grid.p99_ms).savefig(os.path.join(out, "sweep.png"),
                                                         dpi=110)
    if finder.found:
        plot_capacity(finder.found, grid.p99_ms).savefig(os.path.join(out, "capacity.png"),
                                                         dpi=110)
    if stopped:
        print(f"interrupted: {len(finder.found)} of {len(cells)} settings searched; "
              f"{finder.capacity_path} holds them; finish with the same command and --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in capacity_lines(finder.found, grid.p99_ms):
        print(line)
    print(f"capacity: {finder.capacity_path}\nprobes: {finder.csv_path}\nfigures: "
          f"{os.path.join(out, 'capacity.png')}, {os.path.join(out, 'sweep.png')}")
    if finder.failures:
        cell, why = finder.failures[0]
        print(f"error: {len(finder.failures)} setting(s) failed, e.g. {cell.name}: {why}",
              file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
