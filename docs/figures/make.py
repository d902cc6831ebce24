"""Regenerate the README's figures in docs/figures, each by the command the README gives.

    python docs/figures/make.py                            # every figure
    python docs/figures/make.py preset-1.3.2-utilization   # the ones named
    python docs/figures/make.py --list                     # names and commands, nothing run
    python docs/figures/make.py compare-hint --runs=runs/figures   # keep (and reuse) the runs

Each figure is a fresh run of a preset (the script as the README's "The article's
experiments" section runs it, without a window), ``python -m ovsched compare`` of two of
those runs, or the README's sweep. The runs go into a temporary folder, or into ``--runs``,
where a finished run from before is reused instead of run again. ``--into`` writes the
PNGs somewhere other than docs/figures.
"""

import difflib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMELINE = "auto-test.py"
LATENCY = "auto-test-latency-graph.py"

# The runs the figures are drawn from: name -> the command line after ``python``.
RUNS = {
    "1.2.3": [LATENCY, "--preset=1.2.3"],
    "1.2.4": [LATENCY, "--preset=1.2.4"],
    "1.3.1": [TIMELINE, "--preset=1.3.1"],
    # the timeline alone, for the section on batching; the strip has a figure of its own
    "1.3.2-no-strip": [TIMELINE, "--preset=1.3.2", "--util_ms=0"],
    "1.3.2": [TIMELINE, "--preset=1.3.2"],
    "1.3.3a": [TIMELINE, "--preset=1.3.3a"],
    "1.3.3b": [TIMELINE, "--preset=1.3.3b"],
    # the README's sweep over nireq, batch and timeout (section "How nireq, batch and
    # timeout interact"), the one sweep-cpu.png shows
    "sweep-cpu": ["-m", "ovsched", "sweep", "--device=CPU", "--batch=1,4,8",
                  "--AUTO_BATCH_TIMEOUT=100,1000", "--nireq=4,16", "--interval=100",
                  "--arrival=poisson", "--niter=400", "--repeat=3"],
}
# figure -> (the runs it needs, how it is drawn: a run's own figure, its breakdown.png, or
# compare)
FIGURES = {
    "preset-1.2.3": (["1.2.3"], "own"),
    "preset-1.2.4": (["1.2.4"], "own"),
    "preset-1.3.1": (["1.3.1"], "own"),
    "preset-1.3.2": (["1.3.2-no-strip"], "own"),
    "preset-1.3.2-utilization": (["1.3.2"], "own"),
    "preset-1.3.3a": (["1.3.3a"], "own"),
    "preset-1.3.3b": (["1.3.3b"], "own"),
    # the README's worked example of findings: the run's own figure names its top finding
    "findings-1.3.3a": (["1.3.3a"], "own"),
    # the README's example of where the time went: the same run's breakdown.png
    "breakdown-1.3.3a": (["1.3.3a"], "breakdown"),
    "compare-timeout": (["1.3.3a", "1.3.3b"], "compare"),
    "compare-hint": (["1.2.3", "1.2.4"], "compare"),
    "sweep-cpu": (["sweep-cpu"], "own"),
}
OWN_FIGURE = ("timeline.png", "latency.png", "sweep.png")


class Failed(Exception):
    """A bad name or option: exit code 2."""


class RunFailed(Failed):
    """A run or compare failed: exit code 1."""


def command(run, folder):
    words = RUNS[run]
    out = [f"--out={folder}"] if words[0] == "-m" else ["--show=False", f"--out={folder}"]
    return [sys.executable, *words, *out]


def compare_command(runs, folders, png):
    return [sys.executable, "-m", "ovsched", "compare", *(folders[r] for r in runs),
            "--out", png]


def finished(folder):
    return any(os.path.isfile(os.path.join(folder, name)) for name in OWN_FIGURE)


def call(words, say):
    say("$ " + " ".join(os.path.relpath(w, ROOT) if os.path.isabs(w) and w != sys.executable
                        else ("python" if w == sys.executable else w) for w in words))
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    p = subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise RunFailed(f"exit code {p.returncode}: {tail[0]}")


def make_run(run, runs_dir, say):
    folder = os.path.join(runs_dir, run)
    if finished(folder):
        say(f"reusing {folder}")
        return folder
    if os.path.exists(folder):
        raise Failed(f"{folder} holds an unfinished run: remove it, or give another --runs")
    call(command(run, folder), say)
    return folder


def own_figure(folder):
    return next(os.path.join(folder, n) for n in OWN_FIGURE
                if os.path.isfile(os.path.join(folder, n)))


def make(names, runs_dir, into, say=print):
    """Draw ``names`` into ``into``; return the paths written."""
    folders = {}
    written = []
    for name in names:
        needs, how = FIGURES[name]
        for run in needs:
            if run not in folders:
                folders[run] = make_run(run, runs_dir, say)
        target = os.path.join(into, f"{name}.png")
        if how == "own":
            shutil.copyfile(own_figure(folders[needs[0]]), target)
        elif how == "breakdown":
            shutil.copyfile(os.path.join(folders[needs[0]], "breakdown.png"), target)
        else:
            png = os.path.join(runs_dir, f"{name}.png")
            if os.path.exists(png):
                os.remove(png)  # compare never overwrites; this file is ours to redo
            call(compare_command(needs, folders, png), say)
            shutil.copyfile(png, target)
        say(f"figure: {target}")
        written.append(target)
    return written


def parse(argv):
    names, options = [], {"runs": None, "into": HERE, "list": False}
    for word in argv:
        if word == "--list":
            options["list"] = True
        elif word.startswith(("--runs=", "--into=")):
            key, value = word[2:].split("=", 1)
            if not value:
                raise Failed(f"{word}: give a folder")
            options[key] = value
        elif word.startswith("-"):
            raise Failed(f"unknown option {word}; options are --list, --runs=FOLDER, "
                         f"--into=FOLDER (see --help)")
        elif word in FIGURES:
            names.append(word)
        else:
            stem = os.path.splitext(os.path.basename(word))[0]
            if stem in FIGURES:
                names.append(stem)
                continue
            match = difflib.get_close_matches(word, list(FIGURES), n=1)
            hint = f" (did you mean {match[0]}?)" if match else ""
            raise Failed(f"no figure {word!r}{hint}; figures are {', '.join(FIGURES)}")
    return list(dict.fromkeys(names)) or list(FIGURES), options


def describe(names):
    lines = []
    for name in names:
        needs, how = FIGURES[name]
        runs = [" ".join(["python", *command(r, f"RUNS/{r}")[1:]]) for r in needs]
        if how == "compare":
            runs.append("python -m ovsched compare " + " ".join(f"RUNS/{r}" for r in needs))
        lines.append(f"{name}.png\n    " + "\n    ".join(runs))
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip() + "\n\nFigures:\n" + describe(FIGURES))
        return 0
    try:
        names, options = parse(argv)
        if options["list"]:
            print(describe(names))
            return 0
        if not os.path.isdir(options["into"]):
            raise Failed(f"--into={options['into']}: no such folder")
        if options["runs"]:
            os.makedirs(options["runs"], exist_ok=True)
            make(names, os.path.abspath(options["runs"]), options["into"])
        else:
            with tempfile.TemporaryDirectory(prefix="ovsched-figures-") as runs_dir:
                make(names, runs_dir, options["into"])
    except Failed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if isinstance(e, RunFailed) else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
