"""The tool's own cost in CPU time: what its own threads (submit, completion callback, live
view, utilization sampler) spent, per request and as a share of one core.

Whole-process CPU time cannot tell this: OpenVINO's worker threads spin while they wait. The
script measures each of its own threads with time.thread_time() and writes the sums into
summary.json as the block ``own_cpu`` = {"submit_s", "callback_s", "live_view_s",
"sampler_s", "requests", "wall_s"}; this section reads that block from the live_view
section's runs (or from runs of its own), --show=False for submit and callback and the
sampler, --show=True for the live view. The submit + callback share of the inference's time
is information; the floor section holds the tool to a bare loop of the same calls."""

import csv
import math
import os
import time

import numpy as np

DOC = "CPU time of the tool's own threads per request and as a share of one core"
NEEDS_SCREEN = True  # for the --show=True run (the live view's cost is skipped without)
SIZES = {"full": {"requests": 300, "start_async_calls": 200},
         "quick": {"requests": 100, "start_async_calls": 50}}
START_ASYNC_GAP_S = 0.03  # as the scripts' interval: the queue never fills, no call waits
NOT_RECORDED = "not recorded by this version (summary.json has no own_cpu block)"
# information only: the 1 % of the inference's own time was a guess; the floor section
# judges submit + callback against the least any Python client pays for the same calls
SUBMIT_CALLBACK_TARGET = None
LIVE_VIEW_TARGET = ("<=", 5.0)  # % of one core
SAMPLER_TARGET = ("<=", 1.0)  # % of one core


def aggregate(blocks, key):
    """(CPU seconds of ``key`` summed over runs, requests, wall seconds), or None when any
    run lacks the block or that key."""
    blocks = list(blocks)
    if not blocks or any(not b or b.get(key) is None for b in blocks):
        return None
    return (sum(float(b[key]) for b in blocks), sum(int(b["requests"]) for b in blocks),
            sum(float(b["wall_s"]) for b in blocks))


def per_request_us(cpu_s, requests):
    return cpu_s / requests * 1e6 if requests else math.nan


def core_pct(cpu_s, wall_s):
    return cpu_s / wall_s * 100 if wall_s > 0 else math.nan


def figures(off_blocks, on_blocks, infer_ms, no_show_why=None):
    """The section's rows as dicts (key, figure, value, unit, target, note): value None and
    a note where the data cannot give the figure. ``off_blocks``/``on_blocks`` are the
    own_cpu blocks of the --show=False/--show=True runs (None for a run without one);
    ``infer_ms`` is the median of the inference's own time over the --show=False runs."""
    rows = []

    def row(key, figure, value, unit, target=None, note=None):
        rows.append({"key": key, "figure": figure, "value": value, "unit": unit,
                     "target": target, "note": note})

    def unknown(key, figure, unit, target, why):
        row(key, figure, None, unit, target, why)

    submit = aggregate(off_blocks, "submit_s")
    callback = aggregate(off_blocks, "callback_s")
    if submit is None or callback is None:
        why = NOT_RECORDED if off_blocks else "no --show=False run"
        unknown("submit_us", "submit thread CPU time per request", "us", None, why)
        unknown("callback_us", "completion callback CPU time per request", "us", None, why)
        unknown("submit_callback_infer_pct", "submit + callback CPU time / inference's own time",
                "%", SUBMIT_CALLBACK_TARGET, why)
        unknown("submit_callback_core_pct", "submit + callback CPU time, share of one core",
                "%", None, why)
    else:
        (submit_s, n, wall_s), callback_s = submit, callback[0]
        both_us = per_request_us(submit_s + callback_s, n)
        row("submit_us", "submit thread CPU time per request", per_request_us(submit_s, n),
            "us")
        row("callback_us", "completion callback CPU time per request",
            per_request_us(callback_s, n), "us")
        if infer_ms is None or not math.isfinite(infer_ms) or infer_ms <= 0:
            unknown("submit_callback_infer_pct",
                    "submit + callback CPU time / inference's own time", "%",
                    SUBMIT_CALLBACK_TARGET, "records.csv has no infer_ms to compare with")
        else:
            row("submit_callback_infer_pct",
                f"submit + callback CPU time / inference's own time (median infer_ms "
                f"{infer_ms:.2f} ms)",
                both_us / (infer_ms * 1e3) * 100, "%", SUBMIT_CALLBACK_TARGET)
        row("submit_callback_core_pct", "submit + callback CPU time, share of one core",
            core_pct(submit_s + callback_s, wall_s), "%")

    view = aggregate(on_blocks, "live_view_s")
    if view is None:
        why = no_show_why or (NOT_RECORDED if on_blocks else "no --show=True run")
        unknown("live_view_us", "live view CPU time per request", "us", None, why)
        unknown("live_view_core_pct", "live view CPU time, share of one core", "%",
                LIVE_VIEW_TARGET, why)
    else:
        view_s, n, wall_s = view
        row("live_view_us", "live view CPU time per request", per_request_us(view_s, n), "us")
        row("live_view_core_pct", "live view CPU time, share of one core",
            core_pct(view_s, wall_s), "%", LIVE_VIEW_TARGET)

    sampler = aggregate(off_blocks, "sampler_s")
    if sampler is None:
        why = (NOT_RECORDED if not off_blocks or any(not b for b in off_blocks)
               else "not recorded by this version (no utilization sampler ran)")
        unknown("sampler_us", "utilization sampler CPU time per request", "us", None, why)
        unknown("sampler_core_pct", "utilization sampler CPU time, share of one core", "%",
                SAMPLER_TARGET, why)
    else:
        sampler_s, n, wall_s = sampler
        row("sampler_us", "utilization sampler CPU time per request",
            per_request_us(sampler_s, n), "us")
        row("sampler_core_pct", "utilization sampler CPU time, share of one core",
            core_pct(sampler_s, wall_s), "%", SAMPLER_TARGET)
    return rows


