"""Submit lateness and drift of our scheduler (ovsched's Runner) against the original's loop
(cv2.waitKey(interval) once per tick, then submit), without a window and with one open."""

import time

import cv2
import numpy as np

from benchmarks.common import INTERVAL_MS, compile_model, ov, run_ours

DOC = "submit lateness and drift: our scheduler against the original's waitKey loop"
NEEDS_SCREEN = True  # for the original's loop with a window open (skipped without)
NIREQ = 8  # enough slots that back-pressure never delays a submit at 30 ms
SIZES = {"full": {"ticks": 200}, "quick": {"ticks": 50}}


def lateness_figures(submitted_s, due_s):
    """Lateness (submitted - due) mean, p99, max; drift of the last tick; mean tick."""
    late = (np.asarray(submitted_s) - np.asarray(due_s)) * 1e3
    ticks = np.diff(submitted_s) * 1e3
    return {"mean": float(late.mean()), "p99": float(np.percentile(late, 99)),
            "max": float(late.max()), "drift": float(late[-1]),
            "tick": float(ticks.mean()) if ticks.size else float("nan")}


def pace_ours(compiled, ticks):
    run = run_ours(compiled, NIREQ, ticks, INTERVAL_MS)
    figures = lateness_figures(run["submitted_s"], run["scheduled_s"])
    # a request that waited for a free slot is late because the inference was slow, and
    # every request after it inherits the delay: then the lateness is not the scheduler's
    figures["waited_for_slot"] = int(run.waited_for_slot.sum())
    return figures


def pace_waitkey(compiled, ticks, window):
    """The original's loop: wait with cv2.waitKey(interval), then submit, once per tick.

    Tick i is due (i+1) intervals after the loop starts, since a wait comes first. With a
    window, a frame is shown each tick, as the original redrew its graph each tick."""
    queue = ov.AsyncInferQueue(compiled, NIREQ)
    for request in queue:
        for tensor in request.input_tensors:
            tensor.data[...] = 0
    name = "pacing: the original's waitKey loop"
    frame = np.zeros((400, 1000, 3), np.uint8)
    if window:
        cv2.namedWindow(name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
    submitted = np.empty(ticks)
    t0 = time.perf_counter()
    for i in range(ticks):
        if window:
            cv2.imshow(name, frame)
        cv2.waitKey(int(INTERVAL_MS))
        submitted[i] = time.perf_counter() - t0
        queue.start_async()
    queue.wait_all()
    if window:
        cv2.destroyWindow(name)
        cv2.waitKey(1)
    due = np.arange(1, ticks + 1) * INTERVAL_MS / 1e3
    return lateness_figures(submitted, due)


def run(ctx, size):
    n = size["ticks"]
    compiled = compile_model(ctx, "THROUGHPUT")  # the latency-graph script's default hint
    ours = pace_ours(compiled, n)
    peers = {"waitKey, no window": pace_waitkey(compiled, n, window=False)}
    if ctx.screen.display:
        peers["waitKey + window"] = pace_waitkey(compiled, n, window=True)
    else:
        ctx.report.skip("pacing", "the original's loop with a window open", ctx.screen.why)
    ctx.report.detail("pacing", ticks=n, interval_ms=INTERVAL_MS, nireq=NIREQ,
                      ours=ours, peers=peers)

    def add(key, name, target=None):
        row = ctx.report.add("pacing", key, f"{name} ({n} ticks of {INTERVAL_MS:g} ms)",
                             ours[key], "ms", target, {p: v[key] for p, v in peers.items()},
                             wall_clock=True)
        if ours["waited_for_slot"]:
            ctx.report.inconclusive(row, f"{ours['waited_for_slot']} of {n} requests waited "
                                         f"for a free queue slot: the inference could not keep "
                                         f"up, so the lateness is not the scheduler's")

    add("mean", "submit lateness mean")
    add("p99", "submit lateness p99", ("<=", 1.0))
    add("max", "submit lateness max")
    add("drift", "drift at the last tick", ("<=", 1.0))
    add("tick", "mean time between submits")
