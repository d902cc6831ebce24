"""The ``ovsched`` command (also ``python -m ovsched``): the two experiments, and work on
saved runs, which needs neither OpenVINO nor a device.

    ovsched timeline --niter=20 --AUTO_BATCH_TIMEOUT=100      (as python auto-test.py)
    ovsched latency --PERFORMANCE_HINT=LATENCY                (as auto-test-latency-graph.py)
    ovsched replot RUN_DIR [--show]
    ovsched compare RUN_DIR RUN_DIR ... [--out compare.png] [--show]
    ovsched explain RUN_DIR                 where the time went, and what to change
    ovsched sweep --device=CPU --batch=1,4,16 --interval=5,20,100 ...  (--help)
"""

import argparse
import difflib
import os
import sys

from .derive import derived
from .views import display
from .data import outdir
from .errors import EXIT_OK, EXIT_USAGE, UsageError, closed_pipe, silence_stdout
from .data.folder import read_run


def free_name(path):
    """``path``, or the first ``stem-N.ext`` beside it that does not exist yet."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        # a probe file, not os.access: that says yes for every folder on Windows
        outdir.prove_writable(folder)
    except UsageError:
        raise SystemExit(f"error: cannot write {path}: {folder} is not a writable "
                         f"folder") from None
    stem, ext = os.path.splitext(path)
    n = 1
    while os.path.exists(path):
        n += 1
        path = f"{stem}-{n}{ext}"
    return path


def free_pair(path):
    """``(figure, its breakdown beside it)``: the first ``stem[-N].ext`` whose two names
    (``stem[-N]-breakdown.ext`` the second) are both free."""
    stem, ext = os.path.splitext(path)
    ext = ext or ".png"
    n = 1
    while True:
        base = stem if n == 1 else f"{stem}-{n}"
        figure, parts = f"{base}{ext}", f"{base}-breakdown{ext}"
        if not os.path.exists(figure) and not os.path.exists(parts):
            return free_name(figure), parts  # free_name proves the folder writable
        n += 1


def load(folder):
    for name in ("records.csv", "summary.json"):
        if not os.path.isfile(os.path.join(folder, name)):
            raise SystemExit(f"error: {folder} is not a saved run (no {name}); give a folder "
                             f"that auto-test.py or auto-test-latency-graph.py wrote")
    try:
        run = read_run(folder)
    except UsageError as e:
        raise SystemExit(f"error: {folder}: {e}") from None
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise SystemExit(f"error: cannot read the run in {folder} ({e}); was it edited?") from None
    if run.summary.lacks:
        print(f"note: {folder} was saved by an earlier version, which did not record "
              f"{', '.join(run.summary.lacks)}: shown as unknown")
    return derived.fill_missing(run)


def show_or_say(fig_path, show, draw):
    if not show:
        return
    if not display.available():
        print(f"no display ({display.reason()}): window skipped; the figure is {fig_path}")
        return
    import matplotlib.pyplot as plt
    draw(plt.figure)
    plt.show()


def replot(words):
    parser = argparse.ArgumentParser(prog=f"{PROG} replot",
                                     description="Redraw a saved run's figure.")
    parser.add_argument("run")
    parser.add_argument("--out", help="PNG to write (default: RUN/<figure>-replot.png)")
    parser.add_argument("--show", action="store_true", help="also open it in a window")
    return _saved(parser, words, "replot")


def compare(words):
    parser = argparse.ArgumentParser(prog=f"{PROG} compare",
                                     description="Overlay several saved runs.")
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", default="compare.png",
                        help="PNG to write (default compare.png)")
    parser.add_argument("--show", action="store_true", help="also open it in a window")
    return _saved(parser, words, "compare")


def explain(words):
    parser = argparse.ArgumentParser(prog=f"{PROG} explain",
                                     description="Where a saved run's time went, and ranked "
                                                 "findings: what to change.")
    parser.add_argument("run")
    return _saved(parser, words, "explain")


def _saved(parser, words, command):
    args = parser.parse_args(words)
    args.command = command
    try:
        code = run_command(args)
        sys.stdout.flush()
        return code
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return EXIT_USAGE
        raise
    except OSError as e:
        if not closed_pipe(e):
            raise
        # the reader went away (``ovsched explain RUN | head``): the output ends quietly, as
        # other command-line programs' do
        silence_stdout()
        return EXIT_OK


def sweep(words):
    from . import sweep
    return sweep.main(words)


def timeline(words):
    from .cli import run_experiment_command
    return run_experiment_command("timeline", words, f"{PROG} timeline", PROGRAM)


def latency(words):
    from .cli import run_experiment_command
    return run_experiment_command("latency", words, f"{PROG} latency", PROGRAM)


# The subcommands: name -> (function taking the words after the name and returning the exit
# code, one line for --help). A new command is one row here.
COMMANDS = {
    "timeline": (timeline, "run the batching timeline, as auto-test.py (--help: its settings)"),
    "latency": (latency, "run the AUTO latency graph, as auto-test-latency-graph.py"),
    "replot": (replot, "redraw a saved run's figure"),
    "compare": (compare, "overlay several saved runs"),
    "explain": (explain, "where a saved run's time went, and what to change"),
    "sweep": (sweep, "sweep a grid of batching settings (runs OpenVINO; --help)"),
}
PROG = "python -m ovsched"
PROGRAM = False  # True when started as a program (the ovsched command or python -m ovsched)


def usage():
    width = max(map(len, COMMANDS)) + 2
    rows = [f"  {name:<{width}}{about}" for name, (_, about) in COMMANDS.items()]
    return "\n".join([f"usage: {PROG} COMMAND ...", "",
                      "Watch OpenVINO schedule inference: run the two experiments, redraw, "
                      "compare, explain, sweep.", "", "commands:", *rows, "",
                      f"{PROG} COMMAND --help: the command's own options"])


def main(argv=None):
    """Dispatch ``words[0]`` to its command; returns the exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    if not words:
        print(f"error: give a command\n{usage()}", file=sys.stderr)
        return EXIT_USAGE
    if words[0] in ("-h", "--help"):
        print(usage())
        return EXIT_OK
    name, rest = words[0], words[1:]
    if name not in COMMANDS:
        match = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f" (did you mean {match[0]}?)" if match else ""
        print(f"error: unknown command {name!r}{hint}; commands are {', '.join(COMMANDS)} "
              f"(see {PROG} --help)", file=sys.stderr)
        return EXIT_USAGE
    return COMMANDS[name][0](rest)


