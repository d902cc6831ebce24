"""Stage 6 of an experiment, written: the run's files into its folder, then its figure drawn
and saved as a step of its own, and the table the run ends with."""

import tempfile
from dataclasses import dataclass

from ..data import outdir
from ..data.folder import RunFolder
from ..data.records import Run
from ..errors import RunError
from ..views.breakdown_figure import FIGURE_NAME as BREAKDOWN_FIGURE, plot_breakdown
from ..views.plots import PLOTS
from ..views.report import print_table
from ..views.trace import trace


@dataclass
class Result:
    """A finished experiment: its records and summary (``run``), and where they were saved."""

    run: Run
    out: str
    figure_path: str
    figure: object
    view: object = None

    @property
    def interrupted(self):
        return bool(self.run.summary.interrupted)


def write(p, run, say):
    """Save the run's files (records, summary, samples, trace) into its folder; return it.

    The folder was proven writable before the run, but a disk can fill up or a folder be
    removed meanwhile: the results then go to a new temporary folder, and the run ends
    with exit code 1 naming it, rather than losing what was measured."""
    try:
        out = outdir.make_out(p.out_target, p.out_default, say)
        write_files(out, run)
        return out
    except OSError as e:
        failed = f"cannot write the results into {p.out_target} ({e.strerror or e})"
    rescue = tempfile.mkdtemp(prefix="ovsched-results-")
    try:
        write_files(rescue, run)
    except OSError as e:
        raise RunError(f"{failed}, nor into {rescue} ({e.strerror or e}): this run's "
                       f"results are lost", run) from None
    raise RunError(f"{failed}; they were saved in {rescue} instead", run)


def write_files(out, run):
    """Records, summary, samples and trace into the folder ``out``."""
    RunFolder(out).write(run, trace=trace(run, stream=True))


def draw(kind, run, out):
    """The run's figure and its breakdown figure, drawn and saved into its folder; return
    (path, figure) of the first."""
    folder = RunFolder(out)
    figure = PLOTS[kind](run)
    try:
        path = folder.save_figure(figure, kind)
        folder.save_figure(plot_breakdown(run), kind, folder.file(BREAKDOWN_FIGURE))
        return path, figure
    except OSError as e:
        raise RunError(f"cannot save the figure into {out} ({e.strerror or e}); the "
                       f"records and summary are there", run) from None


def say_ending(run, out, say):
    print_table(run.summary, out, say)
    s = run.summary
    if s.interrupted and not s.errors:
        if s.cut_short:
            say(f"stopped early at request {s.stopped_at_request} of "
                f"{s.settings['niter']} ({s.stop_reason}); partial results written")
        else:
            say(f"stopped while the last requests finished ({s.stop_reason}); "
                f"every request was submitted and completed")