def infer_ms_values(out):
    """The infer_ms column of a run's records.csv (empty where a request has none)."""
    path = os.path.join(out, "records.csv")
    values = []
    with open(path, newline="") as f:
        for rec in csv.DictReader(f):
            try:
                values.append(float(rec.get("infer_ms") or "nan"))
            except ValueError:
                continue
    return [v for v in values if math.isfinite(v)]


def start_async_cpu_us(compiled, calls, nireq=8):
    """Median CPU time of one AsyncInferQueue.start_async on the calling thread, in us: the
    part of the submit thread's time that OpenVINO itself takes (benchmark_app pays it too)."""
    from benchmarks.common import ov

    queue = ov.AsyncInferQueue(compiled, nireq)
    for request in queue:
        for tensor in request.input_tensors:
            tensor.data[...] = 0
    cpu_s = []
    for i in range(calls):
        time.sleep(START_ASYNC_GAP_S)
        cpu0 = time.thread_time()
        queue.start_async(None, i)
        cpu_s.append(time.thread_time() - cpu0)
    queue.wait_all()
    return float(np.median(cpu_s)) * 1e6


def run(ctx, size):
    # imported here so that the figures above can be computed (and tested) without OpenVINO
    from benchmarks.common import compile_model
    from benchmarks.live_view import script_run, why_not_shown

    runs = {show: [r for r in ctx.script_runs if r["show"] is show] for show in (False, True)}
    no_show_why = why_not_shown(ctx)
    reused = bool(runs[False])
    if not runs[False]:
        runs[False].append(script_run(ctx, False, size["requests"]))
    if not runs[True] and not no_show_why:
        runs[True].append(script_run(ctx, True, size["requests"]))
    off = [r["summary"].get("own_cpu") for r in runs[False]]
    on = [r["summary"].get("own_cpu") for r in runs[True]]
    infer = [v for r in runs[False] for v in infer_ms_values(r["out"])]
    infer_ms = float(np.median(infer)) if infer else None
    # the scripts' default hint, on the section's device
    start_async_us = start_async_cpu_us(compile_model(ctx, "THROUGHPUT"),
                                        size["start_async_calls"])
    ctx.report.detail("own_cpu", runs_show_false=len(off), runs_show_true=len(on),
                      reused_live_view_runs=reused, infer_ms_median=infer_ms,
                      own_cpu_show_false=off, own_cpu_show_true=on,
                      start_async_us=start_async_us)
    peers = {"submit_us": {"of it OpenVINO's start_async alone": start_async_us}}
    for f in figures(off, on, infer_ms, no_show_why):
        figure = f["figure"] + (f" ({len(off)} run(s), --show=False)"
                                if not f["key"].startswith("live_view")
                                else f" ({len(on)} run(s), --show=True)")
        if f["value"] is None:
            ctx.report.unknown("own_cpu", f["key"], figure, f["note"], f["unit"], f["target"])
        else:
            # the inference's own time is a wall-clock figure: a busy machine stretches it.
            # Runs of the live_view section were made under that section's load.
            stretched = f["key"] == "submit_callback_infer_pct"
            row = ctx.report.add("own_cpu", f["key"], figure, f["value"], f["unit"],
                                 f["target"], peers.get(f["key"]),
                                 wall_clock=stretched and not reused)
            if stretched and reused:
                live = ctx.report.sections.get("live_view", {})
                ctx.report.settle_row(row, live.get("other_cpu_share"))
