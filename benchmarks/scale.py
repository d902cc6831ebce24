"""Many requests of a tiny model through auto-test-latency-graph.py: a steady rate, peak
memory, the time to write the records and to draw each figure."""

import os
import tempfile
import time

import numpy as np

from benchmarks import pairs
from benchmarks.common import (
    plot_latency,
    plot_timeline,
    runfile,
    run_script,
    script_env,
    standin,
    trace,
)

DOC = "100,000 tiny requests through the script: steady rate, peak memory, writing, drawing"
FIGURE_DPI = 110  # what the scripts save their figures with
SIZES = {"full": {"requests": 100_000}, "quick": {"requests": 10_000}}


def tenth_rates(submitted_s):
    """Requests submitted per second in each tenth of the run (by request count)."""
    s = np.sort(submitted_s[np.isfinite(submitted_s)])
    return [(len(part) - 1) / (part[-1] - part[0]) for part in np.array_split(s, 10)]


def rate_trend(rates, target=(">=", 0.95)):
    """The line through the tenths' rates: {"value": its last tenth / its first tenth,
    "ci_low", "ci_high", "verdict"}. The interval resamples the residuals around the line
    (10,000 times, seeded), so tenth-to-tenth noise (a flood's threads take turns unevenly)
    widens it rather than deciding the verdict; a real slowdown as the run grows tilts the
    line. Verdict as for pairs: PASS when the whole interval meets the target."""
    r = np.asarray(rates, dtype=float)
    k = np.arange(r.size, dtype=float)
    kc = k - k.mean()

    def ends(samples):  # least-squares lines through each row: fitted last / fitted first
        slope = (samples - samples.mean(axis=-1, keepdims=True)) @ kc / (kc @ kc)
        first = samples.mean(axis=-1) - slope * k.mean()
        return (first + slope * k[-1]) / first

    slope = float(kc @ (r - r.mean()) / (kc @ kc))
    fit = r.mean() + slope * kc
    rng = np.random.default_rng(pairs.SEED)
    picks = rng.integers(0, r.size, size=(pairs.RESAMPLES, r.size))
    low, high = pairs.percentile_interval(ends(fit + (r - fit)[picks]))
    return {"value": float(ends(r)), "ci_low": low, "ci_high": high,
            "verdict": pairs.verdict(low, high, target, r.size)}


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run(ctx, size):
    n = size["requests"]
    folder = tempfile.mkdtemp(prefix="scale-", dir=ctx.tmp)
    tiny = os.path.join(folder, "tiny.xml")
    standin.save_fp16(standin.build_tiny(seed=0), tiny)
    out = os.path.join(folder, "run")
    wall, (summary, rss_mb) = timed(lambda: run_script(
        [f"--model={tiny}", f"--device={ctx.device}", "--interval=0", f"--niter={n}",
         "--show=False"], out, script_env(), timeout=900))
    read_s, recorded = timed(lambda: runfile.read_run(out))
    rates = tenth_rates(recorded["submitted_s"])
    first, last = rates[0], rates[-1]
    csv_s, _ = timed(lambda: runfile.write_csv(recorded, os.path.join(folder, "again.csv")))
    summary_s, _ = timed(lambda: runfile.write_json(recorded.summary,
                                                    os.path.join(folder, "s.json")))
    trace_s, _ = timed(lambda: runfile.write_trace(  # as the scripts write it
        trace(recorded, stream=True), os.path.join(folder, "t.json")))

    def draw(plot, name):  # a figure is drawn only when saved: time both, as the scripts do
        return timed(lambda: plot(recorded).savefig(os.path.join(folder, name),
                                                    dpi=FIGURE_DPI))[0]

    timeline_s = draw(plot_timeline, "timeline.png")
    latency_s = draw(plot_latency, "latency.png")
    ctx.report.detail("scale", requests=n, completed=summary["stats"]["count"],
                      script_throughput_fps=summary["stats"]["throughput_fps"],
                      rates_per_tenth=rates, nireq=summary.get("nireq"))
    add = ctx.report.add
    add("scale", "rate_first", f"submits/s, first tenth of {n:,} tiny requests", first, "req/s")
    add("scale", "rate_last", "submits/s, last tenth", last, "req/s")
    trend = rate_trend(rates)
    row = add("scale", "rate_ratio", "last tenth / first tenth, of the line through the ten "
              "tenths' rates", trend["value"], "", (">=", 0.95), wall_clock=True,
              peers={"measured last / first": last / first})
    row.update(verdict=trend["verdict"], ci_low=trend["ci_low"], ci_high=trend["ci_high"],
               tenths=len(rates))
    add("scale", "run_s", "whole script run (start to exit)", wall, "s")
    if rss_mb is None:
        ctx.report.unknown("scale", "peak_rss_mb", "peak RSS of the script",
                           "a child's own peak RSS needs os.wait4 (POSIX only)", "MB",
                           ("<", 500))
    else:
        add("scale", "peak_rss_mb", "peak RSS of the script", rss_mb, "MB", ("<", 500))
    add("scale", "read_s", "runfile.read_run", read_s, "s")
    add("scale", "write_csv_s", "write records.csv", csv_s, "s")
    add("scale", "write_summary_s", "write summary.json", summary_s, "s")
    add("scale", "write_trace_s", "write trace.json (built from the records)", trace_s, "s")
    add("scale", "timeline_figure_s", "draw + save timeline figure", timeline_s, "s", ("<", 5),
        wall_clock=True)
    add("scale", "latency_figure_s", "draw + save latency figure", latency_s, "s", ("<", 5),
        wall_clock=True)
