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
p50 and p99 are taken over the pooled requests of a cell's repeats, with a 95 % interval
(blank where there are too few requests: a p99 needs at least 368 independent ones).

Sweep keys: ``--batch=1,4,16`` (1 = no batching; N runs ``BATCH:DEVICE(N)``),
``--repeat=3`` (each repeat k draws its Poisson arrivals with seed + k - 1),
``--p99_ms=BUDGET`` (a grid: advise the highest throughput among the cells whose p99's upper
bound fits it), ``--out=FOLDER`` (default sweeps/<time>), ``--resume`` (finish the sweep in
``--out``), ``--yes`` (run a grid of more than 500 cells).

    python -m ovsched sweep --find_rate --p99_ms=200 --device=CPU --batch=1,4 \\
        --AUTO_BATCH_TIMEOUT=100 --interval=400,100,25 --out=sweeps/capacity

``--find_rate`` (with ``--p99_ms=BUDGET``): for each setting (device, batch, timeout, nireq,
...) the highest Poisson request rate that keeps up and whose p99's upper 95 % bound fits
the budget. The rates of ``--interval`` (1000/interval per s) are a coarse ladder, every
rung probed (p99 need not rise with the rate); then the highest edge that fits is bisected
until bracketed within 5 %: at most 9 probes a setting (default ladder: 0.5x to 4x the
script's rate). A probe runs ``repeat`` runs of ``--niter`` requests (default 400) and more,
up to 8, while its p99 cannot be bounded or its interval straddles the budget; one it still
cannot decide does not count as fitting. Writes capacity.csv, capacity.png, and every probe
in sweep.csv and sweep.png.
"""

import sys

from ..errors import EXIT_OK, EXIT_USAGE
from ..run.settings import UsageError
from .advice import advise, overall_budget_line, say_advice
from .execute import SweepState, pending_runs, plan_sweep, run_all, run_grid
from .folders import finished
from .grid import Cell, Grid, batched_device, make_cells, parse_grid, script_defaults
from .measure import rates_per_s, repeat_metrics, utilization_means
from .results import Row, cell_row, read_rows, write_rows

__all__ = ["Cell", "Grid", "Row", "SweepState", "advise", "batched_device", "cell_row",
           "finished", "main", "make_cells", "overall_budget_line", "parse_grid",
           "pending_runs", "plan_sweep", "rates_per_s", "read_rows", "repeat_metrics",
           "run_all", "say_advice", "script_defaults", "utilization_means", "write_rows"]


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
            if "--find_rate" in argv:
                from .capacity import run_find_rate
                return run_find_rate(argv, interrupt)
            return run_grid(argv, interrupt)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
