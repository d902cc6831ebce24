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
``--repeat=3``, ``--p99_ms=BUDGET`` (advise the highest throughput whose p99's upper bound
fits it), ``--out=FOLDER`` (default sweeps/<time>), ``--resume`` (finish the sweep in
``--out``), ``--yes`` (run a grid of more than 500 cells).
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
            return run_grid(argv, interrupt)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
