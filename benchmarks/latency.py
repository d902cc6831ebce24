"""Back-to-back median latency against benchmark_app -hint latency in alternating pairs;
our timestamp overhead; paced latency against back-to-back."""

from benchmarks.common import against_benchmark_app, benchmark_app, compile_model, median, run_ours

DOC = "back-to-back latency against benchmark_app -hint latency, in ABBA pairs"
PACED_INTERVAL_MS = 50.0
TARGET = ("<=", 1.05)  # ours / benchmark_app, median latency
SIZES = {
    "full": {"pairs": 10, "requests": 100, "bench_s": 3, "paced_requests": 100},
    "quick": {"pairs": 3, "requests": 30, "bench_s": 1, "paced_requests": 20},
}


def run(ctx, size):
    compiled = compile_model(ctx, "LATENCY")
    overhead_us, modes = [], set()

    def ours_once():
        r = run_ours(compiled, 1, size["requests"], 0)
        overhead_us.extend((r["latency_ms"] - r["infer_ms"]) * 1e3)
        return median(r["latency_ms"])

    def theirs_once():
        m, _fps, mode = benchmark_app(ctx, "latency", size["bench_s"])
        modes.add(mode)
        return m

    measured, ours = against_benchmark_app(ctx, "latency", ours_once, theirs_once,
                                           size["pairs"], lambda v: f"{v:.2f} ms")
    paced = run_ours(compiled, 1, size["paced_requests"], PACED_INTERVAL_MS)
    paced_median = median(paced["latency_ms"])
    b2b = median(ours)
    ctx.report.detail("latency", pairs=size["pairs"], requests=size["requests"],
                      ours_ms=ours, benchmark_app_ms=measured["b"] if measured else [],
                      benchmark_app_s=size["bench_s"], benchmark_app_mode=sorted(modes),
                      paced_requests=size["paced_requests"], paced_interval_ms=PACED_INTERVAL_MS)
    add = ctx.report.add
    add("latency", "median_ms", "median latency, back to back, nireq 1, LATENCY", b2b, "ms",
        peers={"benchmark_app": median(measured["b"])} if measured else None)
    if measured:
        ctx.report.add_comparison("latency", "ratio",
                                  "median latency ours / benchmark_app, median of pairs",
                                  measured, TARGET)
    add("latency", "overhead_us", "our latency - request's own infer_ms, median",
        median(overhead_us), "us")
    add("latency", "paced_median_ms", f"median latency, paced every {PACED_INTERVAL_MS:g} ms",
        paced_median, "ms", peers={"back to back": b2b})
    add("latency", "paced_ratio", "paced / back to back", paced_median / b2b)