def console():
    """The ``ovsched`` command that ``pip install`` makes."""
    global PROG, PROGRAM
    PROG, PROGRAM = "ovsched", True
    from .views import report
    report.EXPLAIN = "ovsched explain"
    return main()


def run_command(args):
    if args.command == "explain":
        from .views.explain import explain_lines
        for line in explain_lines(load(args.run), args.run):
            print(line)
        return EXIT_OK
    from .views.plots import PLOTS, plot_compare, same_settings

    if args.command == "replot":
        from .views.breakdown_figure import plot_breakdown
        run = load(args.run)
        kind = run.summary.kind or "latency"
        path, parts_path = free_pair(args.out or os.path.join(args.run, f"{kind}-replot.png"))
        PLOTS[kind](run).savefig(path, dpi=110)
        plot_breakdown(run).savefig(parts_path, dpi=110)
        print(f"figure: {path}\nwhere the time went: {parts_path}")
        show_or_say(path, args.show, lambda figure: PLOTS[kind](run, figure=figure))
        return EXIT_OK
    runs = [load(folder) for folder in args.runs]
    kinds = {run.summary.kind for run in runs}
    if len(kinds) > 1:
        raise SystemExit("error: compare runs of one script at a time (timelines with "
                         "timelines, latency graphs with latency graphs)")
    names = [os.path.basename(os.path.normpath(folder)) for folder in args.runs]
    path = free_name(args.out)
    if kinds != {"timeline"}:
        for group in same_settings(runs):
            if len(group) > 1:
                print(f"{', '.join(names[i] for i in group)} share all settings: drawn as one "
                      f"band (median and range)")
    plot_compare(runs, names).savefig(path, dpi=110)
    print(f"figure: {path}")
    from .views.machines import machines_text
    machines = machines_text(runs, names)
    if machines:
        print("measured on different machines:\n  " + "\n  ".join(machines))
    show_or_say(path, args.show, lambda figure: plot_compare(runs, names, figure=figure))
    return EXIT_OK


if __name__ == "__main__":
    PROGRAM = True
    sys.exit(main())
