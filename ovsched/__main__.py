"""Work on saved runs, without OpenVINO or a device.

    python -m ovsched replot RUN_DIR [--show]
    python -m ovsched compare RUN_DIR RUN_DIR ... [--out compare.png] [--show]
    python -m ovsched sweep --device=CPU --batch=1,4,16 --interval=5,20,100 ...  (--help)
"""

import argparse
import os
import sys

from .views import display
from .data import outdir
from .errors import EXIT_OK, EXIT_USAGE, UsageError
from .data.records import read_run


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


def load(folder):
    for name in ("records.csv", "summary.json"):
        if not os.path.isfile(os.path.join(folder, name)):
            raise SystemExit(f"error: {folder} is not a saved run (no {name}); give a folder "
                             f"that auto-test.py or auto-test-latency-graph.py wrote")
    try:
        return read_run(folder)
    except (ValueError, KeyError, IndexError) as e:
        raise SystemExit(f"error: cannot read the run in {folder} ({e}); was it edited?") from None


def show_or_say(fig_path, show, draw):
    if not show:
        return
    if not display.available():
        print(f"no display ({display.reason()}): window skipped; the figure is {fig_path}")
        return
    import matplotlib.pyplot as plt
    draw(plt.figure)
    plt.show()


def main(argv=None):
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["sweep"]:
        from . import sweep
        return sweep.main(words[1:])
    parser = argparse.ArgumentParser(prog="python -m ovsched", description=__doc__.split("\n")[0],
                                     epilog="python -m ovsched sweep --help: sweep a grid of "
                                            "batching settings (runs OpenVINO)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("replot", help="redraw a saved run's figure")
    p.add_argument("run")
    p.add_argument("--out", help="PNG to write (default: RUN/<figure>-replot.png)")
    p.add_argument("--show", action="store_true", help="also open it in a window")
    p = sub.add_parser("compare", help="overlay several saved runs")
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default="compare.png", help="PNG to write (default compare.png)")
    p.add_argument("--show", action="store_true", help="also open it in a window")
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return EXIT_USAGE
        raise


def run_command(args):
    from .views.plots import PLOTS, plot_compare, same_settings

    if args.command == "replot":
        run = load(args.run)
        kind = run.summary.get("kind", "latency")
        path = free_name(args.out or os.path.join(args.run, f"{kind}-replot.png"))
        PLOTS[kind](run).savefig(path, dpi=110)
        print(f"figure: {path}")
        show_or_say(path, args.show, lambda figure: PLOTS[kind](run, figure=figure))
        return EXIT_OK
    runs = [load(folder) for folder in args.runs]
    kinds = {run.summary.get("kind") for run in runs}
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
    sys.exit(main())
