#!/usr/bin/env python3
"""How well the scheduler keeps time and what the tool itself costs, side by side with the
original's method and with OpenVINO's benchmark_app, on one model and one device. Run by
hand, not by CI.

    python benchmarks/run.py                        # full run, several minutes
    python benchmarks/run.py --quick                # the same, smaller: under a minute
    python benchmarks/run.py --model=PATH.xml --device=CPU --json=results.json
    python benchmarks/run.py --parts=pacing,scale   # only some sections

Each section is one module of this folder (listed in PARTS below) with a ``run(ctx, size)``;
a new measurement is one new module and its name in PARTS. Wall-clock comparisons are many
short rounds alternating A and B in ABBA order, with the median ratio's 95 % bootstrap
interval: PASS only when the whole interval meets the target, MISS only when it wholly
misses, INCONCLUSIVE otherwise (see benchmarks/pairs.py). The model is the GoogLeNet stand-in
the scripts use (built on first use) unless --model is given. The figures are printed as a
table and written as a JSON list (default bench-results/<timestamp>.json), with the run's
settings, skips and raw rounds beside it in <name>.details.json.
"""

import argparse
import datetime
import importlib
import os
import platform
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the sections are imported as benchmarks.<name>, never as top-level modules that could
# shadow a library's own (common, report, ...)
sys.path[:] = [ROOT] + [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

from benchmarks import common, machine, report  # noqa: E402
from benchmarks.screen import Screen  # noqa: E402

# the sections, in the order they run; own_cpu reads the runs that live_view made
PARTS = ("pacing", "latency", "throughput", "scale", "live_view", "own_cpu", "sampler", "floor",
         "adds")


def load_sections(names):
    """{name: module} of the named sections (benchmarks/<name>.py)."""
    return {name: importlib.import_module(f"benchmarks.{name}") for name in names}


class Context:
    """What every section needs: the model, device, display, benchmark_app, report."""

    def __init__(self, args, tmp):
        self.core = common.ov.Core()
        self.model = args.model or common.standin_model()
        self.device = args.device
        self.quick = bool(args.quick)
        self.tmp = tmp
        self.report = report.Report()
        self.screen = Screen()
        self.script_runs = []  # runs of auto-test-latency-graph.py, for later sections
        self.bench = common.find_benchmark_app()
        self.bench_why = None if self.bench else (
            f"benchmark_app is not installed beside {sys.executable} (it comes with the "
            f"openvino package)")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="", help="IR .xml (default: the GoogLeNet stand-in)")
    p.add_argument("--device", default="CPU")
    p.add_argument("--quick", nargs="?", type=int, const=1, default=0,
                   help="fewer requests and pairs: the whole run in under a minute")
    p.add_argument("--json", default="",
                   help="where to write the figures (default bench-results/<timestamp>.json)")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma-separated sections to run, of {','.join(PARTS)}")
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    unknown = [s for s in parts if s not in PARTS]
    if unknown:
        p.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    args.parts = parts
    if args.model and not os.path.isfile(args.model):
        p.error(f"--model {args.model}: no such file")
    return args


def run_sections(ctx, sections):
    if any(getattr(m, "NEEDS_SCREEN", False) for m in sections.values()):
        ctx.screen.start()
        print(f"display: {ctx.screen.origin or 'none (' + ctx.screen.why + ')'}", flush=True)
    size_name = "quick" if ctx.quick else "full"
    for name, module in sections.items():
        print(f"== {name}: {module.DOC}", flush=True)
        size = module.SIZES[size_name]
        with machine.OtherLoad(ctx.screen.pids()) as load:
            try:
                module.run(ctx, size)
            except Exception as e:  # noqa: BLE001 -- one broken section must not lose the others
                ctx.report.failed.append({"section": name, "error": f"{type(e).__name__}: {e}"})
                print(f"  FAILED: {type(e).__name__}: {e}", flush=True)
        ctx.report.settle_under_load(name, load.share)
        ctx.report.detail(name, size=size, wall_s=load.wall_s, other_cpu_share=load.share)


def meta(ctx, args, started, machine_start):
    import cv2

    finished = datetime.datetime.now()
    return {
        "command": [os.path.basename(sys.executable), *sys.argv],
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": (finished - started).total_seconds(),
        "quick": ctx.quick, "parts": args.parts,
        "model": ctx.model, "standin": not args.model, "device": ctx.device,
        "openvino_version": common.ov.get_version(), "opencv_version": cv2.__version__,
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "machine_start": machine_start, "machine_end": machine.snapshot(),
        "display": ctx.screen.origin, "benchmark_app": ctx.bench,
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sections = load_sections(args.parts)
    started = datetime.datetime.now()
    json_path = args.json or os.path.join(
        ROOT, "bench-results", started.strftime("%Y%m%d-%H%M%S") + ".json")
    tmp = tempfile.mkdtemp(prefix="ovsched-bench-")
    ctx = Context(args, tmp)
    print(f"OpenVINO {common.ov.get_version()}, model {ctx.model}, device {ctx.device}, "
          f"{'quick' if ctx.quick else 'full'} run", flush=True)
    if not ctx.bench:
        print(f"note: {ctx.bench_why}: the benchmark_app comparisons are skipped")
    machine_start = machine.snapshot()
    try:
        run_sections(ctx, sections)
        run_meta = meta(ctx, args, started, machine_start)
        report.print_table(ctx.report)
        whole = machine.describe(machine_start, run_meta["machine_end"])
        print(f"\nmachine over the whole run: {whole}")
        details = report.write(ctx.report, run_meta, json_path)
        print(f"results: {json_path} (details: {details}; {run_meta['duration_s']:.0f} s)")
    finally:  # the Xvfb we started goes whatever happened, Ctrl+C included
        ctx.screen.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if ctx.report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
