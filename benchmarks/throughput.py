"""Flood-mode inferences/s against benchmark_app -hint throughput in alternating pairs."""

from benchmarks.common import (against_benchmark_app, analysis, benchmark_app, compile_model,
                               median, run_ours)

DOC = "flood FPS against benchmark_app -hint throughput, in ABBA pairs"
TARGET = (">=", 0.97)  # ours / benchmark_app, inferences per second
SIZES = {
    "full": {"pairs": 10, "requests": 300, "bench_s": 4},
    "quick": {"pairs": 3, "requests": 60, "bench_s": 1},
}


def run(ctx, size):
    compiled = compile_model(ctx, "THROUGHPUT")
    nireq = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    modes = set()

    def ours_once():
        r = run_ours(compiled, nireq, size["requests"], 0)
        return analysis.stats(r)["throughput_fps"]  # the figure the scripts report

    def theirs_once():
        _m, fps, mode = benchmark_app(ctx, "throughput", size["bench_s"])
        modes.add(mode)
        return fps

    measured, ours = against_benchmark_app(ctx, "throughput", ours_once, theirs_once,
                                           size["pairs"], lambda v: f"{v:.1f} fps")
    ctx.report.detail("throughput", pairs=size["pairs"], requests=size["requests"],
                      nireq=nireq, ours_fps=ours,
                      benchmark_app_fps=measured["b"] if measured else [],
                      benchmark_app_s=size["bench_s"], benchmark_app_mode=sorted(modes))
    ctx.report.add("throughput", "fps", f"flood, THROUGHPUT, queue of {nireq}", median(ours),
                   "fps", peers={"benchmark_app": median(measured["b"])} if measured else None)
    if measured:
        ctx.report.add_comparison("throughput", "ratio",
                                  "inferences/s ours / benchmark_app, median of pairs",
                                  measured, TARGET)
