"""Where a sweep's runs go, which of them finished, progress on stderr, and one run."""

import datetime
import json
import os
import sys

from .grid import SCRIPT
from ..run.settings import UsageError, check_settings

STATE = "sweep.json"


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
    from ..data.folder import RunFolder
    from ..data.runfile import read_summary_file
    path = RunFolder(folder).summary
    if not os.path.isfile(path):
        return False
    try:
        summary = read_summary_file(path)
    except (OSError, ValueError, UsageError):
        return False
    return not summary.interrupted and not summary.errors


def set_aside(folder):
    """Keep an interrupted run's folder under another name; return the new name."""
    n = 1
    while os.path.exists(f"{folder}.partial{'' if n == 1 else n}"):
        n += 1
    target = f"{folder}.partial{'' if n == 1 else n}"
    os.replace(folder, target)
    return target


def prepare_out(grid, cells, argv, mode="grid"):
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
        if state.get("cells") != keys or state.get("mode", "grid") != mode:
            raise UsageError(f"--resume: the sweep in {out} has another grid; give the same "
                             f"keys and values as before, or a new --out")
        return out
    if os.path.isfile(out) or (os.path.isdir(out) and os.listdir(out)):
        raise UsageError(f"--out={out} already holds files; give --resume to finish the sweep "
                         f"there, or a new folder")
    os.makedirs(out, exist_ok=True)
    from ..data.runfile import write_json
    write_json({"argv": list(argv), "mode": mode, "cells": keys}, state_path)
    return out


def run_one(cell, folder, given, interrupt, experiment, repeat=1):
    """One repeat of a cell: a normal run into ``folder``; its Run, or raises. Repeat k
    draws its Poisson arrivals and random inputs with seed + k - 1, so that the pooled
    requests of the repeats are independent samples of the setting, not one schedule
    replayed."""
    settings = dict(cell.settings, out=folder, seed=cell.settings["seed"] + repeat - 1)
    result = experiment.run_experiment(settings, cell.properties, kind="timeline",
                                       script=SCRIPT, say=None, interrupt=interrupt,
                                       given=given)
    return result
