"""Running a grid sweep: its cells in rounds, sweep.csv after every run, the advice at the end."""

import os
import sys
import time
from dataclasses import dataclass

from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, Interrupted, RunError
from ..run import devices
from ..run.settings import UsageError
from .advice import say_advice
from .figure import plot_sweep
from .folders import (SweepProgress, finished, planned_s, prepare_out, repeat_folder,
                      run_one, set_aside)
from .grid import check_cells, make_cells, parse_grid, script_defaults
from .measure import measure_saved
from .results import cell_row, read_rows, write_rows


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


def run_grid(argv, interrupt):
    """The grid sweep: every cell ``repeat`` times; its exit code."""
    from ..run import experiment
    state = plan_sweep(argv, experiment.core())
    todo = pending_runs(state)
    stopped = run_all(state, todo, interrupt, experiment)
    return finish(state, stopped)


def plan_cells(argv, core):
    """Read the command line into a Grid and its cells, each checked as a run would check
    it, every device against the machine's."""
    defaults, properties, source = script_defaults()
    print(f"starting from {source}")
    grid = parse_grid(argv, defaults, properties)
    cells = make_cells(grid, defaults, properties, core.available_devices)
    check_cells(cells, grid.given)
    for device in dict.fromkeys(cell.settings["device"] for cell in cells):
        devices.check_device(core, device)
    return grid, cells


def plan_sweep(argv, core):
    """Read the grid, check every cell's device, and prepare (or reopen) the folder."""
    grid, cells = plan_cells(argv, core)
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
            result = run_one(cell, folder, state.grid.given, interrupt, experiment, r)
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
        # read back from its files, as a resumed sweep reads it: the same numbers
        state.measured[cell.index].append(measure_saved(folder))
        write_rows(state.rows(), state.csv_path)
    return False


def finish(state, stopped):
    """Write sweep.csv and sweep.png; advise, or say how to resume; the exit code."""
    write_rows(state.rows(), state.csv_path)
    rows = read_rows(state.csv_path)  # the advice reads what the file says
    figure_path = os.path.join(state.out, "sweep.png")
    if rows:
        plot_sweep(rows, budget_ms=state.grid.p99_ms).savefig(figure_path, dpi=110)
    if stopped:
        print(f"interrupted: {state.runs_done} of {len(state.cells) * state.grid.repeat} runs "
              f"done; {state.csv_path} holds the cells measured so far; finish with the same "
              f"command and --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    say_advice(rows, state.grid.p99_ms)
    print(f"sweep: {state.csv_path}\nfigure: {figure_path}")
    failed = [c for c in state.cells if state.failures[c.index]]
    if failed:
        print(f"error: {len(failed)} cell(s) failed, e.g. {failed[0].name}: "
              f"{state.failures[failed[0].index][0]}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
