"""A run's folder: the one place that knows its file names, writes them (each whole or not
at all) and reads them back in the newest format.

    folder = RunFolder("runs/x")
    folder.write(run, trace=trace(run))       # records.csv, summary.json, utilization.csv,
    folder.save_figure(figure, "timeline")    # trace.json; the figure is a step of its own
    run = RunFolder("runs/x").read()          # any version, upgraded (runfile.upgrade)
"""

import os

from ..utilization.data import write_csv as write_utilization_csv
from . import runfile

RECORDS = "records.csv"
SUMMARY = "summary.json"
TRACE = "trace.json"
UTILIZATION = "utilization.csv"
FIGURES = {"timeline": "timeline.png", "latency": "latency.png"}
FIGURE_DPI = 110


class RunFolder:
    """The files of one run in ``path``."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def __repr__(self):
        return f"RunFolder({self.path!r})"

    def file(self, name):
        return os.path.join(self.path, name)

    @property
    def records(self):
        return self.file(RECORDS)

    @property
    def summary(self):
        return self.file(SUMMARY)

    @property
    def trace(self):
        return self.file(TRACE)

    @property
    def utilization(self):
        return self.file(UTILIZATION)

    def figure(self, kind):
        """The figure's path for a run of ``kind`` ("timeline" or "latency")."""
        return self.file(FIGURES[kind])

    def missing(self):
        """The files a saved run needs that this folder lacks."""
        return [n for n in (RECORDS, SUMMARY) if not os.path.isfile(self.file(n))]

    # ---------------------------------------------------------------- writing

    def write(self, run, trace=None):
        """Records, summary, samples (when the run has them) and ``trace`` (the trace-event
        dict, when given; its events may be an iterator); each file is written whole or not
        at all."""
        runfile.write_csv(run, self.records)
        if run.utilization is not None:
            write_utilization_csv(run.utilization, self.utilization)
        runfile.write_json(run.summary, self.summary)
        if trace is not None:
            runfile.write_trace(trace, self.trace)

    def save_figure(self, figure, kind, path=None):
        """Save a drawn figure (to its usual name unless ``path``); return the path."""
        path = path or self.figure(kind)
        tmp = f"{path}.tmp{os.getpid()}.png"
        try:
            figure.savefig(tmp, dpi=FIGURE_DPI)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    # ---------------------------------------------------------------- reading

    def read(self):
        """The saved run (any version, upgraded), with its samples when it has them."""
        return runfile.read_run(self.path)


def read_run(folder):
    """Load a saved run (``records.csv``, ``summary.json`` and, when there, the samples of
    ``utilization.csv``) without OpenVINO, in the newest format."""
    return RunFolder(folder).read()
